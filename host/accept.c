/*
 * accept.c - a worker's accept path: new connections from the shared
 * listening sockets, spread fairly over the workers.
 *
 * Each listening socket (--listen, or --host/--port) is shared by every
 * worker (never SO_REUSEPORT: a worker that goes away would take the
 * connections queued on its own socket with it). libuv's own accept loop
 * lets one worker take nearly every connection, so each worker accepts by
 * itself, and registers each socket with EPOLLEXCLUSIVE: a new connection
 * wakes one worker, not all. libuv has no such flag, so the socket is added
 * to libuv's epoll set by hand, with the fd number of an eventfd that libuv
 * watches (and that never fires) as its data: libuv then delivers the
 * socket's readiness to that watcher, one per socket. Re-adding a socket
 * every ACCEPT_REARM accepts from it moves this worker to the back of that
 * socket's wait queue, which spreads connections evenly (nginx does the
 * same). Fairness (accept_fair()) is the worker's, across its sockets: a
 * worker that steps aside or pauses stops accepting on all of them.
 *
 * That relies on two libuv internals (src/unix/linux.c): uv_backend_fd()
 * is the loop's epoll instance, and uv__io_poll() hands each event to the
 * watcher of the fd in its data.fd. Both hold in the versions between
 * ACCEPT_LIBUV_FIRST and ACCEPT_LIBUV_LAST. With any other libuv (it is
 * linked statically: the version built against is the one that runs), or
 * without EPOLLEXCLUSIVE, each worker polls the socket through libuv
 * instead, as libuv's own accept loop does: every worker is woken by each
 * connection, and the board still balances them. The worker says so.
 */
#define _GNU_SOURCE /* accept4, EPOLLEXCLUSIVE */
#include "accept.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "sock.h"
#include "uvcompat.h"
#include "worker.h"

/* Connections accepted per wakeup, and accepts between two re-arms of the
 * exclusive wakeup (see above). */
#define ACCEPT_BATCH 8
#define ACCEPT_REARM 16
/* At --max-connections, how often a worker looks again for an idle
 * keep-alive connection to close for a waiting client. */
#define SHED_RETRY_MS 50

/* The libuv versions whose internals the exclusive accept was checked
 * against, as UV_VERSION_HEX: 1.44.0 to 1.51.x. */
#define ACCEPT_LIBUV_FIRST 0x012c00
#define ACCEPT_LIBUV_LAST 0x0133ff

/* Why this worker must poll the socket plainly, or NULL. The variable
 * MCHOST_TEST_ACCEPT_PLAIN forces it, so that the tests take this path
 * (test_balance.c). */
static const char *accept_plain_reason(void) {
  if (!uvcompat_checked(ACCEPT_LIBUV_FIRST, ACCEPT_LIBUV_LAST))
    return "its internals were not checked in this libuv version";
  if (getenv("MCHOST_TEST_ACCEPT_PLAIN") != NULL)
    return "MCHOST_TEST_ACCEPT_PLAIN is set";
  return NULL;
}

static void accept_on_poll(uv_poll_t *h, int status, int events);

static int accept_arm(struct accept_listener *l) {
  struct epoll_event ev;
  if (l->evfd < 0)
    return uv_poll_start(&l->poll, UV_READABLE, accept_on_poll);
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = l->evfd;
  return epoll_ctl(uv_backend_fd(&l->w->loop), EPOLL_CTL_ADD, l->fd, &ev);
}

/* Harmless on a socket that is not armed. */
static void accept_disarm(struct accept_listener *l) {
  if (l->evfd >= 0)
    epoll_ctl(uv_backend_fd(&l->w->loop), EPOLL_CTL_DEL, l->fd, NULL);
  else
    uv_poll_stop(&l->poll);
}

/* ---- the board: what the siblings see ---- */

/* The board (fd 5) is optional: without it a worker still serves, it
 * only does not balance. */
void accept_board_attach(struct worker *w, unsigned slot) {
  void *p;
  if (slot >= BOARD_SLOTS)
    return;
  p = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE, MAP_SHARED,
           WORKER_BOARD_FD, 0);
  close(WORKER_BOARD_FD);
  if (p == MAP_FAILED)
    return;
  w->board = p;
  w->slot = slot;
}

/* Posts this worker's state on the board for its siblings to read. */
void accept_board_post(struct worker *w) {
  if (w->board == NULL)
    return;
  __atomic_store_n(&w->board->slot[w->slot].conns, worker_open_conns(w),
                   __ATOMIC_RELAXED);
  __atomic_store_n(&w->board->slot[w->slot].requests, w->served,
                   __ATOMIC_RELAXED);
  /* Stepping aside for fairness is not refusing: still counted as a
   * taker, or its siblings would think themselves alone. */
  __atomic_store_n(&w->board->slot[w->slot].accepting,
                   (uint32_t)((w->accepting || w->yielded) && !w->stopping),
                   __ATOMIC_RELAXED);
}

/* The connections held by the least loaded sibling that accepts, or
 * UINT32_MAX when no sibling accepts (or there is no board). */
