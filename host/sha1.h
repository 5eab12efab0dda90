/* sha1.h - SHA-1 (FIPS 180-4), for the WebSocket handshake's
 * Sec-WebSocket-Accept. Not for anything that needs collision resistance. */
#ifndef MCHOST_SHA1_H
#define MCHOST_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

/* The digest of len bytes of data, in out. */
void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);

#endif
