/* cond.h - conditional requests (RFC 9110 §13): validators and
 * preconditions, as plain functions over the fields' values (cond.c). */
#ifndef MCHOST_COND_H
#define MCHOST_COND_H

#include <stddef.h>
#include <stdint.h>

/* Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three formats: the
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" and asctime's "Sun Nov  6 08:49:37
 * 1994" (or "Nov 06"). Names are case-sensitive, as the grammar says. The
 * day name must be one of the seven but need not agree with the date. An
 * RFC 850 year 70-99 is 19xx and 00-69 is 20xx: a fixed rule, so that a
 * value means the same on any day. It is RFC 9110's rule (a year more than
 * 50 years ahead is the previous century's) as it read until 2019, long
 * after clients had stopped sending the format. The whole
 * value must be the date, with optional whitespace around it; hour 0-23,
 * minute 0-59, second 0-60 (a leap second is the next minute's first),
 * a day that exists in its month (29 February in leap years only), year
 * 0000-9999. *t: seconds since 1970 (UTC), negative before. Returns 0, or
 * -EINVAL and leaves *t alone. */
int cond_date_parse(const char *s, int64_t *t);

/* The strong entity-tag mchost gives a file, nginx's form:
 * "\"<mtime hex>-<size hex>\"" with its quotes (mtime taken as unsigned).
 * out must hold COND_ETAG_MAX bytes; it gets the tag and a NUL. Returns
 * the tag's length (at most 35). */
#define COND_ETAG_MAX 40
size_t cond_etag(char *out, int64_t mtime, uint64_t size);

/* 1 when the If-Match or If-None-Match field value `list` matches `etag`
 * (a strong entity-tag with its quotes): `list` is "*", which matches any,
 * or a comma-separated list of entity-tags (RFC 9110 §8.8.3), each
 * optionally "W/"-prefixed, with optional whitespace and empty elements.
 * weak == 0: the strong comparison, where a W/ tag never matches; weak ==
 * 1: the weak one, which ignores W/ (§8.8.3.2). 0 when none matches (an
 * empty list matches none); -EINVAL when the list is malformed: an element
 * that is not an entity-tag, an unterminated quote, a byte a tag may not
 * hold (control bytes, space, DQUOTE), "*" beside other elements. */
int cond_etag_match(const char *list, const char *etag, int weak);

/* What the preconditions of a request say about a resource whose entity-tag
 * is `etag` and whose modification time is `mtime`, evaluated in RFC 9110
 * §13.2.2's order: If-Match (strong comparison), else If-Unmodified-Since;
 * then If-None-Match (weak comparison), else If-Modified-Since (for GET and
 * HEAD only). A date that is not a valid HTTP-date is ignored (§13.1.3,
 * §13.1.4): the field counts as absent. A malformed entity-tag list names
 * no tag, so it matches nothing: a malformed If-Match fails (412) and a
 * malformed If-None-Match passes (the request proceeds, If-Modified-Since
 * is not consulted), which is what nginx does too (it finds no tag in
 * either). Dates compare in whole seconds: modified since a date when mtime
 * is after it, so a file whose mtime equals If-Modified-Since is not
 * modified. */
enum cond_result {
  COND_PROCEED,      /* answer as usual */
  COND_NOT_MODIFIED, /* 304 (GET or HEAD only) */
  COND_FAILED        /* 412 */
};
struct cond_request {
  /* each field's value, or NULL when the request has none */
  const char *if_match, *if_unmodified_since, *if_none_match,
      *if_modified_since;
  int get_or_head; /* the method is GET or HEAD */
};
enum cond_result cond_evaluate(const struct cond_request *r, const char *etag,
                               int64_t mtime);

/* 1 when a Range may be honoured under the If-Range value `value` (NULL: no
 * If-Range, 1): a single entity-tag equal to `etag` by the strong
 * comparison (a W/ tag never is), or an HTTP-date equal to mtime (the
 * Last-Modified the response carries); 0 otherwise, malformed values
 * included: send the whole resource (RFC 9110 §13.1.5). */
int cond_if_range(const char *value, const char *etag, int64_t mtime);

#endif
