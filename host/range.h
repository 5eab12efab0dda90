/* range.h - the Range header of a request for one resource of known size
 * (RFC 9110, 14.2): mc_request_range() in the SDK. */
#ifndef MCHOST_RANGE_H
#define MCHOST_RANGE_H

#include <stdint.h>

/* Parses a Range field value ("bytes=0-499", "bytes=500-", "bytes=-500")
 * against a resource of `size` bytes: 0 and the inclusive byte positions
 * in *first and *last (last clipped to size - 1); -ERANGE when no byte of
 * it is in the resource (a 416); -EINVAL when the header is malformed,
 * names another unit, or asks for several ranges (a server may then send
 * the whole resource). *first and *last are left alone on error. */
int range_parse(const char *value, uint64_t size, uint64_t *first,
                uint64_t *last);

#endif
