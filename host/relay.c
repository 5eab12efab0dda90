/*
 * relay.c - the master relays messages between workers.
 *
 * Each worker has a SOCK_SEQPACKET socketpair of its own with the master
 * (proto.h): one record per message, whole or not at all. The master reads
 * a record, checks it, stamps the sender (a worker cannot speak for
 * another), and sends it to every running worker, the sender included, in
 * the order read: so every worker sees the same order. A worker whose
 * socket is full gets its copies queued here, in order, up to
 * MC_MESSAGE_BACKLOG bytes; beyond that its copies are dropped, counted
 * and logged, and the others go on: one slow worker never holds up the
 * rest, nor grows the master without bound. A copy queued for several
 * workers is stored once.
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "board.h"
#include "log.h"
#include "master.h"
#include "message.h"
#include "wproc.h"

/* Records read from one worker per wakeup, so that a worker that floods
 * cannot starve the master's other work. */
#define READ_BATCH 64

struct relay_msg {
  unsigned refs;
  size_t len;
  char record[];
};

struct relay_item {
  struct relay_item *next;
  struct relay_msg *msg;
};

static void msg_unref(struct relay_msg *msg) {
  if (--msg->refs == 0)
    free(msg);
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Readable always; writable while copies wait. */
static void watch(struct relay_link *r) {
  uv_poll_start(&r->poll, UV_READABLE | (r->out != NULL ? UV_WRITABLE : 0),
                on_poll);
}

/* Sends the waiting copies, in order, until the socket is full. */
static void flush(struct wproc *q) {
  struct relay_link *r = &q->relay;
  while (r->out != NULL) {
    struct relay_item *it = r->out;
    if (send(r->fd, it->msg->record, it->msg->len,
             MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        return;
      /* the worker is gone: its exit callback frees the rest */
    }
    r->out = it->next;
    if (r->out == NULL)
      r->out_tail = NULL;
    r->out_bytes -= it->msg->len;
    msg_unref(it->msg);
    free(it);
  }
  if (r->dropped > 0) {
    log_info("worker %u (pid %d) takes its messages again; %llu were dropped",
             q->id, q->pid, (unsigned long long)r->dropped);
    r->dropped = 0;
  }
}

static void drop(struct wproc *q) {
  struct relay_link *r = &q->relay;
  if (r->dropped++ == 0)
    log_warn("worker %u (pid %d) is not taking its messages (%zu bytes "
             "wait): what comes for it is dropped until it catches up",
             q->id, q->pid, r->out_bytes);
  board_note(q->m, BOARD_MESSAGE_DROPPED);
}

/* One copy of the record for q: sent now, queued, or dropped. *shared is
 * the record's queued copy, made by the first worker that needs one. */
static void relay_to(struct wproc *q, const char *rec, size_t len,
                     struct relay_msg **shared) {
  struct relay_link *r = &q->relay;
  struct relay_item *it;

  if (r->out == NULL) {
    ssize_t n;
    while ((n = send(r->fd, rec, len, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 &&
           errno == EINTR)
      ;
    if (n >= 0 || errno != EAGAIN)
      return; /* sent, or the worker is gone */
  }
  if (r->out_bytes + len > MC_MESSAGE_BACKLOG) {
    drop(q);
    return;
  }
  if (*shared == NULL) {
    if ((*shared = malloc(sizeof **shared + len)) == NULL) {
      drop(q);
      return;
    }
    (*shared)->refs = 0;
    (*shared)->len = len;
    memcpy((*shared)->record, rec, len);
  }
  if ((it = malloc(sizeof *it)) == NULL) {
    drop(q);
    return;
  }
  it->next = NULL;
  it->msg = *shared;
  (*shared)->refs++;
  if (r->out_tail != NULL)
    r->out_tail->next = it;
  else
    r->out = it;
  r->out_tail = it;
  r->out_bytes += len;
  watch(r);
}

int relay_record_head(const char *rec, size_t len, struct message_head *h) {
  if (len < sizeof *h)
    return -EINVAL;
  memcpy(h, rec, sizeof *h);
  if (h->channel_len < 1 || h->channel_len > MC_CHANNEL_MAX ||
      len - sizeof *h < h->channel_len ||
      len - sizeof *h - h->channel_len > MC_MESSAGE_MAX)
    return -EINVAL;
  return 0;
}

/* A record from p: checked, stamped, and given to every running worker. */
static void relay(struct wproc *p, char *rec, size_t len) {
  struct message_head h;
  struct relay_msg *shared = NULL;

  if (relay_record_head(rec, len, &h) != 0) {
    log_warn("worker %u (pid %d) sent a garbled message (%zu bytes): "
             "dropped",
             p->id, p->pid, len);
    return;
  }
  h.from_worker = p->id;
  h.from_generation = p->generation;
  h.zero = 0;
  memcpy(rec, &h, sizeof h);
  board_note(p->m, BOARD_MESSAGE);
  for (struct wproc *q = p->m->procs; q != NULL; q = q->next)
    if (!q->exited && q->relay.fd >= 0)
      relay_to(q, rec, len, &shared);
  if (shared != NULL && shared->refs == 0)
    free(shared);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  static char rec[MESSAGE_RECORD_MAX + 1];
  struct wproc *p = h->data;
  struct relay_link *r = &p->relay;

  if (status < 0) {
    uv_poll_stop(h);
    return;
  }
  if (events & UV_WRITABLE)
    flush(p);
  for (int i = 0; (events & UV_READABLE) && i < READ_BATCH; i++) {
    ssize_t n = recv(r->fd, rec, sizeof rec, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      /* the worker closed its end: it is exiting */
      uv_poll_stop(h);
      return;
    }
    relay(p, rec, (size_t)n);
  }
  watch(r);
}

int relay_open(struct wproc *p, int *child_fd) {
  int sv[2];
  p->relay.fd = -1;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return -errno;
  p->relay.fd = sv[0];
  *child_fd = sv[1];
  return 0;
}

void relay_spawned(struct wproc *p, int child_fd, int running) {
  struct relay_link *r = &p->relay;
  close(child_fd);
  if (!running || r->fd < 0)
    return;
  if (uv_poll_init_socket(&p->m->loop, &r->poll, r->fd) != 0) {
    log_warn("worker %u (pid %d) gets no messages: cannot watch its socket",
             p->id, p->pid);
    close(r->fd);
    r->fd = -1;
    return;
  }
  r->polling = 1;
  r->poll.data = p;
  watch(r);
}

int relay_close(struct wproc *p, uv_close_cb cb) {
  struct relay_link *r = &p->relay;
  int closing = 0;
  while (r->out != NULL) {
    struct relay_item *it = r->out;
    r->out = it->next;
    msg_unref(it->msg);
    free(it);
  }
  r->out_tail = NULL;
  r->out_bytes = 0;
  if (r->polling) {
    r->polling = 0;
    closing = 1;
    uv_close((uv_handle_t *)&r->poll, cb);
  }
  /* after uv_close(), which takes the fd out of the loop's epoll set */
  if (r->fd >= 0) {
    close(r->fd);
    r->fd = -1;
  }
  return closing;
}
