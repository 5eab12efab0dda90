/*
 * write.c - a conn's output: responses are collected in `out` and written
 * once per batch of input with uv_try_write(): one write(2) for a
 * keep-alive request, one for a whole pipeline. What the socket does not
 * take goes out with uv_write() from `wout`, and no further request is
 * dispatched until it is written: a client that does not read its
 * responses stops being read from. Large responses are written straight
 * from the plugin's buffer. The output queue's size drives backpressure
 * (conn_on_drain()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

int buf_grow(char **data, size_t *cap, size_t need, size_t first) {
  size_t n = *cap ? *cap : first;
  char *nd;
  if (need <= *cap)
    return 0;
  while (n < need)
    n *= 2;
  if ((nd = realloc(*data, n)) == NULL)
    return -ENOMEM;
  *data = nd;
  *cap = n;
  return 0;
}

int buf_append(struct buf *b, const void *data, size_t len) {
  if (buf_grow(&b->data, &b->cap, b->len + len, 4096) != 0)
    return -ENOMEM;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

size_t conn_queued(const struct conn *c) {
  return c->out.len + c->tcp.write_queue_size;
}

int conn_on_drain(struct conn *c, void (*fn)(struct conn *c)) {
  if (c->closing)
    return -EPIPE;
  if (conn_queued(c) <= CONN_QUEUE_LOW && !c->writing)
    return -EALREADY;
  c->drain = fn;
  return 0;
}

static void conn_on_write(uv_write_t *wr, int status) {
  struct conn *c = wr->data;

  c->writing = 0;
  c->x->wout.len = 0;
  if (c->closing)
    return;
  if (status < 0) {
    if (c->res->state != RES_IDLE && c->res->state != RES_DONE)
      c->res->aborted = 1;
    conn_close(c);
    return;
  }
  /* The client took it all: the phase it interrupted begins again. */
  if (c->timer_kind == TIMER_SEND)
    conn_set_timer(c, TIMER_NONE, 0);
  conn_watch_deferred(c);
  conn_process(c);
}

/* Nagle's algorithm holds a small segment back only while sent data is
 * unacknowledged: a connection's first write never waits, so TCP_NODELAY
 * is set before its second one. A connection that serves one short
 * response (a new connection per request) saves the system call. */
void conn_nodelay_before_write(struct conn *c) {
  if (c->nodelay || c->committed == 0)
    return;
  c->nodelay = 1;
  uv_tcp_nodelay(&c->tcp, 1);
}

void conn_flush(struct conn *c) {
  if (c->writing || c->closing || c->detached)
    return;
  if (c->out.len > 0) {
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    struct buf t;
    int n;

    conn_nodelay_before_write(c);
    n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);

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
      t = c->x->wout;
      c->x->wout = c->out;
      c->out = t;
      c->out.len = 0;
      b = uv_buf_init(c->x->wout.data + n,
                      (unsigned)(c->x->wout.len - (size_t)n));
      c->x->wreq.data = c;
      if (uv_write(&c->x->wreq, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) !=
          0) {
        conn_close(c);
        return;
      }
      c->writing = 1;
      conn_wait_client(c);
      return;
    }
    c->out.len = 0;
  }
  /* A stream ended by its worker's stop (stream.c) is aborted: its
   * connection ends once its last chunk is out, without waiting for the
   * plugin's mc_response_end(). */
  if (c->close_after && (c->res->state == RES_IDLE ||
                         c->res->state == RES_ABANDONED || c->res->aborted))
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
  if (total >= CONN_DIRECT_WRITE_MIN && !c->writing && n < 8 && !c->detached) {
    uv_buf_t iov[9];
    unsigned k = 0;
    int w;
    if (c->out.len > 0)
      iov[k++] = uv_buf_init(c->out.data, (unsigned)c->out.len);
    for (i = 0; i < n; i++)
      iov[k++] = bufs[i];
    conn_nodelay_before_write(c);
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
