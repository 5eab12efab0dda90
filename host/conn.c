/*
 * conn.c - one HTTP/1.1 connection on the worker's loop.
 *
 * Reading: libuv reads into the conn's fixed input buffer; llhttp (strict,
 * no lenient flags) parses it; the callbacks copy the request line and
 * headers into the conn's header buffer, so nothing points into the input
 * buffer once a read is parsed. on_message_complete pauses the parser, and
 * the request is handed to the plugin outside llhttp's stack: a crash
 * guard jump never crosses the parser, and pipelined requests are answered
 * strictly in order, one at a time.
 *
 * Writing: responses are collected in `out` and written once per batch of
 * input with uv_try_write(): one write(2) for a keep-alive request, one for
 * a whole pipeline. What the socket does not take goes out with uv_write()
 * from `wout`, and no further request is dispatched until it is written:
 * a client that does not read its responses stops being read from.
 *
 * No heap allocation per request: buffers belong to the conn, and conns
 * are pooled by the worker.
 */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr) - offsetof(type, member)))

/* How long a closing connection drains what the client still sends, so
 * that an error response is not destroyed by a reset (nginx's lingering
 * close). */
#define LINGER_MS 2000
/* Responses at least this large are written straight from the plugin's
 * buffer instead of being copied into `out` first. */
#define DIRECT_WRITE_MIN 16384

static void conn_process(struct conn *c);
static void conn_abandon(struct conn *c);
static void conn_linger(struct conn *c);
static void conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void conn_on_close(uv_handle_t *h);

static struct conn *parser_conn(llhttp_t *p) { return p->data; }

static void set_timer(struct conn *c, enum conn_timer kind, uint64_t ms);
static int reject(struct conn *c, int status);

/* ---- parser callbacks: copy the head into hbuf ---- */

static int hbuf_put(struct conn *c, const char *at, size_t len, int status) {
  if (len >= c->hcap - c->hlen) {
    c->error_status = status;
    return -1;
  }
  memcpy(c->hbuf + c->hlen, at, len);
  c->hlen += len;
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  c->hlen = 0;
  c->req.nheaders = 0;
  c->req.body_len = 0;
  c->req.method = c->req.target = NULL; /* an error log line says "-" */
  c->req.version = 11;
  c->hosts = 0;
  c->expect = -1;
  c->got_bytes = 1;
  c->in_url = 0;
  c->in_value = 0;
  c->continue_sent = 0;
  /* --header-timeout bounds the whole head from its first byte: a client
   * that trickles one byte at a time cannot hold a connection forever. */
  if (c->timer_kind != TIMER_HEADER)
    set_timer(c, TIMER_HEADER, c->w->cfg->header_timeout_ms);
  return 0;
}

/* Method and version are known before the headers: a request rejected in
 * its headers is still logged with its request line. */
static int on_method_complete(llhttp_t *p) {
  parser_conn(p)->req.method = llhttp_method_name((llhttp_method_t)p->method);
  return 0;
}

static int on_version_complete(llhttp_t *p) {
  parser_conn(p)->req.version = p->http_minor == 0 ? 10 : 11;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  c->in_url = 1;
  return hbuf_put(c, at, len, 414);
}

static int on_url_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  const char *q;
  size_t target_len = c->hlen;

  if (hbuf_put(c, "", 1, 414) != 0)
    return -1;
  c->req.target = c->hbuf;
  /* The path is a NUL-terminated copy of the target up to '?', so that
   * both can be handed out as C strings. */
  q = memchr(c->hbuf, '?', target_len);
  c->req.query = q != NULL ? q + 1 : "";
  if (hbuf_put(c, c->hbuf, q != NULL ? (size_t)(q - c->hbuf) : target_len,
               414) != 0 ||
      hbuf_put(c, "", 1, 414) != 0)
    return -1;
  c->req.path = c->hbuf + target_len + 1;
  c->in_url = 0;
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  if (c->field_start == SIZE_MAX) {
    if (c->req.nheaders == CONN_MAX_HEADERS) {
      c->error_status = 431;
      return -1;
    }
    c->field_start = c->hlen;
  }
  return hbuf_put(c, at, len, 431);
}

