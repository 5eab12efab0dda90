/*
 * test_fetch.c - mc_fetch() through real sockets on loopback. The fetch
 * fixture is both the plugin that fetches and the upstream it fetches
 * from; the hostile upstreams (nothing listening, a listener that never
 * answers) are sockets this test holds itself. The fetchwork suite runs
 * a fetch and a mc_work() for one response (see its comment below).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define FETCH TEST_PLUGINS_DIR "/fetch.so"

static struct srv S;
static struct http_client C;
static struct http_resp R;
static int held_fd = -1;

static void fini(void) {
  http_close(&C);
  if (held_fd >= 0)
    close(held_fd);
  held_fd = -1;
  srv_stop(&S);
}

static void start(void) {
  const char *args[] = {"--plugin", FETCH, "--workers", "1", NULL};
  int err;

  C.fd = -1;
  err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
}

TestSuite(fetch, .init = start, .fini = fini, .timeout = 60);

/* A TCP socket on 127.0.0.1, listening (never accepting) or, with
 * listening 0, bound and closed again so that nothing listens on its port.
 * Returns the port. */
static int local_port(int listening) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  cr_assert(fd >= 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  if (listening) {
    cr_assert_eq(listen(fd, 8), 0);
    held_fd = fd;
  } else {
    close(fd);
  }
  return ntohs(a.sin_port);
}

