/*
 * stream.c - a streamed response when its worker stops (a reload, a
 * graceful stop, a retirement). A stream has no request boundary to stop
 * at, and an SSE feed never ends by itself: left alone it would hold the
 * old worker until --kill-timeout, and its client would see the
 * connection cut. So the plugin is told (mc_response_on_shutdown()) and
 * may write a last piece and end; a stream it leaves open, and an SSE feed
 * without a hook, is ended for the client by mchost, with its last chunk,
 * and looks to the plugin as if the client had gone.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "stream.h"

#include "conn.h"
#include "worker.h"

MC_EXTERN int mc_response_on_shutdown(mc_response *res,
                                      void (*cb)(mc_response *res, void *data),
                                      void *data) {
  if (cb == NULL || res->state != RES_STREAMING)
    return -EINVAL;
  if (res->aborted || res->c->closing)
    return -EPIPE;
  res->shutdown_cb = cb;
  res->shutdown_data = data;
  return 0;
}

/* The client gets the end of its response (the last chunk; without
 * chunked framing, the end of the connection), and the connection ends
 * once that is out, whatever the plugin does next: a client that comes
 * back must reach a worker that is not stopping. The plugin sees an
 * aborted response (-EPIPE, mc_response_aborted()), and a drain it waits
 * for comes now, so that it ends the response without waiting for a
 * client that may never read. */
static void end_for_client(struct conn *c) {
  mc_response *res = c->res;
  void (*drain)(struct conn *) = c->drain;

  response_last_chunk(res); /* before it counts as aborted */
  res->aborted = 1;
  c->close_after = 1;
  c->req->keep_alive = 0;
  if (!c->in_process)
    conn_flush(c);
  if (drain != NULL && res->state == RES_STREAMING) {
    c->drain = NULL;
    drain(c);
  }
}

/* The response's Content-Type is text/event-stream: an SSE feed, which
 * never ends by itself, and whose client takes a clean end as the sign to
 * reconnect. res->headers holds "Name: value\r\n" lines, checked. */
static int is_event_stream(const mc_response *res) {
  static const char name[] = "content-type: ", type[] = "text/event-stream";
  const char *p = res->headers, *end = res->headers + res->hlen;

  while (p < end) {
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    if (len >= sizeof name - 1 + sizeof type - 1 &&
        strncasecmp(p, name, sizeof name - 1) == 0 &&
        strncasecmp(p + sizeof name - 1, type, sizeof type - 1) == 0)
      return 1;
    p += len + 2;
  }
  return 0;
}

static void stream_stop(struct conn *c) {
  mc_response *res = c->res;
  void (*cb)(mc_response *, void *) = res->shutdown_cb;

  res->told_shutdown = 1;
  res->shutdown_cb = NULL;
  if (cb != NULL)
    worker_call_plugin(c->w, c, cb, res->shutdown_data);
  /* Ended by the hook, or cut after a fault in it; or its client left. A
   * stream of another kind without a hook (a download, an export) may end
   * by itself, and a clean end now would look complete to its client: it
   * goes on, within --kill-timeout, as a large response does. */
  if (res->state == RES_STREAMING && !c->closing && !res->aborted &&
      (cb != NULL || is_event_stream(res)))
    end_for_client(c);
}

static int to_stop(const struct conn *c) {
  return c->res->state == RES_STREAMING && !c->res->told_shutdown &&
         !c->res->aborted && !c->closing && c->ws == NULL;
}

/* c->next is read after the call: a hook may end other streams, and a
 * conn whose client had gone is released at once when its response ends;
 * c itself was open, and a conn is closed only on a later turn. */
static void stop_all(struct worker *w) {
  for (struct conn *c = w->active; c != NULL; c = c->next)
    if (to_stop(c))
      stream_stop(c);
}

static void stream_on_idle(uv_idle_t *h) {
  uv_idle_stop(h);
  stop_all(h->data);
}

void stream_stop_all(struct worker *w) {
  uv_idle_init(&w->loop, &w->stream_stop);
  w->stream_stop.data = w;
  stop_all(w);
}

void stream_begun_stopping(struct conn *c) {
  uv_idle_start(&c->w->stream_stop, stream_on_idle);
}
