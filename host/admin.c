/*
 * admin.c - the admin listener (--admin ADDR:PORT), served by the master on
 * its own loop: GET /healthz, /readyz and /metrics (metrics.c).
 *
 * It never runs plugin code and never waits for a worker: what it answers
 * comes from the master's state and the board. So a hung, crashing or
 * crash-looping plugin never silences it, and a balancer or an
 * orchestrator can always learn whether this instance should get traffic.
 * The HTTP is the least that probes and scrapers need: one small request
 * per connection (GET or HEAD, headers ignored), one response, then the
 * connection ends. Few connections at a time, each with a deadline, so
 * that a client cannot hold the master's fds or memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "admin.h"
#include "deconst.h"
#include "http_status.h"
#include "log.h"
#include "master.h"
#include "metrics.h"

/* Admin connections open at once; more are closed at once. */
#define ADMIN_CONNS_MAX 16
/* A connection must have sent its request and read its answer by then. */
#define ADMIN_TIMEOUT_MS 5000

struct admin {
  struct master *m;
  int fd; /* bound before privileges are dropped, until uv_tcp_open() */
  uv_tcp_t server;
  int serving; /* server is a live handle */
  unsigned nconns;
  struct admin_conn *conns; /* open connections */
  char where[64];
};

struct admin_conn {
  struct admin *a;
  struct admin_conn *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t wreq;
  uv_shutdown_t sreq;
  int handles; /* open handles; freed at 0 */
  int answered;
  size_t len;
  char req[ADMIN_REQUEST_MAX];
  char head[256];
  char text[192];
  char *out; /* the /metrics page */
  size_t outcap;
};

/* ---- the request ---- */

int admin_parse(const char *buf, size_t len, char *path, size_t pathlen,
                int *head) {
  const char *end, *sp, *target, *q;
  size_t mlen, tlen;

  /* Only a head that ends within ADMIN_REQUEST_MAX bytes counts, so that
   * the answer to a prefix never changes as more bytes arrive. */
  if (len > ADMIN_REQUEST_MAX)
    len = ADMIN_REQUEST_MAX;
  if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
    return len >= ADMIN_REQUEST_MAX ? MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE
                                    : 0;
  if ((sp = memchr(buf, ' ', (size_t)(end - buf))) == NULL)
    return MC_STATUS_BAD_REQUEST;
  mlen = (size_t)(sp - buf);
  target = sp + 1;
  if ((sp = memchr(target, ' ', (size_t)(end - target))) == NULL)
    return MC_STATUS_BAD_REQUEST;
  tlen = (size_t)(sp - target);
  if ((size_t)(end - sp) < 9 || memcmp(sp, " HTTP/1.", 8) != 0 ||
      (sp[8] != '0' && sp[8] != '1') || (sp[9] != '\r'))
    return MC_STATUS_BAD_REQUEST;
  if (tlen == 0 || target[0] != '/')
    return MC_STATUS_BAD_REQUEST;
  for (size_t i = 0; i < tlen; i++)
    if ((unsigned char)target[i] <= 0x20 || target[i] == 0x7f)
      return MC_STATUS_BAD_REQUEST;
  if (!(mlen == 3 && memcmp(buf, "GET", 3) == 0) &&
      !(mlen == 4 && memcmp(buf, "HEAD", 4) == 0))
    return MC_STATUS_METHOD_NOT_ALLOWED;
  *head = mlen == 4;
  q = memchr(target, '?', tlen);
  if (q != NULL)
    tlen = (size_t)(q - target);
  if (tlen >= pathlen)
    return MC_STATUS_NOT_FOUND;
  memcpy(path, target, tlen);
  path[tlen] = '\0';
  return MC_STATUS_OK;
}

/* ---- readiness ---- */

