/*
 * router.c - the routing and middleware machinery behind router.h.
 *
 * A ctx is freed in exactly one place, finish(), right after the step
 * (middleware, route or deferred callback) that answered. While a deferral
 * is pending nothing frees it: the timer callback owns it.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double app_elapsed_ms(const struct app_ctx *c) {
  return (double)(now_ns() - c->start_ns) / 1e6;
}

/* ---- matching ---- */

static int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into out and terminates it. Returns the decoded
 * length, or -1 for a broken escape or %00 (which would silently cut the
 * value short for every C string function downstream). */
static long decode_segment(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      out[o++] = s[i];
      continue;
    }
    if (i + 2 >= n)
      return -1;
    int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi | lo) == 0)
      return -1;
    out[o++] = (char)(hi << 4 | lo);
    i += 2;
  }
  out[o] = '\0';
  return (long)o;
}

enum match { MATCH_NO, MATCH_YES, MATCH_BAD };

/* Walks pattern and path one "/segment" at a time. Captured values go to
 * `out`, which has room for the whole path: decoding never grows a segment,
 * and each segment's '/' pays for its terminating NUL. */
static enum match route_match(struct app_ctx *c, const char *pat,
                              const char *path, char *out) {
  c->nparams = 0;
  while (*pat && *path) {
    if (*pat != '/' || *path != '/')
      return MATCH_NO;
    pat++;
    path++;
    size_t plen = strcspn(pat, "/"), slen = strcspn(path, "/");
    if (*pat == ':') {
      if (slen == 0 || c->nparams == APP_MAX_PARAMS)
        return MATCH_NO;
      long n = decode_segment(path, slen, out);
      if (n < 0)
        return MATCH_BAD;
      c->params[c->nparams].name = pat + 1;
      c->params[c->nparams].name_len = plen - 1;
      c->params[c->nparams].value = out;
      c->nparams++;
      out += n + 1;
    } else if (plen != slen || memcmp(pat, path, plen) != 0) {
      return MATCH_NO;
    }
    pat += plen;
    path += slen;
  }
  return *pat == '\0' && *path == '\0' ? MATCH_YES : MATCH_NO;
}

const char *app_param(const struct app_ctx *c, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < c->nparams; i++)
    if (c->params[i].name_len == len &&
        memcmp(c->params[i].name, name, len) == 0)
      return c->params[i].value;
  return NULL;
}