static int on_header_field_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  const char *name = c->hbuf + c->field_start;
  size_t len = c->hlen - c->field_start;

  /* RFC 9112 5.1: whitespace between a field name and its colon must be
   * rejected, for proxies disagree on what the name is. */
  if (len == 0 || name[len - 1] == ' ' || name[len - 1] == '\t')
    return reject(c, 400);
  /* Spotted here, by length first, so that no request pays for a search */
  if (len == 6 && strncasecmp(name, "expect", 6) == 0)
    c->expect = (int)c->req.nheaders;
  else if (len == 4 && strncasecmp(name, "host", 4) == 0)
    c->hosts++;
  if (hbuf_put(c, "", 1, 431) != 0)
    return -1;
  c->req.headers[c->req.nheaders].name = c->hbuf + c->field_start;
  c->value_pieces = 0;
  c->req.headers[c->req.nheaders].value = c->hbuf + c->hlen;
  c->field_start = SIZE_MAX;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  /* An obs-fold (a value continued on a line that starts with a space) is
   * accepted by llhttp, which skips the line break and hands the rest over
   * as one more piece of the value. A value also comes in pieces when it
   * spans two reads, but then the earlier piece ended with the input. RFC
   * 9112 5.2 lets a server reject obs-fold: proxies unfold it differently. */
  if (c->value_pieces++ > 0 && !c->value_at_end)
    return reject(c, 400);
  c->value_at_end = at + len == c->exec_end;
  return hbuf_put(c, at, len, 431);
}

static int on_header_value_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  const char *start = c->req.headers[c->req.nheaders].value;
  /* llhttp skips leading whitespace; trailing whitespace is ours to drop. */
  while (c->hbuf + c->hlen > start &&
         (c->hbuf[c->hlen - 1] == ' ' || c->hbuf[c->hlen - 1] == '\t'))
    c->hlen--;
  if (hbuf_put(c, "", 1, 431) != 0)
    return -1;
  c->req.nheaders++;
  return 0;
}

static int reject(struct conn *c, int status) {
  c->error_status = status;
  return -1;
}

static int on_headers_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  mc_request *req = &c->req;
  const char *expect;
  int has_body = (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) ||
                 ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);

  if (p->http_major != 1)
    return reject(c, 505);
  /* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host. */
  if (c->hosts > 1 || (c->hosts == 0 && p->http_minor == 1))
    return reject(c, 400);
  /* Request smuggling: a message with both framings has no single length
   * that every hop agrees on (RFC 9112, 6.3). */
  if ((p->flags & F_TRANSFER_ENCODING) && (p->flags & F_CONTENT_LENGTH))
    return reject(c, 400);
  if ((p->flags & F_TRANSFER_ENCODING) && !(p->flags & F_CHUNKED))
    return reject(c, 501);
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->w->cfg->max_body)
    return reject(c, 413);

  req->method = llhttp_method_name((llhttp_method_t)p->method);
  req->version = p->http_minor == 0 ? 10 : 11;
  req->keep_alive = llhttp_should_keep_alive(p);
  if (c->w->stopping)
    req->keep_alive = 0;

  expect = c->expect >= 0 ? req->headers[c->expect].value : NULL;
  if (expect != NULL) {
    if (strcasecmp(expect, "100-continue") != 0)
      return reject(c, 417);
    /* Only a client that waits for it gets an interim response, and only
     * if the body is welcome: too large was answered 413 above. */
    if (req->version == 11 && has_body) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
      conn_output(c, &b, 1);
      conn_flush(c);
      c->continue_sent = 1;
    }
  }
  /* A body of known length gets its whole buffer at once, not by doubling
   * (and copying) as it arrives. */
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length + 1 > req->body_cap) {
    char *nb = realloc(req->body, p->content_length + 1);
    if (nb == NULL)
      return reject(c, 500);
    req->body = nb;
    req->body_cap = p->content_length + 1;
  }
  if (has_body)
    set_timer(c, TIMER_BODY, c->w->cfg->header_timeout_ms);
  else
    set_timer(c, TIMER_NONE, 0);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  mc_request *req = &c->req;
  size_t need = req->body_len + len + 1;

  if (req->body_len + len > c->w->cfg->max_body)
    return reject(c, 413);
  if (need > req->body_cap) {
    size_t cap = req->body_cap ? req->body_cap : 4096;
    char *nb;
    while (cap < need)
      cap *= 2;
    if ((nb = realloc(req->body, cap)) == NULL)
      return reject(c, 500);
    req->body = nb;
    req->body_cap = cap;
  }
  memcpy(req->body + req->body_len, at, len);
  req->body_len += len;
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  if (c->req.body != NULL)
    c->req.body[c->req.body_len] = '\0';
  c->request_ready = 1;
  set_timer(c, TIMER_NONE, 0);
  return HPE_PAUSED;
}