int admin_ready(struct master *m, char *why, size_t len) {
  uint64_t now = uv_now(&m->loop);
  unsigned serving = 0;

  if (m->stopping) {
    snprintf(why, len, "stopping");
    return 0;
  }
  if (m->draining) {
    snprintf(why, len, "draining: stopping in %.1f s (--drain-delay)",
             (double)uv_timer_get_due_in(&m->drain_timer) / 1000.0);
    return 0;
  }
  /* The backoff, and FAIL_WINDOW_MS after it, so that readiness does not
   * flap between the delays of one crash loop. */
  if (m->next_spawn_ms != 0 && now < m->next_spawn_ms + FAIL_WINDOW_MS) {
    snprintf(why, len,
             "crash-looping: workers keep failing, restarts are slowed down");
    return 0;
  }
  if ((serving = master_serving(m)) == 0) {
    snprintf(why, len, "no worker is serving yet");
    return 0;
  }
  snprintf(why, len, "ready: generation %u, %u worker%s serving", m->generation,
           serving, serving == 1 ? "" : "s");
  return 1;
}

/* ---- one connection ---- */

static void conn_on_close(uv_handle_t *h) {
  struct admin_conn *c = h->data;
  if (--c->handles > 0)
    return;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    c->a->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->a->nconns--;
  free(c->out);
  free(c);
}

static void conn_close(struct admin_conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    uv_close((uv_handle_t *)&c->timer, conn_on_close);
  }
}

static void conn_on_timer(uv_timer_t *t) { conn_close(t->data); }

static void conn_on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  conn_close(req->data);
}

static void conn_on_write(uv_write_t *req, int status) {
  struct admin_conn *c = req->data;
  c->sreq.data = c;
  if (status != 0 ||
      uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0)
    conn_close(c);
}

/* Writes the response: head, then body unless the request was HEAD. The
 * body is c->text or c->out: uv_write() copies the list of buffers, not
 * the bytes, which must live until the write ends. */
static void conn_answer(struct admin_conn *c, int status, const char *type,
                        const char *body, size_t blen, int head) {
  uv_buf_t b[2];
  int n = snprintf(
      c->head, sizeof c->head,
      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
      "Content-Length: %zu\r\nCache-Control: no-store\r\n"
      "%sConnection: close\r\n\r\n",
      status, http_status_reason(status), type, blen,
      status == MC_STATUS_METHOD_NOT_ALLOWED ? "Allow: GET, HEAD\r\n" : "");

  c->answered = 1;
  uv_read_stop((uv_stream_t *)&c->tcp);
  b[0] = uv_buf_init(c->head, (unsigned)n);
  b[1] = uv_buf_init(DECONST(char *, body), (unsigned)(head ? 0 : blen));
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b, 2, conn_on_write) != 0)
    conn_close(c);
}

static void conn_text(struct admin_conn *c, int status, const char *text,
                      int head) {
  int n = snprintf(c->text, sizeof c->text, "%s\n", text);
  conn_answer(c, status, "text/plain; charset=utf-8", c->text, (size_t)n, head);
}

static void conn_route(struct admin_conn *c, const char *path, int head) {
  struct master *m = c->a->m;
  char why[128];

  if (strcmp(path, "/healthz") == 0) {
    conn_text(c, MC_STATUS_OK, "ok", head);
  } else if (strcmp(path, "/readyz") == 0) {
    int ready = admin_ready(m, why, sizeof why);
    conn_text(c, ready ? MC_STATUS_OK : MC_STATUS_SERVICE_UNAVAILABLE, why,
              head);
  } else if (strcmp(path, "/metrics") == 0) {
    size_t len = 0;
    if (metrics_write(m, &c->out, &len, &c->outcap) != 0) {
      conn_text(c, MC_STATUS_INTERNAL_SERVER_ERROR, "out of memory", head);
      return;
    }
    conn_answer(c, MC_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                c->out, len, head);
  } else {
    conn_text(c, MC_STATUS_NOT_FOUND,
              "not found: try /healthz, /readyz or /metrics", head);
  }
}

static void conn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct admin_conn *c = h->data;
  (void)hint;
  *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof c->req - c->len));
}

