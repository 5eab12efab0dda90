/*
 * deadline.c - a conn's one timer: the phases of a connection and what
 * happens when one outlasts its deadline.
 *
 * Waiting for a request: --header-timeout (408), --keepalive-timeout
 * between requests, a lingering close. Waiting for the plugin: a deferred
 * response must start within its deadline (--request-timeout, or
 * mc_response_timeout()), a streamed one must write within its idle limit
 * (--stream-timeout, or mc_response_timeout()). Waiting for the client:
 * while output is queued it must take some every --send-timeout. A plugin
 * that misses its deadline with nothing sent is stuck (a lost callback, a
 * hung mc_work()): 503, and the worker retires. A stream that stalls, or a
 * client that reads nothing, only loses its connection.
 */
#include <errno.h>

#include "body.h"
#include "client.h"
#include "conn.h"
#include "fault.h"
#include "log.h"
#include "worker.h"
#include "ws.h"

static void deadline_passed(struct conn *c);
static void deadline_wait_client(struct conn *c, enum conn_timer expired);

static void deadline_on_timer(uv_timer_t *t) {
  struct conn *c = container_of(t, struct conn, timer);
  enum conn_timer kind = c->timer_kind;
  uint64_t now = uv_now(t->loop);

  /* Armed for an earlier phase (see conn_set_timer()): wait for this one. */
  if (c->deadline == NO_DEADLINE)
    return;
  if (now < c->deadline) {
    uv_timer_start(t, deadline_on_timer, c->deadline - now, 0);
    return;
  }
  c->timer_kind = TIMER_NONE;
  c->deadline = NO_DEADLINE;
  /* Output waits for the client: whatever phase ended, the client's own
   * pace decides now (a slow download is not cut by a keep-alive or
   * response deadline, and a slow client is not the plugin's fault). Not
   * for a close, lingering or a WebSocket's, which is the end of that
   * pace. */
  if (c->writing && kind != TIMER_LINGER && kind != TIMER_RESUME &&
      kind != TIMER_WS_CLOSE) {
    deadline_wait_client(c, kind);
    return;
  }
  switch (kind) {
  case TIMER_HEADER:
  case TIMER_BODY:
    if (c->proxy_wait) {
      client_proxy_timeout(c);
      break;
    }
    /* The request was answered with an error already, which the client is
     * slow to read: a 408 would follow its Connection: close. */
    if (c->close_after && !body_reading(c)) {
      conn_close(c);
      break;
    }
    if (!rate_expired(c, kind, now))
      break;
    if (kind == TIMER_BODY && body_fail(c, MC_STATUS_REQUEST_TIMEOUT))
      break;
    if (c->res->state == RES_IDLE) {
      log_debug("closing a connection from %s: request not received in time",
                c->peer_addr);
      if (c->x == NULL && exchange_take(c) != 0) {
        conn_close(c);
        break;
      }
      c->started_ns = uv_hrtime();
      response_send_error(c, MC_STATUS_REQUEST_TIMEOUT);
      conn_flush(c);
    }
    break;
  case TIMER_KEEPALIVE:
  case TIMER_LINGER:
    conn_close(c);
    break;
  case TIMER_REQUEST:
    deadline_passed(c);
    break;
  case TIMER_WS:
  case TIMER_WS_CLOSE:
    ws_on_timer(c);
    break;
  case TIMER_SEND: /* the write completed meanwhile */
  case TIMER_RESUME:
    /* A response finished outside conn_process(), from a plugin callback:
     * the next request is dispatched here, not inside that callback. So
     * is a body the plugin took or resumed there (body.c). */
    if ((c->body.state == BODY_NONE || !body_on_resume(c)) && !c->close_after &&
        c->rpos == c->rlen)
      conn_set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
    conn_process(c);
    break;
  case TIMER_NONE:
    break;
  }
}

/* The libuv timer moves only when it would fire too late. A keep-alive
 * request passes through three or four phases, and each move is a removal
 * from libuv's timer heap and an insertion, a large share of a worker's
 * instructions per request (callgrind; docs/performance.md). A timer that
 * fires early finds a later deadline and waits again; one that finds no
 * deadline stays off. */
void conn_set_timer(struct conn *c, enum conn_timer kind, uint64_t ms) {
  uv_timer_t *t = &c->timer;

  c->timer_kind = kind;
  if (kind == TIMER_NONE || (ms == 0 && kind != TIMER_RESUME)) {
    c->deadline = NO_DEADLINE;
    return;
  }
  c->deadline = uv_now(t->loop) + ms;
  if (uv_is_active((uv_handle_t *)t) && uv_timer_get_due_in(t) <= ms)
    return;
  uv_timer_start(t, deadline_on_timer, ms, 0);
}

