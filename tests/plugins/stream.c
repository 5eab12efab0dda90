/* Fixture for long-lived responses and backpressure:
 *   GET /firehose[?stop=keep]  streams 16 KiB pieces as fast as the client
 * takes them: writes until mc_response_write() says -EAGAIN, then waits for
 * mc_response_on_drain(). Stops after 64 MiB accepted (a bound for a broken
 * host that never says -EAGAIN). Logs "stream: firehose ended after N bytes,
 * queue max Q, aborted A" at the end, and "stream: firehose waits for a drain"
 * the first time it waits. stop=keep: a mc_response_on_shutdown() hook that
 * only logs "stream: told to stop, going on". GET
 * /sse?n=N&ms=M[&stop=S][&wait=MS]  text/event-stream: N events "data: i\n\n",
 * one every M ms (mc_response_later), then the end. A refused write logs
 * "stream: sse write rc R aborted A" and ends. stop=bye: a
 * mc_response_on_shutdown() hook logs "stream: told to stop", writes "retry:
 *                       100" and an event "bye", and ends; stop=crash: the
 *                       hook faults (SIGSEGV); else no hook. wait=MS:
 *                       logs "stream: waiting to begin" and begins MS ms
 *                       later. plain=1: Content-Type text/plain
 *                       instead.
 *   GET /hold?timeout=MS  deferred, never answered; mc_response_timeout(MS)
 *   GET /quiet[?timeout=MS] streams "a\n", then nothing for 3 s (with
 *                       mc_response_timeout(MS) if given); then logs
 *                       "stream: quiet late write rc R aborted A" and ends
 *   GET /drain-crash    streams until -EAGAIN, then SIGSEGV in the drain
 *                       callback (once the client reads)
 *   anything else       200 "ok\n" (the harness's readiness probe)
 * Built without sanitizers (the NULL write is the point), see
 * tests/CMakeLists.txt. */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

#define PIECE 16384
#define FIREHOSE_MAX (64u << 20)

static char piece[PIECE];
static int *volatile null_ptr;

struct firehose {
  unsigned long long sent;
  size_t queue_max;
  int waited; /* "stream: firehose waits for a drain" logged */
};

static void firehose_end(mc_response *res, struct firehose *f) {
  mc_log(MC_LOG_INFO,
         "stream: firehose ended after %llu bytes, queue max %zu, aborted %d",
         f->sent, f->queue_max, mc_response_aborted(res));
  mc_response_end(res);
  free(f);
}

static void told_only(mc_response *res, void *data) {
  (void)res;
  (void)data;
  mc_log(MC_LOG_INFO, "stream: told to stop, going on");
}

static void firehose_more(mc_response *res, void *data) {
  struct firehose *f = data;

  for (int i = 0; i < 64; i++) {
    int rc;
    size_t q;
    if (mc_response_aborted(res) || f->sent >= FIREHOSE_MAX) {
      firehose_end(res, f);
      return;
    }
    rc = mc_response_write(res, piece, sizeof piece);
    if ((q = mc_response_queued(res)) > f->queue_max)
      f->queue_max = q;
    if (rc == -EAGAIN) {
      rc = mc_response_on_drain(res, firehose_more, f);
      if (rc == 0 && !f->waited++)
        mc_log(MC_LOG_INFO, "stream: firehose waits for a drain");
      if (rc == -EALREADY)
        break; /* room already: go on at the next turn */
      if (rc != 0)
        firehose_end(res, f);
      return;
    }
    if (rc != 0) {
      firehose_end(res, f);
      return;
    }
    f->sent += sizeof piece;
  }
  mc_response_later(res, 0, firehose_more, f);
}

