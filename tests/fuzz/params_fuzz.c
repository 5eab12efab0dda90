/*
 * params_fuzz.c - libFuzzer target for the SDK's parameter helpers
 * (host/params.c, cookie.c, mime.c): the bytes are percent-decoded with
 * every flag, then taken as a query string, a form body, a Cookie field
 * and a header value with parameters. A broken promise aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fuzz.h"
#include "mime.h"
#include "request.h"

#define FUZZ_CHECK(cond)                                                       \
  ((cond)                                                                      \
       ? (void)0                                                               \
       : (fprintf(stderr, "params: broken: %s (line %d)\n", #cond, __LINE__),  \
          abort()))

/* Every flag combination, out of place and in place: the same result, a
 * NUL after it, never longer than the input, no NUL inside unless asked. */
static void fuzz_decode(const char *s, size_t len) {
  char *out = malloc(len + 1), *in_place = malloc(len + 1);
  for (unsigned flags = 0; flags < 4; flags++) {
    size_t n = SIZE_MAX, m = SIZE_MAX;
    int rc = mc_url_decode(out, s, len, flags, &n);
    memcpy(in_place, s, len);
    FUZZ_CHECK(mc_url_decode(in_place, in_place, len, flags, &m) == rc);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
    if (rc == 0) {
      FUZZ_CHECK(n == m && n <= len && out[n] == '\0');
      FUZZ_CHECK(memcmp(out, in_place, n + 1) == 0);
      FUZZ_CHECK((flags & MC_URL_NUL) || strlen(out) == n);
      FUZZ_CHECK(!(flags & MC_URL_PLUS) || memchr(out, '+', n) == NULL ||
                 memchr(s, '%', len) != NULL);
    }
  }
  free(out);
  free(in_place);
}

/* A list: its count agrees with its error, its strings are bounded. */
static void fuzz_list(int count,
                      int (*at)(mc_request *, size_t, const char **,
                                const char **),
                      mc_request *req, size_t src_len) {
  const char *name, *value;
  size_t total = 0;
  int i;

  FUZZ_CHECK(count <= MC_PARAMS_MAX);
  FUZZ_CHECK(count >= 0 || count == -EBADMSG || count == -E2BIG ||
             count == -ENOTSUP);
  for (i = 0; at(req, (size_t)i, &name, &value) == 0; i++)
    total += strlen(name) + strlen(value);
  FUZZ_CHECK(i == (count < 0 ? 0 : count));
  FUZZ_CHECK(total <= src_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  char *text = malloc(len + 1), *body = malloc(len ? len : 1);
  const char *const form = "application/x-www-form-urlencoded";
  const char *pos;
  struct mime_param p;
  mc_request req;
  int rc;

  memcpy(text, data, len);
  text[len] = '\0';
  memcpy(body, data, len);
  fuzz_decode(text, len);

  memset(&req, 0, sizeof req);
  req.query = text; /* up to its first NUL, as a target would be */
  req.body = body;  /* exactly len bytes, so ASan sees a read past them */
  req.body_len = len;
  req.headers[0].name = "Content-Type";
  req.headers[0].value = form;
  req.headers[1].name = "Cookie";
  req.headers[1].value = text;
  req.nheaders = 2;
  fuzz_list(mc_request_query_count(&req), mc_request_query_at, &req,
            strlen(text));
  fuzz_list(mc_request_form_count(&req), mc_request_form_at, &req, len);
  fuzz_list(mc_request_cookie_count(&req), mc_request_cookie_at, &req,
            strlen(text));
  /* The lookups of the first few: all of them would cost n^2. */
  for (int i = 0; i < mc_request_cookie_count(&req) && i < 32; i++) {
    const char *name, *value;
    FUZZ_CHECK(mc_request_cookie_at(&req, (size_t)i, &name, &value) == 0);
    FUZZ_CHECK(name[0] != '\0' && strchr(name, ';') == NULL &&
               strchr(value, ';') == NULL);
    FUZZ_CHECK(mc_request_cookie(&req, name) != NULL);
  }

  for (pos = text; (rc = mime_param_next(&pos, &p)) > 0;) {
    char *value = mime_param_value(&p, &req.arena);
    FUZZ_CHECK(p.name >= text && p.name + p.name_len <= text + len);
    FUZZ_CHECK(p.value >= text && p.value + p.value_len <= text + len);
    FUZZ_CHECK(value != NULL && strlen(value) <= p.value_len);
  }
  FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
  request_free(&req);
  free(text);
  free(body);
  return 0;
}
