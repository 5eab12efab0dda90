/*
 * body.c - a request body the plugin reads itself (MC_PLUGIN_READS_BODY()).
 *
 * In such a plugin, a request with a body reaches mc_run() at the end of
 * its head: on_headers_complete pauses llhttp and conn.c dispatches, with
 * nothing of the body parsed yet. The plugin then takes the body
 * (mc_request_read_body(), mc_request_buffer_body()), or answers without
 * it. Taken, the body is parsed as it arrives: on_body pauses llhttp at
 * each piece, so that conn.c hands the piece to the plugin outside
 * llhttp's stack and under the guard, straight from the conn's input
 * buffer. A plugin that pauses stops the parsing; the input buffer fills,
 * conn.c stops reading the socket, and TCP stops the client: 64 KiB per
 * connection whatever the body's size.
 *
 * The end (on_end) comes once: from the parser at the end of the message,
 * from conn.c when the body is cut (limit, rate, framing, client gone), or
 * from the conn's TIMER_RESUME when the plugin's own call decided it
 * (a body already complete, or refused by its length). Never from inside
 * a plugin's call: a plugin is not re-entered from an SDK function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "conn.h"
#include "log.h"
#include "parse.h"
#include "worker.h"

/* ---- buffering ---- */

int body_append(mc_request *req, const char *at, size_t len) {
  /* one byte more: the body is kept NUL-terminated */
  if (buf_grow(&req->body, &req->body_cap, req->body_len + len + 1, 4096) != 0)
    return -ENOMEM;
  memcpy(req->body + req->body_len, at, len);
  req->body_len += len;
  return 0;
}

/* A body of known length gets its whole buffer at once, not by doubling
 * (and copying) as it arrives. */
int body_reserve(mc_request *req, uint64_t len) {
  char *nb;
  if (len + 1 <= req->body_cap)
    return 0;
  if (len >= SIZE_MAX || (nb = realloc(req->body, (size_t)len + 1)) == NULL)
    return -ENOMEM;
  req->body = nb;
  req->body_cap = (size_t)len + 1;
  return 0;
}

void body_log_too_large(const struct conn *c, uint64_t size, uint64_t limit,
                        const char *which) {
  log_info("413 for '%s %.200s' from %s: a body of at least %llu bytes, "
           "above %s (%llu bytes)",
           c->req->method ? c->req->method : "-",
           c->req->target ? c->req->target : "-", c->req->remote_addr,
           (unsigned long long)size, which, (unsigned long long)limit);
}

/* ---- the plugin's callbacks, under the guard ---- */

static void data_thunk(void *arg) {
  struct conn *c = arg;
  struct body *b = &c->body;
  b->on_data(c->req, c->res, b->piece, b->piece_len, b->arg);
}

static void end_thunk(void *arg) {
  struct conn *c = arg;
  struct body *b = &c->body;
  b->on_end(c->req, c->res, b->error, b->arg);
}

/* Hands over the piece in b->piece. Returns 0, or non-zero after a fault
 * (answered by worker_guard_call(); the body is over). */
static int deliver_piece(struct conn *c) {
  struct body *b = &c->body;
  int rc = worker_guard_call(c->w, c, data_thunk, c);
  b->piece_len = 0;
  if (rc != 0)
    b->state = BODY_ENDED;
  return rc;
}

static int error_of(int status) {
  switch (status) {
  case 0:
    return 0;
  case MC_STATUS_REQUEST_TIMEOUT:
    return -ETIMEDOUT;
  case MC_STATUS_CONTENT_TOO_LARGE:
    return -EMSGSIZE;
  case MC_STATUS_INTERNAL_SERVER_ERROR:
    return -ENOMEM;
  default:
    return -EPROTO;
  }
}

/* The body is over (BODY_DUE): on_end, then the host's answer to a body
 * cut short if the plugin gave none. */
