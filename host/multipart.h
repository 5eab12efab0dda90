/* multipart.h - an incremental parser of multipart bodies (RFC 2046 §5.1,
 * as RFC 7578 uses it for multipart/form-data).
 *
 * Bytes go in by multipart_feed(), in pieces of any size, and come out as
 * events to callbacks: a part begins, one call per header field of the
 * part, the end of its header, its content in pieces, its end. The
 * content pieces point into the fed bytes, except when a delimiter was cut
 * between two feeds and turned out to be content: those few bytes come
 * from the parser's own copy of the delimiter. So fed whole, a part's
 * content arrives as contiguous pieces of the body.
 *
 * The framing is strict; anything else is -EBADMSG, and the parser stops:
 * - the first delimiter ("--" boundary) starts the body or a line of the
 *   preamble; the preamble and whatever follows the close delimiter
 *   ("--" boundary "--") are ignored;
 * - a delimiter may be followed by spaces or tabs (transport padding), then
 *   CRLF, or by "--"; the boundary at the start of any other line is an
 *   error (RFC 2046: it must not appear in a part);
 * - part header lines end with CRLF (no bare LF), are not folded, and are
 *   "name: value" with a token name; no control bytes but tab.
 * Limits: a boundary of 1 to MULTIPART_BOUNDARY_MAX characters of RFC
 * 2046's set; a part's header of at most MULTIPART_HEADER_MAX bytes
 * (-E2BIG). The number of parts and their size are the caller's to bound.
 *
 * Used by mc_request_part_count() on a buffered body; a streamed request
 * body can feed it as the bytes arrive. */
#ifndef MCHOST_MULTIPART_H
#define MCHOST_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70
#define MULTIPART_HEADER_MAX 8192

/* Every callback may be NULL. `data` is multipart_init()'s. Strings are
 * NUL-terminated and valid during the call only. Each returns 0, or a
 * negative errno that stops the parser: multipart_feed() and
 * multipart_finish() return that value from then on. */
struct multipart_callbacks {
  int (*on_part)(void *data); /* a part begins; its header follows */
  int (*on_header)(void *data, const char *name, const char *value);
  int (*on_header_end)(void *data);                    /* its content follows */
  int (*on_data)(void *data, const char *p, size_t n); /* n > 0 */
  int (*on_part_end)(void *data);
};

struct multipart {
  const struct multipart_callbacks *cb;
  void *data;
  int state;
  int err;      /* once stopped: what feed and finish return */
  size_t match; /* bytes of the delimiter matched at the last end */
  size_t dlen;  /* CRLF "--" boundary */
  char delim[4 + MULTIPART_BOUNDARY_MAX];
  size_t hlen, htotal; /* the header line so far; the whole header */
  char line[MULTIPART_HEADER_MAX + 1];
};

/* The boundary parameter of a Content-Type value, unquoted, pointing into
 * it: 0, or -EINVAL when there is none or it is not a valid boundary. The
 * media type is the caller's to check. */
int multipart_boundary(const char *content_type, const char **boundary,
                       size_t *len);

/* Starts a parser for `boundary` (len bytes, as multipart_boundary() gave
 * it). Returns 0 or -EINVAL (not a valid boundary). */
int multipart_init(struct multipart *m, const char *boundary, size_t len,
                   const struct multipart_callbacks *cb, void *data);

/* Parses the next `len` bytes. Returns 0 (more may follow) or the negative
 * errno that stopped the parser: -EBADMSG, -E2BIG, or a callback's. */
int multipart_feed(struct multipart *m, const char *p, size_t len);

/* The body has ended: 0 if the close delimiter came, else -EBADMSG (the
 * body was cut short), or the error that stopped the parser. */
int multipart_finish(struct multipart *m);

#endif
