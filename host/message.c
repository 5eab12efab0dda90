/*
 * message.c - messages between workers, as a worker sees them.
 *
 * mc_publish() sends one record (proto.h, struct message_head) on the
 * worker's SOCK_SEQPACKET socketpair to the master, which sends it to every
 * worker, this one included (relay.c). Records the socket does not take at
 * once wait in `out`, in order, up to MC_MESSAGE_BACKLOG bytes. Each record
 * read is given to the subscriptions of its channel, in the order they were
 * made, each call under the crash guard. A subscription removed while
 * callbacks run is only marked, and unlinked once they are done, so that
 * a callback may unsubscribe itself or another.
 */
#define _GNU_SOURCE
#include "message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "relay.h"
#include "worker.h"

/* Records read per wakeup, so that a flood of messages cannot starve the
 * worker's connections. */
#define READ_BATCH 64

struct message_sub {
  struct message_sub *next;
  mc_message_fn fn;
  void *arg;
  int removed;
  char channel[];
};

struct message_out {
  struct message_out *next;
  size_t len;
  char record[];
};

static int channel_ok(const char *channel, size_t *len) {
  if (channel == NULL)
    return 0;
  *len = strnlen(channel, MC_CHANNEL_MAX + 1);
  return *len >= 1 && *len <= MC_CHANNEL_MAX;
}

/* ---- subscriptions ---- */

MC_EXTERN int mc_subscribe(const char *channel, mc_message_fn fn, void *arg) {
  struct messages *ms = &worker_current()->msgs;
  struct message_sub *s, **tail = &ms->subs;
  size_t len;

  if (fn == NULL || !channel_ok(channel, &len))
    return -EINVAL;
  for (; *tail != NULL; tail = &(*tail)->next)
    if (!(*tail)->removed && (*tail)->fn == fn && (*tail)->arg == arg &&
        strcmp((*tail)->channel, channel) == 0)
      return -EEXIST;
  if ((s = malloc(sizeof *s + len + 1)) == NULL)
    return -ENOMEM;
  s->next = NULL;
  s->fn = fn;
  s->arg = arg;
  s->removed = 0;
  memcpy(s->channel, channel, len + 1);
  *tail = s;
  return 0;
}

/* Unlinks the subscriptions marked removed; only when no callback runs. */
static void sweep(struct messages *ms) {
  for (struct message_sub **pp = &ms->subs; *pp != NULL;) {
    struct message_sub *s = *pp;
    if (s->removed) {
      *pp = s->next;
      free(s);
    } else {
      pp = &s->next;
    }
  }
}

MC_EXTERN int mc_unsubscribe(const char *channel, mc_message_fn fn, void *arg) {
  struct messages *ms = &worker_current()->msgs;
  size_t len;

  if (!channel_ok(channel, &len))
    return -ENOENT;
  for (struct message_sub *s = ms->subs; s != NULL; s = s->next) {
    if (!s->removed && s->fn == fn && s->arg == arg &&
        strcmp(s->channel, channel) == 0) {
      s->removed = 1;
      if (ms->delivering == 0)
        sweep(ms);
      return 0;
    }
  }
  return -ENOENT;
}

/* ---- delivery ---- */

struct delivery {
  struct message_sub *sub;
  const mc_message *msg;
};

static void deliver_thunk(void *arg) {
  struct delivery *d = arg;
  d->sub->fn(d->msg, d->sub->arg);
}

/* Calls every live subscription of the record's channel. 0, or -1 when a
 * callback faulted: the worker retires and takes no more messages. */
static int deliver(struct worker *w, const char *rec, size_t n) {
  struct messages *ms = &w->msgs;
  struct message_head h;
  char channel[MC_CHANNEL_MAX + 1];
  mc_message msg;
  struct message_sub *last;
  int rc = 0;

  if (relay_record_head(rec, n, &h) != 0) {
    log_warn("a garbled message from the master (%zu bytes): dropped", n);
    return 0;
  }
  memcpy(channel, rec + sizeof h, h.channel_len);
  channel[h.channel_len] = '\0';
  msg.channel = channel;
  msg.data = rec + sizeof h + h.channel_len;
  msg.len = n - sizeof h - h.channel_len;
  msg.from_worker = h.from_worker;
  msg.from_generation = h.from_generation;

  /* A subscription made by a callback now gets the next message, not this
   * one: the walk ends with the last subscription made before it. */
  for (last = ms->subs; last != NULL && last->next != NULL; last = last->next)
    ;
  ms->delivering++;
  for (struct message_sub *s = ms->subs; s != NULL && rc == 0;
       s = s == last ? NULL : s->next) {
    struct delivery d = {s, &msg};
    if (s->removed || strcmp(s->channel, channel) != 0)
      continue;
    rc = worker_guard_detached(w, deliver_thunk, &d,
                               "a message callback (channel '%s')", channel);
  }
  if (--ms->delivering == 0)
    sweep(ms);
  return rc == 0 ? 0 : -1;
}

