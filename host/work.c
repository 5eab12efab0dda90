/*
 * work.c - mc_work(): a plugin's blocking call (SQLite, file I/O, DNS) on
 * libuv's thread pool, its response finished on the loop after.
 *
 * work(data) runs on a pool thread under that thread's own crash guard
 * (guard_thread_init(): its alternate stack and jump buffer). A fault
 * there jumps back into the pool thread's guard_call(), never into the
 * loop's. Before the thread goes on, its report is copied out (a struct
 * copy into memory allocated when the work was queued: nothing allocates
 * after a fault, whose malloc lock may be held) and the master is told at
 * once. The loop then reports it as any other plugin fault (log line,
 * frames named by the master, bundle with the request), answers 500 and
 * retires the worker. done(res, data) runs on the loop under the guard,
 * like any plugin callback. Meanwhile the response is RES_WORK: deferred,
 * bounded by its deadline (deadline.c): a work() that hangs costs its
 * client a 503 and the worker retires, and done() still runs when work()
 * returns, so that the plugin can free its data. mc_fetch() callbacks of
 * the response wait meanwhile: fetch_work_done() calls them after done().
 */
#include <errno.h>
#include <stdlib.h>

#include "conn.h"
#include "fetch.h"
#include "guard.h"
#include "worker.h"

struct work {
  uv_work_t req;
  struct conn *c;
  void (*work)(void *data);
  void (*done)(mc_response *res, void *data);
  void *data;
  int rc;                     /* guard_call() on the pool thread */
  struct guard_report report; /* its fault, copied out there */
};

static void work_thunk(void *arg) {
  struct work *wk = arg;
  wk->work(wk->data);
}

/* On a pool thread. */
static void work_on_pool(uv_work_t *req) {
  struct work *wk = req->data;

  /* Without its own alternate stack, only a stack overflow is lost. */
  (void)guard_thread_init();
  wk->rc = guard_call(work_thunk, wk, 0);
  if (wk->rc != 0) {
    wk->report = *guard_last();
    worker_tell_tainted(wk->c->w, TAINT_FAULT);
  }
}

/* On the loop thread, once work() returned or faulted. */
static void work_after(uv_work_t *req, int status) {
  struct work *wk = req->data;
  struct conn *c = wk->c;
  struct worker *w = c->w;
  void (*done)(mc_response *, void *) = wk->done;
  void *data = wk->data;

  (void)status; /* never cancelled */
  c->work_pending = 0;
  w->works--;
  if (wk->rc != 0) {
    /* wk is not freed: the fault may have left the heap locked. done()
     * is not called: the plugin's data may be half-written. */
    worker_request_fault(w, c, wk->rc, &wk->report, "mc_work()");
  } else {
    free(wk);
    if (c->res->state == RES_WORK)
      c->res->state = RES_DEFERRED;
    worker_call_plugin(w, c, done, data);
  }
  fetch_work_done(w, c);
  worker_check_idle(w);
}

MC_EXTERN int mc_work(mc_response *res, void (*work)(void *data),
                      void (*done)(mc_response *res, void *data), void *data) {
  struct conn *c = res->c;
  struct work *wk;
  int err;

  if (work == NULL || done == NULL)
    return -EINVAL;
  if (res->state != RES_HANDLER && res->state != RES_DEFERRED &&
      res->state != RES_STREAMING)
    return -EALREADY;
  if (c->work_pending)
    return -EBUSY;
  if ((wk = calloc(1, sizeof *wk)) == NULL)
    return -ENOMEM;
  wk->req.data = wk;
  wk->c = c;
  wk->work = work;
  wk->done = done;
  wk->data = data;
  if ((err = uv_queue_work(&c->w->loop, &wk->req, work_on_pool, work_after)) !=
      0) {
    free(wk);
    return err;
  }
  c->work_pending = 1;
  c->w->works++;
  if (res->state != RES_STREAMING) {
    res->state = RES_WORK;
    conn_watch_deferred(c);
  }
  return 0;
}