void conn_settings_init(llhttp_settings_t *s) {
  llhttp_settings_init(s);
  s->on_message_begin = on_message_begin;
  s->on_method_complete = on_method_complete;
  s->on_version_complete = on_version_complete;
  s->on_url = on_url;
  s->on_url_complete = on_url_complete;
  s->on_header_field = on_header_field;
  s->on_header_field_complete = on_header_field_complete;
  s->on_header_value = on_header_value;
  s->on_header_value_complete = on_header_value_complete;
  s->on_headers_complete = on_headers_complete;
  s->on_body = on_body;
  s->on_message_complete = on_message_complete;
}

/* ---- timers ---- */

static void conn_on_timer(uv_timer_t *t) {
  struct conn *c = container_of(t, struct conn, timer);
  enum conn_timer kind = c->timer_kind;

  c->timer_kind = TIMER_NONE;
  switch (kind) {
  case TIMER_HEADER:
  case TIMER_BODY:
    if (c->res.state == RES_IDLE) {
      log_debug("closing a connection from %s: request not received in time",
                c->req.remote_addr);
      c->started_ns = uv_hrtime();
      response_send_error(c, 408);
      conn_flush(c);
    }
    break;
  case TIMER_KEEPALIVE:
  case TIMER_LINGER:
    conn_close(c);
    break;
  case TIMER_REQUEST:
    conn_abandon(c);
    break;
  case TIMER_RESUME:
    /* A response finished outside conn_process(), from a plugin callback:
     * the next request is dispatched here, not inside that callback. */
    if (!c->close_after && c->rpos == c->rlen)
      set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
    conn_process(c);
    break;
  case TIMER_NONE:
    break;
  }
}

static void set_timer(struct conn *c, enum conn_timer kind, uint64_t ms) {
  c->timer_kind = kind;
  if (kind == TIMER_NONE || (ms == 0 && kind != TIMER_RESUME))
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, conn_on_timer, ms, 0);
}

void conn_abort_stream(struct conn *c) {
  mc_response *res = &c->res;

  if (c->committed <= res->start) {
    c->out.len = (size_t)(res->start - c->committed);
    res->state = RES_HANDLER; /* as if nothing had been sent: 500 */
    res->head_sent = 0;
    return;
  }
  res->state = RES_IDLE;
  c->close_after = 1;
  c->req.keep_alive = 0;
  if (!c->in_process)
    conn_flush(c);
}

void conn_watch_deferred(struct conn *c) {
  uint64_t ms = c->w->cfg->request_timeout_ms;
  if (ms > 0 && c->timer_kind != TIMER_REQUEST && !c->closing &&
      (c->res.state == RES_DEFERRED || c->res.state == RES_STREAMING))
    set_timer(c, TIMER_REQUEST, ms);
}

/* A deferred response outlived --request-timeout. Its client gets a 503
 * (or, with the head already out, the end of the connection), and the conn
 * is never reused: the plugin may still hold a pointer to its response and
 * finish it one day, which must touch nobody else's request. The plugin is
 * stuck or lost a callback: the worker retires, as after a hung handler. */
static void conn_abandon(struct conn *c) {
  mc_response *res = &c->res;
  int streaming = res->state == RES_STREAMING;

  if (res->state != RES_DEFERRED && !streaming)
    return;
  log_error("'%s %s' from %s: its deferred response did not finish within "
            "--request-timeout; answering %s",
            c->req.method, c->req.target, c->req.remote_addr,
            streaming ? "by closing the connection" : "503");
  uv_timer_stop(&c->later);
  c->orphaned = 1;
  if (streaming) {
    res->state = RES_ABANDONED;
    conn_close(c);
  } else {
    response_send_error(c, 503);
    res->state = RES_ABANDONED;
  }
  worker_taint(c->w, "a deferred response exceeded --request-timeout");
}