static void body_end(struct conn *c) {
  struct body *b = &c->body;
  mc_response *res = c->res;

  if (b->state != BODY_DUE)
    return;
  b->state = BODY_ENDED;
  /* A body cut short is not there (mc_request_body() gives ""). */
  if (b->error != 0)
    c->req->body_len = 0;
  if (c->req->body != NULL)
    c->req->body[c->req->body_len] = '\0';
  /* A body buffered before mc_run(), read as a stream: one piece. */
  if (b->buffered && b->on_data != NULL && b->error == 0 &&
      c->req->body_len > 0) {
    b->piece = c->req->body;
    b->piece_len = c->req->body_len;
    if (deliver_piece(c) != 0 || res->state == RES_IDLE)
      return;
  }
  if (worker_guard_call(c->w, c, end_thunk, c) != 0)
    return;
  if (b->error == 0) {
    conn_watch_deferred(c); /* --request-timeout, from now */
    return;
  }
  if (res->state == RES_HANDLER || res->state == RES_DEFERRED) {
    uv_timer_stop(&c->x->later);
    response_send_error(c, b->status);
  } else if (res->state == RES_STREAMING) {
    conn_close(c);
  }
}

/* ---- the SDK ---- */

static void reset(struct body *b, enum body_state state) {
  b->state = state;
  b->paused = b->buffered = b->kick = 0;
  b->error = b->status = 0;
  b->received = 0;
  b->piece_len = 0;
  b->on_data = NULL;
  b->on_end = NULL;
  b->arg = NULL;
}

/* Ends the body now with `status` (0: whole), on_end to follow. */
static void due(struct body *b, int status) {
  b->state = BODY_DUE;
  b->status = status;
  b->error = error_of(status);
}

static int take(mc_request *req, uint64_t max, mc_body_data_fn *on_data,
                mc_body_end_fn *on_end, void *arg, enum body_state how) {
  struct conn *c = req->c;
  struct body *b = &c->body;
  mc_response *res = c->res;
  const llhttp_t *p = &c->parser;

  if (on_end == NULL || (how == BODY_STREAM && on_data == NULL))
    return -EINVAL;
  if ((res->state != RES_HANDLER && res->state != RES_DEFERRED &&
       res->state != RES_STREAMING) ||
      (b->state != BODY_NONE && b->state != BODY_WAITING))
    return -EALREADY;
  if (c->closing)
    return -EPIPE;
  if (max == 0)
    max = c->w->cfg->max_body;
  if (b->state == BODY_NONE) {
    /* Buffered before mc_run() (or none): it ends at once. */
    reset(b, BODY_DUE);
    b->buffered = 1;
    due(b, 0);
    if (req->body_len > max) {
      body_log_too_large(c, req->body_len, max, "the plugin's limit");
      due(b, MC_STATUS_CONTENT_TOO_LARGE);
    }
  } else {
    reset(b, how);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > max) {
      body_log_too_large(c, p->content_length, max, "the plugin's limit");
      due(b, MC_STATUS_CONTENT_TOO_LARGE);
    } else {
      if (how == BODY_BUFFER && (p->flags & F_CONTENT_LENGTH) &&
          body_reserve(req, p->content_length) != 0)
        due(b, MC_STATUS_INTERNAL_SERVER_ERROR);
      if (b->state == how && b->expect) {
        parse_send_continue(c);
        b->expect = 0;
      }
      rate_begin_body(c);
    }
  }
  b->limit = max;
  b->on_data = on_data;
  b->on_end = on_end;
  b->arg = arg;
  if (res->state == RES_HANDLER)
    res->state = RES_DEFERRED;
  /* Outside conn_process() (a later callback), or with an end to
   * deliver: the conn's timer goes on from the loop (body_on_resume()). */
  if (b->state == BODY_DUE || !c->in_process)
    conn_set_timer(c, TIMER_RESUME, 0);
  return 0;
}

MC_EXTERN int mc_request_read_body(mc_request *req, uint64_t max_bytes,
                                   mc_body_data_fn *on_data,
                                   mc_body_end_fn *on_end, void *arg) {
  return take(req, max_bytes, on_data, on_end, arg, BODY_STREAM);
}

MC_EXTERN int mc_request_buffer_body(mc_request *req, uint64_t max_bytes,
                                     mc_body_end_fn *on_complete, void *arg) {
  return take(req, max_bytes, NULL, on_complete, arg, BODY_BUFFER);
}