static void conn_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct admin_conn *c = s->data;
  char path[64];
  int head = 0, status;
  (void)buf;

  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0 || c->answered)
    return;
  c->len += (size_t)n;
  status = admin_parse(c->req, c->len, path, sizeof path, &head);
  if (status == MC_STATUS_OK)
    conn_route(c, path, head);
  else if (status != 0)
    conn_text(c, status, http_status_reason(status), head);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void admin_on_connection(uv_stream_t *server, int status) {
  struct admin *a = server->data;
  struct admin_conn *c;

  if (status != 0)
    return;
  if (a->nconns >= ADMIN_CONNS_MAX || (c = calloc(1, sizeof *c)) == NULL) {
    /* Accepted only to be closed: nothing is left waiting. */
    uv_tcp_t *drop = malloc(sizeof *drop);
    if (drop == NULL)
      return;
    uv_tcp_init(server->loop, drop);
    uv_accept(server, (uv_stream_t *)drop);
    uv_close((uv_handle_t *)drop, free_handle);
    return;
  }
  c->a = a;
  c->next = a->conns;
  if (a->conns != NULL)
    a->conns->prev = c;
  a->conns = c;
  a->nconns++;
  uv_tcp_init(server->loop, &c->tcp);
  uv_timer_init(server->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) != 0) {
    conn_close(c);
    return;
  }
  uv_timer_start(&c->timer, conn_on_timer, ADMIN_TIMEOUT_MS, 0);
}

/* ---- the listener ---- */

int admin_open(struct master *m) {
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  struct admin *a;
  int one = 1, e;

  if (m->cfg->admin == NULL)
    return EXIT_OK;
  if ((a = calloc(1, sizeof *a)) == NULL) {
    fprintf(stderr, "mchost: --admin: out of memory\n");
    return EXIT_RUNTIME;
  }
  a->m = m;
  config_parse_addr(m->cfg->admin, &ss); /* checked by config_load() */
  a->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (a->fd >= 0)
    setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (a->fd < 0 ||
      bind(a->fd, (struct sockaddr *)&ss,
           ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                    : sizeof(struct sockaddr_in)) != 0 ||
      listen(a->fd, 64) != 0 ||
      getsockname(a->fd, (struct sockaddr *)&ss, &sslen) != 0) {
    e = errno;
    fprintf(stderr, "mchost: --admin %s: cannot listen: %s%s\n", m->cfg->admin,
            e == EADDRINUSE ? "address already in use" : strerror(e),
            e == EADDRINUSE      ? " (another server has it: pick another port)"
            : e == EACCES        ? " (ports below 1024 need root)"
            : e == EADDRNOTAVAIL ? " (not an address of this machine)"
                                 : "");
    if (a->fd >= 0)
      close(a->fd);
    free(a);
    return EXIT_RUNTIME;
  }
  if (ss.ss_family == AF_INET6) {
    char host[INET6_ADDRSTRLEN];
    uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
    snprintf(a->where, sizeof a->where, "[%s]:%u", host,
             ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
  } else {
    char host[INET_ADDRSTRLEN];
    uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
    snprintf(a->where, sizeof a->where, "%s:%u", host,
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
  }
  m->admin = a;
  return EXIT_OK;
}

int admin_start(struct master *m) {
  struct admin *a = m->admin;
  int err;

  if (a == NULL)
    return 0;
  uv_tcp_init(&m->loop, &a->server);
  a->server.data = a;
  if ((err = uv_tcp_open(&a->server, a->fd)) != 0 ||
      (err = uv_listen((uv_stream_t *)&a->server, 64, admin_on_connection)) !=
          0) {
    log_error("--admin %s: %s", a->where, uv_strerror(err));
    return err;
  }
  a->fd = -1;
  a->serving = 1;
  log_info("admin on http://%s (/healthz, /readyz, /metrics)", a->where);
  return 0;
}

void admin_close(struct master *m) {
  struct admin *a = m->admin;
  if (a == NULL || !a->serving)
    return;
  a->serving = 0;
  uv_close((uv_handle_t *)&a->server, NULL);
  for (struct admin_conn *c = a->conns; c != NULL; c = c->next)
    conn_close(c);
}

void admin_free(struct master *m) {
  if (m->admin == NULL)
    return;
  if (m->admin->fd >= 0)
    close(m->admin->fd);
  free(m->admin);
  m->admin = NULL;
}