/* GET target on the fixture; asserts a 200 and returns its body. */
static const char *get(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static const char *get(const char *fmt, ...) {
  char target[512];
  va_list ap;
  int err;

  va_start(ap, fmt);
  vsnprintf(target, sizeof target, fmt, ap);
  va_end(ap);
  err = http_get_timeout(S.port, target, &R, 20000);
  cr_assert_eq(err, 0, "%s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(R.status, 200, "%s: %d %s", target, R.status, R.body);
  return R.body;
}

/* Sends GET target on C, a connection of its own. */
static void send_get(const char *target) {
  char req[640];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
  cr_assert_eq(http_open(&C, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&C, req), 0);
}

/* Reads the answer on C: 200 with `body`. */
static void expect_answer(const char *body) {
  struct http_resp r;
  int err = http_read(&C, &r, 0, 20000);
  cr_assert_eq(err, 0, "%s" SRV_LOG_FMT, http_strerror(err), srv_log_tail(&S));
  cr_expect_eq(r.status, 200, "%d %s", r.status, r.body);
  cr_expect_str_eq(r.body, body, SRV_LOG_FMT, srv_log_tail(&S));
}

/* The fetch has connected to the upstream on held_fd (so mc_run() ran). */
static void upstream_connected(void) {
  struct pollfd p = {.fd = held_fd, .events = POLLIN};
  cr_assert_eq(poll(&p, 1, 10000), 1, "the fetch never connected");
}

/* The upstream on held_fd: takes the fetch's connection, reads its request
 * head, answers `resp` and closes. */
static void upstream_answer(const char *resp) {
  struct pollfd p = {.fd = -1, .events = POLLIN};
  char buf[2048];
  size_t got = 0;
  int fd;

  upstream_connected();
  fd = accept(held_fd, NULL, NULL);
  cr_assert_geq(fd, 0, "accept: %s", strerror(errno));
  p.fd = fd;
  while (got < sizeof buf - 1) {
    ssize_t n;
    cr_assert_eq(poll(&p, 1, 10000), 1, "no request from the fetch");
    n = read(fd, buf + got, sizeof buf - 1 - got);
    cr_assert_gt(n, 0, "the fetch closed before its request was whole");
    got += (size_t)n;
    buf[got] = '\0';
    if (strstr(buf, "\r\n\r\n") != NULL)
      break;
  }
  cr_assert_eq(write(fd, resp, strlen(resp)), (ssize_t)strlen(resp));
  close(fd);
}

Test(fetch, get_round_trip_with_headers) {
  const char *b = get("/fetch?url=http://127.0.0.1:%d/up/hello", S.port);
  cr_expect_str_eq(b, "status=200 error=0 x-up=yes te=- body=hello");
}

/* Values come without their trailing whitespace, and a lookup changes
 * nothing: after X-A (sent as "v \t "), X-B behind it and Connection, the
 * last field, are still found, X-A again gives the same value, and X-E
 * (only spaces) is there and empty. */
Test(fetch, header_lookups_trim_values_and_find_every_field) {
  const char *b = get("/fetch-names?names=X-A,X-B,X-A,X-E,X-Up,connection"
                      "&url=http://127.0.0.1:%d/up/ows",
                      S.port);
  cr_expect_str_eq(b,
                   "X-A=[v] X-B=[w] X-A=[v] X-E=[] X-Up=- connection=[close]");
}

/* A raw upstream: a value with one trailing space, and a trailer after a
 * chunked body, which is not a header. */
Test(fetch, trailers_are_not_headers) {
  char target[512];

  snprintf(target, sizeof target,
           "/fetch-names?names=X-A,X-T,X-A&url=http://127.0.0.1:%d/",
           local_port(1));
  send_get(target);
  upstream_answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                  "X-A: v \r\n\r\n1\r\na\r\n0\r\nX-T: t\r\n\r\n");
  expect_answer("X-A=[v] X-T=- X-A=[v]");
}

/* A status line with a one-digit status is not a response: llhttp
 * parses it, the SDK promises 100..999. */
Test(fetch, short_status_code_is_a_bad_message) {
  char target[512];

  snprintf(target, sizeof target, "/fetch?url=http://127.0.0.1:%d/",
           local_port(1));
  send_get(target);
  upstream_answer("HTTP/1.1 2 OK\r\nContent-Length: 2\r\n\r\nhi");
  expect_answer("status=0 error=-74 x-up=- te=- body=");
}

/* A 304 has no content, whatever its Content-Length says (the size of
 * the representation): the response ends with its head. */
Test(fetch, not_modified_ends_with_its_head) {
  char target[512];

  snprintf(target, sizeof target, "/fetch?url=http://127.0.0.1:%d/",
           local_port(1));
  send_get(target);
  upstream_answer("HTTP/1.1 304 Not Modified\r\nContent-Length: 11\r\n"
                  "X-Up: yes\r\n\r\n");
  expect_answer("status=304 error=0 x-up=yes te=- body=");
}

Test(fetch, post_round_trip_sends_the_body) {
  const char *b = get(
      "/fetch?method=POST&body=ping&url=http://127.0.0.1:%d/up/echo", S.port);
  cr_expect_str_eq(b, "status=200 error=0 x-up=- te=- body=POST ping");
}

Test(fetch, chunked_upstream_is_decoded) {
  const char *b = get("/fetch?url=http://127.0.0.1:%d/up/chunked", S.port);
  cr_expect_str_eq(b, "status=200 error=0 x-up=- te=chunked body=abc");
}

Test(fetch, localhost_resolves) {
  const char *b = get("/fetch?url=http://localhost:%d/up/hello", S.port);
  cr_expect_str_eq(b, "status=200 error=0 x-up=yes te=- body=hello");
}

Test(fetch, upstream_down_is_refused) {
  const char *b = get("/fetch?url=http://127.0.0.1:%d/", local_port(0));
  char want[64];
  snprintf(want, sizeof want, "status=0 error=%d ", -ECONNREFUSED);
  cr_expect(strncmp(b, want, strlen(want)) == 0, "%s", b);
}

Test(fetch, upstream_that_hangs_times_out) {
  int64_t t0 = now_ms();
  const char *b =
      get("/fetch?timeout=300&url=http://127.0.0.1:%d/", local_port(1));
  char want[64];
  snprintf(want, sizeof want, "status=0 error=%d ", -ETIMEDOUT);
  cr_expect(strncmp(b, want, strlen(want)) == 0, "%s", b);
  cr_expect_geq(now_ms() - t0, 250);
}

Test(fetch, response_over_max_size_is_refused) {
  const char *b = get(
      "/fetch?max=1000&url=http://127.0.0.1:%d/up/big%%3Fn%%3D100000", S.port);
  char want[64];
  snprintf(want, sizeof want, "status=0 error=%d ", -EFBIG);
  cr_expect(strncmp(b, want, strlen(want)) == 0, "%s", b);
  /* under the cap it arrives whole */
  b = get("/fetch?max=200000&url=http://127.0.0.1:%d/up/big%%3Fn%%3D1000",
          S.port);
  cr_expect(strncmp(b, "status=200 error=0 ", 19) == 0, "%.40s", b);
  cr_expect_eq(R.body_len,
               strlen("status=200 error=0 x-up=- te=- body=") + 1000);
}

Test(fetch, bad_urls_are_refused_at_once) {
  char target[128];
  snprintf(target, sizeof target, "/fetch?url=https://127.0.0.1:%d/", S.port);
  cr_assert_eq(http_get(S.port, target, &R), 0);
  cr_expect_eq(R.status, 400);
  cr_expect_str_eq(R.body, "refused -22");
}

Test(fetch, client_leaves_while_the_fetch_runs) {
  char req[256];

  snprintf(req, sizeof req,
           "GET /fetch-leave?timeout=20000&url=http://127.0.0.1:%d/ "
           "HTTP/1.1\r\nHost: x\r\n\r\n",
           local_port(1));
  cr_assert_eq(http_open(&C, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&C, req), 0);
  cr_assert(wait_log(&S, "fetch: started", 10000), "%s", srv_log_tail(&S));
  http_close(&C);
  cr_expect(wait_log(&S, "fetch: cancelled aborted=1 res=yes", 10000), "%s",
            srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "fetch: cancelled"), 1);
  /* the worker goes on serving */
  get("/fetch?url=http://127.0.0.1:%d/up/hello", S.port);
  cr_expect_eq(log_count(&S, "retiring this worker"), 0);
}

