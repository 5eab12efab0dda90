/* token.h - the pieces of HTTP's header grammar, RFC 9110 §5.6: the bytes
 * of a token and the optional whitespace around a value's parts. */
#ifndef MCHOST_TOKEN_H
#define MCHOST_TOKEN_H

/* 1 for a byte of a token (§5.6.2): visible ASCII but DQUOTE and
 * "(),/:;<=>?@[\]{}. */
extern const unsigned char token_tchar[256];
static inline int token_is_tchar(unsigned char c) { return token_tchar[c]; }

/* 1 for a byte of OWS (§5.6.3, also BWS and RWS): a space or a tab. */
static inline int token_is_ows(char c) { return c == ' ' || c == '\t'; }

/* p past the OWS it starts with, in a NUL-terminated string. */
static inline const char *token_skip_ows(const char *p) {
  while (token_is_ows(*p))
    p++;
  return p;
}

/* s past the OWS it starts with, stopping at e. */
static inline const char *token_skip_ows_to(const char *s, const char *e) {
  while (s < e && token_is_ows(*s))
    s++;
  return s;
}

/* e moved back over the OWS before it, stopping at s. */
static inline const char *token_trim_ows(const char *s, const char *e) {
  while (e > s && token_is_ows(e[-1]))
    e--;
  return e;
}

#endif
