/*
 * response.c - the SDK's response functions and the head the host writes.
 *
 * The host owns the framing: Date, Server, Content-Length or chunked
 * Transfer-Encoding, and Connection, so a plugin can never produce a
 * response that desynchronises the connection.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "conn.h"
#include "deconst.h"
#include "http_status.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"
#include "token.h"
#include "worker.h"

/* The head: status line, host headers, plugin headers, framing. */
#define HEAD_MAX (CONN_RES_HEADERS_SIZE + 256)

void response_reset(mc_response *res, struct conn *c) {
  res->c = c;
  res->state = RES_HANDLER;
  res->status = 0;
  res->head_sent = 0;
  res->head_only = 0;
  res->aborted = 0;
  res->hlen = 0;
  res->bytes = 0;
  res->length = RES_NO_LENGTH;
  res->chunked = 0;
  res->later_cb = NULL;
  res->later_data = NULL;
  res->shutdown_cb = NULL;
  res->told_shutdown = 0;
  res->timeout_ms = RES_TIMEOUT_DEFAULT;
  res->file = NULL;
}

static int host_owned(const char *name, size_t len) {
  static const struct {
    const char *name;
    size_t len;
  } owned[] = {{"content-length", 14},
               {"transfer-encoding", 17},
               {"connection", 10},
               {"date", 4},
               {"server", 6}};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
    if (len == owned[i].len && strcasecmp(name, owned[i].name) == 0)
      return 1;
  return 0;
}

static int body_allowed(int status) {
  return status != MC_STATUS_NO_CONTENT && status != MC_STATUS_NOT_MODIFIED;
}

static char *put(char *p, const char *s, size_t len) {
  memcpy(p, s, len);
  return p + len;
}

