/*
 * ws.c - a WebSocket (RFC 6455) on a connection whose upgrade request the
 * plugin accepted.
 *
 * From the 101 on, conn.c hands its input here instead of to llhttp: the
 * bytes that followed the request in the same read are the first frames.
 * wsframe.c parses them in place; a message that arrived whole is handed to
 * the plugin straight from the input buffer, a fragmented one is put
 * together in `msg`. Pings are answered here, and the plugin only ever sees
 * whole text or binary messages.
 *
 * Every handler runs under the crash guard through worker_guard(). A fault
 * or a hang in one closes its WebSocket with 1011, tells the plugin
 * (on_close), and retires the worker as after a crashed request.
 *
 * Output goes through the conn's queue (conn_output(), conn_queued(),
 * conn_on_drain(): the backpressure of streamed responses). While
 * CONN_QUEUE_HIGH bytes wait there, mc_ws_send() refuses more and the
 * client's next frames are left unread: a client that never reads stops
 * being read from, its input buffer fills, and --send-timeout ends it.
 *
 * The conn's one timer serves the idle timeout (a ping after half of it
 * without a byte from the client, a close after all of it) and, once a
 * close frame is out, bounds the wait for the client's.
 */
#include "ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "conn.h"
#include "deconst.h"
#include "guard.h"
#include "http_status.h"
#include "log.h"
#include "worker.h"
#include "wsframe.h"
#include "wshandshake.h"

/* How long a close frame waits for the client's before the connection
 * ends anyway. */
#define WS_CLOSE_TIMEOUT_MS 5000
/* A reassembly buffer larger than this is freed after its message, so
 * that one large message does not stay resident for the connection's
 * life. */
#define WS_MSG_KEEP 65536

enum ws_state {
  WS_OPEN,
  WS_CLOSE_SENT, /* waiting for the client's close frame */
  WS_DONE        /* closed: the conn ends once its output is written */
};

enum ws_handler { H_MESSAGE, H_DRAIN, H_SHUTDOWN, H_CLOSE };

struct mc_ws {
  struct conn *c;
  struct mc_ws_handlers h;
  void *data;
  struct wsframe_parser parser;
  struct buf msg; /* a fragmented message, put together */
  enum ws_state state;
  uint64_t idle_ms;
  unsigned ping_out : 1;   /* the host pinged; nothing received since */
  unsigned told_close : 1; /* on_close was called */
  unsigned told_shutdown : 1;
  int close_code;
  char close_reason[WSFRAME_CONTROL_MAX - 1]; /* NUL-terminated */
  /* the handler being called, and its arguments (see ws_call()) */
  enum ws_handler calling;
  int arg_type;
  const void *arg_msg;
  size_t arg_len;
};

static void ws_set_close(mc_ws *ws, int code, const char *reason, size_t len);
static void ws_finish(mc_ws *ws, int code, const char *reason, size_t len);

/* ---- output ---- */

/* Queues one frame; from outside conn_process() (a plugin's own callback,
 * a timer) nothing else would write it, so it is written now. */
static int ws_send_frame(mc_ws *ws, int opcode, const void *data, size_t len) {
  struct conn *c = ws->c;
  uint8_t head[WSFRAME_HEAD_MAX];
  uv_buf_t b[2];
  int rc;

  if (c->closing)
    return -EPIPE;
  b[0] = uv_buf_init((char *)head,
                     (unsigned)wsframe_head(head, opcode, (uint64_t)len));
  b[1] = uv_buf_init(DECONST(char *, data), (unsigned)len);
  rc = conn_output(c, b, len > 0 ? 2 : 1);
  if (!c->in_process)
    conn_flush(c);
  return rc;
}

/* Sends a close frame (code 0: none) and waits for the client's. */
static void ws_send_close(mc_ws *ws, int code, const char *reason, size_t len) {
  uint8_t payload[WSFRAME_CONTROL_MAX];
  size_t n = 0;

  if (code != 0) {
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (len > sizeof payload - 2)
      len = sizeof payload - 2;
    if (len > 0)
      memcpy(payload + 2, reason, len);
    n = 2 + len;
  }
  if (ws->state == WS_OPEN)
    ws->state = WS_CLOSE_SENT;
  conn_set_timer(ws->c, TIMER_WS_CLOSE, WS_CLOSE_TIMEOUT_MS);
  ws_send_frame(ws, WSFRAME_CLOSE, payload, n);
}

