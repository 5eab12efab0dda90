/*
 * worker.c - a worker process: one libuv loop, the accept path, the plugin,
 * and the way out (graceful stop, or retirement after a plugin fault).
 */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guard.h"
#include "log.h"
#include "proto.h"

/* Connections accepted per wakeup, and accepts between two re-arms of the
 * exclusive wakeup (see accept_start()). */
#define ACCEPT_BATCH 8
#define ACCEPT_REARM 16
/* Released conns kept with their buffers for the next connection. */
#define POOL_MAX 256

/* mc_worker_self() has no argument to find its worker by: like the guard,
 * this is process-wide by nature. Set once in worker_main(). */
static struct worker *self;

MC_EXTERN const mc_worker *mc_worker_self(void) {
  return self != NULL ? &self->pub : NULL;
}

const char *worker_date(struct worker *w) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != w->date_sec) {
    struct tm tm;
    w->date_sec = ts.tv_sec;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(w->date, sizeof w->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n",
             &tm);
  }
  return w->date;
}

static void worker_send(struct worker *w, uint32_t type, uint64_t value) {
  struct msg m = {type, w->pub.id, value};
  uv_buf_t b = uv_buf_init((char *)&m, sizeof m);
  /* 16 bytes into a socketpair the master drains: never blocks. */
  if (uv_try_write((uv_stream_t *)&w->control, &b, 1) != (int)sizeof m)
    log_warn("could not tell the master (message %u)", (unsigned)type);
}

/* ---- the accept path ----
 *
 * One listening socket is shared by every worker (never SO_REUSEPORT: a
 * worker that goes away would take the connections queued on its own
 * socket with it). libuv's own accept loop lets one worker take nearly every
 * connection, so each worker accepts by itself, and registers the socket
 * with EPOLLEXCLUSIVE: a new connection wakes one worker, not all. libuv has
 * no such flag, so the socket is added to libuv's epoll set by hand, with
 * the fd number of an eventfd that libuv watches (and that never fires) as
 * its data: libuv then delivers the socket's readiness to that watcher.
 * Re-adding it every ACCEPT_REARM accepts moves this worker to the back of
 * the socket's wait queue, which spreads connections evenly (nginx does the
 * same). Tested with libuv 1.44 (uv__io_poll dispatches by data.fd).
 */

static int accept_arm(struct worker *w) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = w->accept_evfd;
  return epoll_ctl(uv_backend_fd(&w->loop), EPOLL_CTL_ADD, w->listen_fd, &ev);
}

static void accept_disarm(struct worker *w) {
  if (w->accept_evfd >= 0)
    epoll_ctl(uv_backend_fd(&w->loop), EPOLL_CTL_DEL, w->listen_fd, NULL);
  else
    uv_poll_stop(&w->accept_poll);
}

static void worker_on_accept(uv_poll_t *h, int status, int events);

/* Posts this worker's state on the board for its siblings to read. */
static void board_post(struct worker *w) {
  if (w->board == NULL)
    return;
  __atomic_store_n(&w->board->slot[w->slot].conns, w->nconns, __ATOMIC_RELAXED);
  __atomic_store_n(&w->board->slot[w->slot].requests, w->served,
                   __ATOMIC_RELAXED);
  /* Stepping aside for fairness is not refusing: still counted as a
   * taker, or its siblings would think themselves alone. */
  __atomic_store_n(&w->board->slot[w->slot].accepting,
                   (uint32_t)((w->accepting || w->yielded) && !w->stopping),
                   __ATOMIC_RELAXED);
}

/* Exclusive wakeups decide which worker is woken, not which one is busy:
 * the worker that happens to be running takes a burst of connections, and
 * keeps them (keep-alive). So a worker that already holds more than its
 * share, compared with the least loaded sibling that accepts, lets this
 * connection go to the others. */
static int accept_fair(struct worker *w) {
  uint32_t least = UINT32_MAX;
  uint32_t slots;

  if (w->board == NULL)
    return 1;
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
  return least == UINT32_MAX || w->nconns <= least + 2 + least / 8;
}

