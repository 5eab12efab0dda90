/*
 * mchost.h - the one header a plugin needs.
 *
 * A plugin is a shared object that mchost's workers load with dlopen():
 *
 *     #include <mchost.h>
 *     MC_PLUGIN();                                     (required: ABI version)
 *     int  mc_init(const mc_worker *w);                (optional: 0 = ready)
 *     void mc_run(mc_request *req, mc_response *res);  (required)
 *     void mc_shutdown(void);                          (optional)
 *
 * Build it with `mchost_add_plugin(NAME SOURCES...)` from the CMake package,
 * or `cc $(pkg-config --cflags mchost) -shared -fPIC -o app.so app.c`.
 * The functions declared in the parts below are provided by the mchost
 * executable: a plugin does not link against any library.
 *
 * libuv: a plugin that uses the worker's loop itself (mc_worker.loop:
 * timers, uv_fs_*, sockets) includes <uv.h>, which the same flags find
 * (the pkg-config file requires libuv for its Cflags; CMake: link the
 * header-only target mchost::uv). It must never link libuv (-luv): the
 * mchost executable carries its own copy, linked in, and exports every
 * uv_* function, and a second copy in the plugin would not know the
 * worker's loop. libuv 1.x keeps its ABI; use headers no newer than the
 * libuv that `mchost --version` names (a function newer than that fails
 * to resolve when the plugin is loaded, and the error names it).
 *
 * Threading: everything runs on the worker's single libuv loop thread. None
 * of these functions may be called from another thread (the work function
 * of mc_work() runs on a pool thread: it calls none of them).
 *
 * Errors: functions returning int return 0 on success or a negative errno
 * value (-EINVAL, -EALREADY, ...); each function lists its own.
 *
 * The declarations live in parts, one area each, in the directory mchost/
 * beside this file. This header includes them all, in the order below,
 * each with a line on what it holds; a part included on its own stops the
 * build with an #error.
 */
#ifndef MCHOST_H
#define MCHOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* core.h: MC_VERSION, MC_ABI_VERSION, MC_EXTERN, the MC_PLUGIN*() markers,
 * mc_worker, mc_request and mc_response, the entry points mc_init(),
 * mc_run() and mc_shutdown(), mc_worker_self(), the plugin's settings
 * (mc_config()) and mc_log(). */
#include "mchost/core.h"
/* status.h: MC_STATUS_MAP and enum mc_status (MC_STATUS_OK, ...). */
#include "mchost/status.h"
/* request.h: method, target, path, query, headers, the buffered body, the
 * client's address and port, scheme, request ID, keep-alive. */
#include "mchost/request.h"
/* body.h: bodies the plugin reads itself (MC_PLUGIN_READS_BODY()):
 * mc_request_read_body(), mc_request_buffer_body(), pause and resume. */
#include "mchost/body.h"
/* helpers.h: mc_url_decode(), query and form parameters, cookies,
 * multipart/form-data parts. */
#include "mchost/helpers.h"
/* response.h: headers, mc_response_send(), ranges, mc_response_file(),
 * streams and their backpressure (MC_QUEUE_HIGH), the stop of a stream,
 * deferral (mc_response_defer(), _later()) and deadlines. */
#include "mchost/response.h"
/* work.h: blocking work on libuv's thread pool, mc_work(). */
#include "mchost/work.h"
/* websocket.h: mc_websocket_accept(), its handlers, mc_ws_send(),
 * mc_ws_close() and the per-connection limits. */
#include "mchost/websocket.h"
/* timer.h: timers of the worker, mc_timer_start() and mc_timer_stop(). */
#include "mchost/timer.h"
/* messages.h: messages between workers: mc_subscribe(), mc_publish(). */
#include "mchost/messages.h"
/* fetch.h: outbound HTTP, mc_fetch(). */
#include "mchost/fetch.h"

#ifdef __cplusplus
}
#endif

#endif /* MCHOST_H */
