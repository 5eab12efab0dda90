/*
 * multipart_fuzz.c - libFuzzer target for the multipart parser
 * (host/multipart.c). The bytes up to the first LF are the Content-Type,
 * the rest the body. The body is parsed whole as the SDK does, then fed to
 * a second parser in pieces (sizes of 1 to 64 bytes drawn from a hash of
 * the input, and one byte at a time): both must agree on the framing and
 * on every part's content, which must lie inside the body. A broken
 * promise aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fuzz.h"
#include "mime.h"
#include "multipart.h"
#include "request.h"

#define FUZZ_CHECK(cond)                                                       \
  ((cond) ? (void)0                                                            \
          : (fprintf(stderr, "multipart: broken: %s (line %d)\n", #cond,       \
                     __LINE__),                                                \
             abort()))

/* What the pieces gave: per part, its content's length and hash. */
struct fuzz_parts {
  size_t n, len[MC_PARTS_MAX + 1];
  uint64_t hash[MC_PARTS_MAX + 1];
  int in_header, in_data;
};

static int fuzz_on_part(void *data) {
  struct fuzz_parts *f = data;
  FUZZ_CHECK(!f->in_header && !f->in_data);
  if (f->n == MC_PARTS_MAX + 1)
    return -E2BIG;
  f->len[f->n] = 0;
  f->hash[f->n++] = 1469598103934665603u;
  f->in_header = 1;
  return 0;
}

static int fuzz_on_header(void *data, const char *name, const char *value) {
  struct fuzz_parts *f = data;
  FUZZ_CHECK(f->in_header && name[0] != '\0' && strchr(name, ':') == NULL);
  FUZZ_CHECK(strlen(name) + strlen(value) < MULTIPART_HEADER_MAX);
  return 0;
}

static int fuzz_on_header_end(void *data) {
  struct fuzz_parts *f = data;
  FUZZ_CHECK(f->in_header);
  f->in_header = 0;
  f->in_data = 1;
  return 0;
}

static int fuzz_on_data(void *data, const char *p, size_t n) {
  struct fuzz_parts *f = data;
  FUZZ_CHECK(f->in_data && n > 0);
  f->len[f->n - 1] += n;
  for (size_t i = 0; i < n; i++)
    f->hash[f->n - 1] = (f->hash[f->n - 1] ^ (uint8_t)p[i]) * 1099511628211u;
  return 0;
}

static int fuzz_on_part_end(void *data) {
  struct fuzz_parts *f = data;
  FUZZ_CHECK(f->in_data);
  f->in_data = 0;
  return 0;
}

static const struct multipart_callbacks fuzz_callbacks = {
    fuzz_on_part, fuzz_on_header, fuzz_on_header_end, fuzz_on_data,
    fuzz_on_part_end};

/* The body fed in pieces of 1 to 64 bytes, the sizes drawn from `seed`,
 * or one byte at a time. */
static int fuzz_pieces(const char *boundary, size_t blen, const char *body,
                       size_t len, uint64_t seed, int one_at_a_time,
                       struct fuzz_parts *f) {
  struct multipart *m = malloc(sizeof *m);
  int rc;

  FUZZ_CHECK(multipart_init(m, boundary, blen, &fuzz_callbacks, f) == 0);
  for (size_t at = 0, n; at < len; at += n) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    n = one_at_a_time ? 1 : 1 + (seed >> 58);
    if (n > len - at)
      n = len - at;
    if ((rc = multipart_feed(m, body + at, n)) != 0)
      break;
  }
  rc = multipart_finish(m);
  free(m);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  const uint8_t *lf = memchr(data, '\n', len);
  size_t tlen = lf != NULL ? (size_t)(lf - data) : len;
  size_t blen = lf != NULL ? len - tlen - 1 : 0, boundary_len;
  char *type = malloc(tlen + 1), *body = malloc(blen ? blen : 1);
  struct fuzz_parts *f = malloc(sizeof *f);
  const char *boundary;
  uint64_t seed = 14695981039346656037u;
  mc_request req;
  int count, rc;

  memcpy(type, data, tlen);
  type[tlen] = '\0';
  memcpy(body, data + len - blen, blen);
  for (size_t i = 0; i < len; i++)
    seed = (seed ^ data[i]) * 1099511628211u;

  memset(&req, 0, sizeof req);
  req.headers[0].name = "Content-Type";
  req.headers[0].value = type;
  req.nheaders = 1;
  req.body = body; /* exactly blen bytes: ASan sees a read past them */
  req.body_len = blen;
  count = mc_request_part_count(&req);
  FUZZ_CHECK(count <= MC_PARTS_MAX);
  for (int i = 0; i < count; i++) {
    const mc_part *p;
    FUZZ_CHECK(mc_request_part_at(&req, (size_t)i, &p) == 0);
    FUZZ_CHECK(p->name != NULL && p->data != NULL);
    FUZZ_CHECK(p->len == 0 || ((const char *)p->data >= body &&
                               (const char *)p->data + p->len <= body + blen));
    FUZZ_CHECK(mc_request_part(&req, p->name) != NULL);
  }

  for (int one = 0; one < 2; one++) {
    if (multipart_boundary(type, &boundary, &boundary_len) != 0)
      break;
    memset(f, 0, sizeof *f);
    rc = fuzz_pieces(boundary, boundary_len, body, blen, seed, one, f);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -E2BIG);
    /* The form layer refuses more than the framing, never less. */
    if (count >= 0) {
      FUZZ_CHECK(rc == 0 && f->n == (size_t)count);
      for (int i = 0; i < count; i++) {
        const mc_part *p = NULL;
        uint64_t h = 1469598103934665603u;
        FUZZ_CHECK(mc_request_part_at(&req, (size_t)i, &p) == 0);
        for (size_t k = 0; k < p->len; k++)
          h = (h ^ ((const uint8_t *)p->data)[k]) * 1099511628211u;
        FUZZ_CHECK(f->len[i] == p->len && f->hash[i] == h);
      }
    }
  }
  request_free(&req);
  free(type);
  free(body);
  free(f);
  return 0;
}
