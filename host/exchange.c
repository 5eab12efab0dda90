/*
 * exchange.c - what a connection holds while a request is in progress.
 *
 * A connection costs what it holds. An idle keep-alive connection keeps its
 * socket, its timer, its parser and its peer's address, and nothing else.
 * The request (its header table and the strings of its head), the
 * response's header fields, the output buffers and the write, shutdown and
 * mc_response_later() handles form an exchange: taken from the worker's
 * spares when a request's first byte arrives, given back once its response
 * is out and nothing else is in progress.
 *
 * Input is read into the worker's one read buffer. Only what a read leaves
 * unparsed (a head that arrived in part, pipelined requests waiting their
 * turn, a body the plugin paused) moves into a buffer of the conn's own,
 * which goes once it is parsed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "deconst.h"
#include "log.h"
#include "request.h"
#include "worker.h"

/* Spare exchanges a worker keeps for the next requests; past a burst of
 * concurrent requests the others are freed. */
#define SPARES_MAX 64
/* An output buffer larger than this (a big response once) is not kept. */
#define KEEP_MAX 65536
/* The output buffer an exchange starts with, allocated with it: the 500
 * after a plugin fault must not need malloc, whose lock the fault may
 * hold. */
#define OUT_START 4096

/* What c->res points to while no request is in progress: a response in
 * RES_IDLE, which nobody writes (it is read-only memory). */
static const mc_response idle_res = {.state = RES_IDLE};

static size_t head_capacity(const struct worker *w) {
  /* The header buffer also holds a NUL per string and the path copy: room
   * for those comes on top of the limit the user set. */
  return w->cfg->max_header_size + 2 * CONN_MAX_HEADERS + 16;
}

static struct exchange *exchange_new(struct worker *w) {
  struct exchange *x = malloc(sizeof *x + head_capacity(w));

  if (x == NULL)
    return NULL;
  x->out.data = malloc(OUT_START);
  if (x->out.data == NULL) {
    free(x);
    return NULL;
  }
  x->out.cap = OUT_START;
  x->out.len = 0;
  x->wout = x->raw = (struct buf){NULL, 0, 0};
  x->req.body = NULL;
  x->req.body_len = x->req.body_cap = 0;
  x->req.arena.head = NULL;
  x->req.parsed = NULL;
  uv_timer_init(&w->loop, &x->later);
  x->later.data = NULL;
  return x;
}

static void exchange_free(struct exchange *x) {
  request_free(&x->req);
  free(x->req.body);
  free(x->out.data);
  free(x->wout.data);
  free(x->raw.data);
  free(x);
}

static void exchange_on_close(uv_handle_t *h) {
  exchange_free(container_of(h, struct exchange, later));
}

int exchange_take(struct conn *c) {
  struct worker *w = c->w;
  struct exchange *x = w->spares;
  mc_request *req;

  if (x != NULL) {
    w->spares = x->next;
    w->nspares--;
  } else if ((x = exchange_new(w)) == NULL) {
    return -ENOMEM;
  }
  c->x = x;
  c->req = req = &x->req;
  c->res = &x->res;
  c->hbuf = x->hbuf;
  c->hcap = head_capacity(w);
  c->hlen = 0;
  c->out = x->out;
  x->raw.len = 0;
  x->later.data = c;
  req->c = c;
  req->method = req->target = NULL;
  req->nheaders = 0;
  req->body_len = 0;
  req->keep_alive = 1;
  memcpy(req->remote_addr, c->peer_addr, sizeof req->remote_addr);
  req->remote_port = c->peer_port;
  req->scheme = c->peer_scheme;
  req->id[0] = '\0';
  response_reset(c->res, c);
  c->res->state = RES_IDLE;
  return 0;
}

