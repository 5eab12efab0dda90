/* message.h - a worker's side of the messages between workers
 * (mc_subscribe(), mc_publish()): its subscriptions, and its end of the
 * message socketpair to the master, which relays (relay.h). */
#ifndef MCHOST_MESSAGE_H
#define MCHOST_MESSAGE_H

#include <stddef.h>
#include <uv.h>

#include "mchost.h"
#include "proto.h"

/* The longest record on the socketpair: head, channel, data. */
#define MESSAGE_RECORD_MAX                                                     \
  (sizeof(struct message_head) + MC_CHANNEL_MAX + MC_MESSAGE_MAX)

struct worker;
struct message_sub;
struct message_out;

struct messages {
  int linked; /* 1: fd is the socketpair to the master */
  int fd;
  uv_poll_t poll;           /* readable; writable while `out` waits */
  int stopped;              /* a callback faulted: deliver nothing more */
  struct message_sub *subs; /* in subscription order */
  unsigned delivering;      /* callbacks running: subs are only marked */
  struct message_out *out, *out_tail; /* records the socket did not take */
  size_t out_bytes;
  char *in; /* one record read, MESSAGE_RECORD_MAX + 1 bytes */
};

/* Links the worker to the master through fd WORKER_MESSAGE_FD and starts
 * reading it. Before mc_init(), so that it may subscribe and publish.
 * Returns 0 or -errno (then mc_publish() fails with -ENOTCONN). */
int messages_open(struct worker *w);

/* Frees the subscriptions and what waits to be sent. After the loop has
 * closed the poll handle (worker_cleanup()). */
void messages_free(struct worker *w);

#endif