/* ---- reading ---- */

static void conn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct conn *c = container_of(h, struct conn, tcp);
  static char discard[4096]; /* lingering: bytes to throw away */
  (void)hint;

  if (c->timer_kind == TIMER_LINGER) {
    *buf = uv_buf_init(discard, sizeof discard);
    return;
  }
  if (c->rpos > 0 && c->rlen == CONN_READ_SIZE) {
    memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen -= c->rpos;
    c->rpos = 0;
  }
  *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(CONN_READ_SIZE - c->rlen));
}

static void conn_update_reading(struct conn *c) {
  int want = !c->closing &&
             (c->timer_kind == TIMER_LINGER || c->rlen < CONN_READ_SIZE ||
              c->rpos > 0);
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) ==
        0)
      c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

static void conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct conn *c = container_of(s, struct conn, tcp);
  (void)buf;

  if (n > 0) {
    if (c->timer_kind == TIMER_LINGER)
      return;
    c->rlen += (size_t)n;
    if (c->timer_kind == TIMER_BODY)
      set_timer(c, TIMER_BODY, c->w->cfg->header_timeout_ms);
    conn_process(c);
    return;
  }
  if (n == 0)
    return;
  /* EOF or error: the client is gone, whatever the plugin still does. */
  if (c->res.state != RES_IDLE && c->res.state != RES_DONE)
    c->res.aborted = 1;
  conn_close(c);
}

/* ---- processing ---- */

static int status_for_parse_error(struct conn *c, llhttp_errno_t err) {
  if (c->error_status != 0)
    return c->error_status;
  switch (err) {
  case HPE_INVALID_TRANSFER_ENCODING:
    return 501;
  case HPE_INVALID_VERSION:
    return 505;
  default:
    return 400;
  }
}

static void dispatch(struct conn *c) {
  c->request_ready = 0;
  c->requests++;
  if (c->w->access.fd >= 0)
    c->started_ns = uv_hrtime();
  if (++c->w->served == c->w->max_requests)
    worker_retire(c->w);
  if (c->w->board != NULL)
    __atomic_store_n(&c->w->board->slot[c->w->slot].requests, c->w->served,
                     __ATOMIC_RELAXED);
  response_reset(&c->res, c);
  c->res.head_only = c->parser.method == HTTP_HEAD;
  worker_call_plugin(c->w, c, 0);
}

static void conn_process(struct conn *c) {
  if (c->in_process)
    return;
  c->in_process = 1;
  while (!c->closing && !c->close_after && !c->writing &&
         c->res.state == RES_IDLE && c->rpos < c->rlen) {
    const char *start = c->rbuf + c->rpos;
    llhttp_errno_t err;

    c->exec_end = c->rbuf + c->rlen;
    err = llhttp_execute(&c->parser, start, c->rlen - c->rpos);

    if (err == HPE_OK) {
      c->rpos = c->rlen;
    } else if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
      c->rpos += (size_t)(llhttp_get_error_pos(&c->parser) - start);
      if (err == HPE_PAUSED) {
        llhttp_resume(&c->parser);
      } else {
        /* An upgrade (or CONNECT) is answered as a plain request; what the
         * client sends after it is not HTTP, so the connection ends. */
        c->req.keep_alive = 0;
        c->rpos = c->rlen;
      }
      dispatch(c);
    } else {
      int status = status_for_parse_error(c, err);
      log_debug("rejecting a request from %s with %d: %s",
                c->req.remote_addr, status,
                c->error_status ? http_reason(status)
                                : llhttp_get_error_reason(&c->parser));
      c->rpos = c->rlen;
      c->started_ns = uv_hrtime();
      response_send_error(c, status);
    }
  }
  if (c->rpos == c->rlen)
    c->rpos = c->rlen = 0;
  c->in_process = 0;
  conn_flush(c);
  conn_update_reading(c);
}

