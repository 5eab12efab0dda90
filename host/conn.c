/*
 * conn.c - one HTTP/1.1 connection on the worker's loop.
 *
 * Reading: libuv reads into the worker's input buffer (or, when part of a
 * request is still unparsed, into the conn's own: exchange.c); llhttp
 * (strict, no lenient flags) parses it, and its callbacks (parse.c) copy
 * the request line and headers into the exchange's header buffer, so
 * nothing points into the input buffer once a read is parsed.
 * on_message_complete pauses the parser, and the request is handed to the
 * plugin outside llhttp's stack: a crash guard jump never crosses the parser,
 * and pipelined requests are answered strictly in order, one at a time.
 *
 * Writing: see write.c.
 *
 * No heap allocation per request: a request's buffers come from the
 * worker's spare exchanges, and conns are pooled by the worker.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "body.h"
#include "client.h"
#include "fetch.h"
#include "http_status.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "request.h"
#include "sock.h"
#include "worker.h"
#include "ws.h"

/* How long a closing connection drains what the client still sends, so
 * that an error response is not destroyed by a reset (nginx's lingering
 * close). */
#define LINGER_MS 2000

static void conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void conn_on_close(uv_handle_t *h);

void conn_abort_stream(struct conn *c) {
  mc_response *res = c->res;

  c->drain = NULL;
  res->drain_cb = NULL;
  if (c->committed <= res->start) {
    c->out.len = (size_t)(res->start - c->committed);
    res->state = RES_HANDLER; /* as if nothing had been sent: 500 */
    res->head_sent = 0;
    return;
  }
  res->state = RES_IDLE;
  c->close_after = 1;
  c->req->keep_alive = 0;
  if (!c->in_process)
    conn_flush(c);
}

/* ---- reading ---- */

/* exchange_keep_rest(), with the common case inline: nothing left, in the
 * worker's buffer, where c->rbuf may stay (nothing in it is c's). */
static void keep_rest(struct conn *c) {
  if (c->rbuf != NULL && (c->rpos < c->rlen || c->rbuf != c->w->input))
    exchange_keep_rest(c);
}

static void conn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct conn *c = container_of(h, struct conn, tcp);
  static char discard[4096]; /* lingering: bytes to throw away */
  (void)hint;

  if (c->timer_kind == TIMER_LINGER) {
    *buf = uv_buf_init(discard, sizeof discard);
    return;
  }
  *buf = exchange_read_buffer(c);
}

static void conn_update_reading(struct conn *c) {
  if (c->detached)
    return;
  int want = !c->closing && (c->timer_kind == TIMER_LINGER ||
                             c->rlen < CONN_READ_SIZE || c->rpos > 0);
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) == 0)
      c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

static void conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct conn *c = container_of(s, struct conn, tcp);

  if (n > 0) {
    if (c->timer_kind == TIMER_LINGER)
      return;
    if (c->rbuf == NULL || c->rbuf == c->w->input) /* the worker's buffer */
      c->rbuf = buf->base;
    c->rlen += (size_t)n;
    if (!c->proxy_wait || client_read_proxy(c) == 0)
      conn_process(c); /* which keeps what is left unparsed */
    else
      keep_rest(c);
    return;
  }
  if (n == 0)
    return;
  /* EOF or error: the client is gone, whatever the plugin still does. */
  if (c->res->state != RES_IDLE && c->res->state != RES_DONE)
    c->res->aborted = 1;
  conn_close(c);
}

/* A new connection is read from at once, before the loop watches it: a
 * client usually sends its request right after connecting (a browser, a
 * proxy, a load generator), so it is already in the socket when the
 * connection is accepted. Served now, a request that ends its connection
 * (Connection: close, HTTP/1.0) costs accept, read, write and close, and
 * its socket never joins the loop's epoll set; nothing there yet costs one
 * read() that finds nothing, and the loop watches the socket as usual
 * (nginx's `listen ... deferred` gets the same from the kernel). */
