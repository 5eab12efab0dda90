/*
 * conn.c - one HTTP/1.1 connection on the worker's loop.
 *
 * Reading: libuv reads into the conn's fixed input buffer; llhttp (strict,
 * no lenient flags) parses it, and its callbacks (parse.c) copy the request
 * line and headers into the conn's header buffer, so nothing points into
 * the input buffer once a read is parsed. on_message_complete pauses the
 * parser, and the request is handed to the plugin outside llhttp's stack: a
 * crash guard jump never crosses the parser, and pipelined requests are
 * answered strictly in order, one at a time.
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
#include "parse.h"
#include "worker.h"

#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

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

/* ---- timers ---- */

static void conn_on_timer(uv_timer_t *t) {
  struct conn *c = container_of(t, struct conn, timer);
  enum conn_timer kind = c->timer_kind;
  uint64_t now = uv_now(t->loop);

  /* Armed for an earlier phase (see conn_set_timer()): wait for this one. */
  if (c->deadline == NO_DEADLINE)
    return;
  if (now < c->deadline) {
    uv_timer_start(t, conn_on_timer, c->deadline - now, 0);
    return;
  }
  c->timer_kind = TIMER_NONE;
  c->deadline = NO_DEADLINE;
  switch (kind) {
  case TIMER_HEADER:
  case TIMER_BODY:
    /* The request was answered with an error already, which the client is
     * slow to read: a 408 would follow its Connection: close. */
    if (c->close_after) {
      conn_close(c);
      break;
    }
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
 * instructions per request (callgrind; docs/performance.md). A timer that fires
 * early finds a later deadline and waits again; one that finds no deadline
 * stays off. */
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
  uv_timer_start(t, conn_on_timer, ms, 0);
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
    conn_set_timer(c, TIMER_REQUEST, ms);
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
  (void)buf;

  if (n > 0) {
    if (c->timer_kind == TIMER_LINGER)
      return;
    c->rlen += (size_t)n;
    if (c->timer_kind == TIMER_BODY)
      conn_set_timer(c, TIMER_BODY, c->w->cfg->header_timeout_ms);
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

/* The request is malformed: answered with its error status, and the
 * connection ends (what follows cannot be trusted to be a request). */
static void conn_reject(struct conn *c, llhttp_errno_t err) {
  int status = parse_error_status(c, err);
  log_debug("rejecting a request from %s with %d: %s", c->req.remote_addr,
            status,
            c->error_status ? http_reason(status)
                            : llhttp_get_error_reason(&c->parser));
  c->rpos = c->rlen;
  c->started_ns = uv_hrtime();
  response_send_error(c, status);
}

static void conn_process(struct conn *c) {
  if (c->in_process)
    return;
  c->in_process = 1;
  while (!c->closing && !c->close_after && !c->writing &&
         c->res.state == RES_IDLE && c->rpos < c->rlen) {
    const char *start = c->rbuf + c->rpos;
    llhttp_errno_t err;

    if (c->chunk_line) {
      size_t len = c->rlen - c->rpos;
      int rc = parse_chunk_line(c->rbuf + c->rpos, &len);
      if (rc == -EAGAIN)
        break;
      c->rlen = c->rpos + len;
      if (rc < 0) {
        c->error_status = 400;
        conn_reject(c, HPE_INVALID_CHUNK_SIZE);
        continue;
      }
      c->chunk_line = 0;
    }
    c->exec_end = c->rbuf + c->rlen;
    err = llhttp_execute(&c->parser, start, c->rlen - c->rpos);

    if (err == HPE_OK) {
      c->rpos = c->rlen;
    } else if (err == HPE_PAUSED) {
      /* at the end of a request, or before a chunk-size line */
      c->rpos += (size_t)(llhttp_get_error_pos(&c->parser) - start);
      llhttp_resume(&c->parser);
      if (c->request_ready)
        dispatch(c);
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
  if (c->rpos == c->rlen)
    c->rpos = c->rlen = 0;
  /* Idle between requests, but no timer: llhttp skips the CRLFs after a
   * message without calling on_message_begin, so a response finished while
   * they were still unparsed armed no keep-alive timeout. */
  if (c->timer_kind == TIMER_NONE && c->res.state == RES_IDLE && !c->closing &&
      !c->close_after && c->rlen == 0)
    conn_set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
  c->in_process = 0;
  conn_flush(c);
  conn_update_reading(c);
}

void conn_response_done(struct conn *c) {
  if (c->timer_kind == TIMER_REQUEST)
    conn_set_timer(c, TIMER_NONE, 0);
  c->res.state = RES_IDLE;
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
      conn_set_timer(c, TIMER_KEEPALIVE, c->w->cfg->keepalive_timeout_ms);
  } else {
    conn_set_timer(c, TIMER_RESUME, 0);
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
static void conn_linger(struct conn *c) {
  if (c->timer_kind == TIMER_LINGER || c->closing)
    return;
  if (c->last_request && c->rpos == c->rlen) {
    conn_close(c);
    return;
  }
  conn_set_timer(c, TIMER_LINGER, LINGER_MS);
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

/* "192.0.2.1", by hand: uv_ip4_name() goes through snprintf(), which
 * costs every new connection a few hundred nanoseconds and brings the
 * printf machinery into an otherwise idle worker's memory. */
static void ipv4_name(const struct sockaddr_in *a, char *out) {
  const unsigned char *b = (const unsigned char *)&a->sin_addr.s_addr;
  for (int i = 0; i < 4; i++) {
    if (b[i] >= 100)
      *out++ = (char)('0' + b[i] / 100);
    if (b[i] >= 10)
      *out++ = (char)('0' + b[i] / 10 % 10);
    *out++ = (char)('0' + b[i] % 10);
    *out++ = i < 3 ? '.' : '\0';
  }
}

static void conn_set_peer(struct conn *c, const struct sockaddr *peer) {
  c->req.remote_addr[0] = '\0';
  c->req.remote_port = 0;
  if (peer->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
    uv_ip6_name(a, c->req.remote_addr, sizeof c->req.remote_addr);
    c->req.remote_port = ntohs(a->sin6_port);
  } else if (peer->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
    ipv4_name(a, c->req.remote_addr);
    c->req.remote_port = ntohs(a->sin_port);
  }
}

int conn_start(struct conn *c, struct worker *w, int fd,
               const struct sockaddr *peer) {
  int err;

  c->w = w;
  c->closing = c->close_after = c->reading = c->writing = 0;
  c->in_process = c->request_ready = c->orphaned = c->last_request = 0;
  c->chunk_line = 0;
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
  c->deadline = NO_DEADLINE;
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
  conn_set_peer(c, peer);
  llhttp_init(&c->parser, HTTP_REQUEST, &w->settings);
  c->parser.data = c;
  conn_set_timer(c, TIMER_HEADER, w->cfg->header_timeout_ms);
  conn_update_reading(c);
  return 0;
}

#ifdef MCHOST_FUZZING
/*
 * Fuzzing (tests/fuzz/conn_fuzz.c only calls conn_fuzz_feed()).
 *
 * The input goes through a real conn on a real loop over loopback TCP: the
 * bugs worth finding are where parsing, limits, pipelining, deferred
 * answers and partial reads and writes meet, not in llhttp alone. A stub
 * plugin checks each request against what the host promises a plugin
 * (sdk/mchost.h, and the MUSTs of RFC 9112 that make a request malformed),
 * then answers in the way the path asks for; the client side parses the
 * responses and checks that they stay framed and in order. A broken
 * promise aborts, and the fuzzer reports the input.
 */
#include <ctype.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>

#include "access.h"

int conn_fuzz_feed(const uint8_t *data, size_t len);

/* Small limits, so that the fuzzer reaches them with small inputs. */
#define FUZZ_MAX_BODY 4096
#define FUZZ_MAX_HEADER_SIZE 1024
/* --header-timeout and --keepalive-timeout */
#define FUZZ_TIMEOUT_MS 30
/* A connection that is not released by then is stuck: a bug. */
#define FUZZ_DEADLINE_NS (10 * 1000000000ull)
/* Large enough for conn_output()'s direct write (DIRECT_WRITE_MIN). */
#define FUZZ_BIG_BODY (DIRECT_WRITE_MIN + 4000)

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __LINE__))

static struct {
  struct worker w;
  struct config cfg;
  int listen_fd;
  struct sockaddr_in addr;
  char big[FUZZ_BIG_BODY];
  unsigned from;      /* the client's address, 127.1.0.0 + from */
  char from_addr[16]; /* as the plugin must see it */
  int from_port;
  unsigned seq;   /* requests handed to the stub on this connection */
  unsigned begun; /* requests llhttp began parsing on it */
  int (*parse_begin)(llhttp_t *p); /* parse.c's on_message_begin */
  unsigned open;                   /* of those, not answered yet */
  /* the client's view: a response parser and what it has seen */
  llhttp_t rp;
  llhttp_settings_t rs;
  unsigned next_seq;
  char field[16], value[16];
  size_t flen, vlen;
  unsigned r_seq;
  int r_head;
  int r_closed; /* a final response said the connection ends */
} fz;

static void fuzz_fail(const char *what, int line) {
  fprintf(stderr, "conn.c:%d: broken promise: %s\n", line, what);
  abort();
}

static int fuzz_is_tchar(int ch) {
  return ch > 0x20 && ch < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", ch) == NULL;
}

static int fuzz_is_ows(int ch) { return ch == ' ' || ch == '\t'; }

/* The target is [absolute-form prefix] path ["?" query], without a byte
 * that a plugin or the next hop could take for a separator. */
static void fuzz_check_target(const mc_request *req) {
  const char *method = mc_request_method(req);
  const char *target = mc_request_target(req), *path = mc_request_path(req);
  const char *query = mc_request_query(req), *q;
  size_t before, plen;

  FUZZ_CHECK(target != NULL && path != NULL && query != NULL);
  FUZZ_CHECK(target[0] != '\0');
  for (const char *s = target; *s != '\0'; s++)
    FUZZ_CHECK((unsigned char)*s > 0x20 && *s != 0x7f);
  q = strchr(target, '?');
  FUZZ_CHECK(strcmp(query, q != NULL ? q + 1 : "") == 0);
  before = q != NULL ? (size_t)(q - target) : strlen(target);
  plen = strlen(path);
  /* An absolute-form target without a path has the path "/". */
  FUZZ_CHECK(
      (plen <= before && memcmp(target + before - plen, path, plen) == 0) ||
      (target[0] != '/' && strcmp(path, "/") == 0));
  if (target[0] == '/')
    FUZZ_CHECK(plen == before);
  /* Only OPTIONS has an asterisk-form and only CONNECT an authority-form;
   * an absolute-form target still has a path that starts with '/'. */
  if (strcmp(target, "*") == 0)
    FUZZ_CHECK(strcmp(method, "OPTIONS") == 0);
  else if (strcmp(method, "CONNECT") != 0)
    FUZZ_CHECK(path[0] == '/');
}

/* Keeps in *last the last non-empty element of a comma-separated list, so
 * that it ends up at the last one over all the fields of one name. */
static void fuzz_last_element(const char *v, const char **last, size_t *len) {
  while (*v != '\0') {
    size_t n = strcspn(v, ",");
    const char *s = v, *e = v + n;
    while (s < e && fuzz_is_ows(*s))
      s++;
    while (e > s && fuzz_is_ows(e[-1]))
      e--;
    if (e > s)
      *last = s, *len = (size_t)(e - s);
    v += n + (v[n] == ',');
  }
}

/* Field names are tokens and values hold no CTL but HTAB, without the
 * whitespace around them; mc_request_header() finds the first of a name. */
static void fuzz_check_field(const mc_request *req, const char *name,
                             const char *value) {
  size_t vlen = strlen(value), i;
  const char *first = NULL;

  FUZZ_CHECK(name[0] != '\0');
  for (const char *s = name; *s != '\0'; s++)
    FUZZ_CHECK(fuzz_is_tchar((unsigned char)*s));
  for (const char *s = value; *s != '\0'; s++)
    FUZZ_CHECK(*s == '\t' || ((unsigned char)*s >= 0x20 && *s != 0x7f));
  FUZZ_CHECK(vlen == 0 ||
             (!fuzz_is_ows(value[0]) && !fuzz_is_ows(value[vlen - 1])));
  for (i = 0; first == NULL; i++) {
    const char *n, *v;
    FUZZ_CHECK(mc_request_header_at(req, i, &n, &v) == 0);
    if (strcasecmp(n, name) == 0)
      first = v;
  }
  FUZZ_CHECK(mc_request_header(req, name) == first);
}

/* One Host, one framing, a body that matches it: RFC 9112 3.2 and 6. */
static void fuzz_check_request(const mc_request *req) {
  const char *method = mc_request_method(req), *name, *value;
  const char *cl = NULL, *coding = NULL, *expect;
  size_t n = mc_request_header_count(req), body_len, hosts = 0, cls = 0;
  size_t tes = 0, coding_len = 0;
  int version = mc_request_version(req);
  const char *body;

  FUZZ_CHECK(method != NULL && method[0] != '\0');
  for (const char *s = method; *s != '\0'; s++)
    FUZZ_CHECK(isupper((unsigned char)*s) || *s == '-');
  FUZZ_CHECK(version == 10 || version == 11);
  fuzz_check_target(req);
  FUZZ_CHECK(n <= CONN_MAX_HEADERS);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(mc_request_header_at(req, i, &name, &value) == 0);
    FUZZ_CHECK(name != NULL && value != NULL);
    fuzz_check_field(req, name, value);
    hosts += strcasecmp(name, "Host") == 0;
    if (strcasecmp(name, "Content-Length") == 0)
      cls++, cl = value;
    if (strcasecmp(name, "Transfer-Encoding") == 0) {
      tes++;
      fuzz_last_element(value, &coding, &coding_len);
    }
  }
  FUZZ_CHECK(mc_request_header_at(req, n, &name, &value) == -ERANGE);
  FUZZ_CHECK(hosts == 1 || (version == 10 && hosts == 0));
  /* Transfer-Encoding means chunked last, in HTTP/1.1 only, and no
   * Content-Length: anything else has no length every hop agrees on. */
  FUZZ_CHECK(cls <= 1 && (cls == 0 || tes == 0));
  FUZZ_CHECK(tes == 0 || (version == 11 && coding_len == 7 &&
                          strncasecmp(coding, "chunked", 7) == 0));
  body = mc_request_body(req, &body_len);
  FUZZ_CHECK(body != NULL && body[body_len] == '\0');
  FUZZ_CHECK(body_len <= FUZZ_MAX_BODY);
  if (cl != NULL) {
    FUZZ_CHECK(cl[0] != '\0' && strspn(cl, "0123456789") == strlen(cl));
    FUZZ_CHECK(strtoull(cl, NULL, 10) == body_len);
  } else if (tes == 0) {
    FUZZ_CHECK(body_len == 0);
  }
  expect = mc_request_header(req, "Expect");
  FUZZ_CHECK(expect == NULL || strcasecmp(expect, "100-continue") == 0);
  FUZZ_CHECK(mc_request_keep_alive(req) == 0 ||
             mc_request_keep_alive(req) == 1);
  FUZZ_CHECK(strcmp(mc_request_remote_addr(req), fz.from_addr) == 0 &&
             mc_request_remote_port(req) == fz.from_port);
}

/* ---- the stub plugin: the first letter of the path picks the answer ---- */

static void fuzz_finish(int rc) {
  /* -EPIPE: the client went away meanwhile; the response is finished. */
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  FUZZ_CHECK(fz.open == 1);
  fz.open--;
}

static void fuzz_later_send(mc_response *res, void *data) {
  size_t len;
  const void *body = mc_request_body(mc_response_request(res), &len);
  (void)data;
  fuzz_finish(mc_response_send(res, 200, body, len));
}

static void fuzz_later_end(mc_response *res, void *data) {
  int rc = mc_response_write(res, "end\n", 4);
  (void)data;
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  fuzz_finish(mc_response_end(res));
}

static void fuzz_later_begin(mc_response *res, void *data) {
  size_t len;
  const void *body = mc_request_body(mc_response_request(res), &len);
  int rc = mc_response_begin(res, 200);
  (void)data;
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  rc = mc_response_write(res, body, len);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  FUZZ_CHECK(mc_response_later(res, 0, fuzz_later_end, NULL) == 0);
}

static void fuzz_stream(mc_response *res, const char *body, size_t len) {
  int rc = mc_response_begin(res, 200);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  FUZZ_CHECK(mc_response_begin(res, 200) == -EALREADY);
  rc = mc_response_write(res, body, len / 2);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  rc = mc_response_write(res, body + len / 2, len - len / 2);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  rc = mc_response_write(res, fz.big, sizeof fz.big);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  fuzz_finish(mc_response_end(res));
}

/* Echoes the request's fields under "X-E-<name>" (under their own names
 * they could repeat X-Seq): the response head may overflow (-ENOSPC), but a
 * field that reached the plugin is a valid one. */
static void fuzz_echo_fields(mc_request *req, mc_response *res) {
  char name[FUZZ_MAX_HEADER_SIZE + 8];
  const char *n, *v;
  int rc;

  for (size_t i = 0; mc_request_header_at(req, i, &n, &v) == 0; i++) {
    snprintf(name, sizeof name, "X-E-%s", n);
    rc = mc_response_header(res, name, v);
    FUZZ_CHECK(rc == 0 || rc == -ENOSPC);
  }
  FUZZ_CHECK(mc_response_header(res, "Content-Length", "0") == -EINVAL);
  FUZZ_CHECK(mc_response_header(res, "X-Split", "a\r\nb: c") == -EINVAL);
}

static void fuzz_run(mc_request *req, mc_response *res) {
  const char *path, *body;
  char seq[16];
  size_t len;

  /* Pipelined requests are answered one at a time, in order, and each
   * request in the input reaches the plugin at most once. */
  FUZZ_CHECK(fz.open == 0);
  FUZZ_CHECK(fz.seq < fz.begun);
  fz.open++;
  /* No tunnels: CONNECT reaches only a plugin that opted in. */
  FUZZ_CHECK(strcmp(mc_request_method(req), "CONNECT") != 0);
  fuzz_check_request(req);
  FUZZ_CHECK(mc_response_request(res) == req && !mc_response_aborted(res));
  snprintf(seq, sizeof seq, "%u", ++fz.seq);
  FUZZ_CHECK(mc_response_header(res, "X-Seq", seq) == 0);
  if (strcmp(mc_request_method(req), "HEAD") == 0)
    FUZZ_CHECK(mc_response_header(res, "X-Method", "HEAD") == 0);
  path = mc_request_path(req);
  body = mc_request_body(req, &len);
  switch (path[0] != '\0' ? path[1] : '\0') {
  case 'd': /* deferred, answered from the loop */
    mc_response_defer(res);
    FUZZ_CHECK(mc_response_later(res, 0, fuzz_later_send, NULL) == 0);
    break;
  case 'l': /* streamed from the loop, in two turns */
    FUZZ_CHECK(mc_response_later(res, 0, fuzz_later_begin, NULL) == 0);
    break;
  case 's':
    fuzz_stream(res, body, len);
    break;
  case 'b': /* written straight from the plugin's buffer */
    fuzz_finish(mc_response_send(res, 200, fz.big, sizeof fz.big));
    break;
  case 'n': /* no body allowed: the one given is not sent */
    fuzz_finish(
        mc_response_send(res, mc_request_query(req)[0] ? 304 : 204, body, len));
    break;
  case 'h':
    fuzz_echo_fields(req, res);
    fuzz_finish(mc_response_send(res, 200, NULL, 0));
    break;
  default:
    FUZZ_CHECK(mc_response_send(res, 99, NULL, 0) == -EINVAL);
    fuzz_finish(mc_response_send(res, 200, body, len));
  }
}

/* ---- the client side: the responses must parse, in order ---- */

static int fuzz_on_res_begin(llhttp_t *p) {
  (void)p;
  fz.r_seq = 0;
  fz.r_head = 0;
  fz.flen = fz.vlen = 0;
  return 0;
}

static int fuzz_on_res_field(llhttp_t *p, const char *at, size_t len) {
  (void)p;
  for (size_t i = 0; i < len && fz.flen < sizeof fz.field - 1; i++)
    fz.field[fz.flen++] = at[i];
  return 0;
}

static int fuzz_on_res_value(llhttp_t *p, const char *at, size_t len) {
  (void)p;
  for (size_t i = 0; i < len && fz.vlen < sizeof fz.value - 1; i++)
    fz.value[fz.vlen++] = at[i];
  return 0;
}

static int fuzz_on_res_value_complete(llhttp_t *p) {
  (void)p;
  fz.field[fz.flen] = fz.value[fz.vlen] = '\0';
  if (strcasecmp(fz.field, "X-Seq") == 0)
    fz.r_seq = (unsigned)strtoul(fz.value, NULL, 10);
  else if (strcasecmp(fz.field, "X-Method") == 0)
    fz.r_head = strcmp(fz.value, "HEAD") == 0;
  fz.flen = fz.vlen = 0;
  return 0;
}

static int fuzz_on_res_head(llhttp_t *p) {
  if (p->status_code < 200) { /* the final response follows */
    FUZZ_CHECK(p->status_code == 100);
    return 0;
  }
  if (fz.r_seq == 0) { /* the host's own error response */
    FUZZ_CHECK(p->status_code >= 400);
    return 0;
  }
  FUZZ_CHECK(fz.r_seq == ++fz.next_seq);
  return fz.r_head; /* 1: a HEAD response has no body */
}

/* A response that ends the connection must be the last bytes sent. llhttp
 * does not check that (its loose mode skips whatever follows): it pauses
 * here, and fuzz_client_read() checks. */
static int fuzz_on_res_complete(llhttp_t *p) {
  if (p->status_code < 200 || llhttp_should_keep_alive(p))
    return 0;
  fz.r_closed = 1;
  return HPE_PAUSED;
}

/* Reads what the server sent, until it has nothing more for now. Returns
 * 1 once the server has closed its side. */
static int fuzz_client_read(int fd) {
  static char buf[65536];
  ssize_t n;

  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    llhttp_errno_t err;
    if (n < 0)
      continue;
    FUZZ_CHECK(!fz.r_closed); /* bytes after a Connection: close */
    err = llhttp_execute(&fz.rp, buf, (size_t)n);
    if (err == HPE_PAUSED) { /* it ended the connection: nothing follows */
      FUZZ_CHECK(llhttp_get_error_pos(&fz.rp) == buf + n);
      err = HPE_OK;
    }
    if (err != HPE_OK)
      fprintf(stderr, "response: %s\n", llhttp_get_error_reason(&fz.rp));
    FUZZ_CHECK(err == HPE_OK);
  }
  return n == 0 || errno != EAGAIN;
}

/* ---- the worker around it, set up once ---- */

static int fuzz_on_req_begin(llhttp_t *p) {
  fz.begun++;
  return fz.parse_begin(p);
}

static void fuzz_setup(void) {
  struct worker *w = &fz.w;
  char err[256];
  socklen_t alen = sizeof fz.addr;

  signal(SIGPIPE, SIG_IGN); /* as a worker does */
  log_init(MC_LOG_ERROR, "fuzz", 0);
  FUZZ_CHECK(config_load(&fz.cfg, 0, NULL, 0, err, sizeof err) == 0);
  fz.cfg.max_body = FUZZ_MAX_BODY;
  fz.cfg.max_header_size = FUZZ_MAX_HEADER_SIZE;
  /* Short enough for the inputs that wait for them (conn_fuzz_feed()). */
  fz.cfg.header_timeout_ms = fz.cfg.keepalive_timeout_ms = FUZZ_TIMEOUT_MS;
  /* No watchdog: the guard is not installed, so that a fault reaches the
   * fuzzer's handlers, and guard_call() then only calls. */
  fz.cfg.request_timeout_ms = 0;
  w->cfg = &fz.cfg;
  FUZZ_CHECK(uv_loop_init(&w->loop) == 0);
  parse_settings_init(&w->settings);
  fz.parse_begin = w->settings.on_message_begin;
  w->settings.on_message_begin = fuzz_on_req_begin;
  w->plugin.run = fuzz_run;
  w->listen_fd = w->accept_evfd = -1;
  /* There is no accept path to resume when a conn is released. */
  w->accepting = 1;
  /* JSON, so that the targets go through the escaping. */
  FUZZ_CHECK(access_open(&w->access, NULL, "/dev/null", 1, err, sizeof err) ==
             0);
  memset(fz.big, 'x', sizeof fz.big);

  fz.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  fz.addr.sin_family = AF_INET;
  fz.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(fz.listen_fd >= 0 &&
             bind(fz.listen_fd, (struct sockaddr *)&fz.addr, alen) == 0 &&
             listen(fz.listen_fd, 64) == 0 &&
             getsockname(fz.listen_fd, (struct sockaddr *)&fz.addr, &alen) ==
                 0);

  llhttp_settings_init(&fz.rs);
  fz.rs.on_message_begin = fuzz_on_res_begin;
  fz.rs.on_header_field = fuzz_on_res_field;
  fz.rs.on_header_value = fuzz_on_res_value;
  fz.rs.on_header_value_complete = fuzz_on_res_value_complete;
  fz.rs.on_headers_complete = fuzz_on_res_head;
  fz.rs.on_message_complete = fuzz_on_res_complete;
}

/* A connect() that a signal interrupted (the fuzzer's timer) may still have
 * queued its connection: only the one from `from` is this input's. */
static int fuzz_accept(const struct sockaddr_in *from) {
  for (;;) {
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int fd = accept(fz.listen_fd, (struct sockaddr *)&peer, &plen);
    FUZZ_CHECK(fd >= 0 || errno == EINTR || errno == ECONNABORTED);
    if (fd >= 0 && peer.sin_addr.s_addr == from->sin_addr.s_addr &&
        peer.sin_port == from->sin_port)
      return fd;
    if (fd >= 0)
      close(fd);
  }
}

/* Returns the client's end of a new connection whose server end is a conn
 * on the worker. */
static int fuzz_connect(int small_window) {
  struct sockaddr_in from;
  socklen_t alen = sizeof from;
  int client = -1, fd, one = 1, rcvbuf = 2048;

  /* A connection leaves its address pair in TIME_WAIT for a minute: one
   * client address would run out of ports at a few thousand a second, so
   * each connection comes from the next of 127.1.0.1 to 127.1.255.254. */
  for (int tries = 0; client < 0 && tries < 100; tries++) {
    memset(&from, 0, sizeof from);
    from.sin_family = AF_INET;
    fz.from = fz.from % 0xfffe + 1;
    from.sin_addr.s_addr = htonl(0x7f010000u | fz.from);
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(client >= 0);
    /* A client that takes little at a time: large responses then go out
     * in pieces, through uv_write(), and the pipeline behind them waits. */
    if (small_window)
      setsockopt(client, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(client, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(client, (struct sockaddr *)&fz.addr, sizeof fz.addr) != 0) {
      close(client);
      client = -1;
    }
  }
  FUZZ_CHECK(client >= 0);
  FUZZ_CHECK(getsockname(client, (struct sockaddr *)&from, &alen) == 0);
  uv_ip4_name(&from, fz.from_addr, sizeof fz.from_addr);
  fz.from_port = ntohs(from.sin_port);
  /* Each piece goes out at once, not held back by Nagle until an ACK. */
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  FUZZ_CHECK(fcntl(client, F_SETFL, O_NONBLOCK) == 0);
  fd = fuzz_accept(&from);
  /* ...and a server side that holds little: uv_try_write() then takes
   * only part of a large response. */
  if (small_window)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
  FUZZ_CHECK(conn_start(worker_conn_get(&fz.w), &fz.w, fd,
                        (const struct sockaddr *)&from) == 0);
  return client;
}

/* The client reads nothing for a while, as a slow one does: the server's
 * timeouts fire while its responses wait to be written. */
static void fuzz_pause(uint64_t ms) {
  uint64_t until = uv_hrtime() + ms * 1000000;
  while (uv_hrtime() < until) {
    uv_run(&fz.w.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

/* One turn of the server's loop, then the client reads. */
static int fuzz_turn(int client, uint64_t deadline) {
  int closed;
  uv_run(&fz.w.loop, UV_RUN_NOWAIT);
  closed = fuzz_client_read(client);
  /* A conn that outlives this is stuck: its timeouts are far shorter. */
  if (uv_hrtime() >= deadline && fz.w.active != NULL) {
    struct conn *c = fz.w.active;
    fprintf(stderr,
            "stuck conn: timer %d closing %u close_after %u reading %u "
            "writing %u res.state %d rpos %zu rlen %zu handles %u out %zu\n",
            (int)c->timer_kind, c->closing, c->close_after, c->reading,
            c->writing, (int)c->res.state, c->rpos, c->rlen, c->handles_open,
            c->out.len);
  }
  FUZZ_CHECK(uv_hrtime() < deadline);
  return closed;
}

int conn_fuzz_feed(const uint8_t *data, size_t len) {
  static int ready;
  uint64_t deadline = uv_hrtime() + FUZZ_DEADLINE_NS;
  uint32_t h = 2166136261u; /* FNV-1a: how this input is sent */
  size_t cut[3], off = 0;
  int client, reset = 0, hold, pause;

  if (!ready) {
    fuzz_setup();
    ready = 1;
  }
  for (size_t i = 0; i < len; i++)
    h = (h ^ data[i]) * 16777619u;
  cut[0] = h % (len + 1);
  cut[1] = cut[0] + (h >> 16) % (len - cut[0] + 1);
  cut[2] = len;
  /* One input in 64 keeps its side open, so that the server's timeouts
   * end the connection; the client closes once the server has. */
  hold = (h >> 26) == 0;
  pause = !hold && (h >> 16 & 0xff) == 0x5a; /* one in 256 */
  fz.seq = fz.begun = fz.open = fz.next_seq = 0;
  fz.r_closed = 0;
  llhttp_init(&fz.rp, HTTP_RESPONSE, &fz.rs);
  client = fuzz_connect((h >> 24 & 3) == 0);

  /* Three writes, each read by the server on its own: requests, lines and
   * chunks are split where the hash says. */
  for (int piece = 0; piece < 3 && !reset; piece++) {
    while (off < cut[piece] && !reset) {
      ssize_t n = send(client, data + off, cut[piece] - off, MSG_NOSIGNAL);
      if (n > 0)
        off += (size_t)n;
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        reset = 1; /* the server closed, and nothing more can be sent */
      else
        fuzz_turn(client, deadline);
    }
    fuzz_turn(client, deadline);
  }
  if (pause) {
    fuzz_pause(2 * FUZZ_TIMEOUT_MS);
    /* ...then takes all there is before it closes its side. */
    while (fz.w.active != NULL &&
           (fz.w.active->writing || fz.w.active->out.len > 0))
      fuzz_turn(client, deadline);
  }
  if (!hold)
    shutdown(client, SHUT_WR);
  while (fz.w.nconns > 0) {
    if (fuzz_turn(client, deadline) && hold) {
      shutdown(client, SHUT_WR);
      hold = 0;
    }
  }
  close(client);
  /* Every request handed to the plugin was answered, and the conn went
   * back to the pool. */
  FUZZ_CHECK(fz.open == 0);
  FUZZ_CHECK(fz.w.active == NULL);
  return 0;
}
#endif
