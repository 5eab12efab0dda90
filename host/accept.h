/* accept.h - a worker's accept path and the board it balances with
 * (accept.c). */
#ifndef MCHOST_ACCEPT_H
#define MCHOST_ACCEPT_H

struct worker;

/* Maps the board the master shares (WORKER_BOARD_FD), where this worker
 * posts in slot `slot`. */
void accept_board_attach(struct worker *w, unsigned slot);

/* Posts this worker's state on the board for its siblings to read. */
void accept_board_post(struct worker *w);

/* Starts accepting on the inherited socket (WORKER_LISTEN_FD). Returns 0
 * or a libuv error. */
int accept_start(struct worker *w);

/* Accepts again after a pause (at --max-connections: a conn was released). */
void accept_resume(struct worker *w);

/* Stops accepting for good, and closes this worker's copy of the socket. */
void accept_stop(struct worker *w);

#endif