/* ---- the socket ---- */

static void on_poll(uv_poll_t *h, int status, int events);

/* Readable, unless a callback faulted; writable while records wait. */
static void watch(struct messages *ms) {
  int events = ms->stopped ? 0 : UV_READABLE;
  if (ms->out != NULL)
    events |= UV_WRITABLE;
  if (events != 0)
    uv_poll_start(&ms->poll, events, on_poll);
  else
    uv_poll_stop(&ms->poll);
}

/* Sends what waits, in order, until the socket is full. 0, or -errno of
 * a socket that is gone. */
static int flush_out(struct messages *ms) {
  while (ms->out != NULL) {
    struct message_out *o = ms->out;
    if (send(ms->fd, o->record, o->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      if (errno == EINTR)
        continue;
      return errno == EAGAIN ? 0 : -errno;
    }
    ms->out = o->next;
    if (ms->out == NULL)
      ms->out_tail = NULL;
    ms->out_bytes -= o->len;
    free(o);
  }
  return 0;
}

static void drop_out(struct messages *ms) {
  while (ms->out != NULL) {
    struct message_out *o = ms->out;
    ms->out = o->next;
    free(o);
  }
  ms->out_tail = NULL;
  ms->out_bytes = 0;
}

/* The master is gone: nothing more goes out or comes in. */
static void unlink_master(struct messages *ms) {
  drop_out(ms);
  ms->linked = 0;
  uv_poll_stop(&ms->poll);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct worker *w = h->data;
  struct messages *ms = &w->msgs;

  if (status < 0) {
    unlink_master(ms);
    return;
  }
  if ((events & UV_WRITABLE) && flush_out(ms) != 0) {
    unlink_master(ms);
    return;
  }
  for (int i = 0; (events & UV_READABLE) && !ms->stopped && i < READ_BATCH;
       i++) {
    ssize_t n = recv(ms->fd, ms->in, MESSAGE_RECORD_MAX + 1, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      unlink_master(ms);
      return;
    }
    if (n < 0)
      break;
    if (deliver(w, ms->in, (size_t)n) != 0)
      ms->stopped = 1;
  }
  if (ms->linked)
    watch(ms);
}

int messages_open(struct worker *w) {
  struct messages *ms = &w->msgs;
  int err;

  ms->fd = WORKER_MESSAGE_FD;
  if ((ms->in = malloc(MESSAGE_RECORD_MAX + 1)) == NULL)
    return -ENOMEM;
  if ((err = uv_poll_init_socket(&w->loop, &ms->poll, ms->fd)) != 0)
    return err;
  ms->poll.data = w;
  /* A worker stops when its connections are done, whatever the master
   * may still relay. */
  uv_unref((uv_handle_t *)&ms->poll);
  ms->linked = 1;
  uv_poll_start(&ms->poll, UV_READABLE, on_poll);
  return 0;
}

void messages_free(struct worker *w) {
  struct messages *ms = &w->msgs;
  drop_out(ms);
  ms->delivering = 0;
  for (struct message_sub *s = ms->subs; s != NULL; s = s->next)
    s->removed = 1;
  sweep(ms);
  free(ms->in);
  ms->in = NULL;
  ms->linked = 0;
}

/* ---- publishing ---- */

MC_EXTERN int mc_publish(const char *channel, const void *data, size_t len) {
  struct worker *w = worker_current();
  struct messages *ms = &w->msgs;
  struct message_head h = {0, 0, 0, 0};
  struct message_out *o;
  size_t clen, total;

  if (!channel_ok(channel, &clen) || (data == NULL && len > 0))
    return -EINVAL;
  if (len > MC_MESSAGE_MAX)
    return -EMSGSIZE;
  if (!ms->linked)
    return -ENOTCONN;
  h.channel_len = (uint32_t)clen;
  total = sizeof h + clen + len;
  if (ms->out == NULL) {
    struct iovec iov[3] = {{&h, sizeof h},
                           {(void *)(uintptr_t)channel, clen},
                           {(void *)(uintptr_t)data, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len > 0 ? 3 : 2};
    ssize_t n;
    while ((n = sendmsg(ms->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 &&
           errno == EINTR)
      ;
    if (n >= 0)
      return 0;
    if (errno != EAGAIN) {
      unlink_master(ms);
      return -ENOTCONN;
    }
  }
  if (ms->out_bytes + total > MC_MESSAGE_BACKLOG)
    return -ENOBUFS;
  if ((o = malloc(sizeof *o + total)) == NULL)
    return -ENOMEM;
  o->next = NULL;
  o->len = total;
  memcpy(o->record, &h, sizeof h);
  memcpy(o->record + sizeof h, channel, clen);
  if (len > 0)
    memcpy(o->record + sizeof h + clen, data, len);
  if (ms->out_tail != NULL)
    ms->out_tail->next = o;
  else
    ms->out = o;
  ms->out_tail = o;
  ms->out_bytes += total;
  watch(ms);
  return 0;
}
