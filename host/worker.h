/* worker.h - a worker process: its loop, accept path (accept.h), plugin,
 * lifecycle. */
#ifndef MCHOST_WORKER_H
#define MCHOST_WORKER_H

#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "accept.h"
#include "access.h"
#include "bundle.h"
#include "config.h"
#include "conn.h"
#include "listen.h"
#include "llhttp.h"
#include "mchost.h"
#include "message.h"
#include "plugin.h"
#include "proto.h"

struct worker {
  uv_loop_t loop;
  const struct config *cfg;
  mc_worker pub;
  struct plugin plugin;
  const char *plugin_path;
  llhttp_settings_t settings;

  struct accept_listener listeners[LISTEN_MAX];
  unsigned nlisteners;
  uv_timer_t accept_retry; /* after EMFILE or at --max-connections */
  uv_prepare_t yield;      /* worker_on_prepare() */
  uint64_t yield_served;   /* `served` when it last yielded */
  int accepting;
  int yielded; /* gave a connection up for fairness (accept.c) */
  uint64_t yielded_at;
  struct board *board; /* NULL: no balancing (fd 5 missing) */
  unsigned slot;

  uv_pipe_t control;
  uv_signal_t sigterm;
  uv_timer_t kill_timer;

  uint64_t max_connections; /* --max-connections within the fd limit */
  struct conn *active;      /* open conns (and parked ones awaiting a plugin) */
  struct conn *pool;        /* released conns, kept for the next ones */
  struct conn *orphans;     /* abandoned responses a plugin may still touch */
  struct fetch *fetches;    /* mc_fetch()es in flight (fetch.c) */
  unsigned nconns;          /* in `active` */
  unsigned nclosing; /* of those, closed: no socket, only the struct left */
  unsigned npool;
  struct exchange *spares; /* exchanges no request holds (exchange.c) */
  unsigned nspares;
  char *input; /* every conn reads into this, and keeps only the rest */

  int stopping;
  uv_idle_t stream_stop; /* streams begun while stopping (stream.c) */
  int tainted;
  int told_tainted; /* MSG_TAINTED sent (atomic: see worker_tell_tainted()) */
  int tell_failed;  /* ...but its write failed */
  unsigned works;   /* mc_work() calls not yet done (work.c) */
  int exit_code;

  struct bundle_site crash; /* --crash-dir, and what a bundle names */
  struct fault_msg fault;   /* the last fault, sent to the master */
  int replay;               /* mchost replay: no master, no socket */
  char *dev_error;          /* --dev: the failed build or load (devpage.c) */
  struct conn *dev_crash;   /* --dev: a crash's 500, waiting for its names */

  struct access_log access;
  struct messages msgs;    /* mc_subscribe(), mc_publish() (message.c) */
  struct mc_timer *timers; /* mc_timer_start() (timer.c) */
  uint64_t served;         /* requests dispatched */
  uint64_t max_requests;   /* --max-requests plus this worker's jitter */

  time_t date_sec;
  char date[40]; /* "Date: Fri, 27 Nov 2026 17:45:18 GMT\r\n" */
};

/* Runs a worker until it stops; returns the process exit code. */
int worker_main(const struct config *cfg, unsigned id, unsigned generation,
                unsigned slot, unsigned listeners, const char *plugin_path);

/* The Date header line for now, cached per second: "Date: " UTC_HTTP_LEN
 * characters "\r\n", always WORKER_DATE_LEN bytes. */
#define WORKER_DATE_LEN (6 + 29 + 2)
const char *worker_date(struct worker *w);

/* A conn for a new connection: from the pool, else a new one with its
 * buffers; linked into the worker's open conns. NULL when out of memory. */
struct conn *worker_conn_get(struct worker *w);

/* conn.c gives a conn back once it is closed and no plugin holds it. */
void worker_conn_release(struct worker *w, struct conn *c);

/* Connections that hold a socket, which --max-connections and the balance
 * between workers count: a closed one whose struct waits for its close
 * callbacks (or for a plugin's response) holds none. A connection answered
 * at accept (conn.c) is closed before the next one is accepted. */
