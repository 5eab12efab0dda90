/* mchost/messages.h - a part of <mchost.h>: never include it on its own.
 *
 * Messages between workers: mc_subscribe(), mc_publish(). */
#ifndef MCHOST_H
#error "mchost/messages.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_MESSAGES_H)
#define MCHOST_SDK_MESSAGES_H

/* ---- messages between workers (docs/messages.md) ----
 *
 * The workers are processes: what one holds in memory (its WebSocket
 * clients, its open feeds, a cache) the others do not see. A plugin that
 * must tell every worker something (a chat line for every member of a
 * room, whichever worker holds each; a cache entry to drop) publishes a
 * message on a channel, and every worker that subscribed to the channel
 * gets it, as with Kore's kore_msg_send() or a Node cluster's primary
 * relaying worker.send(). The master relays each message, so that:
 *   - every worker of this mchost gets it: the sender too (its copy comes
 *     through the loop, never inside mc_publish()), and the workers of an
 *     older generation still finishing their requests after a reload;
 *   - every worker gets the messages in the same order (the master's), and
 *     the messages of one sender in the order it published them;
 *   - delivery is at most once. A worker started later does not get what
 *     was published before it started. A worker that falls behind by more
 *     than MC_MESSAGE_BACKLOG bytes loses the messages beyond that, which
 *     the master logs and counts (mchost_messages_dropped_total); a worker
 *     that exits loses what was on its way to it. A plugin that must not
 *     miss anything keeps its state where every worker can read it (a
 *     database) and uses messages to say "look now".
 * Messages never leave the machine: the workers of another mchost (another
 * host behind the balancer) do not get them.
 * Subscribing and publishing are done on the loop thread, from mc_init()
 * on. Without a master (`mchost replay`) mc_publish() fails with
 * -ENOTCONN. */

/* The longest channel name, in bytes. */
#define MC_CHANNEL_MAX 255
/* The largest message, in bytes of data. */
#define MC_MESSAGE_MAX (64 * 1024)
/* How many bytes of messages may wait for one worker: at the master, for a
 * worker that does not take them (beyond: dropped), and in a worker, for
 * a master that does not take them (beyond: mc_publish() -ENOBUFS). */
#define MC_MESSAGE_BACKLOG (4 * 1024 * 1024)

/* A message as a subscriber gets it. Owned by mchost, valid during the
 * callback only: copy what must outlive it. */
typedef struct mc_message {
  const char *channel;      /* NUL-terminated, as published */
  const void *data;         /* `len` bytes as published (not terminated) */
  size_t len;               /* 0 .. MC_MESSAGE_MAX */
  unsigned from_worker;     /* the sender's mc_worker.id */
  unsigned from_generation; /* the sender's mc_worker.generation */
} mc_message;

/* Called on the loop, under the crash guard, for every message on a
 * channel the worker subscribed to. It may call any mc_* function
 * (mc_ws_send() to the plugin's sockets, mc_response_write() to its open
 * streams, mc_publish(), mc_unsubscribe()). A fault here has no request to
 * answer: it is reported as any other, and the worker retires. */
typedef void (*mc_message_fn)(const mc_message *msg, void *arg);

/* Calls fn(msg, arg) for every message published on `channel` from now
 * on, by any worker, until mc_unsubscribe() or the end of the worker.
 * Several subscriptions may share a channel: each is called, in the order
 * they were made. The channel name is copied.
 * -EINVAL: channel or fn is NULL, or the channel is empty or longer than
 *          MC_CHANNEL_MAX;
 * -EEXIST: this channel, fn and arg are subscribed already;
 * -ENOMEM. */
MC_EXTERN int mc_subscribe(const char *channel, mc_message_fn fn, void *arg);

/* Ends the subscription made with the same channel, fn and arg; fn is not
 * called again for it, even for a message being delivered now (it may be
 * called from inside fn). -ENOENT: there is no such subscription. */
MC_EXTERN int mc_unsubscribe(const char *channel, mc_message_fn fn, void *arg);

/* Publishes `len` bytes of `data` on `channel` to every worker (see above).
 * The data are copied before returning; 0 means the message is on its way,
 * not that anyone got it.
 * -EINVAL: channel is NULL, empty or longer than MC_CHANNEL_MAX, or data
 *          is NULL with a length;
 * -EMSGSIZE: len is over MC_MESSAGE_MAX;
 * -ENOBUFS: MC_MESSAGE_BACKLOG bytes of this worker's messages wait for the
 *           master already (publish again after a while, or drop it);
 * -ENOTCONN: there is no master to relay it (`mchost replay`, or the
 *            master is gone);
 * -ENOMEM. */
MC_EXTERN int mc_publish(const char *channel, const void *data, size_t len);

#endif /* MCHOST_SDK_MESSAGES_H */