static void accept_resume(struct worker *w) {
  if (w->accepting || w->stopping)
    return;
  if (w->accept_evfd >= 0
          ? accept_arm(w) == 0
          : uv_poll_start(&w->accept_poll, UV_READABLE, worker_on_accept) == 0)
    w->accepting = 1;
  board_post(w);
}

static void worker_on_accept_retry(uv_timer_t *t) { accept_resume(t->data); }

/* Stops accepting for `ms` (0: until a connection is released). */
static void accept_pause(struct worker *w, uint64_t ms) {
  if (!w->accepting)
    return;
  accept_disarm(w);
  w->accepting = 0;
  board_post(w);
  if (ms > 0)
    uv_timer_start(&w->accept_retry, worker_on_accept_retry, ms, 0);
}

struct conn *worker_conn_get(struct worker *w) {
  struct conn *c = w->pool;
  if (c != NULL) {
    w->pool = c->next;
    w->npool--;
  } else {
    if ((c = calloc(1, sizeof *c)) == NULL)
      return NULL;
    if (conn_alloc_buffers(c, w->cfg->max_header_size) != 0) {
      free(c);
      return NULL;
    }
  }
  c->prev = NULL;
  c->next = w->active;
  if (w->active != NULL)
    w->active->prev = c;
  w->active = c;
  w->nconns++;
  board_post(w);
  return c;
}

static void worker_finish(struct worker *w);

void worker_conn_release(struct worker *w, struct conn *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    w->active = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  w->nconns--;
  board_post(w);
  if (c->orphaned) {
    /* kept, unused, until the process ends (see conn_abandon()) */
    c->next = w->orphans;
    w->orphans = c;
    if (w->stopping && w->nconns == 0)
      worker_finish(w);
    return;
  }
  /* A pooled conn keeps its buffers, but not large ones (a big body or
   * response once): those go, and the small output buffer that a fault's
   * 500 needs comes back (see conn_alloc_buffers()). */
  if (c->req.body_cap > 65536 || c->out.cap > 65536 || c->wout.cap > 65536) {
    free(c->req.body);
    free(c->wout.data);
    c->req.body = c->wout.data = NULL;
    c->req.body_cap = c->wout.cap = 0;
    if (c->out.cap > 65536) {
      free(c->out.data);
      c->out.data = malloc(c->out.cap = 4096);
      if (c->out.data == NULL)
        c->out.cap = 0;
    }
  }
  if (w->npool < POOL_MAX && !w->stopping) {
    c->next = w->pool;
    w->pool = c;
    w->npool++;
  } else {
    conn_free_buffers(c);
    free(c);
  }
  if (w->stopping) {
    if (w->nconns == 0)
      worker_finish(w);
  } else if (!w->accepting && !uv_is_active((uv_handle_t *)&w->accept_retry)) {
    accept_resume(w);
  }
}

static void worker_on_accept(uv_poll_t *h, int status, int events) {
  struct worker *w = h->data;
  (void)status;
  (void)events;

  for (int i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
    struct conn *c;
    int fd;

    if (w->nconns >= w->cfg->max_connections) {
      accept_pause(w, 0);
      return;
    }
    /* Unfair: step aside for 1 ms, so that the next wakeups go to the
     * siblings. A connection still waiting when this worker takes up
     * accepting again (it is woken at once) is taken whatever the balance:
     * nobody waits on fairness for longer. */
    if (w->yielded && uv_now(&w->loop) > w->yielded_at + 2) {
      w->yielded = 0;
      board_post(w);
    }
    if (!w->yielded && !accept_fair(w)) {
      w->yielded = 1;
      w->yielded_at = uv_now(&w->loop);
      accept_pause(w, 1);
      return;
    }
    if (w->yielded) {
      w->yielded = 0;
      board_post(w);
    }
    fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
    if (conn_start(c, w, fd) != 0)
      log_warn("could not set up a connection");
    if (w->accept_evfd >= 0 && ++w->accepts_since_rearm >= ACCEPT_REARM) {
      w->accepts_since_rearm = 0;
      accept_disarm(w);
      if (accept_arm(w) != 0)
        w->accepting = 0;
    }
  }
}

