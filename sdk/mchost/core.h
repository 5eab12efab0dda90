/* mchost/core.h - a part of <mchost.h>: never include it on its own.
 *
 * The basics: the version and ABI, the MC_PLUGIN*() markers, mc_worker and
 * the opaque request and response, the plugin's entry points (mc_init(),
 * mc_run(), mc_shutdown()), its settings (mc_config()) and mc_log(). */
#ifndef MCHOST_H
#error "mchost/core.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_CORE_H)
#define MCHOST_SDK_CORE_H

#define MC_VERSION "0.1.0"

/* Bumped on every incompatible change of <mchost.h> (any of its parts).
 * mchost refuses a plugin built against another ABI and prints both
 * numbers. */
#define MC_ABI_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define MC_EXTERN __attribute__((visibility("default")))
#define MC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MC_EXTERN
#define MC_PRINTF(fmt, args)
#endif

/* Exports the ABI version this plugin was compiled against. Put it once, at
 * file scope, in one source file of the plugin. */
#define MC_PLUGIN()                                                            \
  MC_EXTERN extern const uint32_t mc_plugin_abi;                               \
  const uint32_t mc_plugin_abi = MC_ABI_VERSION

/* Opt-in: CONNECT requests reach mc_run() only in a plugin that puts this
 * once at file scope. Without it mchost answers CONNECT with 501 and closes
 * the connection. mchost opens no tunnels: even then, a CONNECT request may
 * only be answered with a status of 300 or more (mc_response_send() and
 * mc_response_begin() refuse a 2xx with -EINVAL), and its connection ends
 * after the response. */
#define MC_PLUGIN_ACCEPTS_CONNECT()                                            \
  MC_EXTERN extern const uint32_t mc_plugin_accepts_connect;                   \
  const uint32_t mc_plugin_accepts_connect = 1

/* Opt-in: the plugin reads request bodies itself. In a plugin that puts
 * this once at file scope, mc_run() is called as soon as a request's head
 * is complete, before any byte of its body is read and before
 * `Expect: 100-continue` is answered, as a Node, Kore or NGINX Unit handler
 * is. mc_run() then decides, for a request with a body:
 *   - mc_request_read_body(): the body comes piece by piece, as it arrives;
 *   - mc_request_buffer_body(): the body is buffered whole, with the limit
 *     the plugin gives, and a callback says when it is there;
 *   - answer at once (401, 413, ...): the body is refused; nothing of it
 *     reaches the plugin, and the connection closes after the response;
 *   - mc_response_defer() (or mc_response_later()), and one of the above
 *     later, from a callback on the loop (an authorisation that waits on a
 *     database): meanwhile nothing is read and no 100 Continue is sent.
 * A request without a body reaches mc_run() when it is whole, as in any
 * plugin; mc_request_read_body() and mc_request_buffer_body() then end at
 * once. Without this marker every body is buffered before mc_run(), bounded
 * by --max-body (mc_request_body()). See docs/uploads.md. */
#define MC_PLUGIN_READS_BODY()                                                 \
  MC_EXTERN extern const uint32_t mc_plugin_reads_body;                        \
  const uint32_t mc_plugin_reads_body = 1

struct uv_loop_s;

/* Facts about the worker process that runs the plugin: the C counterpart of
 * master-cluster's `cluster` object. Owned by mchost, valid (and constant)
 * for the whole life of the worker. */
typedef struct mc_worker {
  unsigned id;            /* 1..workers; a replacement reuses the id */
  unsigned generation;    /* 1 at start, +1 on every reload */
  int pid;                /* this worker's process id */
  unsigned workers;       /* how many workers the master runs */
  struct uv_loop_s *loop; /* the worker's libuv loop, for deferred work;
                             callbacks registered on it directly are not
                             under the crash guard (mc_response_later's are) */
} mc_worker;

/* One HTTP request. Owned by mchost; valid from mc_run() until its response
 * is finished (mc_response_send() or mc_response_end()), even when the
 * response is deferred. Every string is NUL-terminated. */
typedef struct mc_request mc_request;

/* The response to one request. Owned by mchost; valid until it is finished.
 * The host adds Date, Server, Content-Length or chunked framing, and
 * Connection; a plugin may not set those four itself. */
