/* cookie.c - the request's cookies, from its Cookie header fields (the
 * SDK's mc_request_cookie*()).
 *
 * RFC 6265 §4.2 has clients send "a=1; b=2"; servers meet older and odder
 * clients, so the pieces are taken as §5.4 and browsers do: split on ';',
 * spaces trimmed, one pair of double quotes removed from a value, pieces
 * without a name skipped. Values are not decoded. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "conn.h"
#include "params.h"
#include "request.h"
#include "token.h"

/* The piece [s, end) as a pair in *out, pointing into a copy in the arena;
 * 0 when it has no name, 1 when it is a pair, -ENOMEM. */
static int cookie_pair(const char *s, const char *end, struct arena *a,
                       struct param *out) {
  const char *eq = memchr(s, '=', (size_t)(end - s));
  const char *name_end, *value;
  char *copy;

  if (eq == NULL)
    return 0;
  s = token_skip_ows_to(s, eq);
  name_end = token_trim_ows(s, eq);
  value = token_skip_ows_to(eq + 1, end);
  end = token_trim_ows(value, end);
  if (name_end == s)
    return 0;
  if (end - value >= 2 && *value == '"' && end[-1] == '"')
    value++, end--;
  if ((copy = arena_alloc(a, (size_t)(name_end - s) + (size_t)(end - value) +
                                 2)) == NULL)
    return -ENOMEM;
  out->name = memcpy(copy, s, (size_t)(name_end - s));
  copy += name_end - s;
  *copy++ = '\0';
  out->value = memcpy(copy, value, (size_t)(end - value));
  copy[end - value] = '\0';
  return 1;
}

/* Counts the pairs (v NULL) or collects them. */
static int cookie_scan(const mc_request *req, struct arena *a,
                       struct param *v) {
  int n = 0;
  for (size_t i = 0; i < req->nheaders; i++) {
    const char *s = req->headers[i].value;
    if (strcasecmp(req->headers[i].name, "Cookie") != 0)
      continue;
    for (;;) {
      const char *end = strchr(s, ';');
      if (end == NULL)
        end = s + strlen(s);
      if (v == NULL) {
        n += memchr(s, '=', (size_t)(end - s)) != NULL;
      } else {
        int rc = cookie_pair(s, end, a, &v[n]);
        if (rc < 0)
          return rc;
        n += rc;
      }
      if (*end == '\0')
        break;
      s = end + 1;
    }
  }
  return n;
}

static const struct params *cookies(mc_request *req) {
  struct req_parsed *r = request_parsed(req);
  struct params *p;
  int n;

  if (r == NULL)
    return &params_no_memory;
  p = &r->cookies;
  if (r->done & PARSED_COOKIES)
    return p;
  r->done |= PARSED_COOKIES;
  /* At most this many: pieces with '=' but no name are skipped later. */
  n = cookie_scan(req, NULL, NULL);
  if (n > MC_PARAMS_MAX) {
    p->err = -E2BIG;
  } else if (n > 0) {
    if ((p->v = arena_alloc(&req->arena, (size_t)n * sizeof *p->v)) == NULL ||
        (n = cookie_scan(req, &req->arena, p->v)) < 0)
      p->err = -ENOMEM;
    else
      p->n = (size_t)n;
  }
  return p;
}

MC_EXTERN const char *mc_request_cookie(mc_request *req, const char *name) {
  return params_get(cookies(req), name);
}

MC_EXTERN int mc_request_cookie_count(mc_request *req) {
  return params_count(cookies(req));
}

MC_EXTERN int mc_request_cookie_at(mc_request *req, size_t i, const char **name,
                                   const char **value) {
  return params_at(cookies(req), i, name, value);
}
