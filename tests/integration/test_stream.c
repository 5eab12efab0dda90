/*
 * test_stream.c - long-lived responses and backpressure (sdk/mchost/response.h,
 * "Backpressure"; docs/sdk.md): a client that never reads costs the worker
 * a bounded queue and loses its connection at --send-timeout, without
 * retiring the worker; a client that reads gets every byte although the
 * plugin is told -EAGAIN on the way; a fault in a drain callback is a
 * plugin fault like any other.
 *
 * Fixture: tests/plugins/stream.c (see its list).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

#define STREAM TEST_PLUGINS_DIR "/stream.so"

static struct srv S;
static struct http_client C;

static void stream_init(void) { C.fd = -1; }

static void stream_fini(void) {
  http_close(&C);
  srv_stop(&S);
}

TestSuite(stream, .init = stream_init, .fini = stream_fini, .timeout = 40);

static void start_stream(const char *const *more) {
  const char *args[24] = {"--plugin", STREAM,        "--workers",
                          "1",        "--log-level", "debug"};
  int n = 6, err;
  for (; more != NULL && *more != NULL && n < 22; more++)
    args[n++] = *more;
  args[n] = NULL;
  err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
}

static pid_t the_worker(void) { return srv_the_worker(&S, 3000); }

/* The client asks for an endless stream and never reads. The kernel's
 * buffers fill, then the plugin's writes are refused (-EAGAIN) instead of
 * piling up in the worker; after --send-timeout with nothing taken the
 * connection ends, the plugin's drain callback learns it, and the worker
 * goes on serving (a slow client is not a plugin fault). */