void conn_response_done(struct conn *c) {
  if (c->timer_kind == TIMER_REQUEST)
    set_timer(c, TIMER_NONE, 0);
  c->res.state = RES_IDLE;
  c->got_bytes = 0;
  if (!c->req.keep_alive || c->w->stopping)
    c->close_after = 1;
  if (c->closing) {
    /* The client left while the plugin held the response: the conn was
     * parked until now, and is released once its last handle is closed. */
    if (!uv_is_closing((uv_handle_t *)&c->later)) {
      uv_timer_stop(&c->later);
      uv_close((uv_handle_t *)&c->later, conn_on_close);
    } else if (c->handles_open == 0) {
      worker_conn_release(c->w, c);
    }
    return;
  }
  if (c->in_process) {
    if (!c->close_after && c->rpos == c->rlen)
      set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
  } else {
    set_timer(c, TIMER_RESUME, 0);
  }
}

/* ---- writing ---- */

static int buf_append(struct buf *b, const void *data, size_t len) {
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *nd;
    while (cap < b->len + len)
      cap *= 2;
    if ((nd = realloc(b->data, cap)) == NULL)
      return -ENOMEM;
    b->data = nd;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

static void conn_on_write(uv_write_t *wr, int status) {
  struct conn *c = container_of(wr, struct conn, wreq);
  c->writing = 0;
  c->wout.len = 0;
  if (c->closing)
    return;
  if (status < 0) {
    if (c->res.state != RES_IDLE && c->res.state != RES_DONE)
      c->res.aborted = 1;
    conn_close(c);
    return;
  }
  conn_process(c);
}

void conn_flush(struct conn *c) {
  if (c->writing || c->closing)
    return;
  if (c->out.len > 0) {
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    struct buf t;

    if (n == UV_EAGAIN)
      n = 0;
    if (n < 0) {
      conn_close(c);
      return;
    }
    c->committed += c->out.len; /* written now, or by uv_write below */
    if ((size_t)n < c->out.len) {
      /* The rest is written from wout, so that `out` may keep collecting
       * (a streamed response) while the write is in flight. */
      t = c->wout;
      c->wout = c->out;
      c->out = t;
      c->out.len = 0;
      b = uv_buf_init(c->wout.data + n, (unsigned)(c->wout.len - (size_t)n));
      if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) !=
          0) {
        conn_close(c);
        return;
      }
      c->writing = 1;
      return;
    }
    c->out.len = 0;
  }
  if (c->close_after &&
      (c->res.state == RES_IDLE || c->res.state == RES_ABANDONED))
    conn_linger(c);
}

int conn_output(struct conn *c, const uv_buf_t *bufs, unsigned n) {
  size_t total = 0, skip;
  unsigned i;

  if (c->closing)
    return -EPIPE;
  for (i = 0; i < n; i++)
    total += bufs[i].len;

  skip = 0;
  if (total >= DIRECT_WRITE_MIN && !c->writing && n < 8) {
    uv_buf_t iov[9];
    unsigned k = 0;
    int w;
    if (c->out.len > 0)
      iov[k++] = uv_buf_init(c->out.data, (unsigned)c->out.len);
    for (i = 0; i < n; i++)
      iov[k++] = bufs[i];
    w = uv_try_write((uv_stream_t *)&c->tcp, iov, k);
    if (w == UV_EAGAIN)
      w = 0;
    if (w < 0) {
      conn_close(c);
      return -EPIPE;
    }
    skip = (size_t)w;
    c->committed += (size_t)w;
    if (c->out.len > 0) {
      size_t from_out = skip < c->out.len ? skip : c->out.len;
      memmove(c->out.data, c->out.data + from_out, c->out.len - from_out);
      c->out.len -= from_out;
      skip -= from_out;
    }
  }
  for (i = 0; i < n; i++) {
    size_t len = bufs[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    if (buf_append(&c->out, bufs[i].base + skip, len - skip) != 0) {
      conn_close(c);
      return -EPIPE;
    }
    skip = 0;
  }
  return 0;
}

/* ---- lifecycle ---- */

static void conn_on_shutdown(uv_shutdown_t *req, int status) {
  struct conn *c = container_of(req, struct conn, sreq);
  if (status < 0)
    conn_close(c);
}

static void conn_linger(struct conn *c) {
  if (c->timer_kind == TIMER_LINGER || c->closing)
    return;
  set_timer(c, TIMER_LINGER, LINGER_MS);
  if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0)
    conn_close(c);
}