static void sse_next(mc_response *res, void *data) {
  uintptr_t i = (uintptr_t)data;
  const char *q = mc_request_query(mc_response_request(res));
  const char *n = strstr(q, "n="), *ms = strstr(q, "ms=");
  unsigned long total = n ? strtoul(n + 2, NULL, 10) : 10;
  unsigned interval = ms ? (unsigned)strtoul(ms + 3, NULL, 10) : 10;
  char event[64];
  int len, rc;

  if (i >= total) {
    mc_response_end(res);
    return;
  }
  len = snprintf(event, sizeof event, "data: %lu\n\n", (unsigned long)i);
  if ((rc = mc_response_write(res, event, (size_t)len)) != 0) {
    mc_log(MC_LOG_INFO, "stream: sse write rc %d aborted %d", rc,
           mc_response_aborted(res));
    mc_response_end(res);
    return;
  }
  mc_response_later(res, interval, sse_next, (void *)(i + 1));
}

static void crash(mc_response *res, void *data) {
  (void)res;
  (void)data;
  *null_ptr = 1;
}

static void sse_bye(mc_response *res, void *data) {
  static const char bye[] = "retry: 100\n\nevent: bye\ndata: stopping\n\n";
  (void)data;
  mc_log(MC_LOG_INFO, "stream: told to stop");
  mc_response_write(res, bye, sizeof bye - 1);
  mc_response_end(res);
}

static void sse_begin(mc_response *res, void *data) {
  const char *q = mc_request_query(mc_response_request(res));
  (void)data;
  mc_response_header(res, "Content-Type",
                     strstr(q, "plain=1") ? "text/plain" : "text/event-stream");
  mc_response_header(res, "Cache-Control", "no-cache");
  mc_response_begin(res, 200);
  if (strstr(q, "stop=bye") != NULL)
    mc_response_on_shutdown(res, sse_bye, NULL);
  else if (strstr(q, "stop=crash") != NULL)
    mc_response_on_shutdown(res, crash, NULL);
  sse_next(res, (void *)0);
}

static unsigned query_timeout(const mc_request *req) {
  const char *t = strstr(mc_request_query(req), "timeout=");
  return t ? (unsigned)strtoul(t + 8, NULL, 10) : 0;
}

static void quiet_late(mc_response *res, void *data) {
  int rc = mc_response_write(res, "late\n", 5);
  (void)data;
  mc_log(MC_LOG_INFO, "stream: quiet late write rc %d aborted %d", rc,
         mc_response_aborted(res));
  mc_response_end(res);
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);

  if (strcmp(path, "/firehose") == 0) {
    struct firehose *f = calloc(1, sizeof *f);
    if (f == NULL) {
      mc_response_send(res, 500, "oom\n", 4);
      return;
    }
    memset(piece, 'x', sizeof piece);
    mc_response_begin(res, 200);
    if (strstr(mc_request_query(req), "stop=keep") != NULL)
      mc_response_on_shutdown(res, told_only, NULL);
    firehose_more(res, f);
    return;
  }
  if (strcmp(path, "/sse") == 0) {
    const char *wait = strstr(mc_request_query(req), "wait=");
    if (wait != NULL) {
      mc_log(MC_LOG_INFO, "stream: waiting to begin");
      mc_response_later(res, (unsigned)strtoul(wait + 5, NULL, 10), sse_begin,
                        NULL);
      return;
    }
    sse_begin(res, NULL);
    return;
  }
  if (strcmp(path, "/hold") == 0) {
    mc_response_defer(res);
    mc_response_timeout(res, query_timeout(req));
    mc_log(MC_LOG_INFO, "stream: holding");
    return;
  }
  if (strcmp(path, "/quiet") == 0) {
    mc_response_begin(res, 200);
    mc_response_write(res, "a\n", 2);
    if (query_timeout(req) > 0)
      mc_response_timeout(res, query_timeout(req));
    mc_response_later(res, 3000, quiet_late, NULL);
    return;
  }
  if (strcmp(path, "/drain-crash") == 0) {
    mc_response_begin(res, 200);
    for (int i = 0; i < 100000; i++) {
      int rc = mc_response_write(res, piece, sizeof piece);
      if (rc == -EAGAIN) {
        if (mc_response_on_drain(res, crash, NULL) == 0) {
          mc_log(MC_LOG_INFO, "stream: waiting for a drain");
          return;
        }
        break;
      }
      if (rc != 0)
        break;
    }
    mc_response_end(res); /* only if no drain was awaited: a test failure */
    return;
  }
  mc_response_send(res, 200, "ok\n", 3);
}