static uint32_t least_loaded_sibling(struct worker *w) {
  uint32_t least = UINT32_MAX;
  uint32_t slots;

  if (w->board == NULL)
    return UINT32_MAX;
  /* Only the slots in use: this runs for every accepted connection. */
  slots = __atomic_load_n(&w->board->head.slots, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < slots && i < BOARD_SLOTS; i++) {
    uint32_t conns;
    if (i == w->slot ||
        !__atomic_load_n(&w->board->slot[i].accepting, __ATOMIC_RELAXED))
      continue;
    conns = __atomic_load_n(&w->board->slot[i].conns, __ATOMIC_RELAXED);
    if (conns < least)
      least = conns;
  }
  return least;
}

/* Exclusive wakeups decide which worker is woken, not which one is busy:
 * the worker that happens to be running takes a burst of connections, and
 * keeps them (keep-alive). So a worker that already holds more than its
 * share, compared with the least loaded sibling that accepts, lets this
 * connection go to the others. The slack (8, plus an eighth) keeps short
 * connections out of it: with a connection per request, each worker holds
 * only a handful at any moment, and a smaller margin makes them step aside
 * for 1 ms by turns, which costs those clients most of their throughput
 * (docs/performance.md). */
static int accept_fair(struct worker *w) {
  uint32_t least = least_loaded_sibling(w);
  uint32_t mine = worker_open_conns(w);
  return least == UINT32_MAX || mine <= least + 8 + least / 8;
}

void accept_resume(struct worker *w) {
  if (w->accepting || w->stopping)
    return;
  for (unsigned i = 0; i < w->nlisteners; i++)
    if (accept_arm(&w->listeners[i]) == 0)
      w->accepting = 1;
  accept_board_post(w);
}

static void accept_on_retry(uv_timer_t *t) { accept_resume(t->data); }

/* Stops accepting for `ms` (0: until a connection is released; a release
 * also ends a pause of some ms, unless the worker stepped aside for
 * fairness). */
static void accept_pause(struct worker *w, uint64_t ms) {
  if (!w->accepting)
    return;
  for (unsigned i = 0; i < w->nlisteners; i++)
    accept_disarm(&w->listeners[i]);
  w->accepting = 0;
  accept_board_post(w);
  if (ms > 0)
    uv_timer_start(&w->accept_retry, accept_on_retry, ms, 0);
}

/* Unfair: step aside for 1 ms, so that the next wakeups go to the
 * siblings. A connection still waiting when this worker takes up accepting
 * again (it is woken at once) is taken whatever the balance: nobody waits on
 * fairness for longer. Returns 1 when this worker steps aside. */
static int accept_yield(struct worker *w) {
  if (w->yielded && uv_now(&w->loop) > w->yielded_at + 2) {
    w->yielded = 0;
    accept_board_post(w);
  }
  if (!w->yielded && !accept_fair(w)) {
    w->yielded = 1;
    w->yielded_at = uv_now(&w->loop);
    accept_pause(w, 1);
    return 1;
  }
  if (w->yielded) {
    w->yielded = 0;
    accept_board_post(w);
  }
  return 0;
}

/* At --max-connections, an idle keep-alive connection is the first thing
 * to give up: when a client waits in the backlog and no sibling accepts,
 * the connection idle the longest is closed to make room for it, rather
 * than leaving the new client waiting for a connection that may stay idle
 * for --keepalive-timeout (nginx reuses its idle connections the same
 * way). Only one idle between requests: no request in progress, nothing
 * received and not parsed, nothing waiting in its socket. With none, the
 * slowest connection still sending its request's head or body goes
 * (rate_slowest()): a worker full of clients that trickle a byte now and
 * then serves nobody else until --min-rate cuts them, and a new client is
 * more likely to be one that sends its request at once. Its fd is closed
 * at once (uv_close()); the conn itself is released a moment later.
 * Returns 1 when one was closed. */
static int accept_shed(struct accept_listener *l) {
  struct worker *w = l->w;
  struct conn *oldest = NULL, *victim;
  struct pollfd waiting = {.fd = l->fd, .events = POLLIN};
  uv_os_fd_t fd;
  int unread = 0;

  if (least_loaded_sibling(w) != UINT32_MAX)
    return 0;
  for (struct conn *c = w->active; c != NULL; c = c->next)
    if (c->timer_kind == TIMER_KEEPALIVE && c->requests > 0 && !c->closing &&
        !c->close_after && !c->writing && c->res->state == RES_IDLE &&
        c->rpos == c->rlen &&
        (oldest == NULL || c->deadline < oldest->deadline))
      oldest = c;
  if (poll(&waiting, 1, 0) != 1)
    return 0;
  if (oldest != NULL && uv_fileno((uv_handle_t *)&oldest->tcp, &fd) == 0 &&
      ioctl(fd, FIONREAD, &unread) == 0 && unread == 0)
    victim = oldest;
  else if ((victim = rate_slowest(w)) == NULL)
    return 0;
  log_debug("at --max-connections: closing the %s (from %s) for a new one",
            victim == oldest ? "longest idle keep-alive connection"
                             : "slowest connection still sending its request",
            victim->peer_addr);
  conn_close(victim);
  if (w->board != NULL)
    metrics_add(victim == oldest ? &w->board->slot[w->slot].counts.shed
                                 : &w->board->slot[w->slot].counts.shed_slow,
                1);
  return 1;
}