Test(stream, never_reading_client_is_bounded_and_dropped_at_send_timeout) {
  const char *more[] = {"--send-timeout", "2", NULL};
  int rcvbuf = 4096;
  struct http_resp r;
  long before, peak = 0;
  int64_t sent_at, deadline;
  pid_t worker;

  start_stream(more);
  worker = the_worker();
  before = rss_kib(worker);
  cr_assert_eq(http_open(&C, S.port, 2000), 0);
  setsockopt(C.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  cr_assert_eq(http_send_str(&C, "GET /firehose HTTP/1.1\r\nHost: t\r\n\r\n"),
               0);
  sent_at = now_ms();
  deadline = deadline_in(15000);
  while (log_count(&S, "stream: firehose ended") == 0 &&
         remaining_ms(deadline) > 0) {
    long kib = rss_kib(worker);
    if (kib > peak)
      peak = kib;
    sleep_ms(50);
  }
  cr_assert(log_count(&S, "stream: firehose ended") == 1,
            "the never-reading client still holds its stream" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect_lt(peak - before, 8 * 1024,
               "worker RSS grew by %ld KiB for a client that reads nothing",
               peak - before);
  /* dropped by --send-timeout (2 s after its last progress), not sooner */
  cr_expect_geq(now_ms() - sent_at, 1500, "dropped after %lld ms",
                (long long)(now_ms() - sent_at));
  cr_expect(wait_log(&S, "aborted 1", 100),
            "the plugin was not told that its client is gone" SRV_LOG_FMT,
            srv_log_tail(&S));
  char *log = srv_log_read(&S);
  char line[512];
  cr_assert_not_null(log);
  cr_expect(find_line(log, "queue max", line, sizeof line) != NULL);
  /* The queue never held much more than MC_QUEUE_HIGH (64 KiB) plus one
   * piece. */
  const char *q = strstr(line, "queue max ");
  cr_expect(q != NULL && atol(q + 10) <= 64 * 1024 + 16384 + 64,
            "queue grew to %s", q ? q + 10 : "?");
  free(log);
  cr_expect_eq(log_count(&S, "retiring this worker"), 0,
               "a slow client retired the worker" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(http_get(S.port, "/", &r), 0);
  cr_expect_eq(r.status, 200);
  cr_expect(pid_alive(worker));
}

/* curl reads 64 MiB that the plugin writes as fast as backpressure lets
 * it: every byte arrives, although most writes were refused and retried. */
Test(stream, reading_client_gets_every_byte_of_a_backpressured_stream) {
  char url[128];
  struct run_result rr;
  int err;

  start_stream(NULL);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/firehose", S.port);
  const char *argv[] = {"curl",      "-sS", "--limit-rate",     "40M", "-o",
                        "/dev/null", "-w",  "%{size_download}", url,   NULL};
  err = run_tool_sync(argv, &rr, 30000);
  cr_assert_eq(err, 0, "curl: %s", strerror(-err));
  cr_expect_eq(rr.exit_code, 0, "curl failed: %s", rr.err);
  cr_expect_str_eq(rr.out, "67108864", "curl got %s bytes", rr.out);
  cr_expect(wait_log(&S, "aborted 0", 2000), SRV_LOG_FMT, srv_log_tail(&S));
  run_result_free(&rr);
}

/* A fault in a drain callback is a plugin fault: the log says so, the
 * stream is cut (no last chunk), the worker retires and is replaced. */
Test(stream, fault_in_drain_callback_cuts_the_stream_and_retires_the_worker) {
  char buf[65536];
  ssize_t n;
  int64_t deadline;
  int closed = 0;
  size_t last = 0;
  pid_t old;

  start_stream(NULL);
  old = the_worker();
  cr_assert_eq(http_open(&C, S.port, 2000), 0);
  cr_assert_eq(
      http_send_str(&C, "GET /drain-crash HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
  /* The queue fills before the client reads, and the plugin waits for a
   * drain; then read until the server ends the connection. */
  cr_assert(wait_log(&S, "stream: waiting for a drain", 5000),
            "the plugin's writes were never refused" SRV_LOG_FMT,
            srv_log_tail(&S));
  deadline = deadline_in(10000);
  while (!closed && remaining_ms(deadline) > 0) {
    n = recv(C.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      closed = 1;
    else if (n < 0)
      sleep_ms(5);
    else
      last = (size_t)n;
  }
  cr_expect(closed, "the connection of the faulted stream stays open");
  cr_expect(last < 5 || memcmp(buf + last - 5, "0\r\n\r\n", 5) != 0,
            "the cut stream ended with its last chunk");
  cr_expect(wait_log(&S, "plugin crashed: SIGSEGV", 3000),
            "no fault report" SRV_LOG_FMT, srv_log_tail(&S));
  srv_expect_replaced(&S, old, 5000);
}

/* An SSE stream of 300 events, one every 10 ms (3 s), under
 * --request-timeout 2 and --stream-timeout 1, read by Python's urllib:
 * every event arrives and no worker retires. --request-timeout bounds a
 * handler's time on the CPU, and --stream-timeout the time between two
 * writes, not a stream that makes progress. */
Test(stream, sse_longer_than_request_timeout_is_not_cut) {
  const char *more[] = {"--request-timeout", "2", "--stream-timeout", "1",
                        NULL};
  static const char script[] =
      "import sys, urllib.request\n"
      "n = 0\n"
      "with urllib.request.urlopen(sys.argv[1], timeout=20) as r:\n"
      "    assert r.headers['Content-Type'] == 'text/event-stream'\n"
      "    for line in r:\n"
      "        if line.startswith(b'data: '): n += 1\n"
      "print(n)\n";
  char url[128];
  struct run_result rr;
  int err;

  start_stream(more);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/sse?n=300&ms=10", S.port);
  const char *argv[] = {"python3", "-c", script, url, NULL};
  err = run_tool_sync(argv, &rr, 30000);
  cr_assert_eq(err, 0, "python3: %s", strerror(-err));
  cr_expect_eq(rr.exit_code, 0, "python3 failed: %s", rr.err);
  cr_expect_str_eq(rr.out, "300\n", "python3 saw %s events" SRV_LOG_FMT, rr.out,
                   srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "retiring this worker"), 0,
               "the stream retired its worker" SRV_LOG_FMT, srv_log_tail(&S));
  run_result_free(&rr);
}

/* mc_response_timeout() on a deferred response: it must start within 500
 * ms, not --request-timeout (30 s). It does not: 503, and the worker, whose
 * plugin is stuck, retires. The master logs it with its generation, and
 * --crash-dir keeps the request as for a crash. */
Test(stream, response_timeout_bounds_a_deferred_response) {
  char scratch[] = "/tmp/mchost-stream-XXXXXX", line[512], path[600];
  const char *more[] = {"--crash-dir", scratch, NULL};
  struct http_resp r;
  int64_t t0 = now_ms(), took;
  pid_t old;
  int err;

  cr_assert_not_null(mkdtemp(scratch));
  start_stream(more);
  old = the_worker();
  err = http_get_timeout(S.port, "/hold?timeout=500", &r, 10000);
  took = now_ms() - t0;
  cr_assert_eq(err, 0, "GET /hold: %s" SRV_LOG_FMT, http_strerror(err),
               srv_log_tail(&S));
  cr_expect_eq(r.status, 503);
  cr_expect(took >= 450 && took < 5000, "the 503 came after %lld ms",
            (long long)took);
  cr_expect(wait_log(&S, "retiring this worker", 2000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(wait_pid_gone(old, 5000), "the stuck worker still runs");
  cr_assert(wait_log(&S, "crash bundle: ", 5000), "no bundle" SRV_LOG_FMT,
            srv_log_tail(&S));
  char *log = srv_log_read(&S);
  cr_assert_not_null(find_line(log, "deferred response missed its deadline",
                               line, sizeof line),
                     "the master did not log the missed deadline" SRV_LOG_FMT,
                     srv_log_tail(&S));
  cr_expect(strstr(line, "'GET /hold?timeout=500'") != NULL &&
                strstr(line, "generation 1") != NULL,
            "the line does not name the request and generation: [%s]", line);
  free(log);
  cr_assert_eq(srv_bundle_path(&S, 1, path, sizeof path, 5000), 0);
  char *bundle = read_file(path, NULL);
  cr_assert_not_null(bundle, "cannot read the bundle '%s'", path);
  cr_expect(strstr(bundle, "signal: deadline\n") != NULL &&
                strstr(bundle, "GET /hold?timeout=500 HTTP/1.1\r\n") != NULL,
            "the bundle lacks the deadline or the request:\n%s", bundle);
  free(bundle);
  rm_tree(scratch);
}

/* A stream that goes quiet: its connection ends at its idle limit
 * (mc_response_timeout(), or --stream-timeout), the plugin's next write
 * gets -EPIPE with mc_response_aborted() 1, and the worker stays (a quiet
 * stream is not a stuck plugin). Node's fetch reads it. */
static void quiet_stream_ends(const char *target, const char *const *more,
                              int64_t want_ms) {
  static const char script[] =
      "const t0 = Date.now();\n"
      "const r = await fetch(process.argv[1]);\n"
      "let body = '';\n"
      "try { for await (const c of r.body) body += Buffer.from(c); }\n"
      "catch (e) { body += ' [' + e.cause?.code + ']'; }\n"
      "console.log(Date.now() - t0, JSON.stringify(body));\n";
  char url[128];
  struct run_result rr;
  long ms;
  int err;

  start_stream(more);
  pid_t worker = the_worker();
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", S.port, target);
  const char *argv[] = {"node", "--input-type=module", "-e", script, url, NULL};
  err = run_tool_sync(argv, &rr, 20000);
  cr_assert_eq(err, 0, "node: %s", strerror(-err));
  cr_expect_eq(rr.exit_code, 0, "node failed: %s", rr.err);
  ms = atol(rr.out);
  cr_expect(ms >= want_ms - 100 && ms < want_ms + 1500,
            "the quiet stream ended after %ld ms, want about %lld: %s", ms,
            (long long)want_ms, rr.out);
  cr_expect(strstr(rr.out, "\"a\\n") != NULL, "node read: %s", rr.out);
  cr_expect(wait_log(&S, "stream: quiet late write rc -32 aborted 1", 5000),
            "the plugin was not told" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "retiring this worker"), 0, SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect(pid_alive(worker));
  run_result_free(&rr);
}

Test(stream, quiet_stream_ends_at_its_response_timeout) {
  quiet_stream_ends("/quiet?timeout=500", NULL, 500);
}

Test(stream, quiet_stream_ends_at_stream_timeout) {
  const char *more[] = {"--stream-timeout", "1", NULL};
  quiet_stream_ends("/quiet", more, 1000);
}

/* ---- a stream when its worker stops (mc_response_on_shutdown()) ---- */

/* Starts mchost with --kill-timeout 30 and sends `request` on C; returns
 * the worker that serves it. */
static pid_t open_stream(const char *request) {
  const char *more[] = {"--kill-timeout", "30", NULL};
  pid_t worker;

  start_stream(more);
  worker = the_worker();
  cr_assert_eq(http_open(&C, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&C, request), 0);
  return worker;
}

/* Opens an endless SSE stream (`query` picks the hook), reads until its
 * first event, reloads (SIGHUP) and reads what follows until the server
 * closes the connection, into `got` (NUL-terminated). With wait= in
 * `query`, the reload comes first, and the stream begins in the stopping
 * worker. Returns the old worker, which --kill-timeout 30 would keep for
 * 30 s. */
static pid_t stream_across_reload(const char *query, char *got, size_t size,
                                  int *closed) {
  char req[256];
  size_t len = 0;
  int hup_first = strstr(query, "wait=") != NULL;
  int64_t deadline;
  pid_t old;
  ssize_t n;

  snprintf(req, sizeof req, "GET /sse?%s&n=1000000 HTTP/1.1\r\nHost: t\r\n\r\n",
           query);
  old = open_stream(req);
  if (hup_first) {
    cr_assert(wait_log(&S, "stream: waiting to begin", 5000), SRV_LOG_FMT,
              srv_log_tail(&S));
    cr_assert_eq(kill(S.pid, SIGHUP), 0);
    cr_assert(wait_log(&S, "stopping: asked by the master", 3500),
              "the worker did not stop before the stream began" SRV_LOG_FMT,
              srv_log_tail(&S));
  }
  *closed = 0;
  got[0] = '\0';
  deadline = deadline_in(20000);
  while (!*closed && len + 1 < size && remaining_ms(deadline) > 0) {
    int had = strstr(got, "data: 0\n") != NULL;
    n = recv(C.fd, got + len, size - 1 - len, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      *closed = n == 0 ? 1 : -1;
      http_close(&C); /* as a client does at the end */
      break;
    }
    if (n < 0) {
      sleep_ms(5);
      continue;
    }
    len += (size_t)n;
    got[len] = '\0';
    if (!hup_first && !had && strstr(got, "data: 0\n") != NULL)
      cr_assert_eq(kill(S.pid, SIGHUP), 0);
  }
  cr_assert(strstr(got, "data: 0\n") != NULL, "the stream never began: %s",
            got);
  return old;
}

/* What the fixture's hook writes last, then the last chunk. */
#define BYE_END "retry: 100\n\nevent: bye\ndata: stopping\n\n\r\n0\r\n\r\n"

/* The string ends with `tail`. */
static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The stream's client saw `tail` last, then a clean close. */
static void expect_clean_end(int closed, const char *got, const char *tail) {
  cr_expect_eq(closed, 1, "the connection was not closed cleanly (%d)", closed);
  cr_expect(ends_with(got, tail), "the stream did not end with [%s]: %s", tail,
            got);
}

/* The old worker exits long before --kill-timeout (30 s), with exit code 0
 * (a sanitizer's report makes it 1). */
static void expect_gone_early(pid_t old) {
  char line[96];
  cr_expect(wait_pid_gone(old, 10000),
            "the old worker still runs with --kill-timeout 30" SRV_LOG_FMT,
            srv_log_tail(&S));
  snprintf(line, sizeof line, "(pid %d) exited: exit code 0", (int)old);
  cr_expect(wait_log(&S, line, 5000), "no '%s'" SRV_LOG_FMT, line,
            srv_log_tail(&S));
}

/* A reload: the plugin's hook writes its last event and ends the stream,
 * the client gets the last chunk and a clean close, and the old worker
 * exits long before --kill-timeout. */
Test(stream, reload_tells_the_stream_which_ends_with_its_last_event) {
  static char got[65536];
  int closed;
  pid_t old = stream_across_reload("&ms=50&stop=bye", got, sizeof got, &closed);

  expect_clean_end(closed, got, BYE_END);
  cr_expect_eq(log_count(&S, "stream: told to stop"), 1, SRV_LOG_FMT,
               srv_log_tail(&S));
  expect_gone_early(old);
  cr_expect_eq(log_count(&S, "at --kill-timeout"), 0, SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* A stream begun by a deferred response after its worker began to stop
 * (here 4 s after the request, the reload at once) is told as well, on the
 * next turn of the loop: its hook ends it. */
Test(stream, stream_begun_while_stopping_is_told) {
  static char got[65536];
  int closed;
  pid_t old = stream_across_reload("&ms=50&stop=bye&wait=4000", got, sizeof got,
                                   &closed);

  expect_clean_end(closed, got, BYE_END);
  expect_gone_early(old);
}

/* Without a hook, mchost ends the stream for the client (the last chunk,
 * then the close); the plugin's next write, up to 500 ms later when the
 * client has closed too, gets -EPIPE with mc_response_aborted() 1, and its
 * mc_response_end() lets the worker exit (under ASan: without touching the
 * conn it released). */
Test(stream, reload_ends_a_stream_without_hook_for_its_client) {
  static char got[65536];
  int closed;
  pid_t old = stream_across_reload("&ms=500", got, sizeof got, &closed);

  expect_clean_end(closed, got, "\r\n0\r\n\r\n");
  cr_expect(wait_log(&S, "stream: sse write rc -32 aborted 1", 5000),
            "the plugin was not told" SRV_LOG_FMT, srv_log_tail(&S));
  expect_gone_early(old);
}

/* A stream whose plugin will not write again for a minute, without a hook:
 * its client gets the last chunk and the close at once, not when the
 * plugin next looks at the response (which holds the old worker until
 * then, or --kill-timeout, as for a client that left). */
Test(stream, reload_closes_a_quiet_stream_at_once) {
  static char got[65536];
  int closed;

  stream_across_reload("&ms=60000", got, sizeof got, &closed);
  expect_clean_end(closed, got, "data: 0\n\n\r\n0\r\n\r\n");
}

/* A stream that is not an SSE feed (text/plain), without a hook: it may
 * end by itself, and a clean end at the reload would look complete to its
 * client, so it goes on to its own end (60 events, 3 s), then its worker
 * exits. */
Test(stream, reload_lets_a_plain_stream_without_hook_finish) {
  static char got[65536];
  int closed;
  pid_t old =
      stream_across_reload("&n=60&ms=50&plain=1", got, sizeof got, &closed);

  expect_clean_end(closed, got, "data: 59\n\n\r\n0\r\n\r\n");
  expect_gone_early(old);
}

/* A fault in the hook costs its stream: cut without its last chunk, and
 * reported as a plugin fault, as in a drain callback; the worker, stopping
 * anyway, exits. */
Test(stream, fault_in_shutdown_hook_cuts_the_stream) {
  static char got[65536];
  int closed;
  pid_t old =
      stream_across_reload("&ms=50&stop=crash", got, sizeof got, &closed);

  cr_expect(closed != 0, "the connection of the faulted stream stays open");
  cr_expect(!ends_with(got, "0\r\n\r\n"),
            "the cut stream ended with its last chunk");
  cr_expect(wait_log(&S, "plugin crashed: SIGSEGV", 5000),
            "no fault report" SRV_LOG_FMT, srv_log_tail(&S));
  expect_gone_early(old);
}

/* A stream waiting for a client that does not read yet, whose hook
 * returns without ending it: on a reload its drain callback is called at
 * once, aborted (not once the client reads, or
 * at --send-timeout), and the plugin ends the response. The client then
 * reads what was queued, the last chunk and a clean close, and the old
 * worker exits. */
Test(stream, reload_calls_a_pending_drain_aborted) {
  static char buf[65536];
  char tail[8] = "";
  int closed = 0;
  int64_t deadline;
  ssize_t n;
  pid_t old =
      open_stream("GET /firehose?stop=keep HTTP/1.1\r\nHost: t\r\n\r\n");

  cr_assert(wait_log(&S, "stream: firehose waits for a drain", 10000),
            "the plugin's writes were never refused" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_assert(wait_log(&S, "aborted 1", 10000),
            "the drain callback was not called" SRV_LOG_FMT, srv_log_tail(&S));
  deadline = deadline_in(20000);
  while (!closed && remaining_ms(deadline) > 0) {
    n = recv(C.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      closed = n == 0 ? 1 : -1;
    else if (n < 0)
      poll(&(struct pollfd){.fd = C.fd, .events = POLLIN}, 1, 100);
    else if (n >= 7)
      memcpy(tail, buf + n - 7, 7);
    else { /* keep the last 7 bytes */
      memmove(tail, tail + n, (size_t)(7 - n));
      memcpy(tail + 7 - n, buf, (size_t)n);
    }
  }
  expect_clean_end(closed, tail, "\r\n0\r\n\r\n");
  expect_gone_early(old);
}
