/* base64.c - base64 (RFC 4648, section 4), for the WebSocket handshake's
 * Sec-WebSocket-Key and Sec-WebSocket-Accept. */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const uint8_t *in, size_t len, char *out) {
  char *p = out;
  size_t i;

  for (i = 0; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *p++ = alphabet[v >> 18];
    *p++ = alphabet[v >> 12 & 63];
    *p++ = alphabet[v >> 6 & 63];
    *p++ = alphabet[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len)
      v |= (uint32_t)in[i + 1] << 8;
    *p++ = alphabet[v >> 18];
    *p++ = alphabet[v >> 12 & 63];
    *p++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
    *p++ = '=';
  }
  *p = '\0';
  return (size_t)(p - out);
}

static int sextet(char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+')
    return 62;
  if (ch == '/')
    return 63;
  return -1;
}

long base64_decode(const char *in, size_t len, uint8_t *out) {
  size_t n = 0;

  if (len % 4 != 0)
    return -1;
  for (size_t i = 0; i < len; i += 4) {
    int s[4], pad = 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
      /* '=' only in the last group, as its last one or two characters */
      if (in[i + k] == '=' && i + 4 == len && k >= 2 &&
          (k == 3 || in[i + 3] == '=')) {
        s[k] = 0;
        pad++;
      } else if ((s[k] = sextet(in[i + k])) < 0 || pad > 0) {
        return -1;
      }
      v = v << 6 | (uint32_t)s[k];
    }
    /* The bits the padding leaves over must be zero (canonical form). */
    if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
      return -1;
    out[n++] = (uint8_t)(v >> 16);
    if (pad < 2)
      out[n++] = (uint8_t)(v >> 8);
    if (pad < 1)
      out[n++] = (uint8_t)v;
  }
  return (long)n;
}
