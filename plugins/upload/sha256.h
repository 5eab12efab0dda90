/* sha256.h - SHA-256 (FIPS 180-4), small and dependency-free, for hashing
 * a body as it streams through the upload plugin. */
#ifndef UPLOAD_SHA256_H
#define UPLOAD_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes hashed */
  uint8_t block[64];
  size_t used; /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; `s` must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[32]);

#endif
