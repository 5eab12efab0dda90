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
 * The functions declared below are provided by the mchost executable: a
 * plugin does not link against any library.
 *
 * Threading: everything runs on the worker's single libuv loop thread. None
 * of these functions may be called from another thread.
 *
 * Errors: functions returning int return 0 on success or a negative errno
 * value (-EINVAL, -EALREADY, ...); each function lists its own.
 */
#ifndef MCHOST_H
#define MCHOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MC_VERSION "0.1.0"

/* Bumped on every incompatible change of this header. mchost refuses a
 * plugin built against another ABI and prints both numbers. */
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
 * arrives here like any other; answering it as a plain request declines the
 * upgrade, and the connection goes on with HTTP/1.1. Answer with
 * mc_response_send(), or
 * start a stream with mc_response_begin(), or keep the response open with
 * mc_response_defer() / mc_response_later() and finish it later. Returning
 * without any of these answers 500 and logs the mistake. A crash in here
 * costs this request a 500, never the worker's other clients. */
MC_EXTERN void mc_run(mc_request *req, mc_response *res);

/* Optional. Called once when the worker stops gracefully, after its last
 * response has been written. */
MC_EXTERN void mc_shutdown(void);

/* ---- worker ---- */

/* The worker this code runs in. Never NULL inside a plugin callback. */
MC_EXTERN const mc_worker *mc_worker_self(void);

/* ---- logging ---- */

enum mc_log_level {
  MC_LOG_ERROR = 0,
  MC_LOG_WARN = 1,
  MC_LOG_INFO = 2,
  MC_LOG_DEBUG = 3
};

/* Writes one line to mchost's log, with timestamp, level, worker id and pid,
 * if `level` is enabled by --log-level. The message is cut at 2 KiB. */
MC_EXTERN void mc_log(int level, const char *fmt, ...) MC_PRINTF(2, 3);

/* ---- request ---- */

/* "GET", "POST", ... as sent by the client. */
MC_EXTERN const char *mc_request_method(const mc_request *req);

/* The request target as sent: "/a/b?x=1". */
MC_EXTERN const char *mc_request_target(const mc_request *req);

/* The path part of the target, not percent-decoded: "/a/b". */
MC_EXTERN const char *mc_request_path(const mc_request *req);

/* The query after '?', without it: "x=1"; "" when there is none. */
MC_EXTERN const char *mc_request_query(const mc_request *req);

/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
MC_EXTERN int mc_request_version(const mc_request *req);

/* The value of the first header called `name` (case-insensitive), with
 * surrounding whitespace removed, or NULL when there is none. */
MC_EXTERN const char *mc_request_header(const mc_request *req,
                                        const char *name);

/* Number of header fields, in the order received. */
MC_EXTERN size_t mc_request_header_count(const mc_request *req);

/* The i-th header field (0-based). Returns 0, or -ERANGE when i is past the
 * last one (then *name and *value are left alone). */
MC_EXTERN int mc_request_header_at(const mc_request *req, size_t i,
                                   const char **name, const char **value);

/* The request body, decoded from chunked transfer coding, and its length in
 * *len (which may be NULL). Never NULL: an empty body is "" with length 0.
 * Bounded by --max-body: larger requests get 413 and never reach mc_run. */
MC_EXTERN const void *mc_request_body(const mc_request *req, size_t *len);

/* The client's address ("127.0.0.1", "::1") and port. That is the peer of
 * the connection, unless mchost was told to believe a proxy in front of it
 * (docs/deploying-behind-a-proxy.md): then the address a PROXY protocol
 * header (--proxy-protocol) or a trusted proxy's X-Forwarded-For,
 * Forwarded or X-Real-IP header (--trusted-proxies) names. The port is 0
 * when that header gave none. "" and 0 for a peer on a Unix socket. The
 * string lives as long as the request. */
MC_EXTERN const char *mc_request_remote_addr(const mc_request *req);
MC_EXTERN int mc_request_remote_port(const mc_request *req);