Test(fetch, fault_in_the_callback_answers_500_and_retires) {
  char target[128];
  int err;

  snprintf(target, sizeof target,
           "/fetch-crash?url=http://127.0.0.1:%d/up/hello", S.port);
  err = http_get_timeout(S.port, target, &R, 20000);
  cr_assert_eq(err, 0, "%s", http_strerror(err));
  cr_expect_eq(R.status, 500);
  cr_expect(wait_log(&S, "retiring this worker", 10000), "%s",
            srv_log_tail(&S));
}

/* The plugin answered before its fetch ended: the callback comes for a
 * finished response, and its fault is reported as any other (the record,
 * with its frames, names the callback) and retires the worker. */
Test(fetch, fault_in_a_callback_for_a_finished_response_is_reported) {
  char target[128];
  int err;

  snprintf(target, sizeof target,
           "/fetch-crash-after?url=http://127.0.0.1:%d/up/hello", S.port);
  err = http_get_timeout(S.port, target, &R, 20000);
  cr_assert_eq(err, 0, "%s", http_strerror(err));
  cr_expect_str_eq(R.body, "answered");
  cr_expect(
      wait_log(&S, "in an mc_fetch() callback for a finished response", 10000),
      "%s", srv_log_tail(&S));
  cr_expect(wait_log(&S, "retiring this worker", 10000), "%s",
            srv_log_tail(&S));
}

/* ---- a fetch and a mc_work() for one response ----
 *
 * The fixture's /both starts both; its work() waits for a file this test
 * creates, and the upstream is either the fixture itself (answers at once)
 * or a socket this test holds and answers when it chooses. The host logs
 * at debug level when a fetch ends while the work runs. */

#define HELD "its callback follows done()"

static char scratch[64];

static void both_start(void) {
  const char *args[] = {"--plugin",    FETCH,   "--workers", "1",
                        "--log-level", "debug", NULL};
  int err;

  C.fd = -1;
  snprintf(scratch, sizeof scratch, "/tmp/mchost-fetchwork-XXXXXX");
  cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
  err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
}

static void both_fini(void) {
  fini();
  rm_tree(scratch);
}

TestSuite(fetchwork, .init = both_start, .fini = both_fini, .timeout = 60);

static void touch(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
  close(fd);
}