static int accept_start(struct worker *w) {
  int err;

  w->listen_fd = WORKER_LISTEN_FD;
  w->accept_evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  uv_timer_init(&w->loop, &w->accept_retry);
  w->accept_retry.data = w;
  if (w->accept_evfd >= 0) {
    err = uv_poll_init(&w->loop, &w->accept_poll, w->accept_evfd);
    if (err == 0)
      err = uv_poll_start(&w->accept_poll, UV_READABLE, worker_on_accept);
    w->accept_poll.data = w;
    /* Kernels before 4.5 have no EPOLLEXCLUSIVE: poll the socket plainly. */
    if (err == 0 && accept_arm(w) == 0) {
      w->accepting = 1;
      return 0;
    }
    if (err == 0)
      uv_close((uv_handle_t *)&w->accept_poll, NULL);
    close(w->accept_evfd);
    w->accept_evfd = -1;
    log_debug("EPOLLEXCLUSIVE unavailable: accepting without it");
  }
  err = uv_poll_init(&w->loop, &w->accept_poll, w->listen_fd);
  w->accept_poll.data = w;
  if (err == 0)
    err = uv_poll_start(&w->accept_poll, UV_READABLE, worker_on_accept);
  if (err != 0)
    return err;
  w->accepting = 1;
  return 0;
}

static void accept_stop(struct worker *w) {
  if (w->listen_fd < 0)
    return;
  if (w->accepting)
    accept_disarm(w);
  w->accepting = 0;
  board_post(w);
  uv_timer_stop(&w->accept_retry);
  uv_close((uv_handle_t *)&w->accept_poll, NULL);
  if (w->accept_evfd >= 0)
    close(w->accept_evfd);
  /* Only this worker's copy: the master keeps the socket, so connections
   * that arrive now wait for the other workers instead of being refused. */
  close(w->listen_fd);
  w->listen_fd = -1;
}

/* ---- stopping ---- */

static void worker_finish(struct worker *w) {
  access_close(&w->access);
  uv_stop(&w->loop);
}

static void worker_on_kill_timer(uv_timer_t *t) {
  struct worker *w = t->data;
  log_warn("%u connection(s) still busy after --kill-timeout; exiting",
           w->nconns);
  w->exit_code = EXIT_RUNTIME;
  worker_finish(w);
}

static void worker_stop(struct worker *w, const char *why) {
  if (w->stopping)
    return;
  w->stopping = 1;
  log_debug("stopping: %s", why);
  accept_stop(w);
  /* Open connections are not closed here: a client may be sending its next
   * request on an idle keep-alive connection right now, and closing would
   * lose it (the race every keep-alive close has). Every keep-alive decision
   * reads w->stopping: the next response says Connection: close, and an idle
   * connection closes when its keep-alive timeout ends, as it would have
   * anyway. So a reload or a graceful stop loses no request. */
  uv_timer_start(&w->kill_timer, worker_on_kill_timer, w->cfg->kill_timeout_ms,
                 0);
  if (w->nconns == 0)
    worker_finish(w);
}

void worker_retire(struct worker *w) {
  if (w->stopping)
    return;
  log_info("served %llu requests (--max-requests): retiring; a replacement "
           "is starting",
           (unsigned long long)w->served);
  worker_send(w, MSG_RETIRING, w->served);
  worker_stop(w, "--max-requests");
}

/* Allocates nothing: see worker_call_plugin(). */
static void worker_tell_tainted(struct worker *w) {
  if (w->told_tainted)
    return;
  w->told_tainted = 1;
  worker_send(w, MSG_TAINTED, 0);
}

void worker_taint(struct worker *w, const char *why) {
  if (w->tainted)
    return;
  w->tainted = 1;
  worker_tell_tainted(w);
  log_error("retiring this worker: %s; a replacement is starting", why);
  worker_stop(w, why);
}

static void worker_on_control_alloc(uv_handle_t *h, size_t hint,
                                    uv_buf_t *buf) {
  static char space[256];
  (void)h;
  (void)hint;
  *buf = uv_buf_init(space, sizeof space);
}