/* "http", or "https" when a trusted proxy says that the client spoke TLS
 * to it (X-Forwarded-Proto, Forwarded proto=, or the SSL TLV of a PROXY v2
 * header). A static string. */
MC_EXTERN const char *mc_request_scheme(const mc_request *req);

/* The request's ID, as the access log and the crash and timeout log lines
 * show it: the X-Request-Id of a trusted proxy (--trusted-proxies; 1 to
 * 200 token characters or "/=:@", else ignored), or else 32 hex digits
 * made by the worker, unique per worker and time. Never NULL; lives as
 * long as the request. The response does not carry it unless the plugin
 * adds it: mc_response_header(res, "X-Request-Id", mc_request_id(req)). */
MC_EXTERN const char *mc_request_id(const mc_request *req);

/* 1 when the connection stays open after this response, 0 when it closes. */
MC_EXTERN int mc_request_keep_alive(const mc_request *req);

/* ---- response ---- */

/* Adds a header to the response. Both strings are copied. Must come before
 * mc_response_send() or mc_response_begin().
 * -EINVAL: empty or non-token name, CR/LF/NUL in the value, or a header the
 *          host sets itself (Content-Length, Transfer-Encoding, Connection,
 *          Date, Server);
 * -ENOSPC: the response headers exceed 4 KiB;
 * -EALREADY: the head was already sent. */
MC_EXTERN int mc_response_header(mc_response *res, const char *name,
                                 const char *value);

/* Sends the whole response: status (200..599; see also
 * MC_PLUGIN_ACCEPTS_CONNECT()), headers, and `len`
 * bytes of `body` (copied or written before returning; `body` may be NULL
 * when len is 0). Finishes the response. For HEAD requests the body is
 * counted in Content-Length but not sent.
 * -EINVAL: bad status; -EALREADY: already sent or streaming;
 * -EPIPE: the client is gone (the response is finished all the same). */
MC_EXTERN int mc_response_send(mc_response *res, int status, const void *body,
                               size_t len);

/* Starts a streamed response: sends the head with chunked framing (or, to an
 * HTTP/1.0 client, without framing and closing the connection at the end).
 * Follow with mc_response_write() any number of times, then mc_response_end().
 * -EINVAL: bad status; -EALREADY: already started or sent. */
MC_EXTERN int mc_response_begin(mc_response *res, int status);

/* Sends one piece of a streamed response (copied before returning; len 0 is
 * a no-op). -EALREADY: not streaming; -EPIPE: the client is gone (keep going
 * or stop, but still call mc_response_end()). */
MC_EXTERN int mc_response_write(mc_response *res, const void *data, size_t len);

/* Finishes a streamed response. -EALREADY: not streaming. */
MC_EXTERN int mc_response_end(mc_response *res);

/* Keeps the response open after mc_run() returns: the plugin finishes it
 * later, from a callback on the worker's loop (mc_worker.loop). Requests
 * pipelined behind it on the same connection wait for it. If the client
 * leaves meanwhile, the response stays valid until finished, and
 * mc_response_aborted() says so. --request-timeout still applies. */
MC_EXTERN void mc_response_defer(mc_response *res);

/* Defers the response and calls cb(res, data) on the worker's loop after
 * `ms` milliseconds, under the same crash guard as mc_run(). The callback
 * must finish the response or call mc_response_later() again.
 * -EALREADY: the response is already finished. */
MC_EXTERN int mc_response_later(mc_response *res, unsigned ms,
                                void (*cb)(mc_response *res, void *data),
                                void *data);

/* 1 if the client closed its connection before the response was finished
 * (what is still written is discarded), else 0. */
MC_EXTERN int mc_response_aborted(const mc_response *res);

/* The request this response answers. */
MC_EXTERN mc_request *mc_response_request(mc_response *res);

#ifdef __cplusplus
}
#endif

#endif /* MCHOST_H */
