/* mchost/body.h - a part of <mchost.h>: never include it on its own.
 *
 * Request bodies read by the plugin (MC_PLUGIN_READS_BODY()): streamed
 * piece by piece or buffered with its own limit, with flow control. */
#ifndef MCHOST_H
#error "mchost/body.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_BODY_H)
#define MCHOST_SDK_BODY_H

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

#endif /* MCHOST_SDK_BODY_H */
