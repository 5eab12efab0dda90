/*
 * access.c - the access log: Common Log Format, or JSON with --log-format.
 *
 * Lines are collected in memory and written when the buffer fills, once a
 * second, and when the worker stops, so that logging costs no system call
 * per request (nginx's `buffer=`). Each worker appends to the same file
 * with O_APPEND; a write of whole lines below PIPE_BUF is never interleaved
 * with another worker's, and larger ones end on a line boundary.
 */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "conn.h"
#include "log.h"
#include "utc.h"

#define ACCESS_FLUSH_MS 1000

static int open_path(const char *path) {
  if (strcmp(path, "-") == 0)
    return STDOUT_FILENO;
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void access_on_flush(uv_timer_t *t) { access_flush(t->data); }

int access_open(struct access_log *a, uv_loop_t *loop, const char *path,
                int json, char *err, size_t errlen) {
  a->fd = -1;
  a->path = path;
  a->json = json;
  a->len = 0;
  a->date_sec = 0;
  a->has_timer = 0;
  if (path == NULL)
    return 0;
  if ((a->fd = open_path(path)) < 0) {
    int e = errno;
    snprintf(err, errlen, "--access-log '%s': %s", path, strerror(e));
    return -e;
  }
  if (loop != NULL) {
    uv_timer_init(loop, &a->flush);
    a->flush.data = a;
    uv_timer_start(&a->flush, access_on_flush, ACCESS_FLUSH_MS,
                   ACCESS_FLUSH_MS);
    /* a pending flush must not keep a stopping worker alive */
    uv_unref((uv_handle_t *)&a->flush);
    a->has_timer = 1;
  }
  return 0;
}

void access_flush(struct access_log *a) {
  size_t off = 0;
  while (a->fd >= 0 && off < a->len) {
    ssize_t n = write(a->fd, a->buf + off, a->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* a full disk loses log lines, never requests */
    off += (size_t)n;
  }
  a->len = 0;
}

/* A request target is the client's text: quoted, so that a '"' cannot end
 * the field early and forge the ones after it; as nginx does, '"', '\\',
 * control and non-ASCII bytes become \xHH. */
static size_t clf_escape(char *out, size_t cap, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (; *s != '\0' && n + 5 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f) {
      out[n++] = '\\';
      out[n++] = 'x';
      out[n++] = hex[ch >> 4];
      out[n++] = hex[ch & 15];
    } else {
      out[n++] = (char)ch;
    }
  }
  out[n] = '\0';
  return n;
}

static const char *clf_date(struct access_log *a) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != a->date_sec) {
    a->date_sec = ts.tv_sec;
    utc_clf(a->date, ts.tv_sec);
  }
  return a->date;
}

void access_record(struct access_log *a, const struct conn *c) {
  const mc_request *req = c->req;
  const char *method = req->method ? req->method : "-";
  const char *target = req->target ? req->target : "-";
  const char *version = req->version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  const char *id;
  char line[2048];
  size_t n;

  if (a->fd < 0)
    return;
  /* Token characters only (client.c): no escaping needed. */
  id = client_request_id(req->c);
  if (a->json) {
    double ms = (double)(uv_hrtime() - c->started_ns) / 1e6;
    char esc[1200], stamp[UTC_ISO_MS_LEN + 1];
    size_t elen = log_json_escape(esc, sizeof esc, target, strlen(target));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    utc_iso_ms(stamp, &ts);
    n = (size_t)snprintf(line, sizeof line,
                         "{\"time\":\"%s\",\"remote\":\"%s\","
                         "\"method\":\"%s\",\"target\":\"%.*s\","
                         "\"version\":\"%s\",\"status\":%d,\"bytes\":%llu,"
                         "\"ms\":%.3f,\"request_id\":\"%s\"}\n",
                         stamp, req->remote_addr, method, (int)elen, esc,
                         version, c->res->status,
                         (unsigned long long)c->res->bytes, ms, id);
  } else {
    char esc[1200];
    clf_escape(esc, sizeof esc, target);
    n = (size_t)snprintf(line, sizeof line,
                         "%s - - [%s] \"%s %s %s\" %d %llu \"%s\"\n",
                         req->remote_addr, clf_date(a), method, esc, version,
                         c->res->status, (unsigned long long)c->res->bytes, id);
  }
  if (n >= sizeof line)
    n = sizeof line - 1, line[n - 1] = '\n';
  if (a->len + n > sizeof a->buf)
    access_flush(a);
  memcpy(a->buf + a->len, line, n);
  a->len += n;
}

void access_reopen(struct access_log *a) {
  int fd;
  if (a->fd < 0 || a->fd == STDOUT_FILENO)
    return;
  access_flush(a);
  if ((fd = open_path(a->path)) < 0) {
    log_error("cannot reopen --access-log '%s': %s; still writing to the "
              "old file",
              a->path, strerror(errno));
    return;
  }
  close(a->fd);
  a->fd = fd;
}

void access_close(struct access_log *a) {
  if (a->fd < 0)
    return;
  access_flush(a);
  if (a->has_timer)
    uv_timer_stop(&a->flush);
  if (a->fd != STDOUT_FILENO)
    close(a->fd);
  a->fd = -1;
}
