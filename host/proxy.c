/*
 * proxy.c - the PROXY protocol header, v1 and v2, as HAProxy's
 * proxy-protocol.txt defines them.
 *
 * Pure: bytes in, a result out, no socket and no state. The caller keeps
 * the bytes received so far and calls again with more: a header is at most
 * PROXY_V1_MAX or 16 + PROXY_V2_MAX_LEN bytes, so parsing it again from its
 * start costs nothing worth keeping state for. A beginning that cannot
 * become a valid header is refused at once, so that a client that speaks
 * HTTP straight away is closed without waiting for a timeout.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
static const unsigned char v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                         0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
#define V2_TCP4 0x11
#define V2_TCP6 0x21
#define V2_TYPE_SSL 0x20
#define V2_CLIENT_SSL 0x01

static int refuse(const char **why, const char *reason) {
  *why = reason;
  return -EPROTO;
}

/* ---- v1: "PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n" ---- */

/* The next field of the line, up to a single space or the end: copied
 * NUL-terminated into out. Returns its length, or 0 for an empty or too
 * long field. */
static size_t v1_field(const char **p, const char *end, char *out,
                       size_t size) {
  const char *s = *p, *e = memchr(s, ' ', (size_t)(end - s));
  size_t n;
  if (e == NULL)
    e = end;
  n = (size_t)(e - s);
  if (n == 0 || n >= size)
    return 0;
  memcpy(out, s, n);
  out[n] = '\0';
  *p = e < end ? e + 1 : end;
  return n;
}

/* Decimal, 0 to 65535, without the leading zeros no proxy writes. */
static int v1_port(const char *s, uint16_t *port) {
  uint64_t v;
  if ((s[0] == '0' && s[1] != '\0') || strlen(s) > 5 ||
      config_parse_uint(s, 0, 65535, &v) != 0)
    return -1;
  *port = (uint16_t)v;
  return 0;
}

/* The line between "PROXY " and CRLF. */
static int v1_line(const char *p, const char *end, struct proxy_header *out,
                   const char **why) {
  char proto[8], src[48], dst[48], sport[8], dport[8];
  unsigned char addr[16], daddr[16];
  uint16_t port, unused;
  int family;

  if (v1_field(&p, end, proto, sizeof proto) == 0)
    return refuse(why, "v1: no protocol");
  /* "UNKNOWN": the receiver ignores the rest of the line (the spec). */
  if (strcmp(proto, "UNKNOWN") == 0)
    return 0;
  if (strcmp(proto, "TCP4") == 0)
    family = AF_INET;
  else if (strcmp(proto, "TCP6") == 0)
    family = AF_INET6;
  else
    return refuse(why, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
  if (v1_field(&p, end, src, sizeof src) == 0 ||
      v1_field(&p, end, dst, sizeof dst) == 0 ||
      v1_field(&p, end, sport, sizeof sport) == 0 ||
      v1_field(&p, end, dport, sizeof dport) == 0 || p != end || end[-1] == ' ')
    return refuse(why, "v1: not five fields separated by single spaces");
  if (inet_pton(family, src, addr) != 1 || inet_pton(family, dst, daddr) != 1)
    return refuse(why, "v1: an address is not of the protocol's family");
  if (v1_port(sport, &port) != 0 || v1_port(dport, &unused) != 0)
    return refuse(why, "v1: a port is not a number from 0 to 65535");
  out->has_addr = 1;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&out->src;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    memcpy(&a->sin_addr, addr, 4);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->src;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    memcpy(&a->sin6_addr, addr, 16);
  }
  return 0;
}

