/* mime.h - media types and parameters in header values: "text/plain;
 * charset=utf-8", "form-data; name=\"a\"" (RFC 9110 §5.6.6, §8.3.1). */
#ifndef MCHOST_MIME_H
#define MCHOST_MIME_H

#include <stddef.h>

struct arena;

/* 1 when the value's first item (before ';' and whitespace) is `type`,
 * compared without case, else 0. */
int mime_is(const char *value, const char *type);

/* One parameter: its name and its value as written (in quotes or not). */
struct mime_param {
  const char *name, *value;
  size_t name_len, value_len;
  int quoted;
};

/* Steps *pos (the header value at first) to its next parameter. Returns 1
 * with *p filled, 0 after the last, -EBADMSG when the value is malformed:
 * a parameter without '=' or without a value, an unterminated quote,
 * something else than ';' after a value. Spaces around ';' and '=' and
 * empty parameters (";;") are tolerated. */
int mime_param_next(const char **pos, struct mime_param *p);

/* The parameter's value, unquoted (backslash escapes removed), as a
 * NUL-terminated copy in a; NULL when memory runs out. */
char *mime_param_value(const struct mime_param *p, struct arena *a);

/* 1 when the parameter is called `name` (without case), else 0. */
int mime_param_is(const struct mime_param *p, const char *name);

#endif
