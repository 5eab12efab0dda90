/*
 * cond_fuzz.c - libFuzzer target for the conditional requests of
 * host/cond.c. Byte 0 is flags (bit 0: GET or HEAD; bits 1-4: which of
 * If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since the
 * request has; bit 5: the file's mtime is the first value's date, give or
 * take a second; bit 6: a small mtime), bytes 1-8 the mtime (little-endian),
 * byte 9 the file's size; the rest, split at NUL bytes, the values: an
 * If-Range, then the four fields in that order. Each value is read from a
 * buffer of its exact size (ASan sees a read past it). A broken promise
 * aborts:
 * - a date parses to 0000-9999 or is refused with *t untouched, and one
 *   that parses reads back the same from utc_http();
 * - an entity-tag list is malformed for both comparisons or for neither,
 *   and what matches strongly matches weakly;
 * - the file's own entity-tag and date pass If-Match, If-None-Match and
 *   If-Range, and a date a second off does not pass If-Range;
 * - If-Range passes only on a strong match or an equal date;
 * - the preconditions give one of the three answers, 304 only for GET and
 *   HEAD; If-Match hides If-Unmodified-Since and If-None-Match hides
 *   If-Modified-Since; a request with one field gets what that field says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "fuzz.h"
#include "utc.h"

#define FUZZ_CHECK(cond)                                                       \
  ((cond) ? (void)0                                                            \
          : (fprintf(stderr, "cond: broken: %s (line %d)\n", #cond, __LINE__), \
             abort()))

#define VALUES 5
#define T_MIN (-62167219200LL) /* 0000-01-01 */
#define T_MAX 253402300800LL   /* 9999-12-31 23:59:60 */

/* A copy of n bytes with a NUL, in a buffer of exactly that size. */
static char *dup_exact(const void *p, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL)
    abort();
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static void check_date(const char *s) {
  int64_t t = 42, back = 43;
  int rc = cond_date_parse(s, &t);
  char *fmt;

  FUZZ_CHECK(rc == 0 || rc == -EINVAL);
  if (rc != 0) {
    FUZZ_CHECK(t == 42);
    return;
  }
  FUZZ_CHECK(t >= T_MIN && t <= T_MAX);
  fmt = malloc(UTC_HTTP_LEN + 1);
  if (fmt == NULL)
    abort();
  utc_http(fmt, (time_t)t);
  FUZZ_CHECK(cond_date_parse(fmt, &back) == 0 && back == t);
  free(fmt);
}

static void check_list(const char *list, const char *etag) {
  int strong = cond_etag_match(list, etag, 0);
  int weak = cond_etag_match(list, etag, 1);
  FUZZ_CHECK(strong == 0 || strong == 1 || strong == -EINVAL);
  FUZZ_CHECK(weak == 0 || weak == 1 || weak == -EINVAL);
  FUZZ_CHECK((strong == -EINVAL) == (weak == -EINVAL));
  FUZZ_CHECK(strong != 1 || weak == 1);
}

/* The file's own validators pass what they should. */
static void check_own(const char *etag, int64_t mtime) {
  struct cond_request r = {etag, NULL, etag, NULL, 1};
  char *date;

  FUZZ_CHECK(cond_etag_match(etag, etag, 0) == 1);
  FUZZ_CHECK(cond_if_range(etag, etag, mtime) == 1);
  FUZZ_CHECK(cond_evaluate(&r, etag, mtime) == COND_NOT_MODIFIED);
  if (mtime < T_MIN || mtime >= T_MAX)
    return;
  if ((date = malloc(UTC_HTTP_LEN + 1)) == NULL)
    abort();
  utc_http(date, (time_t)mtime);
  FUZZ_CHECK(cond_if_range(date, etag, mtime) == 1);
  FUZZ_CHECK(cond_if_range(date, etag, mtime + 1) == 0);
  FUZZ_CHECK(cond_if_range(date, etag, mtime - 1) == 0);
  r = (struct cond_request){NULL, date, NULL, date, 1};
  FUZZ_CHECK(cond_evaluate(&r, etag, mtime) == COND_NOT_MODIFIED);
  FUZZ_CHECK(cond_evaluate(&r, etag, mtime + 1) == COND_FAILED);
  free(date);
}