typedef struct mc_response mc_response;

/* ---- plugin entry points (defined by the plugin, looked up by mchost) ---- */

/* Optional. Called once per worker after loading, before any request, and
 * bounded by --request-timeout like a handler.
 * Return 0 to start serving; non-zero refuses to start (the worker exits, the
 * code is printed, and the master does not respawn it in a storm). */
MC_EXTERN int mc_init(const mc_worker *w);

/* Required. Called once per request: a request reaches the plugin exactly
 * once. A request that asks for a protocol upgrade (Upgrade: websocket)
 * arrives here like any other: mc_websocket_accept() takes it, and
 * answering it as a plain request declines the upgrade, and the connection
 * goes on with HTTP/1.1. Answer with mc_response_send(), or start a stream with
 * mc_response_begin(), or keep the response open with mc_response_defer() /
 * mc_response_later() and finish it later. Returning without any of these
 * answers 500 and logs the mistake. A crash in here costs this request a 500,
 * never the worker's other clients. */
MC_EXTERN void mc_run(mc_request *req, mc_response *res);

/* Optional. Called once when the worker stops gracefully, after its last
 * response has been written. */
MC_EXTERN void mc_shutdown(void);

/* ---- worker ---- */

/* The worker this code runs in. Never NULL inside a plugin callback. */
MC_EXTERN const mc_worker *mc_worker_self(void);

/* ---- configuration: the plugin's own settings (docs/configuration.md) ----
 *
 * A plugin's settings come from `--set KEY=VALUE` (repeatable) and from
 * the [plugin] section of the `--config FILE`; --set wins for the same
 * key. mchost only stores them: what a value means, and whether it is
 * required, is the plugin's to decide: a plugin that cannot run without
 * one says so with mc_log() and refuses in mc_init().
 *
 * The settings are read before the worker loads the plugin and never change
 * in a running worker: a reload (SIGHUP, or a --dev rebuild) starts new
 * workers with the file's [plugin] section read again. So unlike the rest
 * of <mchost.h>, these functions may be called from any thread (libuv's
 * pool, threads the plugin starts), and at any time: they are filled in
 * before the plugin is loaded. */

/* Limits: a key is 1 to MC_CONFIG_KEY_MAX bytes of ASCII letters, digits,
 * '_', '-' and '.' (case-sensitive: "db" and "DB" are two keys); a value is
 * at most MC_CONFIG_VALUE_MAX bytes, without NUL (a value from the file is
 * also without a line break); at most MC_CONFIG_MAX keys in all. mchost
 * refuses to start with more (a usage error naming the key or the line). */
#define MC_CONFIG_KEY_MAX 64
#define MC_CONFIG_VALUE_MAX 4096
#define MC_CONFIG_MAX 256

/* The value of the setting `key`, or NULL when it is not set (or `key` is
 * NULL). A setting given empty (`--set key=`) is "", not NULL. The string
 * is owned by mchost and stays valid and unchanged for the life of the
 * worker: keep the pointer, do not free or modify it. */
MC_EXTERN const char *mc_config(const char *key);

/* The setting `key` as a decimal integer ("-12", "+7", "4096"; no spaces,
 * no suffix) in *out. Returns 0; -ENOENT: not set; -EINVAL: set but not an
 * integer; -ERANGE: outside int64_t. *out is left alone on error, so a
 * default goes in first:
 *     int64_t pool = 4;
 *     if (mc_config_int("pool", &pool) == -EINVAL) return 1;  (mc_init) */
MC_EXTERN int mc_config_int(const char *key, int64_t *out);

/* ---- logging ---- */

enum mc_log_level {
  MC_LOG_ERROR = 0,
  MC_LOG_WARN = 1,
  MC_LOG_INFO = 2,
  MC_LOG_DEBUG = 3
};

/* Writes one line to mchost's log, with timestamp, level, worker id and pid,
 * if `level` is enabled by --log-level. The message is cut at 2 KiB. */
MC_EXTERN void mc_log(enum mc_log_level level, const char *fmt, ...)
    MC_PRINTF(2, 3);

#endif /* MCHOST_SDK_CORE_H */
