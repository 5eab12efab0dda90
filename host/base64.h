/* base64.h - base64 (RFC 4648, section 4, with padding). */
#ifndef MCHOST_BASE64_H
#define MCHOST_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode() writes for len bytes, without the NUL. */
#define BASE64_LEN(len) (((len) + 2) / 3 * 4)

/* Encodes len bytes of in into out (BASE64_LEN(len) + 1 bytes, with a
 * NUL). Returns the length written, without the NUL. */
size_t base64_encode(const uint8_t *in, size_t len, char *out);

/* Decodes the len characters of in (padded, no whitespace) into out,
 * which has room for len / 4 * 3 bytes. Returns the number of bytes, or
 * -1 when in is not canonical base64 (bad character or padding, or unused
 * bits that are not zero). */
long base64_decode(const char *in, size_t len, uint8_t *out);

#endif
