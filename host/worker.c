/*
 * worker.c - a worker process: one libuv loop, its conns, the plugin, and
 * the way out (graceful stop, or retirement after a plugin fault). The
 * accept path is in accept.c; calling the plugin under the guard, and
 * reporting its faults, in wcall.c.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accept.h"
#include "devpage.h"
#include "fault.h"
#include "fdlimit.h"
#include "fetch.h"
#include "guard.h"
#include "log.h"
#include "parse.h"
#include "proto.h"
#include "request.h"
#include "stream.h"
#include "utc.h"
#include "ws.h"

/* Released conns kept for the next connection. */
#define POOL_MAX 256
/* How long an idle keep-alive connection stays open once its worker
 * stops (see worker_stop()). */
#define STOP_IDLE_MS 1000

/* mc_worker_self() has no argument to find its worker by: like the guard,
 * this is process-wide by nature. Set once in worker_main(). */
static struct worker *self;

MC_EXTERN const mc_worker *mc_worker_self(void) {
  return self != NULL ? &self->pub : NULL;
}

struct worker *worker_current(void) {
  return self;
}

const char *worker_date(struct worker *w) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != w->date_sec) {
    size_t n = sizeof "Date: " - 1;
    w->date_sec = ts.tv_sec;
    memcpy(w->date, "Date: ", n);
    n += utc_http(w->date + n, ts.tv_sec);
    memcpy(w->date + n, "\r\n", 3);
  }
  _Static_assert(WORKER_DATE_LEN == 6 + UTC_HTTP_LEN + 2, "Date line length");
  return w->date;
}

static void worker_send(struct worker *w, uint32_t type, uint64_t value) {
  struct msg m = {type, w->pub.id, value};
  if (w->replay)
    return;
  uv_buf_t b = uv_buf_init((char *)&m, sizeof m);
  /* 16 bytes into a socketpair the master drains: never blocks. */
  if (uv_try_write((uv_stream_t *)&w->control, &b, 1) != (int)sizeof m)
    log_warn("could not tell the master (message %u)", (unsigned)type);
}

/* ---- the conn pool ---- */

struct conn *worker_conn_get(struct worker *w) {
  struct conn *c = w->pool;
  if (c != NULL) {
    w->pool = c->next;
    w->npool--;
  } else {
    if ((c = calloc(1, sizeof *c)) == NULL)
      return NULL;
    c->w = w;
  }
  c->prev = NULL;
  c->next = w->active;
  if (w->active != NULL)
    w->active->prev = c;
  w->active = c;
  w->nconns++;
  accept_board_post(w);
  return c;
}

void worker_conn_release(struct worker *w, struct conn *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    w->active = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  w->nconns--;
  w->nclosing--; /* every conn is released after conn_close() */
  accept_board_post(w);
  if (w->dev_crash == c)
    w->dev_crash = NULL;
  if (c->orphaned) {
    /* kept, unused, until the process ends (see conn_abandon()) */
    c->next = w->orphans;
    w->orphans = c;
    worker_check_idle(w);
    return;
  }
  /* A pooled conn holds no buffers: an exchange goes back to the spares
   * (exchange.c). */
  conn_free_buffers(c);
  if (w->npool < POOL_MAX && !w->stopping) {
    c->next = w->pool;
    w->pool = c;
    w->npool++;
  } else {
    free(c);
  }
  if (w->stopping)
    worker_check_idle(w);
  else if (!w->accepting && !w->yielded)
    accept_resume(w);
}

/* ---- stopping ---- */

static void worker_finish(struct worker *w) {
  access_close(&w->access);
  uv_stop(&w->loop);
}

void worker_check_idle(struct worker *w) {
  if (w->stopping && w->nconns == 0 && w->works == 0)
    worker_finish(w);
}

static void worker_on_kill_timer(uv_timer_t *t) {
  struct worker *w = t->data;
  log_warn("%u connection(s), %u mc_work()s busy at --kill-timeout; exiting",
           w->nconns, w->works);
  w->exit_code = EXIT_RUNTIME;
  worker_finish(w);
}