/* HEAD is GET without the body, and the host already drops the body. */
static int method_matches(const char *route, const char *method) {
  return strcmp(route, method) == 0 ||
         (strcmp(route, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* Appends `method` to the comma-separated Allow list unless it is there. */
static void allow_add(char *allow, size_t size, const char *method) {
  size_t n = strlen(method), len = strlen(allow);
  for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
    if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
      return;
  snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

static void send_error(struct app_ctx *c, int status, const char *msg) {
  app_send_json(c, status, "error", msg, strlen(msg));
}

static void route(struct app_ctx *c) {
  const struct app_router *r = c->router;
  char *out = c->mem; /* see app_router_run() for the layout */
  char allow[128] = "";

  for (size_t i = 0; i < r->nroutes; i++) {
    const struct app_route *rt = &r->routes[i];
    switch (route_match(c, rt->pattern, c->path, out)) {
    case MATCH_NO:
      break;
    case MATCH_BAD:
      send_error(c, 400, "bad request");
      return;
    case MATCH_YES:
      if (method_matches(rt->method, c->method)) {
        rt->handler(c);
        return;
      }
      allow_add(allow, sizeof allow, rt->method);
      if (strcmp(rt->method, "GET") == 0)
        allow_add(allow, sizeof allow, "HEAD");
      break;
    }
  }
  if (allow[0]) {
    mc_response_header(c->res, "Allow", allow);
    send_error(c, 405, "method not allowed");
  } else {
    send_error(c, 404, "not found");
  }
}

/* ---- running a request ---- */

static void finish(struct app_ctx *c) {
  for (size_t i = c->nmiddleware_run; i-- > 0;) {
    const struct app_middleware *m = &c->router->middleware[i];
    if (m->after)
      m->after(c);
  }
  free(c);
}

/* Runs a route or a deferred callback. One that neither answers nor defers
 * would leave the response open until --request-timeout and leak the ctx:
 * answer 500 for it, as mchost itself does for mc_run. */
static void step(struct app_ctx *c, app_handler fn) {
  c->deferred = 0;
  fn(c);
  if (c->status == 0 && !c->deferred) {
    mc_log(MC_LOG_ERROR, "%s %s: handler returned without answering", c->method,
           c->path);
    send_error(c, 500, "internal error");
  }
  if (c->status != 0)
    finish(c);
}

void app_router_run(const struct app_router *r, mc_request *req,
                    mc_response *res) {
  const char *method = mc_request_method(req), *path = mc_request_path(req);
  size_t mlen = strlen(method), plen = strlen(path);

  /* Heap, not stack: a deferred response outlives this call. c->mem holds
   * the decoded parameters (at most the path's length), then copies of the
   * method and path for the after-middleware. */
  struct app_ctx *c =
      calloc(1, sizeof *c + (plen + 1) + (mlen + 1) + (plen + 1));
  if (!c) {
    mc_response_send(res, 500, NULL, 0);
    return;
  }
  c->router = r;
  c->req = req;
  c->res = res;
  c->method = memcpy(c->mem + plen + 1, method, mlen + 1);
  c->path = memcpy(c->mem + plen + 1 + mlen + 1, path, plen + 1);
  c->start_ns = now_ns();

  for (size_t i = 0; i < r->nmiddleware; i++) {
    c->nmiddleware_run = i + 1;
    if (r->middleware[i].before)
      r->middleware[i].before(c);
    if (c->status != 0) {
      finish(c);
      return;
    }
  }
  step(c, route);
}

/* ---- answering ---- */

void app_send(struct app_ctx *c, int status, const char *content_type,
              const void *body, size_t len) {
  if (c->status != 0) {
    mc_log(MC_LOG_WARN, "%s %s: answered twice, second answer dropped",
           c->method, c->path);
    return;
  }
  mc_response_header(c->res, "Content-Type", content_type);
  int err = mc_response_send(c->res, status, body, len);
  if (err < 0 && err != -EPIPE) /* -EPIPE: the client left, nothing to do */
    mc_log(MC_LOG_ERROR, "%s %s: mc_response_send: %s", c->method, c->path,
           strerror(-err));
  c->status = status;
  c->req = NULL;
  c->res = NULL;
}

/* Writes s[0..n) as the inside of a JSON string into out, or only counts
 * when out is NULL. Bytes >= 0x80 pass through, so UTF-8 stays UTF-8. */
static size_t json_escape(char *out, const unsigned char *s, size_t n) {
  static const char special[] = "\"\\\n\r\t", letter[] = "\"\\nrt";
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = s[i];
    const char *sp = memchr(special, ch, sizeof special - 1);
    if (sp) {
      if (out) {
        out[o] = '\\';
        out[o + 1] = letter[sp - special];
      }
      o += 2;
    } else if (ch < 0x20) {
      if (out) {
        memcpy(out + o, "\\u00", 4);
        out[o + 4] = hex[ch >> 4];
        out[o + 5] = hex[ch & 15];
      }
      o += 6;
    } else {
      if (out)
        out[o] = (char)ch;
      o++;
    }
  }
  return o;
}

void app_send_json(struct app_ctx *c, int status, const char *key,
                   const void *value, size_t len) {
  size_t klen = strlen(key);
  /* {"key":"value"} */
  size_t total = 2 + json_escape(NULL, (const unsigned char *)key, klen) + 3 +
                 json_escape(NULL, value, len) + 2;
  char *buf = malloc(total);
  if (!buf) {
    static const char oom[] = "out of memory\n";
    app_send(c, 500, "text/plain", oom, sizeof oom - 1);
    return;
  }
  size_t o = 0;
  buf[o++] = '{';
  buf[o++] = '"';
  o += json_escape(buf + o, (const unsigned char *)key, klen);
  memcpy(buf + o, "\":\"", 3);
  o += 3;
  o += json_escape(buf + o, value, len);
  buf[o++] = '"';
  buf[o++] = '}';
  app_send(c, status, "application/json", buf, o);
  free(buf);
}

/* ---- deferring ---- */

static void on_later(mc_response *res, void *data) {
  struct app_ctx *c = data;
  (void)res;
  step(c, c->later);
}

void app_later(struct app_ctx *c, unsigned ms, app_handler fn) {
  c->later = fn;
  int err = mc_response_later(c->res, ms, on_later, c);
  if (err < 0)
    mc_log(MC_LOG_ERROR, "%s %s: mc_response_later: %s", c->method, c->path,
           strerror(-err));
  else
    c->deferred = 1;
}
