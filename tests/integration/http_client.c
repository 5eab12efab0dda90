/*
 * http_client.c - the raw HTTP/1.1 client of harness.h: one buffered reader
 * per connection, so pipelined responses are read one after another, and
 * every wait is bounded by a deadline.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int http_open(struct http_client *c, int port, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  struct sockaddr_in sa;
  struct timeval tv = {5, 0};
  c->fd = -1;
  c->off = c->len = 0;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;
    if (fd < 0)
      return -errno;
    /* A server that stops reading must not hang a send() forever. */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      c->fd = fd;
      return 0;
    }
    err = -errno;
    close(fd);
    if (err != -ECONNREFUSED || now_ms() >= deadline)
      return err;
    sleep_ms(10); /* the server may still be starting */
  }
}

void http_close(struct http_client *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->off = c->len = 0;
}

int http_send(struct http_client *c, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno == EAGAIN ? -ETIMEDOUT : -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int http_send_str(struct http_client *c, const char *s) {
  return http_send(c, s, strlen(s));
}

/* Reads more bytes into the buffer. Returns > 0 (bytes read), 0 at EOF,
 * or -errno (-ETIMEDOUT at the deadline, -EMSGSIZE when full). */
static int fill(struct http_client *c, int64_t deadline) {
  if (c->off > 0 && c->len == sizeof c->buf) {
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  if (c->len == sizeof c->buf)
    return -EMSGSIZE;
  for (;;) {
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int pr = poll(&pfd, 1, remaining_ms(deadline));
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr < 0)
      return -errno;
    if (pr == 0)
      return -ETIMEDOUT;
    ssize_t n =
        recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n < 0)
      return -errno;
    c->len += (size_t)n;
    return (int)n;
  }
}

static size_t avail(const struct http_client *c) { return c->len - c->off; }

/* Makes at least n unread bytes available. EOF before that is -EPROTO:
 * the response was cut short. */
static int need(struct http_client *c, size_t n, int64_t deadline) {
  while (avail(c) < n) {
    int r = fill(c, deadline);
    if (r == 0)
      return -EPROTO;
    if (r < 0)
      return r;
  }
  return 0;
}

/* Finds `delim` in the unread bytes, reading as needed; returns its offset
 * from c->off in *at. */
static int need_delim(struct http_client *c, const char *delim, size_t *at,
                      size_t limit, int64_t deadline, int eof_err) {
  size_t dl = strlen(delim);
  for (;;) {
    const char *hit = memmem(c->buf + c->off, avail(c), delim, dl);
    if (hit) {
      *at = (size_t)(hit - (c->buf + c->off));
      return 0;
    }
    if (avail(c) > limit)
      return -EMSGSIZE;
    int r = fill(c, deadline);
    if (r == 0)
      return avail(c) == 0 ? eof_err : -EPROTO;
    if (r < 0)
      return r;
  }
}

static int body_append(struct http_resp *r, const char *p, size_t n) {
  if (r->body_len + n > HTTP_BODY_MAX)
    return -EMSGSIZE;
  memcpy(r->body + r->body_len, p, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return 0;
}

static int parse_head(struct http_resp *r, size_t head_len) {
  char *line, *next, *colon, *v, *e;
  size_t sl;
  memcpy(r->hbuf, r->head, head_len);
  r->hbuf[head_len] = '\0';
  next = strstr(r->hbuf, "\r\n");
  if (!next)
    return -EPROTO;
  *next = '\0';
  sl = strlen(r->hbuf);
  if (sl >= sizeof r->status_line)
    return -EPROTO;
  memcpy(r->status_line, r->hbuf, sl + 1);
  if (sscanf(r->status_line, "HTTP/1.%d %3d", &r->minor, &r->status) != 2 ||
      r->status < 100 || r->status > 599 ||
      strncmp(r->status_line, "HTTP/1.", 7))
    return -EPROTO;
  for (line = next + 2; *line; line = next + 2) {
    next = strstr(line, "\r\n");
    if (!next)
      return -EPROTO;
    *next = '\0';
    if (*line == '\0')
      break; /* the empty line that ends the head */
    colon = strchr(line, ':');
    if (!colon || colon == line || r->nheaders == HTTP_HEADERS_MAX)
      return -EPROTO;
    *colon = '\0';
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++) {
    }
    for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
      e[-1] = '\0';
    r->headers[r->nheaders].name = line;
    r->headers[r->nheaders].value = v;
    r->nheaders++;
  }
  return 0;
}