static void conn_read_now(struct conn *c, int fd) {
  uv_buf_t buf;
  ssize_t n;

  conn_on_alloc((uv_handle_t *)&c->tcp, 0, &buf);
  if (buf.base == NULL)
    return; /* out of memory: the loop's read reports it */
  do
    n = read(fd, buf.base, buf.len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  conn_on_read((uv_stream_t *)&c->tcp,
               n > 0    ? n
               : n == 0 ? UV_EOF
                        : -errno,
               &buf);
}

/* ---- processing ---- */

/* After a batch of output went to the kernel: a writer waiting for room
 * goes on (conn_on_drain()). */
static void conn_check_drain(struct conn *c) {
  void (*drain)(struct conn *) = c->drain;
  if (drain != NULL && !c->closing && conn_queued(c) <= CONN_QUEUE_LOW) {
    c->drain = NULL;
    drain(c);
  }
}

/* With --crash-dir, the bytes llhttp has just parsed, from `start`, join
 * the current request's copy (a bundle needs them as received; the input
 * buffer is reused as the request is parsed). A request's bytes begin
 * after the previous request was dispatched. */
static void keep_raw(struct conn *c, const char *start) {
  size_t n = (size_t)(c->rbuf + c->rpos - start);
  const struct config *cfg = c->w->cfg;

  if (c->raw_done) {
    c->x->raw.len = 0;
    c->raw_done = 0;
  }
  /* a chunked body's framing on top of --max-body */
  if (c->x->raw.len + n <= cfg->max_header_size + cfg->max_body + 65536)
    buf_append(&c->x->raw, start, n);
}

static void dispatch(struct conn *c) {
  struct worker *w = c->w;
  c->request_ready = 0;
  c->raw_done = 1;
  c->requests++;
  c->started_ns = uv_hrtime(); /* for the access log and the metrics */
  if (++w->served == w->max_requests)
    worker_retire(w);
  if (w->board != NULL) {
    struct board_slot *s = &w->board->slot[w->slot];
    __atomic_store_n(&s->requests, w->served, __ATOMIC_RELAXED);
    metrics_inflight(s, 1);
    c->inflight = 1;
  }
  response_reset(c->res, c);
  request_reset(c->req);
  c->res->head_only = c->parser.method == HTTP_HEAD;
  worker_call_plugin(c->w, c, NULL, NULL);
}

/* The request is malformed: answered with its error status, and the
 * connection ends (what follows cannot be trusted to be a request). */
static void conn_reject(struct conn *c, llhttp_errno_t err) {
  int status = parse_error_status(c, err);
  if (body_fail(c, status)) {
    c->rpos = c->rlen; /* a body the plugin reads, cut: it was told */
    return;
  }
  log_debug("rejecting a request from %s with %d: %s", c->req->remote_addr,
            status,
            c->error_status ? http_status_reason(status)
                            : llhttp_get_error_reason(&c->parser));
  c->rpos = c->rlen;
  c->started_ns = uv_hrtime();
  response_send_error(c, status);
}

/* Input is parsed for a request to come, or for a body the plugin reads
 * (even while its response is streamed, or after an answer that will end
 * the connection); a body piece asks for one more turn even on no new
 * input, for llhttp then owes the end of a Content-Length body. */
static int can_parse(const struct conn *c) {
  if (c->closing || c->writing || c->ws != NULL)
    return 0;
  if (body_reading(c))
    return c->rpos < c->rlen || c->body.kick;
  return !c->close_after && c->res->state == RES_IDLE && c->rpos < c->rlen;
}

void conn_process(struct conn *c) {
  if (c->in_process)
    return;
  c->in_process = 1;
  /* Bytes of a request arrived: it holds an exchange until answered. */
  if (c->x == NULL && c->rpos < c->rlen && !c->closing &&
      exchange_take(c) != 0) {
    log_warn("out of memory for a request from %s; closing its connection",
             c->peer_addr);
    c->in_process = 0;
    conn_close(c);
    return;
  }
  if (c->rbuf == NULL) /* a body's end owed with no input left */
    c->rbuf = exchange_read_buffer(c).base;
  while (can_parse(c)) {
    const char *start = c->rbuf + c->rpos;
    llhttp_errno_t err;

    if (c->chunk_line) {
      size_t len = c->rlen - c->rpos;
      int rc = parse_chunk_line(c->rbuf + c->rpos, &len);
      if (rc == -EAGAIN)
        break;
      c->rlen = c->rpos + len;
      if (rc < 0) {
        c->error_status = MC_STATUS_BAD_REQUEST;
        conn_reject(c, HPE_INVALID_CHUNK_SIZE);
        continue;
      }
      c->chunk_line = 0;
    }
    c->body.kick = 0;
    c->exec_end = c->rbuf + c->rlen;
    err = llhttp_execute(&c->parser, start, c->rlen - c->rpos);

    if (err == HPE_OK) {
      c->rpos = c->rlen;
      if (c->w->cfg->crash_dir != NULL)
        keep_raw(c, start);
    } else if (err == HPE_PAUSED) {
      /* at the end of a request or its head (a plugin that reads bodies
       * itself), before a chunk-size line, or at a piece of such a body */
      c->rpos += (size_t)(llhttp_get_error_pos(&c->parser) - start);
      if (c->w->cfg->crash_dir != NULL)
        keep_raw(c, start);
      llhttp_resume(&c->parser);
      if (c->request_ready)
        dispatch(c);
      else if (c->body.state != BODY_NONE)
        body_on_pause(c);
    } else if (err == HPE_PAUSED_UPGRADE) {
      /* llhttp stops here after on_message_complete of a request that
       * asked for an upgrade, at the same place, once the request has been
       * dispatched and answered: it is never dispatched again. The plugin
       * answered it as a plain request, which declines the upgrade (RFC
       * 9110, 7.8), so what follows is HTTP/1.1 again. */
      c->rpos += (size_t)(llhttp_get_error_pos(&c->parser) - start);
      llhttp_resume_after_upgrade(&c->parser);
    } else {
      conn_reject(c, err);
    }
  }
  /* A WebSocket from now on (ws.c), maybe since the request just
   * dispatched: what follows it are frames. */
  if (c->ws != NULL)
    ws_input(c);
  if (c->rpos == c->rlen)
    c->rpos = c->rlen = 0;
  /* Idle between requests, but no timer: llhttp skips the CRLFs after a
   * message without calling on_message_begin, so a response finished while
   * they were still unparsed armed no keep-alive timeout. */
  if (c->timer_kind == TIMER_NONE && c->res->state == RES_IDLE && !c->closing &&
      !c->close_after && c->rlen == 0)
    conn_set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
  c->in_process = 0;
  conn_flush(c);
  conn_update_reading(c);
  conn_check_drain(c);
  keep_rest(c);
  /* Answered, and nothing else in progress: the exchange goes back now
   * rather than when the connection has been idle for a while, for
   * exchanges freed in a burst would leave holes in the heap that no idle
   * connection uses but the worker's RSS still counts. */
  exchange_release_idle(c);
}

void conn_response_done(struct conn *c) {
  if (c->timer_kind == TIMER_REQUEST)
    conn_set_timer(c, TIMER_NONE, 0);
  c->res->state = RES_IDLE;
  if (c->fetches != NULL)
    fetch_conn_changed(c);
  if (c->body.state != BODY_NONE)
    body_on_response_done(c);
  if (!c->req->keep_alive || c->w->stopping)
    c->close_after = 1;
  if (c->closing) {
    /* The client left while the plugin held the response: the conn was
     * parked until now, and is released once its handles are closed. */
    uv_timer_stop(&c->x->later);
    if (c->handles_open == 0)
      worker_conn_release(c->w, c);
    return;
  }
  if (c->in_process) {
    if (!c->close_after && c->rpos == c->rlen)
      conn_set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
  } else {
    conn_set_timer(c, TIMER_RESUME, 0);
  }
}

/* ---- lifecycle ---- */

static void conn_on_shutdown(uv_shutdown_t *req, int status) {
  struct conn *c = req->data;
  if (status < 0)
    conn_close(c);
}

/* The server ends the connection, its output all handed to the kernel.
 * When the client said its request was its last and nothing of it is left
 * unparsed, no more is coming: close at once, as nginx does. Otherwise the
 * client may still be sending (a body the server refused, a pipelined
 * request, a keep-alive request racing a drain), and closing a socket with
 * unread data makes the kernel send a reset, which can destroy the response
 * before the client reads it (RFC 9112, 9.6). So: half-close, and read and
 * drop until the client closes too or LINGER_MS pass. Closing at once saves
 * a connection-per-request client a shutdown(), a read() and a wakeup for
 * the client's FIN, and frees the conn at once. */
void conn_linger(struct conn *c) {
  if (c->timer_kind == TIMER_LINGER || c->closing)
    return;
  if (c->last_request && c->rpos == c->rlen) {
    conn_close(c);
    return;
  }
  conn_set_timer(c, TIMER_LINGER, LINGER_MS);
  c->x->sreq.data = c;
  if (uv_shutdown(&c->x->sreq, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0)
    conn_close(c);
}

static void conn_on_close(uv_handle_t *h) {
  struct conn *c = h->data;
  void (*drain)(struct conn *) = c->drain;

  /* A writer waiting for the queue to drain learns that it never will.
   * Called while this handle still counts as open, so that the hook may
   * finish the response without the conn being released under it. */
  if (h == (uv_handle_t *)&c->tcp && drain != NULL) {
    c->drain = NULL;
    drain(c);
  }
  body_on_closed(c);
  if (--c->handles_open > 0)
    return;
  if (c->ws != NULL)
    ws_release(c);
  if (c->res->state == RES_IDLE || c->res->state == RES_DONE ||
      c->res->state == RES_ABANDONED)
    worker_conn_release(c->w, c);
}

void conn_close(struct conn *c) {
  if (c->closing)
    return;
  c->closing = 1;
  c->reading = 0;
  c->w->nclosing++;
  if (c->fetches != NULL)
    fetch_conn_changed(c);
  body_on_close(c);
  if (c->res->state == RES_FILE) /* before the socket: it holds a dup */
    file_conn_closing(c);
  sock_close(&c->tcp, conn_on_close);
  /* A pending mc_response_later() (in the exchange) still fires: the
   * plugin must be able to finish (and forget) its response even though
   * nobody reads it. */
  uv_close((uv_handle_t *)&c->timer, conn_on_close);
}

static void conn_reset(struct conn *c, struct worker *w) {
  c->w = w;
  c->closing = c->close_after = c->reading = c->writing = 0;
  c->in_process = c->request_ready = c->orphaned = c->last_request = 0;
  c->chunk_line = 0;
  c->inflight = 0;
  c->error_status = 0;
  c->requests = 0;
  c->rbuf = NULL;
  c->rpos = c->rlen = 0;
  c->field_start = SIZE_MAX;
  c->out = (struct buf){NULL, 0, 0};
  c->committed = 0;
  c->nodelay = 0;
  c->drain = NULL;
  c->fetches = NULL;
  c->in_message = c->work_pending = 0;
  exchange_idle(c);
  c->timer_kind = TIMER_NONE;
  c->deadline = NO_DEADLINE;
  c->ws = NULL;
  c->body.state = BODY_NONE;
  c->phase_start = NO_DEADLINE;
  c->raw_done = c->detached = 0;
}

int conn_start(struct conn *c, struct worker *w, int fd,
               const struct sockaddr *peer) {
  int err;

  conn_reset(c, w);
  if ((err = uv_tcp_init(&w->loop, &c->tcp)) != 0)
    return close(fd), err;
  uv_timer_init(&w->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  if ((err = sock_adopt(&c->tcp, fd)) != 0) {
    conn_close(c);
    return err;
  }
  if (client_start(c, peer) != 0) { /* refused, and logged */
    conn_close(c);
    return 0;
  }
  llhttp_init(&c->parser, HTTP_REQUEST, &w->settings);
  c->parser.data = c;
  rate_begin_head(c);
  conn_read_now(c, fd);
  conn_update_reading(c);
  return 0;
}

int conn_start_detached(struct conn *c, struct worker *w) {
  conn_reset(c, w);
  snprintf(c->peer_addr, sizeof c->peer_addr, "replay");
  c->peer_scheme = "http";
  /* Its input and output stay with it: no read buffer to share, and the
   * output is read by the caller. */
  if ((c->rbuf = malloc(CONN_READ_SIZE)) == NULL || exchange_take(c) != 0) {
    free(c->rbuf);
    c->rbuf = NULL;
    return UV_ENOMEM;
  }
  c->detached = 1;
  uv_timer_init(&w->loop, &c->timer);
  c->timer.data = c;
  c->handles_open = 1;
  llhttp_init(&c->parser, HTTP_REQUEST, &w->settings);
  c->parser.data = c;
  return 0;
}

size_t conn_feed(struct conn *c, const char *data, size_t len) {
  size_t room;
  if (c->rpos > 0 && c->rpos == c->rlen)
    c->rpos = c->rlen = 0;
  room = CONN_READ_SIZE - c->rlen;
  if (len > room)
    len = room;
  memcpy(c->rbuf + c->rlen, data, len);
  c->rlen += len;
  conn_process(c);
  return len;
}