static inline unsigned worker_open_conns(const struct worker *w) {
  return w->nconns - w->nclosing;
}

/* The worker must retire: a plugin fault, or a handler timeout. Stops
 * accepting at once, tells the master, drains, exits. */
void worker_taint(struct worker *w, const char *why, enum taint how);

/* Calls fn(arg), plugin code that serves no request (a message or a timer
 * callback), under the guard with --request-timeout. After a fault or a
 * hang it reports it, with the context that the printf() format `context`
 * gives (formatted then only), and retires the worker. Returns the
 * guard's result: 0, or non-zero after such a fault. */
int worker_guard_detached(struct worker *w, void (*fn)(void *arg), void *arg,
                          const char *context, ...)
    __attribute__((format(printf, 4, 5)));

/* Tells the master, once, that this worker must be replaced. From any
 * thread (a pool thread after a fault in mc_work()); allocates nothing. */
void worker_tell_tainted(struct worker *w, enum taint how);

/* A stopping worker whose conns and mc_work() calls are all done ends its
 * loop (work.c calls it when a work is done). */
void worker_check_idle(struct worker *w);

/* --max-requests reached: a replacement starts, this one drains. */
void worker_retire(struct worker *w);

/* Frees the timers the plugin did not stop, once the loop has closed
 * their handles (worker_cleanup(); timer.c). */
void timers_free(struct worker *w);

/* The worker of this process (set before mc_init()), for the SDK functions
 * that take no argument to find it by. */
struct worker *worker_current(void);

/* Calls fn(arg), plugin code, under the guard with --request-timeout.
 * After a fault or a timeout (the guard's result, non-zero) the master has
 * been told already; the caller logs it, ends what the call was serving and
 * calls worker_taint(). */
int worker_guard(struct worker *w, void (*fn)(void *arg), void *arg);

/* Loads the plugin and runs its mc_init under the guard. Returns 0, or -1
 * after logging why not. */
int worker_load_plugin(struct worker *w);

/* After a guarded call faulted or timed out (the master told already): the
 * record (fault.c) of the guard's `report` (guard_last() of the thread that
 * faulted, or a copy of it), its bundle with the request bytes `raw` (NULL:
 * none) when --crash-dir is on, and the record to the master, which names
 * the frames and logs it. Allocates nothing. */
void worker_report_fault(struct worker *w, int rc,
                         const struct guard_report *report, const char *context,
                         const struct buf *raw);

/* worker_report_fault() for the conn's request: the context names where
 * (`in`: NULL for the guarded call itself, or "mc_work()"), its method,
 * target, client and request ID; the bundle holds its bytes. `report` may
 * be NULL for FAULT_DEADLINE. */
void worker_report_request_fault(struct worker *w, struct conn *c, int rc,
                                 const struct guard_report *report,
                                 const char *in);

/* Plugin code for the conn's request faulted or timed out (rc, as
 * `report` says; the master told already), in `in` (NULL: the guarded
 * call itself, or "mc_work()"): the report, then a 500 or 503 (the end of
 * the connection once the response has begun), and the worker retires. */
void worker_request_fault(struct worker *w, struct conn *c, int rc,
                          const struct guard_report *report, const char *in);

/* Calls the plugin under the guard for the conn's request: mc_run() when cb
 * is NULL, else cb(&c->res, data) (mc_response_later(), a drain or a
 * mc_work() callback). A fault answers 500 and retires the worker. */
void worker_call_plugin(struct worker *w, struct conn *c,
                        void (*cb)(mc_response *res, void *data), void *data);

/* Calls fn(arg), plugin code for the conn's request, under the guard. On a
 * fault or a hang its client gets a 500 or 503 (or, once the response has
 * begun, the end of the connection) and the worker retires. Returns 0, or
 * guard_call()'s result. */
int worker_guard_call(struct worker *w, struct conn *c, void (*fn)(void *),
                      void *arg);

#endif