void exchange_give(struct conn *c) {
  struct worker *w = c->w;
  struct exchange *x = c->x;

  if (x == NULL)
    return;
  if (uv_is_active((uv_handle_t *)&x->later))
    uv_timer_stop(&x->later);
  x->later.data = NULL;
  x->out = c->out;
  x->out.len = x->wout.len = 0;
  c->out = (struct buf){NULL, 0, 0};
  exchange_idle(c);
  if (x->req.body_cap > KEEP_MAX) {
    free(x->req.body);
    x->req.body = NULL;
    x->req.body_cap = 0;
  }
  if (x->wout.cap > KEEP_MAX) {
    free(x->wout.data);
    x->wout = (struct buf){NULL, 0, 0};
  }
  if (x->raw.cap > KEEP_MAX) {
    free(x->raw.data);
    x->raw = (struct buf){NULL, 0, 0};
  }
  if (__builtin_expect(x->out.cap > KEEP_MAX, 0)) {
    char *small = malloc(OUT_START);
    if (small != NULL) {
      free(x->out.data);
      x->out.data = small;
      x->out.cap = OUT_START;
    }
  }
  /* At the worker's end (its handles already closed) every exchange waits
   * in the spares for exchange_free_spares(). */
  if (w->nspares < SPARES_MAX || uv_is_closing((uv_handle_t *)&x->later)) {
    x->next = w->spares;
    w->spares = x;
    w->nspares++;
  } else {
    uv_close((uv_handle_t *)&x->later, exchange_on_close);
  }
}

void exchange_release_idle(struct conn *c) {
  if (c->x == NULL || c->res->state != RES_IDLE || c->in_message ||
      c->out.len > 0 || c->rpos < c->rlen || c->writing || c->closing ||
      c->close_after || c->detached || c->ws != NULL || c->fetches != NULL ||
      c->work_pending || c->orphaned || c->timer_kind == TIMER_LINGER ||
      (c->body.state != BODY_NONE && c->body.state != BODY_ENDED) ||
      uv_is_active((uv_handle_t *)&c->x->later))
    return;
  exchange_give(c);
}

void exchange_idle(struct conn *c) {
  c->x = NULL;
  c->req = NULL;
  c->res = DECONST(mc_response *, &idle_res);
  c->hbuf = NULL;
  c->hlen = 0;
}

void exchange_free_spares(struct worker *w) {
  while (w->spares != NULL) {
    struct exchange *x = w->spares;
    w->spares = x->next;
    exchange_free(x);
  }
  w->nspares = 0;
  free(w->input);
  w->input = NULL;
}

uv_buf_t exchange_read_buffer(struct conn *c) {
  struct worker *w = c->w;

  if (c->rbuf != NULL && c->rbuf != w->input) {
    if (c->rpos > 0 && c->rlen == CONN_READ_SIZE) {
      memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
      c->rlen -= c->rpos;
      c->rpos = 0;
    }
    return uv_buf_init(c->rbuf + c->rlen, (unsigned)(CONN_READ_SIZE - c->rlen));
  }
  if (w->input == NULL && (w->input = malloc(CONN_READ_SIZE)) == NULL)
    return uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
  return uv_buf_init(w->input, CONN_READ_SIZE);
}

void exchange_keep_rest(struct conn *c) {
  char *own;

  if (c->rbuf == NULL || c->detached)
    return;
  if (c->rpos == c->rlen || c->closing) {
    if (c->rbuf != c->w->input)
      free(c->rbuf);
    c->rbuf = NULL;
    c->rpos = c->rlen = 0;
    return;
  }
  if (c->rbuf != c->w->input)
    return;
  if ((own = malloc(CONN_READ_SIZE)) == NULL) {
    log_warn("out of memory for a connection's input; closing it");
    c->rbuf = NULL;
    c->rpos = c->rlen = 0;
    conn_close(c);
    return;
  }
  memcpy(own, c->rbuf + c->rpos, c->rlen - c->rpos);
  c->rlen -= c->rpos;
  c->rpos = 0;
  c->rbuf = own;
}

void conn_free_buffers(struct conn *c) {
  if (c->rbuf != c->w->input)
    free(c->rbuf);
  c->rbuf = NULL;
  c->rpos = c->rlen = 0;
  exchange_give(c);
}