static void worker_stop(struct worker *w, const char *why) {
  if (w->stopping)
    return;
  w->stopping = 1;
  log_debug("stopping: %s", why);
  accept_stop(w);
  /* A WebSocket has no request boundary to stop at: the plugin is told,
   * then it gets its close frame (1001). */
  ws_stop_all(w);
  /* Nor has a streamed response: the same, then its last chunk. */
  stream_stop_all(w);
  /* Open connections are not closed here: a client may be sending its next
   * request on an idle keep-alive connection right now, and closing would
   * lose it (the race every keep-alive close has). Every keep-alive decision
   * reads w->stopping: the next response says Connection: close, and an idle
   * connection closes when its keep-alive timeout ends, as it would have
   * anyway. So a reload or a graceful stop loses no request. The idle
   * ones get at most STOP_IDLE_MS more: the keep-alive timeout is longer
   * than --kill-timeout by default, and a stopping worker should not wait
   * for clients that have nothing to ask. */
  for (struct conn *c = w->active; c != NULL; c = c->next) {
    uint64_t now = uv_now(&w->loop);
    if (c->timer_kind == TIMER_KEEPALIVE && c->deadline > now + STOP_IDLE_MS)
      conn_set_timer(c, TIMER_KEEPALIVE, STOP_IDLE_MS);
  }
  uv_timer_start(&w->kill_timer, worker_on_kill_timer, w->cfg->kill_timeout_ms,
                 0);
  worker_check_idle(w);
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

/* One write(2) by fd, allocating nothing: from any thread (worker.h). */
void worker_tell_tainted(struct worker *w, enum taint how) {
  struct msg m = {MSG_TAINTED, w->pub.id, how};
  if (!w->replay &&
      !__atomic_exchange_n(&w->told_tainted, 1, __ATOMIC_SEQ_CST) &&
      write(WORKER_CONTROL_FD, &m, sizeof m) != (ssize_t)sizeof m)
    w->tell_failed = 1; /* said by worker_taint(), on the loop thread */
}

void worker_taint(struct worker *w, const char *why, enum taint how) {
  if (w->tainted)
    return;
  w->tainted = 1;
  if (w->replay)
    return;
  worker_tell_tainted(w, how);
  if (w->tell_failed)
    log_warn("could not tell the master (message %u)", (unsigned)MSG_TAINTED);
  log_error("retiring this worker (generation %u): %s; a replacement is "
            "starting",
            w->pub.generation, why);
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
    else if (m.type == MSG_DEV_ERROR)
      devpage_reload(w);
    else if (m.type == MSG_DEV_CRASH)
      devpage_crash_named(w);
  }
}