/* The fetch ended while work() blocks, and its callback has not run. */
static void expect_held(void) {
  cr_assert(wait_log(&S, HELD, 10000), "the fetch was not held" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "both: fetch"), 0,
               "the fetch's callback ran while work() ran" SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* Lets the blocked work() return. */
static void release_work(void) {
  char go[128];
  snprintf(go, sizeof go, "%s/go", scratch);
  touch(go);
}

/* The fetch's callback came once, after done(), cancelled: `how` is
 * "res=null aborted=-1" or "res=yes aborted=1". */
static void expect_cancelled_after_done(const char *how) {
  char want[128];
  snprintf(want, sizeof want, "both: fetch %s error%d order=done,fetch", how,
           -ECANCELED);
  cr_expect(wait_log(&S, want, 10000), SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect(log_stays(&S, "both: fetch", 1, 300), SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* The fetch ends while work() is still blocked: its callback is held, and
 * comes once done() has returned, with the response still open; the last
 * of the two answers with both results. */
Test(fetchwork, fetch_that_ends_while_work_runs_follows_done) {
  char target[512];

  snprintf(target, sizeof target,
           "/both?until=%s/go&url=http://127.0.0.1:%d/up/hello", scratch,
           S.port);
  send_get(target);
  expect_held();
  release_work();
  expect_answer("order=done,fetch fetch=200:hello");
  cr_expect_eq(log_count(&S, "both: fetch"), 1);
}

/* done() comes first and leaves the response deferred; the fetch's
 * callback then comes when the upstream answers, and finishes it. */
Test(fetchwork, work_that_ends_first_leaves_the_fetch_to_finish) {
  char target[512];

  snprintf(target, sizeof target,
           "/both?timeout=20000&url=http://127.0.0.1:%d/", local_port(1));
  send_get(target);
  cr_assert(wait_log(&S, "both: done order=done", 10000), SRV_LOG_FMT,
            srv_log_tail(&S));
  upstream_answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup");
  expect_answer("order=done,fetch fetch=200:up");
  cr_expect_eq(log_count(&S, HELD), 0);
}

/* The fetch ends while work() runs, then done() finishes the response
 * alone: the held callback is told once, after done(), as for a response
 * finished before its fetch (res NULL, -ECANCELED), and the worker goes on
 * serving. */
Test(fetchwork, done_that_finishes_the_response_cancels_a_held_fetch) {
  char target[512];

  snprintf(target, sizeof target,
           "/both?end=done&until=%s/go&url=http://127.0.0.1:%d/up/hello",
           scratch, S.port);
  send_get(target);
  expect_held();
  release_work();
  expect_answer("done alone");
  expect_cancelled_after_done("res=null aborted=-1");
  get("/fetch?url=http://127.0.0.1:%d/up/hello", S.port);
  cr_expect_eq(log_count(&S, "retiring this worker"), 0);
}

/* done() finishes the response while the fetch still waits for its
 * upstream: the fetch is cancelled at once and its callback told once. */
Test(fetchwork, done_that_finishes_the_response_cancels_a_running_fetch) {
  char target[512];

  snprintf(target, sizeof target,
           "/both?end=done&timeout=20000&url=http://127.0.0.1:%d/",
           local_port(1));
  send_get(target);
  expect_answer("done alone");
  expect_cancelled_after_done("res=null aborted=-1");
  cr_expect_eq(log_count(&S, HELD), 0);
}

/* The client leaves while work() and the fetch run: the fetch is
 * cancelled, and its callback still gets the response (aborted), after
 * done(), as for a client that leaves during a fetch alone. */
Test(fetchwork, client_that_leaves_during_both_gets_the_fetch_after_done) {
  char target[512];

  snprintf(target, sizeof target,
           "/both?until=%s/go&timeout=20000&url=http://127.0.0.1:%d/", scratch,
           local_port(1));
  send_get(target);
  upstream_connected();
  http_close(&C);
  expect_held();
  release_work();
  expect_cancelled_after_done("res=yes aborted=1");
  get("/fetch?url=http://127.0.0.1:%d/up/hello", S.port);
  cr_expect_eq(log_count(&S, "retiring this worker"), 0);
}

/* work() blocks past the response's 300 ms deadline while the fetch waits
 * for its upstream: the host answers 503 and cancels the fetch, whose
 * callback still waits until work() has returned and done() has run (res
 * NULL, -ECANCELED); the worker retires as after any missed deadline. */
Test(fetchwork, fetch_cancelled_by_a_deadline_waits_for_done) {
  char target[512];
  struct http_resp r;
  int err;

  snprintf(target, sizeof target,
           "/both?deadline=300&until=%s/go&timeout=20000&url=http://"
           "127.0.0.1:%d/",
           scratch, local_port(1));
  send_get(target);
  err = http_read(&C, &r, 0, 20000);
  cr_assert_eq(err, 0, "%s" SRV_LOG_FMT, http_strerror(err), srv_log_tail(&S));
  cr_expect_eq(r.status, 503);
  expect_held();
  release_work();
  expect_cancelled_after_done("res=null aborted=-1");
}
