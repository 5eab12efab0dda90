/* mchost/response.h - a part of <mchost.h>: never include it on its own.
 *
 * The response: headers, a whole body, ranges, a file, streaming with
 * backpressure, the stop of a stream, deferral and its deadlines. */
#ifndef MCHOST_H
#error "mchost/response.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_RESPONSE_H)
#define MCHOST_SDK_RESPONSE_H

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

/* 1 if the client closed its connection before the response was finished
 * (what is still written is discarded), else 0. */
MC_EXTERN int mc_response_aborted(const mc_response *res);

/* The request this response answers. */
MC_EXTERN mc_request *mc_response_request(mc_response *res);

#endif /* MCHOST_SDK_RESPONSE_H */