static void worker_on_sigterm(uv_signal_t *h, int signum) {
  (void)signum;
  worker_stop(h->data, "SIGTERM");
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

int worker_load_plugin(struct worker *w) {
  char err[1024];
  struct init_call ic = {w, 0};
  int rc;

  self = w;
  if (plugin_open(&w->plugin, w->plugin_path, w->cfg->plugin, err,
                  sizeof err) != 0) {
    log_error("%s", err);
    devpage_note_load_error(w, err);
    return -1;
  }
  w->crash.dir = w->cfg->crash_dir;
  w->crash.plugin = w->cfg->plugin;
  w->crash.snapshot = w->plugin_path;
  w->crash.keep_secrets = (int)w->cfg->crash_keep_secrets;
  fault_build_id(w->plugin.handle, w->crash.build_id, sizeof w->crash.build_id);
  if (w->plugin.init == NULL)
    return 0;
  rc = guard_call(init_thunk, &ic, w->cfg->request_timeout_ms);
  if (rc != 0) {
    worker_report_fault(w, rc, guard_last(), "mc_init()", NULL);
    snprintf(err, sizeof err, "plugin '%s' cannot start: mc_init() %s",
             w->cfg->plugin,
             rc == GUARD_TIMEOUT ? "did not return in time" : "crashed");
  } else if (ic.rc != 0) {
    snprintf(err, sizeof err,
             "plugin '%s': mc_init() refused to start (returned %d)",
             w->cfg->plugin, ic.rc);
  }
  if (rc != 0 || ic.rc != 0) {
    log_error("%s", err);
    devpage_note_load_error(w, err);
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

/* Ctrl-C, Ctrl-\ and a terminal hangup reach the whole process group:
 * the master decides what they mean and tells the workers. */
static void ignore_group_signals(void) {
  static const int sigs[] = {SIGINT,  SIGQUIT, SIGHUP,  SIGPIPE,
                             SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    ignore_signal(sigs[i]);
}

/* The master speaks through the control pipe and SIGTERM; the kill timer
 * bounds a graceful stop and must not keep the loop alive by itself. */
static int worker_listen_master(struct worker *w) {
  int err;
  uv_pipe_init(&w->loop, &w->control, 0);
  w->control.data = w;
  if ((err = uv_pipe_open(&w->control, WORKER_CONTROL_FD)) != 0 ||
      (err = uv_read_start((uv_stream_t *)&w->control, worker_on_control_alloc,
                           worker_on_control)) != 0)
    return err;
  uv_signal_init(&w->loop, &w->sigterm);
  w->sigterm.data = w;
  uv_signal_start(&w->sigterm, worker_on_sigterm, SIGTERM);
  uv_timer_init(&w->loop, &w->kill_timer);
  w->kill_timer.data = w;
  uv_unref((uv_handle_t *)&w->kill_timer);
  return 0;
}

/* The loop has ended: running fetches cancelled (their callbacks told),
 * mc_shutdown() (guarded), every handle closed and every pooled conn
 * freed, so that a leak checker sees nothing of ours at exit. */
static void worker_cleanup(struct worker *w) {
  fetch_worker_stop(w);
  if (w->plugin.shutdown != NULL) {
    int rc = guard_call(shutdown_thunk, w, w->cfg->request_timeout_ms);
    if (rc != 0)
      worker_report_fault(w, rc, guard_last(), "mc_shutdown()", NULL);
  }
  uv_walk(&w->loop, close_walk_cb, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_loop_close(&w->loop);
  for (struct conn **list = &w->pool; list != NULL;
       list = list == &w->pool ? &w->orphans : NULL) {
    while (*list != NULL) {
      struct conn *c = *list;
      *list = c->next;
      conn_free_buffers(c);
      free(c);
    }
  }
  exchange_free_spares(w);
  messages_free(w);
  timers_free(w);
}

/* --max-requests plus a random part of --max-requests-jitter, so that
 * workers started together do not retire together. 0: no limit. */
static uint64_t max_requests(const struct config *cfg) {
  if (cfg->max_requests == 0 || cfg->max_requests_jitter == 0)
    return cfg->max_requests;
  return cfg->max_requests +
         (uint64_t)(getpid() ^ uv_hrtime()) % (cfg->max_requests_jitter + 1);
}

/* Before the loop waits for events, a worker that has just served
 * requests lets whatever else is runnable on its CPU go first. Where
 * clients or a proxy share the CPUs with the workers (nginx in front on
 * the same host; wrk in the benchmark), a worker otherwise sleeps in
 * epoll_wait() after each small batch, and the next request wakes it and
 * preempts the client that sent it: two context switches for a few
 * requests. After sched_yield() the client runs until it blocks, and the
 * worker finds a larger batch waiting, without being woken (measurements:
 * docs/performance.md). With nothing else runnable it returns at once:
 * one system call per busy turn of the loop. The cost:
 * beside a CPU-bound process, a request arriving just then waits for that
 * process's time slice instead of preempting it. --no-yield turns it off. */
static void worker_on_prepare(uv_prepare_t *h) {
  struct worker *w = h->data;
  if (w->served == w->yield_served)
    return;
  w->yield_served = w->served;
  sched_yield();
}

int worker_main(const struct config *cfg, unsigned id, unsigned generation,
                unsigned slot, unsigned listeners, const char *plugin_path) {
  static struct worker w;
  char who[64], msg[512];
  int err;

  snprintf(who, sizeof who, "worker %u pid %d", id, (int)getpid());
  log_init((int)cfg->log_level, who, (int)cfg->log_format);
  ignore_group_signals();

  self = &w;
  w.cfg = cfg;
  w.plugin_path = plugin_path;
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
  parse_settings_init(&w.settings);
  if ((err = guard_install()) != 0)
    log_warn("crash guard unavailable: %s", strerror(-err));

  if ((err = messages_open(&w)) != 0)
    log_warn("no messages between workers (%s): mc_publish() will fail",
             uv_strerror(err));
  if (worker_load_plugin(&w) != 0)
    return EXIT_PLUGIN;
  devpage_reload(&w);
  if (access_open(&w.access, &w.loop, cfg->access_log, (int)cfg->log_format,
                  msg, sizeof msg) != 0) {
    log_error("%s", msg);
    return EXIT_RUNTIME;
  }
  w.max_requests = max_requests(cfg);
  /* The master raised the limit already; this worker inherited it. */
  w.max_connections =
      fdlimit_connections(cfg->max_connections, fdlimit_raise());

  if ((err = worker_listen_master(&w)) != 0) {
    log_error("no control pipe from the master (%s): workers are started "
              "by the master, not by hand",
              uv_strerror(err));
    return EXIT_RUNTIME;
  }

  accept_board_attach(&w, slot);
  if ((err = accept_start(&w, listeners)) != 0) {
    log_error("cannot accept on the inherited sockets: %s", uv_strerror(err));
    return EXIT_RUNTIME;
  }
  accept_board_post(&w);
  worker_send(&w, MSG_READY, 0);
  log_debug("ready (generation %u)", generation);

  if (!cfg->no_yield) {
    uv_prepare_init(&w.loop, &w.yield);
    w.yield.data = &w;
    uv_prepare_start(&w.yield, worker_on_prepare);
    uv_unref((uv_handle_t *)&w.yield); /* never what keeps a worker up */
  }
  uv_run(&w.loop, UV_RUN_DEFAULT);
  if (w.works == 0) /* else one runs on: no mc_shutdown() under its feet */
    worker_cleanup(&w);
  log_debug("exiting");
  return w.exit_code;
}
