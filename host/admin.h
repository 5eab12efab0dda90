/* admin.h - the admin listener of the master (admin.c): /healthz, /readyz,
 * /metrics. */
#ifndef MCHOST_ADMIN_H
#define MCHOST_ADMIN_H

#include <stddef.h>

struct master;

/* Binds --admin (if given) before privileges are dropped. Returns EXIT_OK,
 * or prints one message and returns EXIT_RUNTIME. */
int admin_open(struct master *m);

/* Serves it on the master's loop. Returns 0 or a libuv error (logged). */
int admin_start(struct master *m);

/* Closes what admin_open() left (the loop's handles close with the loop). */
void admin_free(struct master *m);

/* 1 when this instance should get traffic: a generation serves, and the
 * master is neither stopping, draining nor crash-looping; else 0. Either
 * way a one-line reason goes into why. */
int admin_ready(struct master *m, char *why, size_t len);

/* A request line and headers larger than this get 431; bytes past it are
 * never read. */
#define ADMIN_REQUEST_MAX 4096

/* Parses a request in buf[0..len): 0 while it is incomplete, 200 with its
 * path (without the query) in `path` and *head set for HEAD, or the status
 * to refuse it with (400, 404, 405, 431). */
int admin_parse(const char *buf, size_t len, char *path, size_t pathlen,
                int *head);

#endif
