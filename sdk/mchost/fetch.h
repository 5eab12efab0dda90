/* mchost/fetch.h - a part of <mchost.h>: never include it on its own.
 *
 * Outbound HTTP: mc_fetch(). */
#ifndef MCHOST_H
#error "mchost/fetch.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_FETCH_H)
#define MCHOST_SDK_FETCH_H

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

#endif /* MCHOST_SDK_FETCH_H */
