/* mchost/websocket.h - a part of <mchost.h>: never include it on its own.
 *
 * WebSocket: accepting one, its handlers, sending and closing. */
#ifndef MCHOST_H
#error "mchost/websocket.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_WEBSOCKET_H)
#define MCHOST_SDK_WEBSOCKET_H

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

#endif /* MCHOST_SDK_WEBSOCKET_H */