MC_EXTERN void mc_request_pause(mc_request *req) {
  struct conn *c = req->c;
  struct body *b = &c->body;

  if (b->state != BODY_STREAM || b->paused)
    return;
  b->paused = 1;
  b->paused_at = uv_now(&c->w->loop);
  /* The plugin holds the body: bounded like a deferred response. */
  conn_set_timer(c, TIMER_NONE, 0);
  conn_watch_deferred(c);
}

MC_EXTERN void mc_request_resume(mc_request *req) {
  struct conn *c = req->c;
  struct body *b = &c->body;

  if (b->state != BODY_STREAM || !b->paused)
    return;
  b->paused = 0;
  /* The rate's clock stood still while the plugin held the body. */
  c->phase_start += uv_now(&c->w->loop) - b->paused_at;
  if (c->in_process)
    rate_arm_body(c);
  else
    conn_set_timer(c, TIMER_RESUME, 0);
}

/* ---- the parser's side (parse.c) ---- */

int body_head_complete(struct conn *c) {
  reset(&c->body, BODY_WAITING);
  /* A response given before the body is read whole ends the connection:
   * the rest of the body is never parsed. Set again at the end. */
  c->req->keep_alive = 0;
  c->request_ready = 1;
  conn_set_timer(c, TIMER_NONE, 0);
  return HPE_PAUSED;
}

int body_on_piece(struct conn *c, const char *at, size_t len) {
  struct body *b = &c->body;

  if (len == 0 || (b->state != BODY_STREAM && b->state != BODY_BUFFER))
    return 0;
  if (len > b->limit - b->received) {
    body_log_too_large(c, b->received + len, b->limit, "the plugin's limit");
    due(b, MC_STATUS_CONTENT_TOO_LARGE);
    return HPE_PAUSED;
  }
  b->received += len;
  if (b->state == BODY_BUFFER) {
    if (body_append(c->req, at, len) == 0)
      return 0;
    due(b, MC_STATUS_INTERNAL_SERVER_ERROR);
    return HPE_PAUSED;
  }
  b->piece = at;
  b->piece_len = len;
  return HPE_PAUSED;
}

int body_message_complete(struct conn *c) {
  struct body *b = &c->body;
  int keep = llhttp_should_keep_alive(&c->parser);

  if (b->state == BODY_STREAM || b->state == BODY_BUFFER)
    due(b, 0);
  if (c->req->body != NULL)
    c->req->body[c->req->body_len] = '\0';
  c->req->keep_alive = keep && !c->w->stopping;
  c->last_request = !keep;
  conn_set_timer(c, TIMER_NONE, 0);
  return HPE_PAUSED;
}

/* ---- conn.c's side ---- */

void body_on_pause(struct conn *c) {
  struct body *b = &c->body;

  if (b->piece_len > 0) {
    b->kick = 1;
    deliver_piece(c);
  } else {
    body_end(c);
  }
}

int body_reading(const struct conn *c) {
  return (c->body.state == BODY_STREAM || c->body.state == BODY_BUFFER) &&
         !c->body.paused;
}

int body_on_resume(struct conn *c) {
  if (c->body.state == BODY_DUE) {
    body_end(c);
    return 1;
  }
  if (!body_reading(c))
    return 0;
  rate_arm_body(c);
  return 1;
}

int body_fail(struct conn *c, int status) {
  struct body *b = &c->body;
  if (b->state != BODY_STREAM && b->state != BODY_BUFFER)
    return 0;
  due(b, status);
  body_end(c);
  return 1;
}

void body_on_close(struct conn *c) {
  struct body *b = &c->body;
  if (b->state == BODY_STREAM || b->state == BODY_BUFFER) {
    due(b, MC_STATUS_BAD_REQUEST);
    b->error = -ECONNRESET;
  }
}

void body_on_closed(struct conn *c) {
  if (c->body.state == BODY_DUE)
    body_end(c);
}

void body_on_response_done(struct conn *c) { c->body.state = BODY_ENDED; }
