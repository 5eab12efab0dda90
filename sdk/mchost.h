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
 * of this header, these functions may be called from any thread (libuv's
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

/* ---- status codes ---- */

/*
 * The status codes mchost names, one list: X(code, NAME, reason phrase).
 * It gives enum mc_status (MC_STATUS_OK = 200, ...), and the host takes
 * its status lines' reason phrases from it; a plugin may expand it too,
 * with a macro X of its own. These are names, not a limit: a response
 * may have any status from 200 to 599 (mc_response_send()), and one not
 * listed here gets an empty reason phrase ("HTTP/1.1 299 ").
 */
#define MC_STATUS_MAP(X)                                                       \
  X(100, CONTINUE, "Continue")                                                 \
  X(101, SWITCHING_PROTOCOLS, "Switching Protocols")                           \
  X(200, OK, "OK")                                                             \
  X(201, CREATED, "Created")                                                   \
  X(202, ACCEPTED, "Accepted")                                                 \
  X(204, NO_CONTENT, "No Content")                                             \
  X(206, PARTIAL_CONTENT, "Partial Content")                                   \
  X(301, MOVED_PERMANENTLY, "Moved Permanently")                               \
  X(302, FOUND, "Found")                                                       \
  X(303, SEE_OTHER, "See Other")                                               \
  X(304, NOT_MODIFIED, "Not Modified")                                         \
  X(307, TEMPORARY_REDIRECT, "Temporary Redirect")                             \
  X(308, PERMANENT_REDIRECT, "Permanent Redirect")                             \
  X(400, BAD_REQUEST, "Bad Request")                                           \
  X(401, UNAUTHORIZED, "Unauthorized")                                         \
  X(403, FORBIDDEN, "Forbidden")                                               \
  X(404, NOT_FOUND, "Not Found")                                               \
  X(405, METHOD_NOT_ALLOWED, "Method Not Allowed")                             \
  X(406, NOT_ACCEPTABLE, "Not Acceptable")                                     \
  X(408, REQUEST_TIMEOUT, "Request Timeout")                                   \
  X(409, CONFLICT, "Conflict")                                                 \
  X(410, GONE, "Gone")                                                         \
  X(411, LENGTH_REQUIRED, "Length Required")                                   \
  X(412, PRECONDITION_FAILED, "Precondition Failed")                           \
  X(413, CONTENT_TOO_LARGE, "Content Too Large")                               \
  X(414, URI_TOO_LONG, "URI Too Long")                                         \
  X(415, UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")                     \
  X(416, RANGE_NOT_SATISFIABLE, "Range Not Satisfiable")                       \
  X(417, EXPECTATION_FAILED, "Expectation Failed")                             \
  X(418, IM_A_TEAPOT, "I'm a teapot")                                          \
  X(422, UNPROCESSABLE_CONTENT, "Unprocessable Content")                       \
  X(426, UPGRADE_REQUIRED, "Upgrade Required")                                 \
  X(428, PRECONDITION_REQUIRED, "Precondition Required")                       \
  X(429, TOO_MANY_REQUESTS, "Too Many Requests")                               \
  X(431, REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large")   \
  X(500, INTERNAL_SERVER_ERROR, "Internal Server Error")                       \
  X(501, NOT_IMPLEMENTED, "Not Implemented")                                   \
  X(502, BAD_GATEWAY, "Bad Gateway")                                           \
  X(503, SERVICE_UNAVAILABLE, "Service Unavailable")                           \
  X(504, GATEWAY_TIMEOUT, "Gateway Timeout")                                   \
  X(505, HTTP_VERSION_NOT_SUPPORTED, "HTTP Version Not Supported")

enum mc_status {
#define MC_STATUS_ENUM_(code, name, reason) MC_STATUS_##name = code,
  MC_STATUS_MAP(MC_STATUS_ENUM_)
#undef MC_STATUS_ENUM_
};

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
 * Bounded by --max-body: larger requests get 413 and never reach mc_run.
 * With MC_PLUGIN_READS_BODY(), a body is there only once
 * mc_request_buffer_body() completed; a streamed one is never buffered. */
MC_EXTERN const void *mc_request_body(const mc_request *req, size_t *len);

/* ---- request bodies, streamed or buffered per request ----
 *
 * For a plugin with MC_PLUGIN_READS_BODY() (in other plugins they work too,
 * on the body already buffered). Each callback runs on the loop thread
 * under the same crash guard as mc_run(): a crash costs the request a 500
 * (or its connection, once the response has begun), and the worker
 * retires. The request and response stay valid until the response is
 * finished, as always.
 *
 * Limits: `max_bytes` bounds the decoded body (0: --max-body; UINT64_MAX:
 * none). A Content-Length above it is refused before any byte is read (and
 * without 100 Continue); a chunked body is cut when it passes it. Either
 * way the host answers 413 and logs it with the limit. While a body is
 * read, the client must keep up with --min-rate bytes per second, after
 * --min-rate-grace seconds of slack (408 otherwise); the clock stops while
 * the plugin has paused the body (mc_request_pause()).
 *
 * Memory: a streamed body is never held whole. Each piece points into the
 * connection's 64 KiB input buffer; while the plugin is paused the host
 * stops reading the socket once that buffer is full, and TCP slows the
 * client down. */

/* Receives one piece of the body: `len` > 0 bytes at `data`, owned by the
 * host and valid only until the callback returns (copy what you keep). */
typedef void mc_body_data_fn(mc_request *req, mc_response *res,
                             const void *data, size_t len, void *arg);

/* The body has ended. `error` is 0 when it arrived whole; then answer,
 * here or later (--request-timeout applies from now, as to a deferred
 * response). Otherwise it is cut short, and nothing more of it comes:
 *   -EMSGSIZE    larger than max_bytes (the host answers 413);
 *   -ETIMEDOUT   the client sent slower than --min-rate (408);
 *   -EPROTO      malformed chunked framing (400);
 *   -ECONNRESET  the client went away (mc_response_aborted() is 1).
 * After an error, answer if you want another status or body; if the
 * callback returns without answering, the host answers with the status
 * above. A streamed response that has begun is cut (its connection is
 * closed): still finish it with mc_response_end(). Either way the
 * connection closes after the response. Called exactly once per
 * mc_request_read_body() or mc_request_buffer_body() that returned 0,
 * unless the response is finished first (then no callback comes again)
 * or a callback of this request crashed. */
typedef void mc_body_end_fn(mc_request *req, mc_response *res, int error,
                            void *arg);

/* Reads the body as it arrives: on_data for each piece, then on_end once.
 * Accepts the body: a client that sent `Expect: 100-continue` gets its
 * 100 Continue now. Call it from mc_run() or from a later callback of the
 * same request, once. Defers the response (mc_response_defer()); while the
 * body is read --request-timeout does not apply, the rate does.
 * A response finished before the body ends stops the reading: the rest of
 * the body is dropped and the connection closes after the response.
 * Returns 0, or:
 *   -EINVAL     on_data or on_end is NULL;
 *   -EALREADY   the body is already being read or was read, or the
 *               response is finished;
 *   -EPIPE      the client is gone (mc_response_aborted() is 1): no body
 *               will come; finish the response. */
MC_EXTERN int mc_request_read_body(mc_request *req, uint64_t max_bytes,
                                   mc_body_data_fn *on_data,
                                   mc_body_end_fn *on_end, void *arg);

/* Buffers the body whole, up to max_bytes (it is held in memory: this is
 * the limit of what one request may cost), then calls on_complete, from
 * which mc_request_body() returns it (a body cut short gives "": the error
 * says why). Otherwise as mc_request_read_body(), with the same errors. */
MC_EXTERN int mc_request_buffer_body(mc_request *req, uint64_t max_bytes,
                                     mc_body_end_fn *on_complete, void *arg);

/* Flow control for a body being read (mc_request_read_body()), as Node's
 * req.pause() and req.resume(): after mc_request_pause() no piece comes
 * until mc_request_resume(), which may be called from any later callback
 * on the loop (mc_response_later()). While paused, the host reads until
 * the 64 KiB input buffer is full, then stops reading the socket; the rate
 * clock stops, and --request-timeout bounds the pause (503 after it).
 * Both are no-ops on a request whose body is not being read. */
MC_EXTERN void mc_request_pause(mc_request *req);
MC_EXTERN void mc_request_resume(mc_request *req);

/* The client's address ("127.0.0.1", "::1") and port. That is the peer of
 * the connection, unless mchost was told to believe a proxy in front of it
 * (docs/deploying-behind-a-proxy.md): then the address a PROXY protocol
 * header (--proxy-protocol) or a trusted proxy's X-Forwarded-For,
 * Forwarded or X-Real-IP header (--trusted-proxies) names. The port is 0
 * when that header gave none. "unix:" and 0 for a peer on a Unix socket
 * (--listen unix:PATH) that no PROXY header or trusted proxy names. The
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

/* 1 when the connection stays open after this response, 0 when it closes.
 * With MC_PLUGIN_READS_BODY(), 0 until the body is read whole: a response
 * that leaves part of the body unread ends the connection. */
MC_EXTERN int mc_request_keep_alive(const mc_request *req);

/* ---- request helpers: parameters, cookies, multipart ----
 *
 * Parsed on the first call that needs them (a request that never asks costs
 * nothing), once per request. Every string they return is NUL-terminated
 * (a part's data is not: it has a length) and lives in memory that mchost
 * keeps per request: valid until the response is finished, like the
 * request itself; never free it. They take a non-const request because
 * they fill it in.
 *
 * Limits: a query, a form body or the Cookie headers with more than
 * MC_PARAMS_MAX pairs, or a multipart body with more than MC_PARTS_MAX
 * parts, is refused as a whole (-E2BIG): no pair of it is given, rather
 * than some. Names and values are as long as their source allows: the
 * target and the headers are bounded by --max-header-size, a body by
 * --max-body. Malformed input is refused as a whole too (-EBADMSG); the
 * raw text is still there (mc_request_query(), mc_request_header(),
 * mc_request_body()) for a plugin that wants to be lenient. */

#define MC_PARAMS_MAX 1000
#define MC_PARTS_MAX 256

/* mc_url_decode() flags. MC_URL_PLUS: '+' decodes to a space, as in
 * application/x-www-form-urlencoded (query strings and form bodies), not in
 * paths. MC_URL_NUL: %00 and NUL bytes are allowed; the result may then
 * hold NUL bytes, so use its length, not strlen(). */
#define MC_URL_PLUS 1u
#define MC_URL_NUL 2u

/* Percent-decodes `len` bytes of `src` into `dst`, which needs room for
 * len + 1 bytes (decoding never grows) and may be `src` itself (in place).
 * Adds a NUL; the decoded length goes to *out_len (which may be NULL).
 * The bytes are not checked for UTF-8. May be called from any thread.
 * -EBADMSG: a '%' not followed by two hex digits ("%zz", "%0" at the end),
 *           or, without MC_URL_NUL, %00 or a NUL byte (a C string cannot
 *           carry it: "a%00.png" would read as "a");
 * -EINVAL: unknown flags. dst holds nothing useful after an error. */
MC_EXTERN int mc_url_decode(char *dst, const char *src, size_t len,
                            unsigned flags, size_t *out_len);

/* The query string's parameters (application/x-www-form-urlencoded:
 * "a=1&b=x+y&c", split on '&', empty pieces skipped, '+' is a space, a
 * piece without '=' has the value ""). Names and values are decoded with
 * MC_URL_PLUS; names compare byte for byte (case matters).
 *
 * mc_request_query_count(): how many pairs, repeated names included, or a
 * negative errno when the query is refused (then there are none):
 * -EBADMSG: a bad escape, or %00 (the text cannot be a C string);
 * -E2BIG: more than MC_PARAMS_MAX pairs; -ENOMEM: out of memory. */
MC_EXTERN int mc_request_query_count(mc_request *req);

/* The value of the first parameter called `name`, or NULL when there is
 * none (or the query is refused: see mc_request_query_count()). */
MC_EXTERN const char *mc_request_query_get(mc_request *req, const char *name);

/* The i-th pair (0-based), in the order sent. Returns 0, -ERANGE past the
 * last, or the error of mc_request_query_count(); *name and *value are
 * left alone on error. */
MC_EXTERN int mc_request_query_at(mc_request *req, size_t i, const char **name,
                                  const char **value);

/* The first parameter called `name` as a decimal integer ("-12", "+7"; no
 * spaces, no other characters) in *out. Returns 0; -ENOENT: no such
 * parameter; -EINVAL: not an integer; -ERANGE: outside int64_t; or the
 * error of mc_request_query_count(). *out is left alone on error. */
MC_EXTERN int mc_request_query_int(mc_request *req, const char *name,
                                   int64_t *out);

/* The same four for a body of Content-Type
 * application/x-www-form-urlencoded (what an HTML form POSTs by default),
 * with one more error: -ENOTSUP, the request has another Content-Type or
 * none. A NUL byte in the body is refused like %00 (-EBADMSG). */
MC_EXTERN int mc_request_form_count(mc_request *req);
MC_EXTERN const char *mc_request_form_get(mc_request *req, const char *name);
MC_EXTERN int mc_request_form_at(mc_request *req, size_t i, const char **name,
                                 const char **value);
MC_EXTERN int mc_request_form_int(mc_request *req, const char *name,
                                  int64_t *out);

/* The value of the first cookie called `name` in the request's Cookie
 * header fields (all of them, in order), or NULL. "a=1; b=2" as RFC 6265
 * §4.2 has it, taken tolerantly (§5.4): spaces around names and values are
 * dropped, a value in double quotes loses them, a piece without '=' or
 * with an empty name is skipped. Values are not percent-decoded (cookies
 * define no encoding; call mc_url_decode() if yours are). */
MC_EXTERN const char *mc_request_cookie(mc_request *req, const char *name);

/* How many cookies, or -E2BIG (more than MC_PARAMS_MAX: then none) or
 * -ENOMEM; and the i-th one, as mc_request_query_at(). */
MC_EXTERN int mc_request_cookie_count(mc_request *req);
MC_EXTERN int mc_request_cookie_at(mc_request *req, size_t i, const char **name,
                                   const char **value);

/* One part of a multipart/form-data body (RFC 7578). */
typedef struct mc_part {
  const char *name;         /* Content-Disposition's name; never NULL */
  const char *filename;     /* its filename, or NULL when it has none */
  const char *content_type; /* the part's Content-Type, or NULL (which
                               RFC 7578 reads as text/plain) */
  const void *data;         /* the content: points into the request body,
                               not copied, not NUL-terminated; never NULL */
  size_t len;
} mc_part;

/* Parses a buffered multipart/form-data body (the boundary comes from the
 * Content-Type) and returns the number of parts, or a negative errno
 * (then there are none):
 * -ENOTSUP: not multipart/form-data;
 * -EINVAL: no boundary parameter, or one RFC 2046 does not allow (1 to 70
 *          characters from its set);
 * -EBADMSG: malformed: no delimiter, truncated (no close delimiter), the
 *           boundary at the start of a line inside a part, a bare LF or a
 *           folded line in a part's header, a part without
 *           Content-Disposition: form-data and a name;
 * -E2BIG: more than MC_PARTS_MAX parts, or a part's header over 8 KiB;
 * -ENOMEM: out of memory.
 * Parameter values are given as sent, without their quotes and backslash
 * escapes (browsers percent-encode '"' and line breaks in names); the
 * preamble and the epilogue are ignored; so is filename* (RFC 7578 §4.2). */
MC_EXTERN int mc_request_part_count(mc_request *req);

/* The i-th part, in the order sent, in *part (owned by mchost, valid like
 * the request). Returns 0, -ERANGE past the last, or the error of
 * mc_request_part_count(). */
MC_EXTERN int mc_request_part_at(mc_request *req, size_t i,
                                 const mc_part **part);

/* The first part called `name`, or NULL (none, or the body is refused). */
MC_EXTERN const mc_part *mc_request_part(mc_request *req, const char *name);

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

/* Sends the whole response: status (200..599, MC_STATUS_* names the
 * common ones; see also MC_PLUGIN_ACCEPTS_CONNECT()), headers, and `len`
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

/* The Range header of a request for a resource of `size` bytes (RFC 9110,
 * 14.2; only the "bytes" unit, one range): a download that resumes, a
 * video that seeks. Returns
 *  0: answer 206 with "Content-Range: bytes FIRST-LAST/SIZE" and the bytes
 *     *first to *last, both included (last clipped to size - 1):
 *     mc_response_begin_length(res, 206, *last - *first + 1);
 *  -ENOENT: no Range header: answer 200 with the whole resource;
 *  -ERANGE: no byte of it is in the resource: answer 416 with
 *     Content-Range "bytes *" + "/SIZE" (RFC 9110, 14.4);
 *  -EINVAL: malformed, another unit, or several ranges: answer 200 with
 *     the whole resource (RFC 9110 lets a server ignore the header).
 * If-Range is the plugin's to check (its validator is the plugin's).
 * *first and *last are left alone on error. */
MC_EXTERN int mc_request_range(const mc_request *req, uint64_t size,
                               uint64_t *first, uint64_t *last);

/* A streamed response of known size, as a download is: the head says
 * Content-Length: length (no chunked framing, so clients show progress,
 * and an HTTP/1.0 client keeps its connection), and mc_response_write()
 * and mc_response_end() follow as for mc_response_begin(), with these
 * differences:
 * - a write that would take the body past `length` is refused whole:
 *   -EMSGSIZE, nothing taken;
 * - mc_response_end() before `length` bytes ends the connection after
 *   what was sent (the client sees the body cut, as it must: it cannot
 *   tell a short body from a slow one), logs a warning and returns
 *   -EMSGSIZE;
 * - a stream ended by its worker's stop (mc_response_on_shutdown()) before
 *   `length` bytes is cut the same way.
 * A HEAD request gets the head with the same Content-Length, and writes
 * are dropped as for any HEAD. Errors as for mc_response_begin(), and
 * -EINVAL for a length above INT64_MAX. */
MC_EXTERN int mc_response_begin_length(mc_response *res, int status,
                                       uint64_t length);

/* Answers the request with a file, as nginx serves a static one: the
 * kernel sends it from the page cache to the socket (sendfile(2)), so a
 * download of any size costs the worker no buffer and no copy, and a
 * client that reads slowly costs only its socket. mchost takes `fd` (open
 * for reading, a regular file) and closes it when the response ends,
 * whatever this returns. The response carries, beside the plugin's own
 * headers (which must not include these):
 * - Content-Type: the plugin's own, if it set one, else `type`, else
 *   (NULL) application/octet-stream;
 * - ETag ("<mtime>-<size>" in hex, as nginx's) and Last-Modified, from
 *   fstat(); Accept-Ranges: bytes; Content-Length;
 * and the status the request's preconditions and range call for (RFC 9110
 * §13, §14): 304 for a GET or HEAD whose If-None-Match or
 * If-Modified-Since says the client's copy is current; 412 when If-Match
 * or If-Unmodified-Since fails; 206 with Content-Range for one byte range
 * of a GET (mc_request_range(), under If-Range), 416 for a range outside
 * the file; else 200 and the whole file. HEAD gets the head alone.
 * The file is read as it is sent: one that grows meanwhile is sent at the
 * size it had; one that shrinks cuts the connection (the client sees the
 * body short), with a warning. Reading it blocks the worker on a disk
 * that is slow to answer, as nginx does without `aio threads`: put the
 * files on local storage. Small files (up to 16 KiB) are copied into the
 * response's write instead, which takes fewer system calls. A client that
 * takes nothing for --send-timeout loses its connection; a worker that
 * stops lets the file finish, within --kill-timeout. After a 0 return the
 * response belongs to mchost: every other mc_response_* call on it
 * returns -EALREADY, and mc_response_aborted() tells whether the client
 * left before the end.
 * Returns 0 (answered, or being sent), or with nothing sent:
 * -EALREADY: the response is already answered or streaming;
 * -EINVAL: fd is not a regular file, or `type` holds CR or LF;
 * -ENOSPC: the plugin's headers leave no room for the file's;
 * -EPIPE: the client is gone; -ENOMEM; or the error of fstat() or of
 *   reading a small file (negative errno). */
MC_EXTERN int mc_response_file(mc_response *res, int fd, const char *type);

/* Backpressure. Each response has an output queue: bytes accepted by
 * mc_response_write() but not yet handed to the kernel (the kernel's own
 * socket buffer comes on top, and is not counted). A client that reads
 * slower than the plugin writes makes it grow; at MC_QUEUE_HIGH bytes,
 * mc_response_write() refuses more (-EAGAIN), so a client that never reads
 * costs the worker at most MC_QUEUE_HIGH plus the last piece accepted. The
 * plugin then waits for mc_response_on_drain(), which fires once the queue
 * is down to MC_QUEUE_LOW. A client that takes nothing at all for
 * --send-timeout (default 60 s) loses its connection. */
#define MC_QUEUE_HIGH (64 * 1024)
#define MC_QUEUE_LOW (16 * 1024)

/* Sends one piece of a streamed response (copied before returning; len 0 is
 * a no-op). Any length is accepted while fewer than MC_QUEUE_HIGH bytes are
 * queued.
 * -EALREADY: not streaming;
 * -EAGAIN: MC_QUEUE_HIGH bytes or more are queued: nothing was taken; write
 *          it again after mc_response_on_drain() calls back;
 * -EPIPE: the client is gone (keep going or stop, but still call
 *         mc_response_end());
 * -EMSGSIZE: past the length of mc_response_begin_length(): nothing was
 *            taken. */
MC_EXTERN int mc_response_write(mc_response *res, const void *data, size_t len);

/* Bytes of this response accepted but not yet handed to the kernel (see
 * MC_QUEUE_HIGH); 0 when everything went out, or before the head. */
MC_EXTERN size_t mc_response_queued(const mc_response *res);

/* Calls cb(res, data) once, on the worker's loop and under the crash guard
 * (a fault costs what a fault in mc_run() costs), when the queue of this
 * streamed response is down to MC_QUEUE_LOW bytes, or when the connection
 * ends first (then mc_response_aborted() is 1, and cb should call
 * mc_response_end()). A second call replaces the pending one. The callback
 * is dropped when the response ends.
 * -EINVAL: cb is NULL, or the response is not streaming;
 * -EALREADY: the queue is already at or below MC_QUEUE_LOW: write now (cb
 *            is not called);
 * -EPIPE: the client is gone (cb is not called). */
MC_EXTERN int mc_response_on_drain(mc_response *res,
                                   void (*cb)(mc_response *res, void *data),
                                   void *data);

/* When the worker stops (a reload by SIGHUP or --dev, a graceful stop, a
 * retirement), a stream cannot go on: its client should come back to the
 * next generation. Calls cb(res, data) once, on the worker's loop and under
 * the crash guard (a fault costs what a fault in mc_run() costs: the
 * stream is cut, without its last chunk), when the worker begins to stop,
 * or, for a stream begun while it stops, on the next turn of the loop. The
 * hook may write a last piece (an SSE "retry:" line or a last event; a
 * write refused with -EAGAIN is best dropped) and mc_response_end() the
 * stream. A second call replaces the pending hook; it is dropped when the
 * response ends.
 * A stream the hook does not end, and without a hook an SSE feed
 * (Content-Type text/event-stream), mchost ends for the client with the
 * stream's last chunk (for an HTTP/1.0 client, or a stream with a
 * Content-Length, the end of the connection) once the hook returns, and
 * the connection closes once that is out. Any other stream without a hook
 * (a download, an export) goes on to its own end, within --kill-timeout:
 * a clean end at a stop would look complete to its client. A stream ended
 * by mchost is from then on as if the client had gone:
 * mc_response_aborted() is 1, mc_response_write() and
 * mc_response_on_drain() return -EPIPE, a pending drain callback is called
 * now, and the plugin still calls mc_response_end() (at the latest when
 * its mc_work() is done): the worker exits once every response is ended,
 * or at --kill-timeout.
 * -EINVAL: cb is NULL, or the response is not streaming;
 * -EPIPE: the client is gone, or the stream was ended by the stop already
 *         (cb is not called). */
MC_EXTERN int mc_response_on_shutdown(mc_response *res,
                                      void (*cb)(mc_response *res, void *data),
                                      void *data);

/* Finishes a streamed response. -EALREADY: not streaming; -EBUSY: a
 * mc_work() of this response is still running (end it from its done);
 * -EMSGSIZE: fewer bytes than mc_response_begin_length() said (finished
 * all the same, and its connection ends). */
MC_EXTERN int mc_response_end(mc_response *res);

/* Keeps the response open after mc_run() returns: the plugin finishes it
 * later, from a callback on the worker's loop (mc_worker.loop). Requests
 * pipelined behind it on the same connection wait for it. If the client
 * leaves meanwhile, the response stays valid until finished, and
 * mc_response_aborted() says so. It must start (mc_response_send() or
 * mc_response_begin()) within its deadline: see mc_response_timeout(). */
MC_EXTERN void mc_response_defer(mc_response *res);

/* Deadlines of a response that outlives mc_run(). --request-timeout bounds
 * the plugin's own time on the CPU in each callback. Waiting is bounded
 * separately:
 * - a deferred response (mc_response_defer(), _later(), mc_work()) must
 *   start within --request-timeout (default 30 s) of mc_run() returning,
 *   as a gunicorn user expects of a request. If not, the plugin is taken
 *   to be stuck (a lost callback, a hung mc_work()): the client gets 503,
 *   mc_response_aborted() becomes 1, every later call on the response fails,
 *   and the worker retires;
 * - a streamed response must write a piece at least every --stream-timeout
 *   (default 60 s: send SSE comments as heartbeats). If not, its connection
 *   ends, mc_response_aborted() becomes 1 and the plugin still ends the
 *   response; the worker stays;
 * - while output waits for a slow client, neither limit runs: the client
 *   must take some of it every --send-timeout (see MC_QUEUE_HIGH).
 * mc_response_timeout() sets this response's limit to `ms` from now, for
 * the step it waits for (0 = no limit: then only the plugin ends it): the
 * start of a deferred response, or each next write of a stream. It may be
 * called from mc_run() or any later callback.
 * -EALREADY: the response is finished. */
MC_EXTERN int mc_response_timeout(mc_response *res, unsigned ms);

/* Defers the response and calls cb(res, data) on the worker's loop after
 * `ms` milliseconds, under the same crash guard as mc_run(). The callback
 * must finish the response or call mc_response_later() again.
 * -EALREADY: the response is already finished. */
MC_EXTERN int mc_response_later(mc_response *res, unsigned ms,
                                void (*cb)(mc_response *res, void *data),
                                void *data);

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

/* 1 if the client closed its connection before the response was finished
 * (what is still written is discarded), else 0. */
MC_EXTERN int mc_response_aborted(const mc_response *res);

/* The request this response answers. */
MC_EXTERN mc_request *mc_response_request(mc_response *res);

/* ---- WebSocket (RFC 6455; docs/websocket.md) ----
 *
 * A plugin accepts a WebSocket in mc_run() (or later, from a deferred
 * response) with mc_websocket_accept(), or refuses it by answering the
 * request as a plain one (403, 404, ...). mchost does the handshake, the
 * framing, masking, fragmentation, ping/pong and the close handshake, and
 * hands the plugin whole messages. Every handler runs under the crash
 * guard, bounded by --request-timeout like mc_run(): a crash or a hang in
 * one closes that WebSocket with 1011 and retires the worker the usual way.
 *
 * Limits (each documented where it applies):
 *   --ws-max-message (1M): the longest message a client may send, whole or
 *     in fragments; a longer one closes the connection with 1009;
 *     per connection with mc_ws_set_max_message();
 *   --ws-idle-timeout (60 s): after half of it without a byte from the
 *     client, mchost sends a ping; after all of it, a close (1001); per
 *     connection with mc_ws_set_idle_timeout(); 0 = off;
 *   MC_QUEUE_HIGH (as for streamed responses): mc_ws_send() refuses more
 *     output (-EAGAIN) while this much is queued, and mchost stops reading
 *     the client's messages until the queue is down to MC_QUEUE_LOW: a
 *     client that never reads costs a bounded amount of memory, and
 *     --send-timeout (60 s) ends it once it takes nothing;
 *   a close handshake that the client does not finish within 5 s ends the
 *     connection anyway.
 * No extension (permessage-deflate) is negotiated. */

typedef struct mc_ws mc_ws;

/* Message types, for on_message() and mc_ws_send(). */
enum mc_ws_type { MC_WS_TEXT = 1, MC_WS_BINARY = 2 };

/* What a plugin does with its WebSockets. Copied by mc_websocket_accept();
 * `data` is the pointer given there. Every handler runs on the loop thread
 * under the crash guard; each may call any mc_ws_* function on any open
 * WebSocket. */
struct mc_ws_handlers {
  /* Required. One whole message from the client: `msg` holds `len` bytes
   * (not NUL-terminated), valid until the handler returns. A text message
   * (MC_WS_TEXT) is valid UTF-8, checked by mchost. */
  void (*on_message)(mc_ws *ws, int type, const void *msg, size_t len,
                     void *data);
  /* Optional. After mc_ws_send() returned -EAGAIN: the queue is down to
   * MC_QUEUE_LOW bytes, so sending may go on. Not called when the
   * connection ends instead (on_close is). */
  void (*on_drain)(mc_ws *ws, void *data);
  /* Optional. The worker is stopping (a reload, a graceful stop, a
   * retirement): send any last message now. When the handler returns,
   * mchost closes the WebSocket with 1001 "going away" (unless the handler
   * closed it with a code of its own), well within --kill-timeout. */
  void (*on_shutdown)(mc_ws *ws, void *data);
  /* Optional, but called exactly once for every accepted WebSocket, last:
   * the WebSocket is over. `code` is the close code the client sent
   * (1005 if its close frame had none), the one mchost closed with after a
   * protocol error (1002, 1007, 1009) or a crash (1011), or 1006 when the
   * connection was lost without a close frame (a timeout included).
   * `reason` is NUL-terminated UTF-8, "" if none. After it returns, `ws`
   * and its request are invalid. */
  void (*on_close)(mc_ws *ws, int code, const char *reason, void *data);
};

/* 1 when the request asks for a WebSocket (an "Upgrade: websocket"
 * header), else 0. Says nothing about the rest of the handshake, which
 * mc_websocket_accept() checks. */
MC_EXTERN int mc_request_is_websocket(const mc_request *req);

/* Accepts the WebSocket that `res`'s request asks for: checks the
 * handshake (GET, HTTP/1.1, Upgrade: websocket, Connection: Upgrade, a
 * valid Sec-WebSocket-Key, Sec-WebSocket-Version: 13), answers 101 with
 * Sec-WebSocket-Accept and the headers the plugin set before (e.g. a
 * Sec-WebSocket-Protocol it chose), and turns the connection into a
 * WebSocket. Finishes the response either way. `h` is copied; `data` is
 * handed to every handler.
 * Returns the WebSocket, owned by mchost, valid until its on_close()
 * returns; the plugin may send on it at once. Returns NULL, with the
 * request answered and the connection closing, when the handshake is
 * invalid (400; 426 with Sec-WebSocket-Version: 13 for another version),
 * when `h` or h->on_message is NULL (500), when the worker is stopping,
 * or when memory runs out (503). To refuse a WebSocket, answer the request
 * with mc_response_send() instead. */
MC_EXTERN mc_ws *mc_websocket_accept(mc_response *res,
                                     const struct mc_ws_handlers *h,
                                     void *data);

/* Sends one message of `type` (MC_WS_TEXT or MC_WS_BINARY), `len` bytes of
 * `msg`, copied or written before returning (msg may be NULL when len is
 * 0).
 * -EINVAL: bad type, or text that is not valid UTF-8;
 * -EAGAIN: MC_QUEUE_HIGH bytes or more are queued: nothing was sent;
 *          on_drain() says when to try again (any length is taken while
 *          less is queued);
 * -EPIPE: the WebSocket is closing or closed (nothing is sent after a
 *         close frame). */
MC_EXTERN int mc_ws_send(mc_ws *ws, int type, const void *msg, size_t len);

/* Starts the close handshake: sends a close frame with `code` (1000-1003,
 * 1007-1014 or 3000-4999; 0 sends none) and `reason` (NULL or UTF-8 of at
 * most 123 bytes), after what is queued. Messages the client still sends
 * are dropped; on_close() follows when the client answers, or after 5 s.
 * -EINVAL: bad code or reason; -EALREADY: a close frame was already sent
 * or received. */
MC_EXTERN int mc_ws_close(mc_ws *ws, int code, const char *reason);

/* Bytes queued for the client, not yet handed to the kernel (see
 * MC_QUEUE_HIGH). */
MC_EXTERN size_t mc_ws_queued(const mc_ws *ws);

/* The longest message this WebSocket's client may send from now on, in
 * place of --ws-max-message; 0 = no limit (then only memory bounds it).
 * -EPIPE: the WebSocket is closed. */
MC_EXTERN int mc_ws_set_max_message(mc_ws *ws, size_t max);

/* This WebSocket's idle timeout in milliseconds, in place of
 * --ws-idle-timeout (a ping after half of it without a byte from the
 * client, a close after all of it); 0 = off. -EPIPE: the WebSocket is
 * closed. */
MC_EXTERN int mc_ws_set_idle_timeout(mc_ws *ws, unsigned ms);

/* The upgrade request (path, query, headers, remote address), valid as
 * long as the WebSocket. */
MC_EXTERN const mc_request *mc_ws_request(const mc_ws *ws);

/* ---- timers ----
 *
 * Work of the worker itself, not of one request: a heartbeat to every
 * WebSocket the plugin holds, a cache refreshed every minute, a batch of
 * writes flushed every second (mc_response_later() is the timer of one
 * response). As Kore's kore_timer_add() or Node's setInterval(), and
 * unlike a uv_timer_t on mc_worker.loop, the callback runs under the crash
 * guard. */

typedef struct mc_timer mc_timer;

/* Called on the loop, under the crash guard with --request-timeout. It may
 * call any mc_* function, mc_timer_stop(t) included. A fault or a hang
 * here has no request to answer: it is reported as any other, the timer
 * fires no more, and the worker retires. */
typedef void (*mc_timer_fn)(mc_timer *t, void *arg);

/* Calls cb(t, arg) `ms` milliseconds from now, then every `repeat` ms if
 * repeat is not 0, until mc_timer_stop(). The first call comes from the
 * loop, never from inside mc_timer_start(), even with ms 0. A timer does
 * not keep a stopping worker up: once its connections are done, the
 * worker ends (mc_shutdown() is called) and its timers fire no more. Usable
 * from mc_init() on. *out gets the timer, mchost's until mc_timer_stop(),
 * which the plugin calls for a one-shot timer too, after it fired or
 * before (a worker's remaining timers are freed when it exits).
 * -EINVAL: out or cb is NULL; -ENOMEM. */
MC_EXTERN int mc_timer_start(mc_timer **out, uint64_t ms, uint64_t repeat,
                             mc_timer_fn cb, void *arg);

/* Stops the timer and frees it: cb is not called for it again, and t must
 * not be used after. May be called from inside cb, for t itself or another
 * timer. -EINVAL: t is NULL. */
MC_EXTERN int mc_timer_stop(mc_timer *t);

/* ---- messages between workers (docs/messages.md) ----
 *
 * The workers are processes: what one holds in memory (its WebSocket
 * clients, its open feeds, a cache) the others do not see. A plugin that
 * must tell every worker something (a chat line for every member of a
 * room, whichever worker holds each; a cache entry to drop) publishes a
 * message on a channel, and every worker that subscribed to the channel
 * gets it, as with Kore's kore_msg_send() or a Node cluster's primary
 * relaying worker.send(). The master relays each message, so that:
 *   - every worker of this mchost gets it: the sender too (its copy comes
 *     through the loop, never inside mc_publish()), and the workers of an
 *     older generation still finishing their requests after a reload;
 *   - every worker gets the messages in the same order (the master's), and
 *     the messages of one sender in the order it published them;
 *   - delivery is at most once. A worker started later does not get what
 *     was published before it started. A worker that falls behind by more
 *     than MC_MESSAGE_BACKLOG bytes loses the messages beyond that, which
 *     the master logs and counts (mchost_messages_dropped_total); a worker
 *     that exits loses what was on its way to it. A plugin that must not
 *     miss anything keeps its state where every worker can read it (a
 *     database) and uses messages to say "look now".
 * Messages never leave the machine: the workers of another mchost (another
 * host behind the balancer) do not get them.
 * Subscribing and publishing are done on the loop thread, from mc_init()
 * on. Without a master (`mchost replay`) mc_publish() fails with
 * -ENOTCONN. */

/* The longest channel name, in bytes. */
#define MC_CHANNEL_MAX 255
/* The largest message, in bytes of data. */
#define MC_MESSAGE_MAX (64 * 1024)
/* How many bytes of messages may wait for one worker: at the master, for a
 * worker that does not take them (beyond: dropped), and in a worker, for
 * a master that does not take them (beyond: mc_publish() -ENOBUFS). */
#define MC_MESSAGE_BACKLOG (4 * 1024 * 1024)

/* A message as a subscriber gets it. Owned by mchost, valid during the
 * callback only: copy what must outlive it. */
typedef struct mc_message {
  const char *channel;      /* NUL-terminated, as published */
  const void *data;         /* `len` bytes as published (not terminated) */
  size_t len;               /* 0 .. MC_MESSAGE_MAX */
  unsigned from_worker;     /* the sender's mc_worker.id */
  unsigned from_generation; /* the sender's mc_worker.generation */
} mc_message;

/* Called on the loop, under the crash guard, for every message on a
 * channel the worker subscribed to. It may call any mc_* function
 * (mc_ws_send() to the plugin's sockets, mc_response_write() to its open
 * streams, mc_publish(), mc_unsubscribe()). A fault here has no request to
 * answer: it is reported as any other, and the worker retires. */
typedef void (*mc_message_fn)(const mc_message *msg, void *arg);

/* Calls fn(msg, arg) for every message published on `channel` from now
 * on, by any worker, until mc_unsubscribe() or the end of the worker.
 * Several subscriptions may share a channel: each is called, in the order
 * they were made. The channel name is copied.
 * -EINVAL: channel or fn is NULL, or the channel is empty or longer than
 *          MC_CHANNEL_MAX;
 * -EEXIST: this channel, fn and arg are subscribed already;
 * -ENOMEM. */
MC_EXTERN int mc_subscribe(const char *channel, mc_message_fn fn, void *arg);

/* Ends the subscription made with the same channel, fn and arg; fn is not
 * called again for it, even for a message being delivered now (it may be
 * called from inside fn). -ENOENT: there is no such subscription. */
MC_EXTERN int mc_unsubscribe(const char *channel, mc_message_fn fn, void *arg);

/* Publishes `len` bytes of `data` on `channel` to every worker (see above).
 * The data are copied before returning; 0 means the message is on its way,
 * not that anyone got it.
 * -EINVAL: channel is NULL, empty or longer than MC_CHANNEL_MAX, or data
 *          is NULL with a length;
 * -EMSGSIZE: len is over MC_MESSAGE_MAX;
 * -ENOBUFS: MC_MESSAGE_BACKLOG bytes of this worker's messages wait for the
 *           master already (publish again after a while, or drop it);
 * -ENOTCONN: there is no master to relay it (`mchost replay`, or the
 *            master is gone);
 * -ENOMEM. */
MC_EXTERN int mc_publish(const char *channel, const void *data, size_t len);

/* ---- outbound HTTP: mc_fetch() ----
 *
 * An HTTP/1.1 client on the worker's loop, for a plugin that calls another
 * service while it answers a request. Each fetch belongs to a response:
 * the response stays open (deferred) until the callback finishes it, and
 * the callback runs on the loop thread under the crash guard, as mc_run()
 * does (a fault costs that request a 500 and retires the worker).
 *
 * Plain http:// only: mchost has no TLS. To reach an https:// service, go
 * through a local forward proxy that speaks TLS upstream (for example an
 * nginx `location` with `proxy_pass https://api.example.com;` on
 * 127.0.0.1, or stunnel in client mode) and fetch its http:// address.
 *
 * Each fetch opens its own connection and sends "Connection: close"
 * (connections are not reused). The name is resolved on libuv's thread
 * pool (uv_getaddrinfo), never on the loop; every address it gives, IPv6
 * and IPv4, is tried in order until one accepts. The response is parsed
 * with llhttp; its body is decoded from chunked framing, Content-Length,
 * or the end of the connection. 1xx interim responses are skipped.
 *
 * The deferred response is still bounded by --request-timeout (default
 * 30 s): a fetch timeout longer than that lets the host answer 503 first
 * (and retire the worker), and the fetch is then cancelled. */

/* Defaults of mc_fetch_opts.timeout_ms and .max_size. */
#define MC_FETCH_TIMEOUT_MS 10000
#define MC_FETCH_MAX_SIZE (8 * 1024 * 1024)
/* A URL's host name is at most this long; request headers, method and
 * path together at most MC_FETCH_HEAD_MAX bytes. */
#define MC_FETCH_HOST_MAX 253
#define MC_FETCH_HEAD_MAX (16 * 1024)

typedef struct mc_fetch_opts {
  const char *method; /* "GET" when NULL; a token ("POST", "PUT", ...) */
  const char *url;    /* "http://host[:port][/path][?query]"; host is a
                         name, an IPv4 address or [an IPv6 address]; port
                         80 by default; a "#fragment" is dropped. No
                         user:password@, no spaces or control characters */
  const char *const *headers; /* NULL-terminated list of "Name: value"
                                 lines without CRLF, or NULL. Host,
                                 Content-Length, Transfer-Encoding and
                                 Connection are set by mchost */
  const void *body; /* sent with Content-Length; may be NULL if body_len
                       is 0. POST, PUT and PATCH always send the length */
  size_t body_len;
  unsigned timeout_ms; /* connect + whole exchange, DNS included; 0 means
                          MC_FETCH_TIMEOUT_MS */
  size_t max_size;     /* bytes received (head and body, framing
                          included) at most; 0 means MC_FETCH_MAX_SIZE */
} mc_fetch_opts;

/* What a fetch brought back. Owned by mchost, valid only during the
 * callback: copy what you keep.
 *
 * error is 0 when a whole response arrived (any status, 4xx and 5xx
 * included); else a negative errno, and nothing else is set:
 * -ENOENT: the host name did not resolve (DNS failure);
 * -ECONNREFUSED: no address accepted the connection;
 * -ETIMEDOUT: timeout_ms passed first;
 * -EFBIG: the response exceeds max_size;
 * -EBADMSG: malformed, or the connection ended before the response was
 *           whole;
 * -ECANCELED: the fetch was cancelled (see mc_fetch_cb);
 * -ENOMEM, or another connection error (-ECONNRESET, -ENETUNREACH, ...). */
typedef struct mc_fetch_result {
  int error;
  int status; /* 100..999 */
  /* The decoded body, NUL-terminated (it may hold NUL bytes itself: use
   * body_len); "" when empty. */
  const char *body;
  size_t body_len;
  const void *priv; /* mchost's: read the headers with mc_fetch_header() */
} mc_fetch_result;

/* The value of the first response header called `name`
 * (case-insensitive), without surrounding whitespace, or NULL. Valid as
 * long as the result. */
MC_EXTERN const char *mc_fetch_header(const mc_fetch_result *r,
                                      const char *name);

/* Called once per accepted mc_fetch(), on the loop, under the crash guard.
 * `res` is the response the fetch was tied to, still open: finish it (or
 * start another mc_fetch(), mc_response_later(), ...). The fetch is
 * cancelled (error -ECANCELED), and the callback told once all the same:
 * - when the client leaves: `res` is given, mc_response_aborted() is 1,
 *   and the callback should still finish it (mc_response_send() then
 *   returns -EPIPE and releases it);
 * - when the response is finished before the fetch ends (by the plugin,
 *   or by the host: --request-timeout's 503, a fault's 500): `res` is
 *   NULL, and the callback only frees what `data` holds;
 * - when the worker exits (--kill-timeout, or its last connection gone
 *   with the fetch still running): `res` as in the first case.
 * While a mc_work() of a response not yet begun runs, a fetch that ends
 * or is cancelled (the client left, the deadline's 503) is held, and its
 * callback called right after that work's done() returns, or, if work()
 * faulted, once the host has answered 500: never while work() runs. By
 * then: the response still open (done() left it deferred or began a
 * stream), the callback gets it; a done() that started another mc_work()
 * holds it again until that one's done(); the response finished (by
 * done() or by the host), the callback gets NULL and -ECANCELED, as
 * above. So a plugin that fetches and works for one request can merge
 * both in whichever callback comes last. */
typedef void (*mc_fetch_cb)(mc_response *res, const mc_fetch_result *r,
                            void *data);

/* Starts a fetch for `res` and defers the response (as mc_response_defer()
 * does). Usable from mc_run() and from any callback that holds an open
 * response, deferred or streaming; several fetches may run for one
 * response. `opts` and every string it points to are copied before
 * returning. On success cb is called exactly once, never before mc_fetch()
 * returns. Errors (cb is then never called):
 * -EINVAL: cb or opts or opts->url is NULL, a URL that is not http:// or
 *          not as above, a method that is not a token, a header line
 *          without "Name: value", with CR or LF, or one mchost sets;
 * -E2BIG: host name over MC_FETCH_HOST_MAX, or method, path and headers
 *         over MC_FETCH_HEAD_MAX;
 * -EALREADY: the response is already finished;
 * -EPIPE: the client is gone;
 * -ENOMEM. */
MC_EXTERN int mc_fetch(mc_response *res, const mc_fetch_opts *opts,
                       mc_fetch_cb cb, void *data);

#ifdef __cplusplus
}
#endif

#endif /* MCHOST_H */