static void check_if_range(const char *value, const char *etag, int64_t mtime) {
  int64_t t;
  int r = cond_if_range(value, etag, mtime);
  FUZZ_CHECK(r == 0 || r == 1);
  FUZZ_CHECK(value != NULL || r == 1);
  if (r == 1 && value != NULL)
    FUZZ_CHECK(cond_etag_match(value, etag, 0) == 1 ||
               (cond_date_parse(value, &t) == 0 && t == mtime));
}

static void check_evaluate(const struct cond_request *r, const char *etag,
                           int64_t mtime) {
  struct cond_request o = *r;
  enum cond_result got = cond_evaluate(r, etag, mtime), want;
  int n = (r->if_match != NULL) + (r->if_unmodified_since != NULL) +
          (r->if_none_match != NULL) + (r->if_modified_since != NULL);
  int64_t t;

  FUZZ_CHECK(got == COND_PROCEED || got == COND_NOT_MODIFIED ||
             got == COND_FAILED);
  FUZZ_CHECK(got != COND_NOT_MODIFIED || r->get_or_head);
  if (r->if_match != NULL) {
    o.if_unmodified_since = NULL;
    FUZZ_CHECK(cond_evaluate(&o, etag, mtime) == got);
  }
  if (r->if_none_match != NULL) {
    o.if_modified_since = NULL;
    FUZZ_CHECK(cond_evaluate(&o, etag, mtime) == got);
  }
  if (n != 1)
    return;
  if (r->if_match != NULL)
    want =
        cond_etag_match(r->if_match, etag, 0) == 1 ? COND_PROCEED : COND_FAILED;
  else if (r->if_unmodified_since != NULL)
    want = cond_date_parse(r->if_unmodified_since, &t) == 0 && mtime > t
               ? COND_FAILED
               : COND_PROCEED;
  else if (r->if_none_match != NULL)
    want = cond_etag_match(r->if_none_match, etag, 1) != 1 ? COND_PROCEED
           : r->get_or_head                                ? COND_NOT_MODIFIED
                                                           : COND_FAILED;
  else
    want = r->get_or_head && cond_date_parse(r->if_modified_since, &t) == 0 &&
                   mtime <= t
               ? COND_NOT_MODIFIED
               : COND_PROCEED;
  FUZZ_CHECK(got == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v[VALUES] = {NULL}, own[COND_ETAG_MAX], *etag;
  const char *field[4] = {NULL};
  struct cond_request r;
  uint8_t flags;
  int64_t mtime = 0, t;
  size_t i = 10, n, len;

  if (size < 10)
    return 0;
  flags = data[0];
  for (int b = 8; b >= 1; b--)
    mtime = (int64_t)((uint64_t)mtime << 8 | data[b]);
  if (flags & 0x40)
    mtime = data[1];
  for (n = 0; n < VALUES && i <= size; n++) {
    const uint8_t *end = memchr(data + i, 0, size - i);
    size_t vlen = end != NULL ? (size_t)(end - (data + i)) : size - i;
    v[n] = dup_exact(data + i, vlen);
    i += vlen + 1;
  }
  if ((flags & 0x20) && v[0] != NULL && cond_date_parse(v[0], &t) == 0)
    mtime = t + data[9] % 3 - 1;

  len = cond_etag(own, mtime, data[9]);
  FUZZ_CHECK(len == strlen(own) && len < COND_ETAG_MAX && len >= 5);
  FUZZ_CHECK(own[0] == '"' && own[len - 1] == '"');
  etag = dup_exact(own, len);
  check_own(etag, mtime);

  for (size_t k = 0; k < n; k++) {
    check_date(v[k]);
    check_list(v[k], etag);
  }
  check_if_range(NULL, etag, mtime);
  if (v[0] != NULL)
    check_if_range(v[0], etag, mtime);
  for (int k = 0; k < 4; k++)
    if (flags & (2 << k))
      field[k] = v[k + 1] != NULL ? v[k + 1] : "";
  r = (struct cond_request){field[0], field[1], field[2], field[3], flags & 1};
  check_evaluate(&r, etag, mtime);

  free(etag);
  for (size_t k = 0; k < n; k++)
    free(v[k]);
  return 0;
}