/* ---- calling the plugin ---- */

static void ws_thunk(void *arg) {
  mc_ws *ws = arg;
  switch (ws->calling) {
  case H_MESSAGE:
    ws->h.on_message(ws, ws->arg_type, ws->arg_msg, ws->arg_len, ws->data);
    break;
  case H_DRAIN:
    ws->h.on_drain(ws, ws->data);
    break;
  case H_SHUTDOWN:
    ws->h.on_shutdown(ws, ws->data);
    break;
  case H_CLOSE:
    ws->h.on_close(ws, ws->close_code, ws->close_reason, ws->data);
    break;
  }
}

/* Calls a handler under the guard. After a fault or a hang the WebSocket
 * ends with 1011 (the plugin is told, unless on_close itself failed) and
 * the worker retires. Returns 0 when the handler returned. */
static int ws_call(mc_ws *ws, enum ws_handler which) {
  static const char *const names[] = {"on_message", "on_drain", "on_shutdown",
                                      "on_close"};
  struct conn *c = ws->c;
  char context[512];
  int rc;

  ws->calling = which;
  if ((rc = worker_guard(c->w, ws_thunk, ws)) == 0)
    return 0;
  snprintf(context, sizeof context, "WebSocket '%.400s' from %s, %s()",
           c->req->target, c->req->remote_addr, names[which]);
  worker_report_fault(c->w, rc, guard_last(), context, NULL);
  if (ws->state == WS_OPEN)
    ws_send_close(ws, WS_CLOSE_INTERNAL, "", 0);
  if (which == H_CLOSE)
    ws->state = WS_DONE;
  else
    ws_finish(ws, WS_CLOSE_INTERNAL, "", 0);
  if (rc == GUARD_TIMEOUT)
    worker_taint(c->w, "a WebSocket handler exceeded --request-timeout",
                 TAINT_TIMEOUT);
  else
    worker_taint(c->w, "the plugin crashed", TAINT_FAULT);
  return rc;
}

static void ws_set_close(mc_ws *ws, int code, const char *reason, size_t len) {
  if (len > sizeof ws->close_reason - 1)
    len = sizeof ws->close_reason - 1;
  ws->close_code = code;
  if (len > 0)
    memcpy(ws->close_reason, reason, len);
  ws->close_reason[len] = '\0';
}

/* The WebSocket is over: the plugin hears it once (on_close), and the conn
 * ends once its output is written, or after WS_CLOSE_TIMEOUT_MS if the
 * client does not take it. */
static void ws_finish(mc_ws *ws, int code, const char *reason, size_t len) {
  struct conn *c = ws->c;

  ws->state = WS_DONE;
  c->close_after = 1;
  if (!c->closing)
    conn_set_timer(c, TIMER_WS_CLOSE, WS_CLOSE_TIMEOUT_MS);
  if (ws->told_close)
    return;
  ws->told_close = 1;
  ws_set_close(ws, code, reason, len);
  if (ws->h.on_close != NULL)
    ws_call(ws, H_CLOSE);
  if (!c->in_process)
    conn_flush(c);
}

/* ---- input ---- */

/* Nothing heard from the client for half the idle timeout: ping it. */
static void ws_arm_idle(mc_ws *ws) {
  uint64_t half = ws->idle_ms / 2;
  if (ws->state != WS_OPEN)
    return;
  if (ws->idle_ms == 0) /* no timeout, but the phase is still WebSocket's */
    conn_set_timer(ws->c, TIMER_WS, 0);
  else
    conn_set_timer(ws->c, TIMER_WS,
                   ws->ping_out ? ws->idle_ms - half
                   : half > 0   ? half
                                : 1);
}

static void ws_deliver(mc_ws *ws, int type, const void *msg, size_t len) {
  ws->arg_type = type;
  ws->arg_msg = len > 0 ? msg : "";
  ws->arg_len = len;
  ws_call(ws, H_MESSAGE);
}

