/* fetch.h - outbound HTTP/1.1 requests for plugins (mc_fetch()), each tied
 * to the response it serves. */
#ifndef MCHOST_FETCH_H
#define MCHOST_FETCH_H

#include <stddef.h>

#include "conn.h"

struct worker;

/* An http:// URL split for a request. */
struct fetch_url {
  char host[254];   /* name or address, without the brackets of IPv6 */
  char port[6];     /* "80" by default */
  int bracketed;    /* the host was an [IPv6 address] */
  const char *path; /* into the URL: from '/' or '?', or "" for "/" */
  size_t path_len;  /* up to a '#' or the end */
};

/* Parses `url` (NUL-terminated). Returns 0, -EINVAL (not http://, bad
 * host, port or characters) or -E2BIG (host name too long). */
int fetch_parse_url(const char *url, struct fetch_url *out);

/* ---- the response (fetch_parse.c) ---- */

/* An upstream's response as it is parsed. Only read the fields. */
struct fetch_response {
  llhttp_t parser; /* status_code once the status line is parsed */
  llhttp_settings_t settings;
  struct buf head; /* "name\0value\0" per header field, in order; values
                      without leading or trailing space or tab */
  size_t nfields;
  struct buf body; /* the decoded body, NUL-terminated */
  int head_only;   /* the request was HEAD: heads come without bodies */
  int complete;    /* a final (not 1xx) response has ended */
};

/* Starts parsing a response, to a HEAD request if `head_only`. */
void fetch_parse_init(struct fetch_response *r, int head_only);
/* Parses the next `len` bytes from the upstream. Returns 1 once a final
 * response has ended (bytes after it are not parsed: feed no more), 0 for
 * more, -EBADMSG (not a valid response; feed no more) or -ENOMEM. */
int fetch_parse_feed(struct fetch_response *r, const char *data, size_t len);
/* The upstream closed: returns 1 if a final response has ended (a body
 * read until close ends here), else -EBADMSG. */
int fetch_parse_finish(struct fetch_response *r);
/* Fills the status, body and priv of `out` for mc_fetch_header(): valid
 * until fetch_parse_free(r). */
void fetch_parse_result(const struct fetch_response *r, mc_fetch_result *out);
void fetch_parse_free(struct fetch_response *r);
/* Appends, keeping a NUL after: from 256 bytes, for a fetch's request and
 * head are small. Returns 0 or -ENOMEM. */
int fetch_buf_add(struct buf *b, const char *s, size_t len);

/* The conn closed, or its response was finished: its fetches are
 * cancelled (conn.c calls this only when c->fetches is not NULL). */
void fetch_conn_changed(struct conn *c);

/* c's mc_work() has ended (done() returned, or work() faulted): the
 * callbacks of its fetches that ended meanwhile are called now, with the
 * response if it is still open, else with NULL and -ECANCELED. */
void fetch_work_done(struct worker *w, struct conn *c);

/* The worker's loop has ended: every fetch still running is cancelled and
 * its callback told, before mc_shutdown(). */
void fetch_worker_stop(struct worker *w);

#endif