static void worker_on_control(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct worker *w = s->data;
  struct msg m;

  if (n < 0) {
    /* The master is gone (or killed): nobody will replace or stop us, so
     * finish what is in flight and leave. */
    uv_read_stop(s);
    worker_stop(w, "the master went away");
    return;
  }
  for (ssize_t off = 0; off + (ssize_t)sizeof m <= n; off += sizeof m) {
    memcpy(&m, buf->base + off, sizeof m);
    if (m.type == MSG_STOP)
      worker_stop(w, "asked by the master");
    else if (m.type == MSG_REOPEN)
      access_reopen(&w->access);
  }
}

static void worker_on_sigterm(uv_signal_t *h, int signum) {
  (void)signum;
  worker_stop(h->data, "SIGTERM");
}

/* ---- calling the plugin ---- */

static void run_thunk(void *arg) {
  struct conn *c = arg;
  c->w->plugin.run(&c->req, &c->res);
}

static void later_thunk(void *arg) {
  struct conn *c = arg;
  void (*cb)(mc_response *, void *) = c->res.later_cb;
  c->res.later_cb = NULL;
  if (cb != NULL)
    cb(&c->res, c->res.later_data);
}

void worker_call_plugin(struct worker *w, struct conn *c, int later) {
  mc_response *res = &c->res;
  int rc = guard_call(later ? later_thunk : run_thunk, c,
                      w->cfg->request_timeout_ms);

  if (rc != 0) {
    char context[512];
    /* The master first, before anything that may allocate: a fault inside
     * malloc can leave the heap locked, and then this worker hangs at its
     * next allocation. Told, the master replaces it now and kills it at
     * --kill-timeout whatever happens next. */
    worker_tell_tainted(w);
    snprintf(context, sizeof context, "'%s %.400s' from %s",
             c->req.method ? c->req.method : "?",
             c->req.target ? c->req.target : "?", c->req.remote_addr);
    guard_log_fault(rc, context);
    uv_timer_stop(&c->later);
    if (res->state == RES_STREAMING)
      conn_abort_stream(c);
    if (res->state == RES_HANDLER || res->state == RES_DEFERRED)
      response_send_error(c, rc == GUARD_TIMEOUT ? 503 : 500);
    worker_taint(w, rc == GUARD_TIMEOUT ? "a handler exceeded --request-timeout"
                                        : "the plugin crashed");
    return;
  }
  conn_watch_deferred(c);
  if (!later && res->state == RES_HANDLER) {
    log_error("%s %s: mc_run() returned without answering; call "
              "mc_response_send(), mc_response_begin(), mc_response_defer() "
              "or mc_response_later()",
              c->req.method, c->req.target);
    response_send_error(c, 500);
  }
}

/* ---- the worker's life ---- */

struct init_call {
  struct worker *w;
  int rc;
};

static void init_thunk(void *arg) {
  struct init_call *ic = arg;
  ic->rc = ic->w->plugin.init(&ic->w->pub);
}

static void shutdown_thunk(void *arg) {
  struct worker *w = arg;
  w->plugin.shutdown();
}

static int worker_load_plugin(struct worker *w) {
  char err[1024];
  struct init_call ic = {w, 0};
  int rc;

  if (plugin_open(&w->plugin, w->plugin_path, w->cfg->plugin, err,
                  sizeof err) != 0) {
    log_error("%s", err);
    return -1;
  }
  guard_name_plugin(w->plugin_path, w->cfg->plugin);
  if (w->plugin.init == NULL)
    return 0;
  rc = guard_call(init_thunk, &ic, w->cfg->request_timeout_ms);
  if (rc != 0) {
    guard_log_fault(rc, "mc_init()");
    log_error("plugin '%s' cannot start: mc_init() %s", w->cfg->plugin,
              rc == GUARD_TIMEOUT ? "did not return in time" : "crashed");
    return -1;
  }
  if (ic.rc != 0) {
    log_error("plugin '%s': mc_init() refused to start (returned %d)",
              w->cfg->plugin, ic.rc);
    return -1;
  }
  return 0;
}

static void ignore_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(sig, &sa, NULL);
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* The board (fd 5) is optional: without it a worker still serves, it
 * only does not balance. */
