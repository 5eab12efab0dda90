/* accept.h - a worker's accept path and the board it balances with
 * (accept.c). */
#ifndef MCHOST_ACCEPT_H
#define MCHOST_ACCEPT_H

#include <uv.h>

struct worker;

/* One listening socket as a worker accepts from it. */
struct accept_listener {
  struct worker *w;
  int fd;
  int evfd; /* watched by libuv, stands for fd (accept.c); -1: fd polled */
  uv_poll_t poll;
  unsigned accepts_since_rearm;
};

/* Maps the board the master shares (WORKER_BOARD_FD), where this worker
 * posts in slot `slot`. */
void accept_board_attach(struct worker *w, unsigned slot);

/* Posts this worker's state on the board for its siblings to read. */
void accept_board_post(struct worker *w);

/* Starts accepting on the `nlisteners` inherited sockets
 * (WORKER_LISTEN_FD, then WORKER_LISTEN_MORE_FD on). Returns 0 or a libuv
 * error. */
int accept_start(struct worker *w, unsigned nlisteners);

/* Accepts again after a pause (at --max-connections: a conn was released). */
void accept_resume(struct worker *w);

/* Stops accepting for good, and closes this worker's copies of the
 * sockets. */
void accept_stop(struct worker *w);

#endif
