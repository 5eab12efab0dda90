/*
 * test_hostile.c - what a hostile or broken client gets: request smuggling
 * attempts are rejected and never reach the plugin, slow clients do not
 * hold the server, and a client that never reads is bounded.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct srv S;

static void stop(void) { srv_stop(&S); }

static void start(const char *const *more) {
  cr_assert_eq(srv_start_one(&S, PLUGINS_DIR "/echo.so", more, 5000), 0,
               "mchost did not start" SRV_LOG_FMT, srv_log_tail(&S));
}

/* Char arrays, not pointers: Criterion copies the parameters into each
 * test's process. */
struct attack {
  char name[32];
  char request[256];
  int status;
};

/* Each is a way two HTTP parsers (a proxy's and ours) could disagree on
 * where a request ends; each gets its status and the connection's end. */
ParameterizedTestParameters(hostile, smuggling_is_rejected) {
  static struct attack attacks[] = {
      {"CL and TE",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"two Content-Lengths",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
       "Content-Length: 6\r\n\r\nhello!",
       400},
      {"TE chunked, identity",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity"
       "\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       501},
      {"TE identity",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\nhello",
       501},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  b\r\n\r\n", 400},
      {"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400},
      {"over-long chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
       400},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "zz\r\nx\r\n0\r\n\r\n",
       400},
      {"signed Content-Length",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400},
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"control byte in target", "GET /a\001b HTTP/1.1\r\nHost: x\r\n\r\n",
       400},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
  };
  return cr_make_param_array(struct attack, attacks,
                             sizeof attacks / sizeof attacks[0]);
}

ParameterizedTest(struct attack *a, hostile, smuggling_is_rejected,
                  .fini = stop, .timeout = 15) {
  struct http_client c;
  struct http_resp r;
  int err;

  start(NULL);
  cr_assert_eq(http_open(&c, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&c, a->request), 0);
  err = http_read(&c, &r, 0, 3000);
  cr_assert_eq(err, 0, "%s: no response: %s" SRV_LOG_FMT, a->name,
               http_strerror(err), srv_log_tail(&S));
  cr_expect_eq(r.status, a->status, "%s: status %d, want %d\n%s", a->name,
               r.status, a->status, r.head);
  /* the echo plugin would have answered 200 with the request line */
  cr_expect(strstr(r.body, "GET /") == NULL && strstr(r.body, "POST /") == NULL,
            "%s reached the plugin: %s", a->name, r.body);
  err = http_wait_close(&c, 2000);
  cr_expect(err == 0 || err == -ECONNRESET, "%s: connection left open (%s)",
            a->name, http_strerror(err));
  http_close(&c);
}

/* Slowloris: many connections that each send a head one byte at a time.
 * A normal client is answered while every one of them still holds its
 * connection, unanswered; then --header-timeout closes each with 408. */
Test(hostile, slow_clients_do_not_hold_the_server, .fini = stop,
     .timeout = 30) {
  enum { SLOW = 1000 };
  static struct http_client slow[SLOW];
  const char *more[] = {"--header-timeout", "4", NULL};
  const char *head = "GET / HTTP/1.1\r\nHost: x\r\n";
  struct rlimit rl;
  int opened = 0, answered_408 = 0;

  /* one fd per slow client, plus the test's own */
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  start(more);
  for (int i = 0; i < SLOW; i++)
    if (http_open(&slow[i], S.port, 2000) == 0)
      opened++;
  cr_assert_eq(opened, SLOW, "only %d slow connections opened", opened);
  for (int byte = 0; byte < 3; byte++) {
    struct http_resp r;
    int waiting = 0;
    for (int i = 0; i < SLOW; i++)
      http_send(&slow[i], head + byte, 1);
    waiting = srv_normal_amid(&S, slow, SLOW, &r);
    cr_assert_geq(waiting, 0, "a normal client was not answered" SRV_LOG_FMT,
                  srv_log_tail(&S));
    cr_expect_eq(r.status, 200);
    cr_expect_eq(waiting, SLOW,
                 "the normal client was answered only after %d slow clients "
                 "were cut off",
                 SLOW - waiting);
    sleep_ms(300);
  }
  for (int i = 0; i < SLOW; i++) {
    struct http_resp r;
    if (http_read(&slow[i], &r, 0, 8000) == 0 && r.status == 408)
      answered_408++;
    http_close(&slow[i]);
  }
  cr_expect_eq(answered_408, SLOW, "%d of %d slow clients got 408",
               answered_408, SLOW);
}

/* A client that sends requests and never reads: the server stops reading
 * from it once its responses pile up, instead of buffering without end. */
Test(hostile, client_that_never_reads_is_bounded, .fini = stop, .timeout = 30) {
  struct http_client c;
  static char req[64 * 1024];
  const char *one = "GET /0123456789 HTTP/1.1\r\nHost: x\r\n\r\n";
  size_t n = strlen(one), filled = 0, sent = 0;
  long rss_kb = 0;

  start(NULL);
  cr_assert_eq(http_open(&c, S.port, 2000), 0);
  while (filled + n < sizeof req) {
    memcpy(req + filled, one, n);
    filled += n;
  }
  /* Send until the socket refuses more (the server stopped reading), at
   * most 64 MiB of requests. */
  for (int rounds = 0; rounds < 1024; rounds++) {
    ssize_t k = send(c.fd, req, filled, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k <= 0)
      break;
    sent += (size_t)k;
  }
  cr_expect_lt(sent, (size_t)64 << 20,
               "the server kept reading 64 MiB of requests nobody reads");
  {
    pid_t pids[2];
    cr_assert_eq(worker_pids(S.pid, pids, 2), 1);
    rss_kb = rss_kib(pids[0]);
  }
  cr_expect_lt(rss_kb, 32 * 1024, "worker RSS %ld KiB after %zu bytes sent",
               rss_kb, sent);
  http_close(&c);
}
