/* params.h - name/value pairs parsed from a request: the query and form
 * parameters (params.c), the cookies (cookie.c). */
#ifndef MCHOST_PARAMS_H
#define MCHOST_PARAMS_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct param {
  const char *name, *value;
};

/* A list of pairs, or the error that refused its source (then n is 0). */
struct params {
  int err;
  size_t n;
  struct param *v;
};

/* An empty list refused for want of memory, for when even the request's
 * parsed state could not be allocated. */
extern const struct params params_no_memory;

/* Parses application/x-www-form-urlencoded text (len bytes of s, which
 * need not be NUL-terminated) into p, the decoded strings in a. */
void params_parse(struct params *p, struct arena *a, const char *s, size_t len);

/* The SDK's four accessors over one list (mc_request_query_*()). */
int params_count(const struct params *p);
const char *params_get(const struct params *p, const char *name);
int params_at(const struct params *p, size_t i, const char **name,
              const char **value);
int params_int(const struct params *p, const char *name, int64_t *out);

#endif
