/*
 * fetchresp_fuzz.c - libFuzzer target for the response parser of
 * mc_fetch() (host/fetch_parse.c): the bytes after the first four are what
 * an upstream sends. Byte 0 says whether the request was HEAD (bit 0);
 * bytes 1-3 say where the response is cut into reads, as a socket would
 * cut it. The parser is fed the pieces, stopping where fetch.c stops, then
 * told of the close. The promises: every verdict is one fetch.h documents;
 * for a complete response, the status is 100..999, the stored fields
 * fill the stored head exactly, no value has leading or trailing space or
 * tab, a lookup of every stored name finds the value of the first field of
 * that name and gives the same answer again, lookups change nothing, and
 * the body is empty after HEAD, 1xx, 204 and 304, never longer than the bytes
 * sent, and no longer than a Content-Length says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "fuzz.h"

#define FUZZ_CHECK(cond)                                                       \
  ((cond) ? (void)0                                                            \
          : (fprintf(stderr, "fetchresp: broken: %s (line %d)\n", #cond,       \
                     __LINE__),                                                \
             abort()))

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* The first stored field called `name`, by a walk of its own. */
static const char *first_value(const struct fetch_response *r,
                               const char *name) {
  const char *s = r->head.data;
  for (size_t i = 0; i < r->nfields; i++) {
    const char *v = s + strlen(s) + 1;
    if (strcasecmp(s, name) == 0)
      return v;
    s = v + strlen(v) + 1;
  }
  return NULL;
}

/* A Content-Length of plain digits, or -1. */
static long long content_length(const char *v) {
  long long n = 0;
  if (v == NULL || *v == '\0' || strlen(v) > 15)
    return -1;
  for (; *v != '\0'; v++) {
    if (*v < '0' || *v > '9')
      return -1;
    n = n * 10 + (*v - '0');
  }
  return n;
}

static void check_complete(const struct fetch_response *r, size_t sent) {
  mc_fetch_result res = {0};
  const char *s = r->head.data, *end;
  char *before = NULL;
  long long cl;

  fetch_parse_result(r, &res);
  FUZZ_CHECK(res.status >= 100 && res.status <= 999);
  FUZZ_CHECK(res.body != NULL && res.body[res.body_len] == '\0');
  if (r->nfields > 0) {
    FUZZ_CHECK((before = malloc(r->head.len)) != NULL);
    memcpy(before, r->head.data, r->head.len);
  }
  for (size_t i = 0; i < r->nfields; i++) {
    const char *v, *found, *again;
    size_t vlen;
    FUZZ_CHECK(s < r->head.data + r->head.len);
    v = s + strlen(s) + 1;
    FUZZ_CHECK(v <= r->head.data + r->head.len);
    vlen = strlen(v);
    FUZZ_CHECK(v[0] != ' ' && v[0] != '\t');
    FUZZ_CHECK(vlen == 0 || (v[vlen - 1] != ' ' && v[vlen - 1] != '\t'));
    found = mc_fetch_header(&res, s);
    FUZZ_CHECK(found != NULL);
    FUZZ_CHECK(found == first_value(r, s));
    again = mc_fetch_header(&res, s);
    FUZZ_CHECK(again == found);
    s = v + vlen + 1;
  }
  if (r->nfields > 0) {
    end = r->head.data + r->head.len;
    FUZZ_CHECK(s == end); /* no bytes beside the fields */
    FUZZ_CHECK(memcmp(before, r->head.data, r->head.len) == 0);
  } else {
    FUZZ_CHECK(r->head.len == 0);
  }
  free(before);
  FUZZ_CHECK(mc_fetch_header(&res, "") == first_value(r, ""));

  FUZZ_CHECK(res.body_len <= sent);
  if (r->head_only || res.status < 200 || res.status == 204 ||
      res.status == 304)
    FUZZ_CHECK(res.body_len == 0);
  cl = content_length(mc_fetch_header(&res, "content-length"));
  if (cl >= 0 && mc_fetch_header(&res, "transfer-encoding") == NULL)
    FUZZ_CHECK(res.body_len <= (unsigned long long)cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fetch_response r;
  size_t cut[5], n, sent = 0;
  const char *msg;
  int rc = 0;

  if (size < 4)
    return 0;
  msg = (const char *)data + 4;
  n = size - 4;
  cut[0] = 0;
  for (int i = 1; i <= 3; i++)
    cut[i] = data[i] * (n + 1) / 256;
  cut[4] = n;
  qsort(cut + 1, 3, sizeof cut[0], cmp_size);

  fetch_parse_init(&r, data[0] & 1);
  for (int i = 0; i < 4 && rc == 0; i++) {
    size_t len = cut[i + 1] - cut[i];
    char *piece;
    if (len == 0)
      continue;
    /* each read in a buffer of its own size: ASan sees a read past it */
    FUZZ_CHECK((piece = malloc(len)) != NULL);
    memcpy(piece, msg + cut[i], len);
    rc = fetch_parse_feed(&r, piece, len);
    sent += len;
    free(piece);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == -EBADMSG || rc == -ENOMEM);
    FUZZ_CHECK((rc == 1) == (r.complete != 0));
  }
  if (rc == 0 && sent > 0) {
    rc = fetch_parse_finish(&r);
    FUZZ_CHECK(rc == 1 || rc == -EBADMSG);
  }
  if (rc == 1)
    check_complete(&r, sent);
  fetch_parse_free(&r);
  return 0;
}
