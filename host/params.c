/* params.c - percent-decoding and application/x-www-form-urlencoded
 * parameters: the query string's and a form body's (the SDK's
 * mc_request_query_*() and mc_request_form_*()).
 *
 * The text is copied once into the request's arena and decoded there in
 * place, piece by piece; the list is an array of pointers into that copy.
 * Any malformed piece refuses the whole source, so that a plugin never acts
 * on part of what the client meant. */
#include "params.h"

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "conn.h"
#include "mime.h"
#include "request.h"

static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

MC_EXTERN int mc_url_decode(char *dst, const char *src, size_t len,
                            unsigned flags, size_t *out_len) {
  size_t o = 0;

  if (flags & ~(MC_URL_PLUS | MC_URL_NUL))
    return -EINVAL;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == '%') {
      int hi, lo;
      if (len - i < 3 || (hi = hex_digit((unsigned char)src[i + 1])) < 0 ||
          (lo = hex_digit((unsigned char)src[i + 2])) < 0)
        return -EBADMSG;
      c = (unsigned char)(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && (flags & MC_URL_PLUS)) {
      c = ' ';
    }
    if (c == '\0' && !(flags & MC_URL_NUL))
      return -EBADMSG;
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
  if (out_len != NULL)
    *out_len = o;
  return 0;
}

void params_parse(struct params *p, struct arena *a, const char *s,
                  size_t len) {
  size_t n = 0, at = 0;
  char *copy;

  memset(p, 0, sizeof *p);
  /* Count the non-empty pieces first: the limit is checked before any
   * memory is taken, and the array is allocated once. */
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '&') {
      n += i > at;
      at = i + 1;
    }
  }
  if (n > MC_PARAMS_MAX) {
    p->err = -E2BIG;
    return;
  }
  if (n == 0)
    return;
  if ((p->v = arena_alloc(a, n * sizeof *p->v)) == NULL ||
      (copy = arena_strndup(a, s, len)) == NULL) {
    p->err = -ENOMEM;
    return;
  }
  for (char *piece = copy, *end = copy + len; piece < end;) {
    char *amp = memchr(piece, '&', (size_t)(end - piece));
    char *stop = amp != NULL ? amp : end;
    char *eq = memchr(piece, '=', (size_t)(stop - piece));
    char *value = eq != NULL ? eq + 1 : stop;
    size_t name_len = (size_t)((eq != NULL ? eq : stop) - piece);
    int err;

    if (stop > piece) {
      /* Decoded in place, each part ends with the NUL decoding writes over
       * its '=' or '&' (or the copy's own NUL). */
      if ((err = mc_url_decode(piece, piece, name_len, MC_URL_PLUS, NULL)) <
              0 ||
          (err = mc_url_decode(value, value, (size_t)(stop - value),
                               MC_URL_PLUS, NULL)) < 0) {
        p->n = 0;
        p->err = err;
        return;
      }
      p->v[p->n].name = piece;
      p->v[p->n++].value = value;
    }
    piece = stop + 1;
  }
}

int params_count(const struct params *p) {
  return p->err < 0 ? p->err : (int)p->n;
}

const char *params_get(const struct params *p, const char *name) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->v[i].name, name) == 0)
      return p->v[i].value;
  return NULL;
}

int params_at(const struct params *p, size_t i, const char **name,
              const char **value) {
  if (p->err < 0)
    return p->err;
  if (i >= p->n)
    return -ERANGE;
  *name = p->v[i].name;
  *value = p->v[i].value;
  return 0;
}

int params_int(const struct params *p, const char *name, int64_t *out) {
  const char *s = params_get(p, name);

  if (s == NULL)
    return p->err < 0 ? p->err : -ENOENT;
  return config_parse_int64(s, out);
}

/* ---- the SDK: the query string and the form body ---- */

const struct params params_no_memory = {-ENOMEM, 0, NULL};

static const struct params *query_params(mc_request *req) {
  struct req_parsed *r = request_parsed(req);
  if (r == NULL)
    return &params_no_memory;
  if (!(r->done & PARSED_QUERY)) {
    params_parse(&r->query, &req->arena, req->query, strlen(req->query));
    r->done |= PARSED_QUERY;
  }
  return &r->query;
}

static const struct params *form_params(mc_request *req) {
  struct req_parsed *r = request_parsed(req);
  if (r == NULL)
    return &params_no_memory;
  if (!(r->done & PARSED_FORM)) {
    const char *type = mc_request_header(req, "Content-Type");
    if (type != NULL && mime_is(type, "application/x-www-form-urlencoded"))
      params_parse(&r->form, &req->arena, req->body, req->body_len);
    else
      r->form.err = -ENOTSUP;
    r->done |= PARSED_FORM;
  }
  return &r->form;
}

MC_EXTERN int mc_request_query_count(mc_request *req) {
  return params_count(query_params(req));
}

MC_EXTERN const char *mc_request_query_get(mc_request *req, const char *name) {
  return params_get(query_params(req), name);
}

MC_EXTERN int mc_request_query_at(mc_request *req, size_t i, const char **name,
                                  const char **value) {
  return params_at(query_params(req), i, name, value);
}

MC_EXTERN int mc_request_query_int(mc_request *req, const char *name,
                                   int64_t *out) {
  return params_int(query_params(req), name, out);
}

MC_EXTERN int mc_request_form_count(mc_request *req) {
  return params_count(form_params(req));
}

MC_EXTERN const char *mc_request_form_get(mc_request *req, const char *name) {
  return params_get(form_params(req), name);
}

MC_EXTERN int mc_request_form_at(mc_request *req, size_t i, const char **name,
                                 const char **value) {
  return params_at(form_params(req), i, name, value);
}

MC_EXTERN int mc_request_form_int(mc_request *req, const char *name,
                                  int64_t *out) {
  return params_int(form_params(req), name, out);
}
