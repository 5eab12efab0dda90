/* Fixture for the SDK's request helpers: echoes what they parsed, one item
 * a line, so that a test compares it with what its client sent.
 *   /query    the query's pairs       "count N" then "[name]=[value]" each
 *   /form     the form body's pairs   the same
 *   /cookie   the cookies             the same, then "sid=[...]" (lookup)
 *   /parts    multipart/form-data     "count N", then per part
 *             "[name] [filename] [type] LEN FNV" (FNV-1a 64 of the data,
 *             hex; "-" for what is NULL), and "data=[...]" when it is
 *             short and printable
 *   /int      "N VALUE": mc_request_query_int() of the parameter "n"
 *   /decode   "N LEN [decoded]": mc_url_decode() of the raw query with
 *             MC_URL_PLUS
 * A negative count is the error the helper returned ("count -74").
 * Anything else: 200 "ok\n" (the harness's readiness probe). */
#include <mchost.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

struct out {
  char *data;
  size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap) {
    o->cap = (o->len + n + 1) * 2;
    o->data = realloc(o->data, o->cap);
  }
  memcpy(o->data + o->len, s, n);
  o->len += n;
}

static void putf(struct out *o, const char *fmt, ...) MC_PRINTF(2, 3);
static void putf(struct out *o, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  put(o, buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* "[s]", or "-" for NULL. */
static void put_item(struct out *o, const char *s) {
  if (s == NULL) {
    put(o, "-", 1);
    return;
  }
  put(o, "[", 1);
  put(o, s, strlen(s));
  put(o, "]", 1);
}

static void put_pairs(struct out *o, int count,
                      int (*at)(mc_request *, size_t, const char **,
                                const char **),
                      mc_request *req) {
  const char *name, *value;
  putf(o, "count %d\n", count);
  for (size_t i = 0; at(req, i, &name, &value) == 0; i++) {
    put_item(o, name);
    put(o, "=", 1);
    put_item(o, value);
    put(o, "\n", 1);
  }
}

static void put_parts(struct out *o, mc_request *req) {
  const mc_part *p;
  putf(o, "count %d\n", mc_request_part_count(req));
  for (size_t i = 0; mc_request_part_at(req, i, &p) == 0; i++) {
    const unsigned char *d = p->data;
    uint64_t h = 1469598103934665603u;
    int printable = p->len <= 64;
    for (size_t k = 0; k < p->len; k++) {
      h = (h ^ d[k]) * 1099511628211u;
      printable &= d[k] >= 0x20 && d[k] < 0x7f;
    }
    put_item(o, p->name);
    put(o, " ", 1);
    put_item(o, p->filename);
    put(o, " ", 1);
    put_item(o, p->content_type);
    putf(o, " %zu %016" PRIx64 "\n", p->len, h);
    if (printable) {
      put(o, "data=[", 6);
      put(o, p->data, p->len);
      put(o, "]\n", 2);
    }
  }
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  struct out o = {0};

  if (strcmp(path, "/query") == 0) {
    put_pairs(&o, mc_request_query_count(req), mc_request_query_at, req);
  } else if (strcmp(path, "/form") == 0) {
    put_pairs(&o, mc_request_form_count(req), mc_request_form_at, req);
  } else if (strcmp(path, "/cookie") == 0) {
    put_pairs(&o, mc_request_cookie_count(req), mc_request_cookie_at, req);
    put(&o, "sid=", 4);
    put_item(&o, mc_request_cookie(req, "sid"));
    put(&o, "\n", 1);
  } else if (strcmp(path, "/parts") == 0) {
    put_parts(&o, req);
  } else if (strcmp(path, "/int") == 0) {
    int64_t n = 0;
    int rc = mc_request_query_int(req, "n", &n);
    putf(&o, "%d %" PRId64 "\n", rc, n);
  } else if (strcmp(path, "/decode") == 0) {
    const char *q = mc_request_query(req);
    char *buf = malloc(strlen(q) + 1);
    size_t len = 0;
    int rc = mc_url_decode(buf, q, strlen(q), MC_URL_PLUS, &len);
    putf(&o, "%d %zu ", rc, len);
    put_item(&o, rc == 0 ? buf : NULL);
    put(&o, "\n", 1);
    free(buf);
  } else {
    put(&o, "ok\n", 3);
  }
  mc_response_header(res, "Content-Type", "text/plain");
  mc_response_send(res, 200, o.data, o.len);
  free(o.data);
}