static void ws_on_data(mc_ws *ws, const struct wsframe_ev *ev) {
  if (ws->state != WS_OPEN)
    return; /* a close frame is out: messages are dropped */
  if (ev->first && ev->last) {
    ws_deliver(ws, ev->opcode, ev->data, ev->len);
    return;
  }
  if (buf_append(&ws->msg, ev->data, ev->len) != 0) {
    log_warn("WebSocket from %s: out of memory for a message of %zu bytes",
             ws->c->req->remote_addr, ws->msg.len + ev->len);
    ws_send_close(ws, WS_CLOSE_TOO_BIG, "out of memory", 13);
    ws_finish(ws, WS_CLOSE_TOO_BIG, "out of memory", 13);
    return;
  }
  if (!ev->last)
    return;
  ws_deliver(ws, ev->opcode, ws->msg.data, ws->msg.len);
  ws->msg.len = 0;
  if (ws->msg.cap > WS_MSG_KEEP) {
    free(ws->msg.data);
    ws->msg.data = NULL;
    ws->msg.cap = 0;
  }
}

static void ws_on_control(mc_ws *ws, const struct wsframe_ev *ev) {
  if (ev->opcode == WSFRAME_PING) {
    if (ws->state == WS_OPEN)
      ws_send_frame(ws, WSFRAME_PONG, ev->data, ev->len);
  } else if (ev->opcode == WSFRAME_CLOSE) {
    /* The client closes: echo its code (RFC 6455, 5.5.1), or answer the
     * close frame this side sent first. */
    if (ws->state == WS_OPEN)
      ws_send_close(ws, ev->code == WS_CLOSE_NO_STATUS ? 0 : ev->code, "", 0);
    ws_finish(ws, ev->code, ev->reason, ev->reason_len);
  }
  /* a pong: that the client is alive is all it says */
}

/* Parses and handles frames until the input is used up, or until
 * CONN_QUEUE_HIGH bytes are queued for the client. */
static void ws_parse(mc_ws *ws) {
  struct conn *c = ws->c;
  struct wsframe_ev ev;

  while (ws->state != WS_DONE && c->rpos < c->rlen && !c->closing &&
         conn_queued(c) < CONN_QUEUE_HIGH) {
    c->rpos += wsframe_parse(&ws->parser, (uint8_t *)c->rbuf + c->rpos,
                             c->rlen - c->rpos, &ev);
    if (ev.type == WSFRAME_DATA) {
      ws_on_data(ws, &ev);
    } else if (ev.type == WSFRAME_CONTROL) {
      ws_on_control(ws, &ev);
    } else if (ev.type == WSFRAME_ERROR) {
      log_debug("WebSocket from %s: closing with %d: %s", c->req->remote_addr,
                ev.code, ev.reason);
      if (ws->state == WS_OPEN)
        ws_send_close(ws, ev.code, ev.reason, ev.reason_len);
      ws_finish(ws, ev.code, ev.reason, ev.reason_len);
    }
  }
}

/* From conn_process(): new input, or output written. */
void ws_input(struct conn *c) {
  mc_ws *ws = c->ws;

  /* New input, or back in a WebSocket phase after output waited for the
   * client (TIMER_SEND): the idle or close deadline starts again. */
  if (c->timer_kind != TIMER_SEND &&
      ((c->timer_kind != TIMER_WS && c->timer_kind != TIMER_WS_CLOSE) ||
       c->rpos < c->rlen)) {
    if (ws->state == WS_OPEN) {
      if (c->rpos < c->rlen)
        ws->ping_out = 0;
      ws_arm_idle(ws);
    } else if (ws->state == WS_CLOSE_SENT) {
      conn_set_timer(c, TIMER_WS_CLOSE, WS_CLOSE_TIMEOUT_MS);
    }
  }
  for (;;) {
    ws_parse(ws);
    if (ws->state == WS_DONE || c->closing || c->rpos == c->rlen)
      break;
    /* The queue is full: written now; reading goes on if it empties at
     * once, else when the write completes (conn_on_write() comes back
     * here), since no callback would come for a queue that emptied. */
    conn_flush(c);
    if (c->closing || conn_queued(c) > CONN_QUEUE_LOW)
      break;
  }
  if (ws->state == WS_DONE)
    c->rpos = c->rlen; /* whatever follows the end is not read */
}

