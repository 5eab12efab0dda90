/* mchost/work.h - a part of <mchost.h>: never include it on its own.
 *
 * Blocking work on libuv's thread pool: mc_work(). */
#ifndef MCHOST_H
#error "mchost/work.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_WORK_H)
#define MCHOST_SDK_WORK_H

/* ---- blocking work ---- */

/* Runs work(data) on libuv's thread pool (uv_queue_work() on the worker's
 * loop: UV_THREADPOOL_SIZE threads, 4 by default, shared by the worker's
 * requests), then done(res, data) on the worker's loop: the way to make a
 * blocking call (SQLite, file I/O, getaddrinfo()) without stopping every
 * other request of the worker. May be called from mc_run() or any later
 * callback of the response (a done() may start the next mc_work()).
 * - work() runs on another thread: it calls no mc_* function and does not
 *   touch the request or the response (copy what it needs into `data`
 *   first); it works on `data`, which the plugin owns. It runs under its
 *   thread's own crash guard: a fault there costs this request a 500 (or
 *   the end of its stream) with the usual report (log, crash bundle), the
 *   worker retires, and done() is not called. --request-timeout does not
 *   interrupt it.
 * - done() runs on the loop under the guard, as mc_run() does: it answers
 *   the response (or starts another mc_work()) and frees `data`. It is
 *   called even when the client left meanwhile (mc_response_aborted() is
 *   1) or the response's deadline passed (then every call on it fails), so
 *   that the plugin can always free `data`.
 * - Meanwhile a response not yet begun is deferred and cannot be answered
 *   (mc_response_send() returns -EALREADY) until done(). It must start
 *   within its deadline (mc_response_timeout(), default --request-timeout):
 *   a work() that hangs costs its client a 503 and the worker retires (it
 *   exits once work() returns, or at --kill-timeout). A streamed response
 *   goes on being written meanwhile, but mc_response_end() waits for
 *   done() (-EBUSY).
 * - mc_fetch() callbacks of a response that waits for its work() wait
 *   too: one whose fetch ends meanwhile is called right after done()
 *   returns (see mc_fetch_cb), never while work() runs. Of a streamed
 *   response, they come when their fetch ends.
 * One mc_work() at a time per response; a worker that stops waits for
 * every done() (up to --kill-timeout) before mc_shutdown().
 * -EINVAL: work or done is NULL; -EALREADY: the response is finished;
 * -EBUSY: a mc_work() of this response is still running; -ENOMEM; or a
 * libuv error from uv_queue_work() (negative errno). On an error neither
 * function is called: the plugin still owns `data` and answers itself. */
MC_EXTERN int mc_work(mc_response *res, void (*work)(void *data),
                      void (*done)(mc_response *res, void *data), void *data);

#endif /* MCHOST_SDK_WORK_H */