static void conn_on_close(uv_handle_t *h) {
  struct conn *c = h->data;
  if (--c->handles_open > 0)
    return;
  if (c->res.state == RES_IDLE || c->res.state == RES_DONE ||
      c->res.state == RES_ABANDONED)
    worker_conn_release(c->w, c);
}

void conn_close(struct conn *c) {
  if (c->closing)
    return;
  c->closing = 1;
  c->reading = 0;
  uv_close((uv_handle_t *)&c->tcp, conn_on_close);
  uv_close((uv_handle_t *)&c->timer, conn_on_close);
  /* A pending mc_response_later() still fires: the plugin must be able to
   * finish (and forget) its response even though nobody reads it. */
  if (!uv_is_active((uv_handle_t *)&c->later))
    uv_close((uv_handle_t *)&c->later, conn_on_close);
}

/* An idle keep-alive connection is not closed here: a client may be
 * sending its next request right now, and closing would lose it (the race
 * every keep-alive close has). It is answered with Connection: close, or
 * closes when its keep-alive timeout ends, as it would have anyway. So a
 * reload or a graceful stop loses no request. */
void conn_drain(struct conn *c) { c->req.keep_alive = 0; }

int conn_alloc_buffers(struct conn *c, size_t max_header_size) {
  /* The header buffer also holds a NUL per string and the path copy: room
   * for those comes on top of the limit the user set. */
  c->hcap = max_header_size + 2 * CONN_MAX_HEADERS + 16;
  c->rbuf = malloc(CONN_READ_SIZE);
  c->hbuf = malloc(c->hcap);
  /* Allocated up front: the 500 after a plugin fault must not need malloc,
   * whose lock the fault may hold. */
  c->out.data = malloc(c->out.cap = 4096);
  if (c->rbuf == NULL || c->hbuf == NULL || c->out.data == NULL) {
    conn_free_buffers(c);
    return -ENOMEM;
  }
  return 0;
}

void conn_free_buffers(struct conn *c) {
  free(c->rbuf);
  free(c->hbuf);
  free(c->req.body);
  free(c->out.data);
  free(c->wout.data);
  c->rbuf = c->hbuf = c->req.body = c->out.data = c->wout.data = NULL;
}

int conn_start(struct conn *c, struct worker *w, int fd) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int err;

  c->w = w;
  c->closing = c->close_after = c->reading = c->writing = 0;
  c->in_process = c->request_ready = c->got_bytes = c->orphaned = 0;
  c->error_status = 0;
  c->requests = 0;
  c->rpos = c->rlen = c->hlen = 0;
  c->field_start = SIZE_MAX;
  c->out.len = c->wout.len = 0;
  c->committed = 0;
  c->req.body_len = 0;
  c->req.nheaders = 0;
  c->req.c = c;
  c->timer_kind = TIMER_NONE;
  response_reset(&c->res, c);
  c->res.state = RES_IDLE;

  if ((err = uv_tcp_init(&w->loop, &c->tcp)) != 0)
    return close(fd), err;
  uv_timer_init(&w->loop, &c->timer);
  uv_timer_init(&w->loop, &c->later);
  c->tcp.data = c->timer.data = c->later.data = c;
  c->handles_open = 3;
  if ((err = uv_tcp_open(&c->tcp, fd)) != 0) {
    close(fd);
    conn_close(c);
    return err;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->req.remote_addr[0] = '\0';
  c->req.remote_port = 0;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      uv_ip6_name(a, c->req.remote_addr, sizeof c->req.remote_addr);
      c->req.remote_port = ntohs(a->sin6_port);
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      uv_ip4_name(a, c->req.remote_addr, sizeof c->req.remote_addr);
      c->req.remote_port = ntohs(a->sin_port);
    }
  }
  llhttp_init(&c->parser, HTTP_REQUEST, &w->settings);
  c->parser.data = c;
  set_timer(c, TIMER_HEADER, w->cfg->header_timeout_ms);
  conn_update_reading(c);
  return 0;
}
