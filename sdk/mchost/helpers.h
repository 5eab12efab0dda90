/* mchost/helpers.h - a part of <mchost.h>: never include it on its own.
 *
 * Request helpers: percent-decoding, query and form parameters,
 * cookies, multipart/form-data parts. */
#ifndef MCHOST_H
#error "mchost/helpers.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_HELPERS_H)
#define MCHOST_SDK_HELPERS_H

/* ---- request helpers: parameters, cookies, multipart ----
 *
 * Parsed on the first call that needs them (a request that never asks costs
 * nothing), once per request. Every string they return is NUL-terminated
 * (a part's data is not: it has a length) and lives in memory that mchost
 * keeps per request: valid until the response is finished, like the
 * request itself; never free it. They take a non-const request because
 * they fill it in.
 *
 * Limits: a query, a form body or the Cookie headers with more than
 * MC_PARAMS_MAX pairs, or a multipart body with more than MC_PARTS_MAX
 * parts, is refused as a whole (-E2BIG): no pair of it is given, rather
 * than some. Names and values are as long as their source allows: the
 * target and the headers are bounded by --max-header-size, a body by
 * --max-body. Malformed input is refused as a whole too (-EBADMSG); the
 * raw text is still there (mc_request_query(), mc_request_header(),
 * mc_request_body()) for a plugin that wants to be lenient. */

#define MC_PARAMS_MAX 1000
#define MC_PARTS_MAX 256

/* mc_url_decode() flags. MC_URL_PLUS: '+' decodes to a space, as in
 * application/x-www-form-urlencoded (query strings and form bodies), not in
 * paths. MC_URL_NUL: %00 and NUL bytes are allowed; the result may then
 * hold NUL bytes, so use its length, not strlen(). */
#define MC_URL_PLUS 1u
#define MC_URL_NUL 2u

/* Percent-decodes `len` bytes of `src` into `dst`, which needs room for
 * len + 1 bytes (decoding never grows) and may be `src` itself (in place).
 * Adds a NUL; the decoded length goes to *out_len (which may be NULL).
 * The bytes are not checked for UTF-8. May be called from any thread.
 * -EBADMSG: a '%' not followed by two hex digits ("%zz", "%0" at the end),
 *           or, without MC_URL_NUL, %00 or a NUL byte (a C string cannot
 *           carry it: "a%00.png" would read as "a");
 * -EINVAL: unknown flags. dst holds nothing useful after an error. */
MC_EXTERN int mc_url_decode(char *dst, const char *src, size_t len,
                            unsigned flags, size_t *out_len);

/* The query string's parameters (application/x-www-form-urlencoded:
 * "a=1&b=x+y&c", split on '&', empty pieces skipped, '+' is a space, a
 * piece without '=' has the value ""). Names and values are decoded with
 * MC_URL_PLUS; names compare byte for byte (case matters).
 *
 * mc_request_query_count(): how many pairs, repeated names included, or a
 * negative errno when the query is refused (then there are none):
 * -EBADMSG: a bad escape, or %00 (the text cannot be a C string);
 * -E2BIG: more than MC_PARAMS_MAX pairs; -ENOMEM: out of memory. */
MC_EXTERN int mc_request_query_count(mc_request *req);

/* The value of the first parameter called `name`, or NULL when there is
 * none (or the query is refused: see mc_request_query_count()). */
MC_EXTERN const char *mc_request_query_get(mc_request *req, const char *name);

/* The i-th pair (0-based), in the order sent. Returns 0, -ERANGE past the
 * last, or the error of mc_request_query_count(); *name and *value are
 * left alone on error. */
MC_EXTERN int mc_request_query_at(mc_request *req, size_t i, const char **name,
                                  const char **value);

/* The first parameter called `name` as a decimal integer ("-12", "+7"; no
 * spaces, no other characters) in *out. Returns 0; -ENOENT: no such
 * parameter; -EINVAL: not an integer; -ERANGE: outside int64_t; or the
 * error of mc_request_query_count(). *out is left alone on error. */
MC_EXTERN int mc_request_query_int(mc_request *req, const char *name,
                                   int64_t *out);

/* The same four for a body of Content-Type
 * application/x-www-form-urlencoded (what an HTML form POSTs by default),
 * with one more error: -ENOTSUP, the request has another Content-Type or
 * none. A NUL byte in the body is refused like %00 (-EBADMSG). */
MC_EXTERN int mc_request_form_count(mc_request *req);
MC_EXTERN const char *mc_request_form_get(mc_request *req, const char *name);
MC_EXTERN int mc_request_form_at(mc_request *req, size_t i, const char **name,
                                 const char **value);
MC_EXTERN int mc_request_form_int(mc_request *req, const char *name,
                                  int64_t *out);

/* The value of the first cookie called `name` in the request's Cookie
 * header fields (all of them, in order), or NULL. "a=1; b=2" as RFC 6265
 * §4.2 has it, taken tolerantly (§5.4): spaces around names and values are
 * dropped, a value in double quotes loses them, a piece without '=' or
 * with an empty name is skipped. Values are not percent-decoded (cookies
 * define no encoding; call mc_url_decode() if yours are). */
MC_EXTERN const char *mc_request_cookie(mc_request *req, const char *name);

/* How many cookies, or -E2BIG (more than MC_PARAMS_MAX: then none) or
 * -ENOMEM; and the i-th one, as mc_request_query_at(). */
MC_EXTERN int mc_request_cookie_count(mc_request *req);
MC_EXTERN int mc_request_cookie_at(mc_request *req, size_t i, const char **name,
                                   const char **value);

/* One part of a multipart/form-data body (RFC 7578). */
typedef struct mc_part {
  const char *name;         /* Content-Disposition's name; never NULL */
  const char *filename;     /* its filename, or NULL when it has none */
  const char *content_type; /* the part's Content-Type, or NULL (which
                               RFC 7578 reads as text/plain) */
  const void *data;         /* the content: points into the request body,
                               not copied, not NUL-terminated; never NULL */
  size_t len;
} mc_part;

/* Parses a buffered multipart/form-data body (the boundary comes from the
 * Content-Type) and returns the number of parts, or a negative errno
 * (then there are none):
 * -ENOTSUP: not multipart/form-data;
 * -EINVAL: no boundary parameter, or one RFC 2046 does not allow (1 to 70
 *          characters from its set);
 * -EBADMSG: malformed: no delimiter, truncated (no close delimiter), the
 *           boundary at the start of a line inside a part, a bare LF or a
 *           folded line in a part's header, a part without
 *           Content-Disposition: form-data and a name;
 * -E2BIG: more than MC_PARTS_MAX parts, or a part's header over 8 KiB;
 * -ENOMEM: out of memory.
 * Parameter values are given as sent, without their quotes and backslash
 * escapes (browsers percent-encode '"' and line breaks in names); the
 * preamble and the epilogue are ignored; so is filename* (RFC 7578 §4.2). */
MC_EXTERN int mc_request_part_count(mc_request *req);

/* The i-th part, in the order sent, in *part (owned by mchost, valid like
 * the request). Returns 0, -ERANGE past the last, or the error of
 * mc_request_part_count(). */
MC_EXTERN int mc_request_part_at(mc_request *req, size_t i,
                                 const mc_part **part);

/* The first part called `name`, or NULL (none, or the body is refused). */
MC_EXTERN const mc_part *mc_request_part(mc_request *req, const char *name);

#endif /* MCHOST_SDK_HELPERS_H */