static void accept_on_poll(uv_poll_t *h, int status, int events) {
  struct accept_listener *l = h->data;
  struct worker *w = l->w;
  (void)status;
  (void)events;

  for (int i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    struct conn *c;
    int fd;

    if (worker_open_conns(w) >= w->max_connections && !accept_shed(l)) {
      /* Until a connection is released, or until one of them may have
       * become idle and can make room. */
      accept_pause(w, SHED_RETRY_MS);
      return;
    }
    if (accept_yield(w))
      return;
    fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
                 SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        /* Out of fds: let the other workers take the connections for a
         * moment instead of spinning on a socket we cannot accept from. */
        log_warn("cannot accept: %s; pausing for 100 ms", strerror(errno));
        accept_pause(w, 100);
      } else if (errno != EAGAIN) {
        log_error("accept: %s", strerror(errno));
      }
      return;
    }
    if ((c = worker_conn_get(w)) == NULL) {
      log_warn("out of memory for a new connection; closing it");
      close(fd);
      return;
    }
    /* Counted first: conn_start() may answer the request and close the
     * connection, and its client may read the metrics next. */
    if (w->board != NULL)
      metrics_add(&w->board->slot[w->slot].counts.accepted, 1);
    if (conn_start(c, w, fd, (struct sockaddr *)&peer) != 0)
      log_warn("could not set up a connection");
    /* The request it answered may have stopped this worker (--max-requests,
     * a crash): its listening sockets are closed then. */
    if (!w->accepting)
      return;
    if (l->evfd >= 0 && ++l->accepts_since_rearm >= ACCEPT_REARM) {
      l->accepts_since_rearm = 0;
      accept_disarm(l);
      if (accept_arm(l) != 0) /* resumed with the others on a release */
        accept_pause(w, 0);
    }
  }
}

/* One listening socket: exclusive wakeups through an eventfd when they
 * can be had (exclusive), else polled plainly. Returns 0 or a libuv error. */
static int listener_start(struct worker *w, struct accept_listener *l, int fd,
                          int exclusive) {
  int err;

  l->w = w;
  l->fd = fd;
  l->evfd = exclusive ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
  if (l->evfd >= 0) {
    err = uv_poll_init(&w->loop, &l->poll, l->evfd);
    l->poll.data = l;
    if (err == 0)
      err = uv_poll_start(&l->poll, UV_READABLE, accept_on_poll);
    /* Kernels before 4.5 have no EPOLLEXCLUSIVE: poll the socket plainly. */
    if (err == 0 && accept_arm(l) == 0)
      return 0;
    if (err == 0)
      uv_close((uv_handle_t *)&l->poll, NULL);
    close(l->evfd);
    l->evfd = -1;
    log_debug("EPOLLEXCLUSIVE unavailable: accepting without it");
  }
  err = uv_poll_init(&w->loop, &l->poll, fd);
  l->poll.data = l;
  return err == 0 ? accept_arm(l) : err;
}

int accept_start(struct worker *w, unsigned nlisteners) {
  const char *plain = accept_plain_reason();
  int err;

  if (plain != NULL)
    log_warn("libuv %s: accepting without exclusive wakeups (%s): every "
             "worker is woken by each new connection",
             uv_version_string(), plain);
  uv_timer_init(&w->loop, &w->accept_retry);
  w->accept_retry.data = w;
  sock_init(&w->loop);
  for (unsigned i = 0; i < nlisteners && i < LISTEN_MAX; i++) {
    int fd = i == 0 ? WORKER_LISTEN_FD : WORKER_LISTEN_MORE_FD + (int)i - 1;
    if ((err = listener_start(w, &w->listeners[i], fd, plain == NULL)) != 0)
      return err;
    w->nlisteners = i + 1;
  }
  w->accepting = 1;
  return 0;
}

void accept_stop(struct worker *w) {
  if (w->nlisteners == 0)
    return;
  if (w->accepting)
    for (unsigned i = 0; i < w->nlisteners; i++)
      accept_disarm(&w->listeners[i]);
  w->accepting = 0;
  accept_board_post(w);
  uv_timer_stop(&w->accept_retry);
  for (unsigned i = 0; i < w->nlisteners; i++) {
    struct accept_listener *l = &w->listeners[i];
    uv_close((uv_handle_t *)&l->poll, NULL);
    if (l->evfd >= 0)
      close(l->evfd);
    /* Only this worker's copy: the master keeps the socket, so connections
     * that arrive now wait for the other workers instead of being
     * refused. */
    close(l->fd);
  }
  w->nlisteners = 0;
}
