/* test_range.c - range_parse() (host/range.c), behind mc_request_range():
 * RFC 9110's byte ranges against a resource of known size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "range.h"

struct range_case {
  const char *value;
  uint64_t size;
  int rc;
  uint64_t first, last;
};

static const struct range_case cases[] = {
    {"bytes=0-499", 1000, 0, 0, 499},
    {"bytes=500-", 1000, 0, 500, 999},
    {"bytes=-200", 1000, 0, 800, 999},
    {"bytes=-2000", 1000, 0, 0, 999},     /* more than there is: all */
    {"bytes=0-5000", 1000, 0, 0, 999},    /* clipped to the end */
    {"bytes=999-999", 1000, 0, 999, 999}, /* the last byte */
    {" Bytes = 1-2 ", 1000, 0, 1, 2},     /* any case, OWS */
    {"bytes=1000-", 1000, -ERANGE, 7, 7}, /* starts past the end */
    {"bytes=-0", 1000, -ERANGE, 7, 7},    /* no byte */
    {"bytes=0-", 0, -ERANGE, 7, 7},       /* an empty resource */
    {"bytes=-5", 0, -ERANGE, 7, 7},
    {"bytes=5-4", 1000, -EINVAL, 7, 7},     /* last before first */
    {"bytes=0-1,5-6", 1000, -EINVAL, 7, 7}, /* several: the whole */
    {"items=0-1", 1000, -EINVAL, 7, 7},
    {"bytes=", 1000, -EINVAL, 7, 7},
    {"bytes=-", 1000, -EINVAL, 7, 7},
    {"bytes 0-1", 1000, -EINVAL, 7, 7},
    {"bytes=a-b", 1000, -EINVAL, 7, 7},
    {"bytes=1-2x", 1000, -EINVAL, 7, 7},
    {"bytes=+1-2", 1000, -EINVAL, 7, 7},
    {"bytes=18446744073709551616-", 1000, -EINVAL, 7, 7}, /* 2^64 */
    {"bytes=0-18446744073709551615", 1000, 0, 0, 999},
};

Test(range, cases) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct range_case *c = &cases[i];
    uint64_t first = 7, last = 7;
    int rc = range_parse(c->value, c->size, &first, &last);
    cr_expect_eq(rc, c->rc, "\"%s\" of %llu: rc %d", c->value,
                 (unsigned long long)c->size, rc);
    cr_expect_eq(first, c->first, "\"%s\": first %llu", c->value,
                 (unsigned long long)first);
    cr_expect_eq(last, c->last, "\"%s\": last %llu", c->value,
                 (unsigned long long)last);
  }
}
