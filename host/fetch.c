/*
 * fetch.c - mc_fetch(): an HTTP/1.1 client on the worker's loop.
 *
 * A fetch resolves its host on libuv's pool, tries each address in turn,
 * sends one request with "Connection: close", and parses the response with
 * llhttp (HTTP_RESPONSE). It belongs to a conn's response: the conn keeps
 * a list of its fetches, and a client that leaves or a response finished
 * by other means cancels them (fetch_conn_changed()). Ending a fetch
 * closes its handles first; the plugin's callback runs once every handle
 * and request of it is done, so nothing of it can fire afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "fetch.h"
#include "log.h"
#include "token.h"
#include "worker.h"

struct fetch {
  struct fetch *next;          /* on its conn's list (c->fetches) */
  struct fetch *wprev, *wnext; /* on its worker's list (w->fetches) */
  struct worker *w;
  struct conn *c; /* NULL once its response no longer awaits it */
  mc_fetch_cb cb;
  void *data;
  uv_getaddrinfo_t gai;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_write_t wreq;
  struct addrinfo *ai, *ai_next; /* addresses, the next one to try */
  unsigned pending;              /* handles and requests not yet done */
  int ending, err, connect_err;
  int tcp_open;      /* f->tcp is initialized and not closing */
  struct conn *held; /* its callback waits for this conn's mc_work() */
  int due;           /* fetch_work_done() delivers it next */
  struct fetch_response resp;
  char *req; /* the request bytes */
  size_t req_len;
  size_t got, max_size;
  char rbuf[16384];
  mc_fetch_result result;
};

/* ---- the URL ---- */

