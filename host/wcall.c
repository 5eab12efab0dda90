/*
 * wcall.c - a worker calls its plugin: every call under the crash guard
 * (guard.c), and what a fault or a hang there costs. A request's own call
 * costs it a 500 (503 for a hang) or the end of its stream; a call that
 * serves no request (a message or a timer callback) costs nothing but the
 * report. Either way the fault is reported (the record with its frames to
 * the master, a crash bundle with --crash-dir) and the worker retires.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "bundle.h"
#include "client.h"
#include "devpage.h"
#include "fault.h"
#include "guard.h"
#include "log.h"
#include "request.h"
#include "worker.h"

/* ---- reporting a fault ---- */

/* A replay prints the report itself. Allocates nothing, like
 * fault_collect(). */
void worker_report_fault(struct worker *w, int rc,
                         const struct guard_report *report, const char *context,
                         const struct buf *raw) {
  struct fault_msg *f = &w->fault;
  struct msg m = {MSG_FAULT, w->pub.id, sizeof *f};
  struct iovec iov[2] = {{&m, sizeof m}, {f, sizeof *f}};
  int err;

  fault_collect(f, report, rc, w->plugin_path, w->pub.generation, context);
  snprintf(f->build_id, sizeof f->build_id, "%s", w->crash.build_id);
  if (w->crash.dir != NULL &&
      (err = bundle_write(&w->crash, f, raw ? raw->data : NULL,
                          raw ? raw->len : 0)) != 0)
    log_error("cannot write a crash bundle in '%s': %s", w->crash.dir,
              strerror(-err));
  if (w->replay) {
    fault_log(NULL, f, w->plugin_path, w->cfg->plugin, w->crash.dir);
    return;
  }
  /* by fd: in mc_init() the pipe is not libuv's yet */
  if (writev(WORKER_CONTROL_FD, iov, 2) != (ssize_t)(sizeof m + sizeof *f))
    log_error("could not send the fault report to the master");
}

void worker_report_request_fault(struct worker *w, struct conn *c, int rc,
                                 const struct guard_report *report,
                                 const char *in) {
  char context[512]; /* in, method, 200 B of target, address, ID */
  snprintf(context, sizeof context, "%s%s'%s %.200s' from %s (request %s)",
           in ? in : "", in ? " of " : "",
           c->req->method ? c->req->method : "?",
           c->req->target ? c->req->target : "?", c->req->remote_addr,
           client_request_id(c));
  worker_report_fault(w, rc, report, context, &c->x->raw);
}

/* ---- calling the plugin ---- */

static void run_thunk(void *arg) {
  struct conn *c = arg;
  c->w->plugin.run(c->req, c->res);
}

struct plugin_call {
  struct conn *c;
  void (*cb)(mc_response *res, void *data);
  void *data;
};

static void callback_thunk(void *arg) {
  struct plugin_call *pc = arg;
  pc->cb(pc->c->res, pc->data);
}

int worker_guard(struct worker *w, void (*fn)(void *arg), void *arg) {
  int rc = guard_call(fn, arg, w->cfg->request_timeout_ms);
  /* The master first, before anything that may allocate: a fault inside
   * malloc can leave the heap locked, and then this worker hangs at its
   * next allocation. Told, the master replaces it now and kills it at
   * --kill-timeout whatever happens next. */
  if (rc != 0)
    worker_tell_tainted(w, rc == GUARD_TIMEOUT ? TAINT_TIMEOUT : TAINT_FAULT);
  return rc;
}

int worker_guard_detached(struct worker *w, void (*fn)(void *arg), void *arg,
                          const char *context, ...) {
  int rc = worker_guard(w, fn, arg);
  if (rc != 0) {
    char what[512];
    va_list ap;
    va_start(ap, context);
    vsnprintf(what, sizeof what, context, ap);
    va_end(ap);
    worker_report_fault(w, rc, guard_last(), what, NULL);
    worker_taint(w,
                 rc == GUARD_TIMEOUT ? "a callback exceeded --request-timeout"
                                     : "the plugin crashed",
                 rc == GUARD_TIMEOUT ? TAINT_TIMEOUT : TAINT_FAULT);
  }
  return rc;
}

void worker_request_fault(struct worker *w, struct conn *c, int rc,
                          const struct guard_report *report, const char *in) {
  worker_report_request_fault(w, c, rc, report, in);
  uv_timer_stop(&c->x->later);
  if (c->work_pending) /* its done() comes one day: never reuse the conn */
    c->orphaned = 1;
  if (c->res->state == RES_STREAMING)
    conn_abort_stream(c);
  int answer = c->res->state == RES_HANDLER || c->res->state == RES_DEFERRED ||
               c->res->state == RES_WORK;
  if (answer && w->cfg->dev && rc != GUARD_TIMEOUT)
    devpage_crash(w, c, &w->fault);
  else if (answer)
    response_send_error(c, rc == GUARD_TIMEOUT
                               ? MC_STATUS_SERVICE_UNAVAILABLE
                               : MC_STATUS_INTERNAL_SERVER_ERROR);
  if (c->work_pending) {
    c->res->state = RES_ABANDONED;
    c->res->aborted = 1;
  }
  if (rc == GUARD_TIMEOUT)
    worker_taint(w, "a handler exceeded --request-timeout", TAINT_TIMEOUT);
  else
    worker_taint(w, "the plugin crashed", TAINT_FAULT);
}

int worker_guard_call(struct worker *w, struct conn *c, void (*fn)(void *),
                      void *arg) {
  int rc = worker_guard(w, fn, arg);
  if (rc != 0)
    worker_request_fault(w, c, rc, guard_last(), NULL);
  return rc;
}

void worker_call_plugin(struct worker *w, struct conn *c,
                        void (*cb)(mc_response *res, void *data), void *data) {
  mc_response *res = c->res;
  struct plugin_call pc = {c, cb, data};
  /* A closed conn is released (and freed, in a stopping worker) as soon as
   * the callback ends its response: nothing of it is touched after. */
  int closing = c->closing;

  if (w->dev_error != NULL && cb == NULL && devpage_answer(w, c))
    return;
  if (worker_guard_call(w, c, cb != NULL ? callback_thunk : run_thunk,
                        cb != NULL ? (void *)&pc : (void *)c) != 0 ||
      closing)
    return;
  conn_watch_deferred(c);
  if (cb == NULL && res->state == RES_HANDLER) {
    log_error("%s %s: mc_run() returned without answering; call "
              "mc_response_send(), mc_response_begin(), mc_response_defer() "
              "or mc_response_later()",
              c->req->method, c->req->target);
    response_send_error(c, MC_STATUS_INTERNAL_SERVER_ERROR);
  }
}