void ws_on_timer(struct conn *c) {
  mc_ws *ws = c->ws;

  if (ws->state == WS_OPEN && !ws->ping_out) {
    ws->ping_out = 1;
    ws_arm_idle(ws);
    ws_send_frame(ws, WSFRAME_PING, NULL, 0);
  } else if (ws->state == WS_OPEN) {
    log_debug("WebSocket from %s: idle for %llu ms, closing",
              c->req->remote_addr, (unsigned long long)ws->idle_ms);
    ws_send_close(ws, WS_CLOSE_GOING_AWAY, "idle timeout", 12);
  } else {
    /* The client did not answer the close frame, or did not read it. */
    ws_finish(ws, WS_CLOSE_ABNORMAL, "", 0);
    conn_close(c);
  }
}

void ws_release(struct conn *c) {
  mc_ws *ws = c->ws;

  if (!ws->told_close)
    ws_finish(ws, WS_CLOSE_ABNORMAL, "", 0);
  c->ws = NULL;
  free(ws->msg.data);
  free(ws);
}

/* c->next is read after the handler: it may end other responses, and a
 * conn whose client had gone is released (freed, in a stopping worker) as
 * soon as its response ends; c itself was open, and a conn is closed only
 * on a later turn of the loop. */
void ws_stop_all(struct worker *w) {
  for (struct conn *c = w->active; c != NULL; c = c->next) {
    mc_ws *ws = c->ws;
    if (ws == NULL || ws->state != WS_OPEN || ws->told_shutdown || c->closing)
      continue;
    ws->told_shutdown = 1;
    if (ws->h.on_shutdown != NULL)
      ws_call(ws, H_SHUTDOWN);
    if (ws->state == WS_OPEN)
      ws_send_close(ws, WS_CLOSE_GOING_AWAY, "going away", 10);
  }
}

/* ---- the handshake ---- */

/* Answers the upgrade request with an error and no WebSocket. */
static mc_ws *ws_refuse(mc_response *res, int status, const char *why) {
  struct conn *c = res->c;
  char body[160];
  int n = snprintf(body, sizeof body, "%d %s: %s\n", status,
                   http_status_reason(status), why);

  log_debug("refusing a WebSocket from %s with %d: %s", c->req->remote_addr,
            status, why);
  /* The client may already be sending frames: they must not be read as
   * HTTP. */
  c->req->keep_alive = 0;
  res->hlen = 0;
  mc_response_header(res, "Content-Type", "text/plain");
  if (status ==
      MC_STATUS_UPGRADE_REQUIRED) { /* RFC 9110, 15.5.22, and RFC 6455, 4.4 */
    mc_response_header(res, "Upgrade", "websocket");
    mc_response_header(res, "Sec-WebSocket-Version", "13");
  }
  mc_response_send(res, status, body, (size_t)n);
  return NULL;
}

/* The 101, with the plugin's headers (a Sec-WebSocket-Protocol). The
 * response is then finished, without conn_response_done(): no request
 * follows on this connection. */
static int ws_switch(mc_response *res, const char *accept) {
  struct conn *c = res->c;
  char head[CONN_RES_HEADERS_SIZE + 256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 101 Switching Protocols\r\nServer: mchost\r\n"
                   "%s%.*sUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n",
                   worker_date(c->w), (int)res->hlen, res->headers, accept);
  uv_buf_t b = uv_buf_init(head, (unsigned)n);

  res->status = MC_STATUS_SWITCHING_PROTOCOLS;
  res->head_sent = 1;
  res->state = RES_DONE;
  if (c->w->access.fd >= 0)
    access_record(&c->w->access, c);
  res->state = RES_IDLE;
  uv_timer_stop(&c->x->later);
  return conn_output(c, &b, 1);
}

