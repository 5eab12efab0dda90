/* mime.c - media types and their parameters in header values (mime.h). */
#include "mime.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "token.h"

int mime_is(const char *value, const char *type) {
  size_t len = strlen(type);
  value = token_skip_ows(value);
  if (strncasecmp(value, type, len) != 0)
    return 0;
  value += len;
  return *value == '\0' || *value == ';' || token_is_ows(*value);
}

int mime_param_next(const char **pos, struct mime_param *p) {
  const char *s = *pos;

  /* The first call starts at the type (or disposition), skipped here. */
  while (*s != '\0' && *s != ';' && *s != '"')
    s++;
  if (*s == '"')
    return -EBADMSG;
  while (token_is_ows(*s) || *s == ';')
    s++;
  if (*s == '\0') {
    *pos = s;
    return 0;
  }
  p->name = s;
  while (token_is_tchar((unsigned char)*s))
    s++;
  p->name_len = (size_t)(s - p->name);
  s = token_skip_ows(s);
  if (p->name_len == 0 || *s++ != '=')
    return -EBADMSG;
  s = token_skip_ows(s);
  p->quoted = *s == '"';
  if (p->quoted) {
    p->value = ++s;
    while (*s != '"') {
      if (*s == '\0' || (*s == '\\' && *++s == '\0'))
        return -EBADMSG;
      s++;
    }
    p->value_len = (size_t)(s++ - p->value);
  } else {
    p->value = s;
    while (*s != '\0' && *s != ';' && *s != '"' && !token_is_ows(*s) &&
           (unsigned char)*s >= 0x20 && *s != 0x7f)
      s++;
    p->value_len = (size_t)(s - p->value);
    if (p->value_len == 0)
      return -EBADMSG;
  }
  s = token_skip_ows(s);
  if (*s != '\0' && *s != ';')
    return -EBADMSG;
  *pos = s;
  return 1;
}

char *mime_param_value(const struct mime_param *p, struct arena *a) {
  char *out = arena_strndup(a, p->value, p->value_len);
  if (out != NULL && p->quoted) {
    size_t o = 0;
    for (size_t i = 0; i < p->value_len; i++) {
      if (out[i] == '\\')
        i++; /* mime_param_next() saw that a character follows */
      out[o++] = out[i];
    }
    out[o] = '\0';
  }
  return out;
}

int mime_param_is(const struct mime_param *p, const char *name) {
  return strlen(name) == p->name_len &&
         strncasecmp(p->name, name, p->name_len) == 0;
}