/* A deadline passed while output waits in the queue. The client must take
 * some of it every --send-timeout: if it took nothing since the last look,
 * it reads nothing and the connection ends (the plugin learns it from
 * mc_response_aborted(), -EPIPE and its drain callback); else look again
 * later. libuv reports no partial progress of a write, so this looks at the
 * queue when the timer fires. */
static void deadline_wait_client(struct conn *c, enum conn_timer expired) {
  uint64_t taken = conn_taken(c);

  if (expired == TIMER_SEND && taken == c->taken_mark) {
    log_debug("closing a connection from %s: it took nothing of its "
              "response for --send-timeout",
              c->peer_addr);
    if (c->res->state != RES_IDLE && c->res->state != RES_DONE)
      c->res->aborted = 1;
    conn_close(c);
    return;
  }
  c->taken_mark = taken;
  conn_set_timer(c, TIMER_SEND, c->w->cfg->send_timeout_ms);
}

/* From now on the client's pace decides, not an idle, response or
 * WebSocket deadline (see deadline_wait_client()); a request still being
 * received keeps its own, and so does a WebSocket's close: a client that
 * takes neither its data nor the close frame behind them is let go after
 * the close timeout, not after --send-timeout. */
void conn_wait_client(struct conn *c) {
  if (c->timer_kind == TIMER_NONE || c->timer_kind == TIMER_KEEPALIVE ||
      c->timer_kind == TIMER_REQUEST || c->timer_kind == TIMER_WS) {
    c->taken_mark = conn_taken(c);
    conn_set_timer(c, TIMER_SEND, c->w->cfg->send_timeout_ms);
  }
}

/* How long the plugin may take for its next step: start a deferred
 * response, or write the next piece of a streamed one. 0: no limit. */
static uint64_t response_limit(const struct conn *c) {
  const mc_response *res = c->res;
  if (res->timeout_ms != RES_TIMEOUT_DEFAULT)
    return res->timeout_ms;
  return res->state == RES_STREAMING ? c->w->cfg->stream_timeout_ms
                                     : c->w->cfg->request_timeout_ms;
}

void conn_watch_deferred(struct conn *c) {
  enum res_state st = c->res->state;
  if (st != RES_DEFERRED && st != RES_STREAMING && st != RES_WORK)
    return;
  /* A body being read for the plugin is bounded by its rate instead. */
  if (c->closing || c->timer_kind == TIMER_SEND ||
      c->timer_kind == TIMER_REQUEST || c->timer_kind == TIMER_RESUME ||
      body_reading(c))
    return;
  conn_set_timer(c, TIMER_REQUEST, response_limit(c));
}

void conn_response_progress(struct conn *c, int restart) {
  if (c->closing || c->timer_kind == TIMER_SEND)
    return;
  if (restart || c->timer_kind == TIMER_REQUEST)
    conn_set_timer(c, TIMER_REQUEST, response_limit(c));
}

/* The plugin missed its response's deadline. Nothing sent yet (deferred,
 * or waiting for mc_work()): the plugin is stuck or lost a callback. Its
 * client gets a 503, the conn is never reused (the plugin may still hold
 * the response and finish it one day, which must touch nobody else's
 * request), and the worker retires, as after a hung handler. A stream
 * that went quiet only loses its connection: the plugin learns it from
 * mc_response_aborted() and -EPIPE, and still ends the response, which
 * releases the conn. */
static void deadline_passed(struct conn *c) {
  mc_response *res = c->res;

  if (res->state == RES_STREAMING) {
    log_info("'%s %s' from %s: its stream wrote nothing for %llu ms "
             "(--stream-timeout or mc_response_timeout()); closing the "
             "connection",
             c->req->method, c->req->target, c->req->remote_addr,
             (unsigned long long)response_limit(c));
    res->aborted = 1;
    conn_close(c);
    return;
  }
  if (res->state != RES_DEFERRED && res->state != RES_WORK)
    return;
  /* logged by the master with the generation, and bundled with the
   * request when --crash-dir is on, like a hung handler */
  worker_report_request_fault(c->w, c, FAULT_DEADLINE, NULL,
                              res->state == RES_WORK ? "mc_work()" : NULL);
  uv_timer_stop(&c->x->later);
  c->orphaned = 1;
  response_send_error(c, MC_STATUS_SERVICE_UNAVAILABLE);
  res->state = RES_ABANDONED;
  res->aborted = 1;
  worker_taint(c->w,
               "a deferred response exceeded its deadline (--request-timeout)",
               TAINT_TIMEOUT);
}