MC_EXTERN mc_ws *mc_websocket_accept(mc_response *res,
                                     const struct mc_ws_handlers *h,
                                     void *data) {
  struct conn *c = res->c;
  char accept[WSHANDSHAKE_ACCEPT_LEN + 1];
  const char *why;
  int status;
  mc_ws *ws;

  if (res->state != RES_HANDLER && res->state != RES_DEFERRED)
    return NULL;
  if (h == NULL || h->on_message == NULL) {
    log_error("%s %s: mc_websocket_accept() needs handlers with on_message",
              c->req->method, c->req->target);
    return ws_refuse(res, MC_STATUS_INTERNAL_SERVER_ERROR, "no handlers");
  }
  if ((status = wshandshake_check(c->req, accept, &why)) != 0)
    return ws_refuse(res, status, why);
  if (c->w->stopping || c->closing)
    return ws_refuse(res, MC_STATUS_SERVICE_UNAVAILABLE,
                     "the worker is stopping");
  if ((ws = calloc(1, sizeof *ws)) == NULL)
    return ws_refuse(res, MC_STATUS_SERVICE_UNAVAILABLE, "out of memory");
  ws->c = c;
  ws->h = *h;
  ws->data = data;
  ws->state = WS_OPEN;
  ws->idle_ms = c->w->cfg->ws_idle_timeout_ms;
  wsframe_init(&ws->parser, c->w->cfg->ws_max_message);
  c->ws = ws;
  ws_switch(res, accept);
  ws_arm_idle(ws);
  if (!c->in_process) {
    /* accepted from a deferred response: the frames that came meanwhile
     * are read on the next turn of the loop, outside this callback */
    conn_flush(c);
    if (c->rpos < c->rlen)
      conn_set_timer(c, TIMER_RESUME, 0);
  }
  return ws;
}

/* ---- the rest of the SDK ---- */

/* conn_on_drain(): the queue is down to CONN_QUEUE_LOW after mc_ws_send()
 * said -EAGAIN, or the connection closed (on_close says that). */
static void ws_on_conn_drain(struct conn *c) {
  mc_ws *ws = c->ws;
  if (ws != NULL && !c->closing && ws->state == WS_OPEN &&
      ws->h.on_drain != NULL)
    ws_call(ws, H_DRAIN);
}

MC_EXTERN int mc_ws_send(mc_ws *ws, int type, const void *msg, size_t len) {
  uint32_t utf8 = 0;

  if ((type != MC_WS_TEXT && type != MC_WS_BINARY) || (msg == NULL && len > 0))
    return -EINVAL;
  if (type == MC_WS_TEXT && (wsframe_utf8(&utf8, msg, len) != 0 || utf8 != 0))
    return -EINVAL;
  if (ws->state != WS_OPEN || ws->c->closing)
    return -EPIPE;
  if (conn_queued(ws->c) >= CONN_QUEUE_HIGH) {
    conn_on_drain(ws->c, ws_on_conn_drain);
    return -EAGAIN;
  }
  return ws_send_frame(ws, type, msg, len);
}

MC_EXTERN int mc_ws_close(mc_ws *ws, int code, const char *reason) {
  size_t len = reason != NULL ? strlen(reason) : 0;
  uint32_t utf8 = 0;

  if ((code != 0 && !wsframe_close_code_ok(code)) ||
      len > WSFRAME_CONTROL_MAX - 2 || (code == 0 && len > 0) ||
      wsframe_utf8(&utf8, (const uint8_t *)reason, len) != 0 || utf8 != 0)
    return -EINVAL;
  if (ws->state != WS_OPEN)
    return -EALREADY;
  ws_send_close(ws, code, reason, len);
  return 0;
}

MC_EXTERN size_t mc_ws_queued(const mc_ws *ws) { return conn_queued(ws->c); }

MC_EXTERN int mc_ws_set_max_message(mc_ws *ws, size_t max) {
  if (ws->state == WS_DONE)
    return -EPIPE;
  ws->parser.max_message = max;
  return 0;
}

MC_EXTERN int mc_ws_set_idle_timeout(mc_ws *ws, unsigned ms) {
  if (ws->state == WS_DONE)
    return -EPIPE;
  ws->idle_ms = ms;
  ws->ping_out = 0;
  if (ws->state == WS_OPEN)
    ws_arm_idle(ws);
  return 0;
}

MC_EXTERN const mc_request *mc_ws_request(const mc_ws *ws) {
  return ws->c->req;
}