static int host_char(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

int fetch_parse_url(const char *url, struct fetch_url *out) {
  const char *p, *h, *he;
  size_t n;

  if (strncasecmp(url, "http://", 7) != 0)
    return -EINVAL;
  p = h = url + 7;
  out->bracketed = *p == '[';
  if (out->bracketed) {
    h = ++p;
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
           (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.')
      p++;
    if (*p != ']' || p == h)
      return -EINVAL;
    he = p++;
  } else {
    while (host_char((unsigned char)*p))
      p++;
    he = p;
  }
  if (he == h)
    return -EINVAL;
  if ((n = (size_t)(he - h)) > MC_FETCH_HOST_MAX)
    return -E2BIG;
  memcpy(out->host, h, n);
  out->host[n] = '\0';
  strcpy(out->port, "80");
  if (*p == ':') {
    unsigned long port = 0;
    const char *d = ++p;
    while (*p >= '0' && *p <= '9' && p - d < 5)
      port = port * 10 + (unsigned long)(*p++ - '0');
    if (p == d || port == 0 || port > 65535)
      return -EINVAL;
    memcpy(out->port, d, (size_t)(p - d));
    out->port[p - d] = '\0';
  }
  if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
    return -EINVAL; /* userinfo, a bad host or port character */
  out->path = p;
  for (; *p != '\0' && *p != '#'; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
      return -EINVAL; /* would break the request line */
  out->path_len = (size_t)(p - out->path);
  return 0;
}

/* ---- ending a fetch ---- */

static int answerable(const struct conn *c) {
  return c->res->state == RES_HANDLER || c->res->state == RES_DEFERRED ||
         c->res->state == RES_STREAMING;
}

static void unlink_conn(struct fetch *f) {
  if (f->c == NULL)
    return;
  for (struct fetch **p = &f->c->fetches; *p != NULL; p = &(*p)->next)
    if (*p == f) {
      *p = f->next;
      break;
    }
  f->c = NULL;
}

static void call_cb(mc_response *res, void *arg) {
  struct fetch *f = arg;
  f->cb(res, &f->result, f->data);
}

static void call_detached(void *arg) { call_cb(NULL, arg); }

/* Everything of the fetch is done: tell the plugin, then free it. While
 * its response waits for a mc_work() (it cannot be answered), the
 * callback waits for fetch_work_done(): it never runs beside work(). */
static void deliver(struct fetch *f) {
  struct worker *w = f->w;
  struct conn *c = f->c;

  if (c != NULL && c->work_pending && c->res->state == RES_WORK)
    f->held = c;
  if (f->held != NULL) {
    log_debug("an mc_fetch() ended in mc_work(): its callback follows done()");
    return;
  }
  if (f->wprev != NULL)
    f->wprev->wnext = f->wnext;
  else
    w->fetches = f->wnext;
  if (f->wnext != NULL)
    f->wnext->wprev = f->wprev;
  unlink_conn(f);
  memset(&f->result, 0, sizeof f->result);
  f->result.error = f->err;
  if (f->err == 0) {
    fetch_parse_result(&f->resp, &f->result);
  }
  if (c != NULL && answerable(c)) {
    worker_call_plugin(w, c, call_cb, f);
  } else {
    worker_guard_detached(w, call_detached, f,
                          "an mc_fetch() callback for a finished response");
  }
  free(f->req);
  fetch_parse_free(&f->resp);
  if (f->ai != NULL)
    uv_freeaddrinfo(f->ai);
  free(f);
}

static void done_one(struct fetch *f) {
  if (--f->pending == 0)
    deliver(f);
}

static void on_handle_closed(uv_handle_t *h) { done_one(h->data); }

/* Ends the fetch with `err` (0: a whole response): the callback follows
 * once its handles are closed. Only the first call counts. */
static void end(struct fetch *f, int err) {
  if (f->ending)
    return;
  f->ending = 1;
  f->err = err;
  uv_close((uv_handle_t *)&f->timer, on_handle_closed);
  if (f->tcp_open) {
    f->tcp_open = 0;
    uv_close((uv_handle_t *)&f->tcp, on_handle_closed);
  }
  uv_cancel((uv_req_t *)&f->gai); /* fails harmlessly when not queued */
}

/* A client that left: the response stays open until the plugin finishes
 * it, so its fetches keep it (their callbacks get it, aborted). A response
 * finished: they are detached, and told -ECANCELED with res NULL (finished
 * by the host while a mc_work() runs, after its done()). */
void fetch_conn_changed(struct conn *c) {
  struct fetch *f = c->fetches;
  int keep = c->closing && (answerable(c) || c->res->state == RES_WORK);

  while (f != NULL) {
    struct fetch *next = f->next;
    end(f, -ECANCELED);
    if (!keep) {
      f->c = NULL;
      f->next = NULL;
      f->err = -ECANCELED;
      if (c->work_pending)
        f->held = c;
    }
    f = next;
  }
  if (!keep)
    c->fetches = NULL;
}

void fetch_work_done(struct worker *w, struct conn *c) {
  struct fetch *f;

  for (f = w->fetches; f != NULL; f = f->wnext)
    if (f->held == c) {
      f->held = NULL;
      f->due = f->pending == 0; /* else its handles' end delivers it */
    }
  /* A callback may start or end fetches, or start a mc_work(): rescan. */
  for (;;) {
    for (f = w->fetches; f != NULL && !f->due; f = f->wnext)
      ;
    if (f == NULL)
      break;
    f->due = 0;
    deliver(f);
  }
}

void fetch_worker_stop(struct worker *w) {
  for (struct fetch *f = w->fetches; f != NULL; f = f->wnext)
    end(f, -ECANCELED);
  while (w->fetches != NULL)
    uv_run(&w->loop, UV_RUN_ONCE);
}

/* ---- the response ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  struct fetch *f = h->data;
  (void)hint;
  *b = uv_buf_init(f->rbuf, sizeof f->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct fetch *f = s->data;
  int rc;

  if (f->ending || n == 0)
    return;
  if (n < 0) {
    if (n != UV_EOF)
      end(f, (int)n);
    else if (f->got == 0)
      end(f, -ECONNRESET);
    else
      end(f, fetch_parse_finish(&f->resp) == 1 ? 0 : -EBADMSG);
    return;
  }
  if ((f->got += (size_t)n) > f->max_size) {
    end(f, -EFBIG);
    return;
  }
  if ((rc = fetch_parse_feed(&f->resp, b->base, (size_t)n)) != 0)
    end(f, rc == 1 ? 0 : rc);
}

/* ---- connecting and sending ---- */

static void try_connect(struct fetch *f);

/* A failed attempt's socket is closed: the next address, unless the fetch
 * ended meanwhile. */
static void on_retry_closed(uv_handle_t *h) {
  struct fetch *f = h->data;
  if (f->ending) {
    done_one(f);
    return;
  }
  f->pending--;
  try_connect(f);
}

static void retry(struct fetch *f, int err) {
  f->connect_err = err;
  f->tcp_open = 0;
  uv_close((uv_handle_t *)&f->tcp, on_retry_closed);
}

static void on_write(uv_write_t *wr, int status) {
  struct fetch *f = wr->data;
  if (!f->ending && status < 0)
    end(f, status);
}

static void on_connect(uv_connect_t *cr, int status) {
  struct fetch *f = cr->data;
  uv_buf_t b = uv_buf_init(f->req, (unsigned)f->req_len);
  int err;

  if (f->ending)
    return;
  if (status < 0) {
    retry(f, status); /* another address may accept */
    return;
  }
  f->wreq.data = f;
  if ((err = uv_write(&f->wreq, (uv_stream_t *)&f->tcp, &b, 1, on_write)) < 0 ||
      (err = uv_read_start((uv_stream_t *)&f->tcp, on_alloc, on_read)) < 0)
    end(f, err);
}

static void try_connect(struct fetch *f) {
  struct addrinfo *ai = f->ai_next;
  int err;

  if (ai == NULL) {
    end(f, f->connect_err != 0 ? f->connect_err : -ECONNREFUSED);
    return;
  }
  f->ai_next = ai->ai_next;
  if ((err = uv_tcp_init(&f->w->loop, &f->tcp)) < 0) {
    end(f, err);
    return;
  }
  f->pending++;
  f->tcp_open = 1;
  f->tcp.data = f;
  f->creq.data = f;
  if ((err = uv_tcp_connect(&f->creq, &f->tcp, ai->ai_addr, on_connect)) < 0)
    retry(f, err);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai) {
  struct fetch *f = g->data;

  f->ai = f->ai_next = ai;
  if (!f->ending) {
    if (status < 0)
      end(f, -ENOENT);
    else
      try_connect(f);
  }
  done_one(f); /* the resolution itself */
}

static void on_timeout(uv_timer_t *t) { end(t->data, -ETIMEDOUT); }

/* ---- the request ---- */

static int token(const char *s, size_t len) {
  if (len == 0)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!token_is_tchar((unsigned char)s[i]))
      return 0;
  return 1;
}

static int host_owned(const char *name, size_t len) {
  static const char *const owned[] = {"host", "content-length",
                                      "transfer-encoding", "connection"};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
    if (len == strlen(owned[i]) && strncasecmp(name, owned[i], len) == 0)
      return 1;
  return 0;
}

static int add_str(struct buf *b, const char *s) {
  return fetch_buf_add(b, s, strlen(s));
}

/* The request's bytes in f->req. */
static int build_request(struct fetch *f, const mc_fetch_opts *o,
                         const struct fetch_url *u, const char *method) {
  struct buf b = {0};
  char num[32];
  int err = 0;

  err |= add_str(&b, method);
  err |= add_str(&b, " ");
  if (u->path_len == 0 || u->path[0] != '/')
    err |= add_str(&b, "/");
  err |= fetch_buf_add(&b, u->path, u->path_len);
  err |= add_str(&b, " HTTP/1.1\r\nHost: ");
  err |= add_str(&b, u->bracketed ? "[" : "");
  err |= add_str(&b, u->host);
  err |= add_str(&b, u->bracketed ? "]" : "");
  if (strcmp(u->port, "80") != 0) {
    err |= add_str(&b, ":");
    err |= add_str(&b, u->port);
  }
  err |= add_str(&b, "\r\nConnection: close\r\n");
  for (const char *const *h = o->headers; h != NULL && *h != NULL; h++) {
    const char *colon = strchr(*h, ':');
    if (colon == NULL || !token(*h, (size_t)(colon - *h)) ||
        host_owned(*h, (size_t)(colon - *h)) || strpbrk(*h, "\r\n") != NULL) {
      free(b.data);
      return -EINVAL;
    }
    err |= add_str(&b, *h);
    err |= add_str(&b, "\r\n");
  }
  if (o->body_len > 0 || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
      !strcmp(method, "PATCH")) {
    snprintf(num, sizeof num, "Content-Length: %zu\r\n", o->body_len);
    err |= add_str(&b, num);
  }
  err |= add_str(&b, "\r\n");
  if (err == 0 && b.len > MC_FETCH_HEAD_MAX)
    err = -E2BIG;
  if (err == 0 && o->body_len > 0)
    err = fetch_buf_add(&b, o->body, o->body_len);
  if (err != 0) {
    free(b.data);
    return err == -E2BIG ? -E2BIG : -ENOMEM;
  }
  f->req = b.data;
  f->req_len = b.len;
  return 0;
}

MC_EXTERN int mc_fetch(mc_response *res, const mc_fetch_opts *o, mc_fetch_cb cb,
                       void *data) {
  struct addrinfo hints = {0};
  struct fetch_url u;
  struct fetch *f;
  struct worker *w;
  const char *method;
  int err;

  if (cb == NULL || o == NULL || o->url == NULL ||
      (o->body == NULL && o->body_len > 0))
    return -EINVAL;
  if (!answerable(res->c))
    return -EALREADY;
  if (res->c->closing)
    return -EPIPE;
  method = o->method != NULL ? o->method : "GET";
  if (!token(method, strlen(method)))
    return -EINVAL;
  if ((err = fetch_parse_url(o->url, &u)) < 0)
    return err;
  if ((f = calloc(1, sizeof *f)) == NULL)
    return -ENOMEM;
  if ((err = build_request(f, o, &u, method)) < 0) {
    free(f);
    return err;
  }
  w = res->c->w;
  f->w = w;
  f->cb = cb;
  f->data = data;
  fetch_parse_init(&f->resp, strcmp(method, "HEAD") == 0);
  f->max_size = o->max_size ? o->max_size : MC_FETCH_MAX_SIZE;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  f->gai.data = f;
  if ((err = uv_getaddrinfo(&w->loop, &f->gai, on_resolved, u.host, u.port,
                            &hints)) < 0) {
    free(f->req);
    free(f);
    return err == UV_ENOMEM ? -ENOMEM : -EINVAL;
  }
  uv_timer_init(&w->loop, &f->timer);
  f->timer.data = f;
  uv_timer_start(&f->timer, on_timeout,
                 o->timeout_ms ? o->timeout_ms : MC_FETCH_TIMEOUT_MS, 0);
  f->pending = 2; /* the resolution and the timer; a socket adds one */
  f->c = res->c;
  f->next = res->c->fetches;
  res->c->fetches = f;
  f->wnext = w->fetches;
  if (w->fetches != NULL)
    w->fetches->wprev = f;
  w->fetches = f;
  if (res->state == RES_HANDLER)
    res->state = RES_DEFERRED;
  return 0;
}
