/*
 * range.c - one byte range of a resource of known size, from a request's
 * Range header: what a download that can resume, or a video that can
 * seek, needs. Only the "bytes" unit and a single range: a request for
 * several (multipart/byteranges) gets the whole resource, which RFC 9110
 * (14.2) allows, as nginx does for ranges it will not serve.
 */
#include "range.h"

#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "conn.h"
#include "request.h"
#include "token.h"

/* A run of decimal digits into *out; NULL when there is none or it does
 * not fit in uint64_t. */
static const char *digits(const char *p, uint64_t *out) {
  uint64_t v = 0;
  const char *start = p;

  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return NULL;
    v = v * 10 + d;
  }
  if (p == start)
    return NULL;
  *out = v;
  return p;
}

int range_parse(const char *value, uint64_t size, uint64_t *first,
                uint64_t *last) {
  const char *p = token_skip_ows(value);
  uint64_t a = 0, b = UINT64_MAX, suffix;

  if (strncasecmp(p, "bytes", 5) != 0)
    return -EINVAL;
  p = token_skip_ows(p + 5);
  if (*p++ != '=')
    return -EINVAL;
  p = token_skip_ows(p);
  if (*p == '-') { /* the last `suffix` bytes */
    if ((p = digits(p + 1, &suffix)) == NULL || *token_skip_ows(p) != '\0')
      return -EINVAL;
    if (suffix == 0 || size == 0)
      return -ERANGE;
    *first = suffix >= size ? 0 : size - suffix;
    *last = size - 1;
    return 0;
  }
  if ((p = digits(p, &a)) == NULL || *p++ != '-')
    return -EINVAL;
  if (*p >= '0' && *p <= '9' && ((p = digits(p, &b)) == NULL || b < a))
    return -EINVAL;
  if (*token_skip_ows(p) != '\0') /* "," and another range, or anything else */
    return -EINVAL;
  if (a >= size)
    return -ERANGE;
  *first = a;
  *last = b < size - 1 ? b : size - 1;
  return 0;
}

MC_EXTERN int mc_request_range(const mc_request *req, uint64_t size,
                               uint64_t *first, uint64_t *last) {
  const char *v = mc_request_header(req, "Range");
  if (v == NULL)
    return -ENOENT;
  return range_parse(v, size, first, last);
}