static void board_attach(struct worker *w, unsigned slot) {
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

int worker_main(const struct config *cfg, unsigned id, unsigned generation,
                unsigned slot, const char *plugin_path) {
  static struct worker w;
  char who[64], msg[512];
  int err;

  snprintf(who, sizeof who, "worker %u pid %d", id, (int)getpid());
  log_init((int)cfg->log_level, who, (int)cfg->log_format);
  /* Ctrl-C, Ctrl-\ and a terminal hangup reach the whole process group:
   * the master decides what they mean and tells the workers. */
  ignore_signal(SIGINT);
  ignore_signal(SIGQUIT);
  ignore_signal(SIGHUP);
  ignore_signal(SIGPIPE);
  ignore_signal(SIGTTIN);
  ignore_signal(SIGTTOU);
  ignore_signal(SIGUSR1);
  ignore_signal(SIGUSR2);

  self = &w;
  w.cfg = cfg;
  w.plugin_path = plugin_path;
  w.listen_fd = -1;
  w.accept_evfd = -1;
  w.exit_code = EXIT_OK;
  if ((err = uv_loop_init(&w.loop)) != 0) {
    log_error("cannot start an event loop: %s", uv_strerror(err));
    return EXIT_RUNTIME;
  }
  w.pub.id = id;
  w.pub.generation = generation;
  w.pub.pid = (int)getpid();
  w.pub.workers = (unsigned)cfg->workers;
  w.pub.loop = &w.loop;
  conn_settings_init(&w.settings);
  if ((err = guard_install()) != 0)
    log_warn("crash guard unavailable: %s", strerror(-err));

  if (worker_load_plugin(&w) != 0)
    return EXIT_PLUGIN;
  if (access_open(&w.access, &w.loop, cfg->access_log, (int)cfg->log_format,
                  msg, sizeof msg) != 0) {
    log_error("%s", msg);
    return EXIT_RUNTIME;
  }
  /* Jitter, so that workers started together do not retire together. */
  if (cfg->max_requests > 0)
    w.max_requests =
        cfg->max_requests + (cfg->max_requests_jitter
                                 ? (uint64_t)(getpid() ^ uv_hrtime()) %
                                       (cfg->max_requests_jitter + 1)
                                 : 0);

  uv_pipe_init(&w.loop, &w.control, 0);
  w.control.data = &w;
  if ((err = uv_pipe_open(&w.control, WORKER_CONTROL_FD)) != 0 ||
      (err = uv_read_start((uv_stream_t *)&w.control, worker_on_control_alloc,
                           worker_on_control)) != 0) {
    log_error("no control pipe from the master (%s): workers are started "
              "by the master, not by hand",
              uv_strerror(err));
    return EXIT_RUNTIME;
  }
  uv_signal_init(&w.loop, &w.sigterm);
  w.sigterm.data = &w;
  uv_signal_start(&w.sigterm, worker_on_sigterm, SIGTERM);
  uv_timer_init(&w.loop, &w.kill_timer);
  w.kill_timer.data = &w;
  uv_unref((uv_handle_t *)&w.kill_timer);

  board_attach(&w, slot);
  if ((err = accept_start(&w)) != 0) {
    log_error("cannot accept on the inherited socket: %s", uv_strerror(err));
    return EXIT_RUNTIME;
  }
  board_post(&w);
  worker_send(&w, MSG_READY, 0);
  log_debug("ready (generation %u)", generation);

  uv_run(&w.loop, UV_RUN_DEFAULT);

  if (w.plugin.shutdown != NULL) {
    int rc = guard_call(shutdown_thunk, &w, w.cfg->request_timeout_ms);
    if (rc != 0)
      guard_log_fault(rc, "mc_shutdown()");
  }
  uv_walk(&w.loop, close_walk_cb, NULL);
  uv_run(&w.loop, UV_RUN_DEFAULT);
  uv_loop_close(&w.loop);
  for (struct conn **list = &w.pool; list != NULL;
       list = list == &w.pool ? &w.orphans : NULL) {
    while (*list != NULL) {
      struct conn *c = *list;
      *list = c->next;
      conn_free_buffers(c);
      free(c);
    }
  }
  log_debug("exiting");
  return w.exit_code;
}
