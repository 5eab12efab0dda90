/* relay.h - the master's side of the messages between workers: each
 * worker's message socketpair, and the relay of every record it sends to
 * every worker (relay.c; the worker's side is message.h). */
#ifndef MCHOST_RELAY_H
#define MCHOST_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct wproc;
struct relay_item;
struct message_head;

struct relay_link {
  int fd;         /* the master's end; -1: none */
  uv_poll_t poll; /* readable; writable while `out` waits */
  int polling;    /* poll initialised (closed with the wproc) */
  struct relay_item *out, *out_tail; /* copies the socket did not take */
  size_t out_bytes;
  uint64_t dropped; /* copies dropped since it last kept up */
};

/* Reads a record's head into *h and checks that the record is one (proto.h):
 * a channel of 1 to MC_CHANNEL_MAX bytes and at most MC_MESSAGE_MAX bytes
 * of data. 0, or -EINVAL. The master checks what a worker sends, and a
 * worker what the master relays, with this one test. */
int relay_record_head(const char *rec, size_t len, struct message_head *h);

/* A socketpair for the worker about to be spawned: the master keeps one
 * end in p->relay; the other, returned in *child_fd, is for the worker to
 * inherit (as WORKER_MESSAGE_FD), and closed with relay_spawned(). 0 or
 * -errno. */
int relay_open(struct wproc *p, int *child_fd);

/* After uv_spawn(), whatever it returned: closes the worker's end here and,
 * if the worker runs, starts reading the master's. */
void relay_spawned(struct wproc *p, int child_fd, int running);

/* The worker exited: frees what waited for it, closes the master's end,
 * and the poll handle with `cb` if it was open. Returns how many handles
 * it closes (0 or 1). */
int relay_close(struct wproc *p, uv_close_cb cb);

#endif