static int read_chunked(struct http_client *c, struct http_resp *r,
                        int64_t deadline) {
  for (;;) {
    size_t at, size;
    char *end;
    int err = need_delim(c, "\r\n", &at, 1024, deadline, -EPROTO);
    if (err < 0)
      return err;
    const char *line = c->buf + c->off;
    if (!isxdigit((unsigned char)line[0]))
      return -EPROTO;
    size = (size_t)strtoul(line, &end, 16);
    if (end != line + at && *end != ';')
      return -EPROTO; /* only a chunk extension may follow the size */
    c->off += at + 2;
    if (size == 0) {
      /* Trailer fields, then the empty line. */
      for (;;) {
        if ((err = need_delim(c, "\r\n", &at, 4096, deadline, -EPROTO)) < 0)
          return err;
        c->off += at + 2;
        if (at == 0)
          return 0;
      }
    }
    if ((err = need(c, size + 2, deadline)) < 0)
      return err;
    if (memcmp(c->buf + c->off + size, "\r\n", 2) != 0)
      return -EPROTO;
    if ((err = body_append(r, c->buf + c->off, size)) < 0)
      return err;
    c->off += size + 2;
  }
}

int http_read(struct http_client *c, struct http_resp *r, int flags,
              int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  size_t at;
  const char *te, *cl;
  int err;

  memset(r, 0, offsetof(struct http_resp, head));
  r->head[0] = r->body[0] = '\0';
  r->nheaders = r->body_len = 0;
  err = need_delim(c, "\r\n\r\n", &at, HTTP_HEAD_MAX - 5, deadline,
                   -ECONNABORTED);
  if (err < 0)
    return err;
  memcpy(r->head, c->buf + c->off, at + 4);
  r->head[at + 4] = '\0';
  c->off += at + 4;
  if ((err = parse_head(r, at + 4)) < 0)
    return err;

  if ((flags & HTTP_RESP_TO_HEAD) || r->status < 200 || r->status == 204 ||
      r->status == 304)
    return 0;
  te = http_header(r, "Transfer-Encoding");
  cl = http_header(r, "Content-Length");
  if (te && strcasestr(te, "chunked")) {
    r->chunked = 1;
    return read_chunked(c, r, deadline);
  }
  if (cl) {
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    if (end == cl || *end != '\0')
      return -EPROTO;
    if (n > HTTP_BODY_MAX)
      return -EMSGSIZE;
    if ((err = need(c, (size_t)n, deadline)) < 0)
      return err;
    body_append(r, c->buf + c->off, (size_t)n);
    c->off += (size_t)n;
    return 0;
  }
  /* No framing: the body ends when the server closes. */
  for (;;) {
    if ((err = body_append(r, c->buf + c->off, avail(c))) < 0)
      return err;
    c->off = c->len;
    int n = fill(c, deadline);
    if (n == 0)
      return 0;
    if (n < 0)
      return n;
  }
}

int http_wait_close(struct http_client *c, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  if (avail(c) > 0)
    return -EPROTO;
  int n = fill(c, deadline);
  if (n == 0)
    return 0;
  if (n > 0)
    return -EPROTO;
  return n; /* -ECONNRESET, -ETIMEDOUT, ... */
}

int http_still_open(struct http_client *c, int ms) {
  return http_wait_close(c, ms) == -ETIMEDOUT;
}

const char *http_header(const struct http_resp *r, const char *name) {
  for (size_t i = 0; i < r->nheaders; i++)
    if (strcasecmp(r->headers[i].name, name) == 0)
      return r->headers[i].value;
  return NULL;
}

int http_get_timeout(int port, const char *target, struct http_resp *r,
                     int timeout_ms) {
  struct http_client *c = malloc(sizeof *c);
  char req[2048];
  int64_t deadline = deadline_in(timeout_ms);
  int err;
  if (!c)
    return -ENOMEM;
  snprintf(req, sizeof req,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
           target);
  err = http_open(c, port, timeout_ms);
  if (err == 0)
    err = http_send_str(c, req);
  if (err == 0)
    err = http_read(c, r, 0, budget_ms(deadline));
  http_close(c);
  free(c);
  return err;
}

int http_get(int port, const char *target, struct http_resp *r) {
  return http_get_timeout(port, target, r, 5000);
}

const char *http_strerror(int err) {
  switch (err) {
  case 0:
    return "ok";
  case -ECONNABORTED:
    return "closed by the server before any response byte";
  case -EPROTO:
    return "malformed or truncated response";
  case -EMSGSIZE:
    return "response larger than the test client keeps";
  case -ETIMEDOUT:
    return "timed out";
  default:
    return strerror(-err);
  }
}
