/* fetch.h - outbound HTTP/1.1 requests for plugins (mc_fetch()), each tied
 * to the response it serves. */
#ifndef MCHOST_FETCH_H
#define MCHOST_FETCH_H

#include <stddef.h>

struct conn;
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