static int v1_parse(const char *buf, size_t len, struct proxy_header *out,
                    const char **why) {
  size_t n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
  const char *lf;

  if (memcmp(buf, "PROXY ", n < 6 ? n : 6) != 0)
    return refuse(why, "not a PROXY protocol header");
  if ((lf = memchr(buf, '\n', n)) == NULL)
    return len >= PROXY_V1_MAX ? refuse(why, "v1: no CRLF within 107 bytes")
                               : 0;
  if (lf - buf < 7 || lf[-1] != '\r')
    return refuse(why, "v1: the line does not end with CRLF");
  for (const char *s = buf; s < lf - 1; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return refuse(why, "v1: a control or non-ASCII byte in the line");
  if (v1_line(buf + 6, lf - 1, out, why) != 0)
    return -EPROTO;
  return (int)(lf + 1 - buf);
}

/* ---- v2: 16 bytes, then `len` bytes of addresses and TLVs ---- */

/* The TLVs after the address block: each must fit in the header, or its
 * length lies. Only PP2_TYPE_SSL is read. */
static int v2_tlvs(const unsigned char *p, const unsigned char *end,
                   struct proxy_header *out, const char **why) {
  while (p < end) {
    size_t vlen;
    if (end - p < 3)
      return refuse(why, "v2: a TLV cut short");
    vlen = (size_t)p[1] << 8 | p[2];
    if (vlen > (size_t)(end - p - 3))
      return refuse(why, "v2: a TLV longer than the header");
    if (p[0] == V2_TYPE_SSL && vlen >= 5 && (p[3] & V2_CLIENT_SSL))
      out->ssl = 1;
    p += 3 + vlen;
  }
  return 0;
}

static int v2_parse(const unsigned char *buf, size_t len,
                    struct proxy_header *out, const char **why) {
  size_t n = len < sizeof v2_sig ? len : sizeof v2_sig, total, need;
  const unsigned char *body = buf + 16;
  unsigned cmd, fam;

  if (memcmp(buf, v2_sig, n) != 0)
    return refuse(why, "not a PROXY protocol header");
  if (len < 16)
    return len > 12 && (buf[12] >> 4) != 2 ? refuse(why, "v2: not version 2")
                                           : 0;
  cmd = buf[12] & 0x0f;
  fam = buf[13];
  if ((buf[12] >> 4) != 2)
    return refuse(why, "v2: not version 2");
  if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
    return refuse(why, "v2: command is neither LOCAL nor PROXY");
  total = (size_t)buf[14] << 8 | buf[15];
  if (total > PROXY_V2_MAX_LEN)
    return refuse(why, "v2: longer than mchost takes");
  total += 16;
  if (len < total)
    return 0;
  /* LOCAL (a health check by the proxy itself): the family and whatever
   * follows are ignored (the spec). */
  if (cmd == V2_CMD_LOCAL)
    return (int)total;
  switch (fam) {
  case V2_TCP4:
    need = 12;
    break;
  case V2_TCP6:
    need = 36;
    break;
  case 0x00: /* UNSPEC: no address, nothing more to read */
    return (int)total;
  case 0x12: /* UDP4, UDP6, UNIX stream and datagram: no TCP client */
    need = 12;
    break;
  case 0x22:
    need = 36;
    break;
  case 0x31:
  case 0x32:
    need = 216;
    break;
  default:
    return refuse(why, "v2: unknown address family or transport");
  }
  if (total - 16 < need)
    return refuse(why, "v2: address block shorter than its family needs");
  if (v2_tlvs(body + need, buf + total, out, why) != 0)
    return -EPROTO;
  if (fam == V2_TCP4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&out->src;
    a->sin_family = AF_INET;
    memcpy(&a->sin_addr, body, 4);
    memcpy(&a->sin_port, body + 8, 2); /* both in network order */
    out->has_addr = 1;
  } else if (fam == V2_TCP6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->src;
    a->sin6_family = AF_INET6;
    memcpy(&a->sin6_addr, body, 16);
    memcpy(&a->sin6_port, body + 32, 2);
    out->has_addr = 1;
  }
  return (int)total;
}

int proxy_parse(const void *buf, size_t len, struct proxy_header *out,
                const char **why) {
  const unsigned char *b = buf;

  memset(out, 0, sizeof *out);
  *why = NULL;
  if (len == 0)
    return 0;
  if (b[0] == 'P')
    return v1_parse(buf, len, out, why);
  if (b[0] == v2_sig[0])
    return v2_parse(b, len, out, why);
  return refuse(why, "not a PROXY protocol header");
}