static char *put_uint(char *p, size_t v) {
  char tmp[24];
  size_t n = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

/* Writes the head into out (HEAD_MAX bytes). content_length < 0 means a
 * streamed body. Decides keep-alive for the connection. */
static size_t build_head(mc_response *res, int status, long long content_length,
                         int *chunked, char *out) {
  struct conn *c = res->c;
  const char *reason = http_status_reason(status);
  int keep = c->req->keep_alive && !c->close_after && !c->w->stopping;
  char *p = out;

  *chunked = 0;
  if (content_length < 0 && body_allowed(status)) {
    if (c->req->version == 11)
      *chunked = 1;
    else
      keep = 0; /* HTTP/1.0 stream: the end of the connection ends it */
  }
  if (!keep) {
    c->req->keep_alive = 0;
    c->close_after = 1;
  }
  p = put(p, "HTTP/1.1 ", 9);
  p = put_uint(p, (size_t)status);
  *p++ = ' ';
  p = put(p, reason, strlen(reason));
  p = put(p, "\r\nServer: mchost\r\n", 18);
  p = put(p, worker_date(c->w), WORKER_DATE_LEN);
  p = put(p, res->headers, res->hlen);
  if (body_allowed(status)) {
    if (content_length >= 0) {
      p = put(p, "Content-Length: ", 16);
      p = put_uint(p, (size_t)content_length);
      p = put(p, "\r\n", 2);
    } else if (*chunked) {
      p = put(p, "Transfer-Encoding: chunked\r\n", 28);
    }
  }
  if (keep)
    p = put(p, "Connection: keep-alive\r\n\r\n", 26);
  else
    p = put(p, "Connection: close\r\n\r\n", 21);
  res->status = status;
  res->head_sent = 1;
  return (size_t)(p - out);
}

/* Queues output; outside conn_process() (a deferred or streamed response
 * written from a plugin callback) nothing else will flush it, so write now. */
static int flush_output(struct conn *c, const uv_buf_t *bufs, unsigned n) {
  int rc;
  if (c->closing)
    return -EPIPE;
  rc = conn_output(c, bufs, n);
  if (!c->in_process)
    conn_flush(c);
  return rc;
}

int response_can_answer(const mc_response *res) {
  return res->state == RES_HANDLER || res->state == RES_DEFERRED;
}

/* A final status a plugin may answer with. A 2xx to CONNECT would tell the
 * client that its tunnel is open, and mchost opens none. */
static int status_allowed(const mc_response *res, int status) {
  if (status < 200 || status > 599)
    return 0;
  return status >= 300 || res->c->parser.method != HTTP_CONNECT;
}

static void finish(mc_response *res) {
  struct conn *c = res->c;
  int parked = c->closing; /* may be released by conn_response_done() */
  res->state = RES_DONE;
  if (c->w->board != NULL) {
    struct board_slot *s = &c->w->board->slot[c->w->slot];
    metrics_response(s, res->status, (uv_hrtime() - c->started_ns) / 1000);
    if (c->inflight)
      metrics_inflight(s, -1);
    c->inflight = 0;
  }
  if (c->w->access.fd >= 0)
    access_record(&c->w->access, c);
  conn_response_done(c);
  if (!parked && !c->in_process)
    conn_flush(c);
}

static int send_whole(mc_response *res, int status, const void *body,
                      size_t len) {
  char head[HEAD_MAX];
  uv_buf_t bufs[2];
  unsigned n = 1;
  int chunked, rc;

  bufs[0] = uv_buf_init(
      head, (unsigned)build_head(res, status, (long long)len, &chunked, head));
  if (len > 0 && !res->head_only && body_allowed(status)) {
    bufs[n++] = uv_buf_init(DECONST(char *, body), (unsigned)len);
    res->bytes = len;
  }
  rc = res->c->closing ? -EPIPE : conn_output(res->c, bufs, n);
  finish(res);
  return rc;
}

int response_send_error(struct conn *c, int status) {
  char body[64];
  int len = snprintf(body, sizeof body, "%d %s\n", status,
                     http_status_reason(status));
  /* After an error the stream may be out of step (an unread body, a
   * smuggling attempt): the connection always ends. */
  response_reset(c->res, c);
  c->close_after = 1;
  c->req->keep_alive = 0;
  mc_response_header(c->res, "Content-Type", "text/plain");
  return send_whole(c->res, status, body, (size_t)len);
}

MC_EXTERN int mc_response_header(mc_response *res, const char *name,
                                 const char *value) {
  size_t nlen, vlen;

  if (res->head_sent || !response_can_answer(res))
    return -EALREADY;
  if (name == NULL || value == NULL || name[0] == '\0')
    return -EINVAL;
  for (nlen = 0; name[nlen] != '\0'; nlen++)
    if (!token_is_tchar((unsigned char)name[nlen]))
      return -EINVAL;
  if (host_owned(name, nlen))
    return -EINVAL;
  /* CR or LF in a value would let a plugin (or the user input it echoes)
   * split the response. */
  vlen = strcspn(value, "\r\n");
  if (value[vlen] != '\0')
    return -EINVAL;
  if (res->hlen + nlen + vlen + 4 > sizeof res->headers)
    return -ENOSPC;
  memcpy(res->headers + res->hlen, name, nlen);
  memcpy(res->headers + res->hlen + nlen, ": ", 2);
  memcpy(res->headers + res->hlen + nlen + 2, value, vlen);
  memcpy(res->headers + res->hlen + nlen + 2 + vlen, "\r\n", 2);
  res->hlen += nlen + vlen + 4;
  return 0;
}

MC_EXTERN int mc_response_send(mc_response *res, int status, const void *body,
                               size_t len) {
  if (!response_can_answer(res))
    return -EALREADY;
  if (!status_allowed(res, status) || (body == NULL && len > 0))
    return -EINVAL;
  return send_whole(res, status, body, len);
}

/* A stream's head: chunked (or, to HTTP/1.0, unframed) when `length` is
 * RES_NO_LENGTH, else with that Content-Length. */
static int begin(mc_response *res, int status, uint64_t length) {
  char head[HEAD_MAX];
  uv_buf_t b;
  int chunked;

  if (!response_can_answer(res))
    return -EALREADY;
  if (!status_allowed(res, status) ||
      (length != RES_NO_LENGTH && length > (uint64_t)LLONG_MAX))
    return -EINVAL;
  res->start = res->c->committed + res->c->out.len;
  b = uv_buf_init(head, (unsigned)build_head(
                            res, status,
                            length == RES_NO_LENGTH ? -1 : (long long)length,
                            &chunked, head));
  res->length = length;
  res->state = RES_STREAMING;
  res->chunked = chunked;
  if (res->c->w->stopping)
    stream_begun_stopping(res->c);
  /* From a deferred response's deadline to a stream's idle limit. */
  if (res->c->timer_kind == TIMER_REQUEST)
    conn_response_progress(res->c, 1);
  return flush_output(res->c, &b, 1);
}

MC_EXTERN int mc_response_begin(mc_response *res, int status) {
  return begin(res, status, RES_NO_LENGTH);
}

MC_EXTERN int mc_response_begin_length(mc_response *res, int status,
                                       uint64_t length) {
  return begin(res, status, length);
}

/* The stream has a length, and a body that this response sends. */
static int counted(const mc_response *res) {
  return res->length != RES_NO_LENGTH && !res->head_only &&
         body_allowed(res->status);
}

MC_EXTERN int mc_response_write(mc_response *res, const void *data,
                                size_t len) {
  char size[24];
  uv_buf_t b[3];
  int n;

  if (res->state != RES_STREAMING)
    return -EALREADY;
  if (res->c->closing || res->aborted) /* gone, or ended by a stop */
    return -EPIPE;
  if (counted(res) && len > res->length - res->bytes)
    return -EMSGSIZE;
  if (len == 0 || res->head_only || !body_allowed(res->status))
    return 0;
  if (conn_queued(res->c) >= CONN_QUEUE_HIGH)
    return -EAGAIN;
  res->bytes += len;
  conn_response_progress(res->c, 0);
  if (!res->chunked) {
    b[0] = uv_buf_init(DECONST(char *, data), (unsigned)len);
    return flush_output(res->c, b, 1);
  }
  n = snprintf(size, sizeof size, "%zx\r\n", len);
  b[0] = uv_buf_init(size, (unsigned)n);
  b[1] = uv_buf_init(DECONST(char *, data), (unsigned)len);
  b[2] = uv_buf_init(DECONST(char *, "\r\n"), 2);
  return flush_output(res->c, b, 3);
}

int response_last_chunk(mc_response *res) {
  uv_buf_t b = uv_buf_init((char *)"0\r\n\r\n", 5);
  /* A HEAD response has no body, not even the last chunk. */
  if (!res->chunked || res->head_only || res->c->closing || res->aborted)
    return 0;
  return conn_output(res->c, &b, 1);
}

int response_end_stream(mc_response *res) {
  int rc = response_last_chunk(res);

  /* Fewer bytes than its Content-Length said: the client would wait for
   * the rest, so the connection ends after what was sent, and the client
   * sees the body cut. Only a plugin's mistake is worth a warning, not a
   * client that left. */
  if (counted(res) && res->bytes < res->length) {
    if (!res->aborted && !res->c->closing)
      log_warn("%s %s: the response ended after %llu of its %llu bytes; "
               "closing the connection",
               res->c->req->method, res->c->req->target,
               (unsigned long long)res->bytes, (unsigned long long)res->length);
    res->c->close_after = 1;
    res->c->req->keep_alive = 0;
    if (rc == 0)
      rc = -EMSGSIZE;
  }
  uv_timer_stop(&res->c->x->later);
  res->c->drain = NULL;
  res->drain_cb = NULL;
  finish(res);
  return rc;
}

MC_EXTERN int mc_response_end(mc_response *res) {
  if (res->state != RES_STREAMING)
    return -EALREADY;
  if (res->c->work_pending)
    return -EBUSY;
  return response_end_stream(res);
}

MC_EXTERN size_t mc_response_queued(const mc_response *res) {
  return res->head_sent ? conn_queued(res->c) : 0;
}

static void response_on_drain(struct conn *c) {
  void (*cb)(mc_response *, void *) = c->res->drain_cb;
  c->res->drain_cb = NULL;
  if (c->closing)
    c->res->aborted = 1;
  if (cb != NULL && c->res->state == RES_STREAMING)
    worker_call_plugin(c->w, c, cb, c->res->drain_data);
}

MC_EXTERN int mc_response_on_drain(mc_response *res,
                                   void (*cb)(mc_response *res, void *data),
                                   void *data) {
  int rc;
  if (cb == NULL || res->state != RES_STREAMING)
    return -EINVAL;
  if (res->aborted)
    return -EPIPE;
  if ((rc = conn_on_drain(res->c, response_on_drain)) != 0)
    return rc;
  res->drain_cb = cb;
  res->drain_data = data;
  return 0;
}

MC_EXTERN void mc_response_defer(mc_response *res) {
  if (res->state == RES_HANDLER)
    res->state = RES_DEFERRED;
}

static void response_on_later(uv_timer_t *t) {
  struct conn *c = t->data;
  void (*cb)(mc_response *, void *) = c->res->later_cb;
  c->res->later_cb = NULL;
  if (cb != NULL)
    worker_call_plugin(c->w, c, cb, c->res->later_data);
}

MC_EXTERN int mc_response_later(mc_response *res, unsigned ms,
                                void (*cb)(mc_response *res, void *data),
                                void *data) {
  if (cb == NULL)
    return -EINVAL;
  if (!response_can_answer(res) && res->state != RES_STREAMING)
    return -EALREADY;
  if (res->state == RES_HANDLER)
    res->state = RES_DEFERRED;
  res->later_cb = cb;
  res->later_data = data;
  uv_timer_start(&res->c->x->later, response_on_later, ms, 0);
  return 0;
}

MC_EXTERN int mc_response_timeout(mc_response *res, unsigned ms) {
  if (!response_can_answer(res) && res->state != RES_STREAMING &&
      res->state != RES_WORK)
    return -EALREADY;
  res->timeout_ms = ms;
  if (res->state != RES_HANDLER)
    conn_response_progress(res->c, 1);
  return 0;
}

MC_EXTERN int mc_response_aborted(const mc_response *res) {
  return res->aborted;
}

MC_EXTERN mc_request *mc_response_request(mc_response *res) {
  return res->c->req;
}
