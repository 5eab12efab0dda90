/*
 * test_fetch.c - mc_fetch() through real sockets on loopback. The fetch
 * fixture is both the plugin that fetches and the upstream it fetches
 * from; the hostile upstreams (nothing listening, a listener that never
 * answers) are sockets this test holds itself.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

Test(fetch, get_round_trip_with_headers) {
  const char *b = get("/fetch?url=http://127.0.0.1:%d/up/hello", S.port);
  cr_expect_str_eq(b, "status=200 error=0 x-up=yes te=- body=hello");
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
