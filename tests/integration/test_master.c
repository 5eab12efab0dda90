/*
 * test_master.c - the master as an operator drives it: worker count, TTIN
 * and TTOU, a killed worker replaced, and TERM / INT as graceful stops that
 * let in-flight requests finish, bounded by --kill-timeout.
 *
 * The slow fixture holds GET /slow?ms=N for N ms on its worker's loop and
 * logs "slow: holding N ms" first, so a test knows the request is in flight
 * before it signals the master.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define HELLO PLUGINS_DIR "/hello.so"
#define SLOW TEST_PLUGINS_DIR "/slow.so"

static struct srv S;
static struct http_client C;
static struct http_resp R;

static void master_init(void) { C.fd = -1; }

static void master_fini(void) {
  http_close(&C);
  srv_stop(&S);
}

TestSuite(master, .init = master_init, .fini = master_fini, .timeout = 20);

static void start(const char *const *args) {
  int err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
}

/* Waits for exactly n workers (held 200 ms) and returns their pids. */
static void expect_workers(int n, pid_t *pids, int max, int timeout_ms) {
  int got = wait_workers(S.pid, n, timeout_ms, 200);
  cr_assert_eq(got, n, "want %d workers, saw %d" SRV_LOG_FMT, n, got,
               srv_log_tail(&S));
  if (pids)
    cr_assert_eq(worker_pids(S.pid, pids, max), n);
}

/* Sends GET /slow?ms=<ms> on C and waits until the plugin holds it. */
static void slow_request_in_flight(unsigned ms) {
  srv_hold_slow(&S, &C, "slow", ms);
}

/* The request held by slow_request_in_flight() completes normally. */
static void expect_slow_response(void) {
  srv_read_slow(&S, &C, &R);
  /* Done with it: an idle keep-alive connection is not what is tested. */
  http_close(&C);
}

static void expect_gone(const pid_t *pids, int n) {
  for (int i = 0; i < n; i++)
    cr_expect_not(pid_alive(pids[i]),
                  "worker %d still runs after the master exited" SRV_LOG_FMT,
                  (int)pids[i], srv_log_tail(&S));
}

Test(master, workers_flag_sets_count_and_ttin_ttou_adjust_it) {
  start((const char *const[]){"--plugin", HELLO, "--workers", "2", NULL});
  expect_workers(2, NULL, 0, 3000);
  cr_assert_eq(kill(S.pid, SIGTTIN), 0);
  expect_workers(3, NULL, 0, 3000);
  cr_assert_eq(kill(S.pid, SIGTTOU), 0);
  expect_workers(2, NULL, 0, 3000);
}

Test(master, killed_worker_is_replaced) {
  pid_t before[2], now[8];
  int n = 0;
  start((const char *const[]){"--plugin", HELLO, "--workers", "2", NULL});
  expect_workers(2, before, 2, 3000);
  cr_assert_eq(kill(before[0], SIGKILL), 0);

  /* Replaced: two workers again, and the dead one is not among them. */
  int64_t deadline = now_ms() + 2000;
  int replaced = 0;
  while (!replaced && now_ms() < deadline) {
    n = worker_pids(S.pid, now, 8);
    replaced = n == 2 && now[0] != before[0] && now[1] != before[0];
    if (!replaced)
      sleep_ms(10);
  }
  cr_expect(replaced,
            "worker %d killed: after 2 s the master has %d workers" SRV_LOG_FMT,
            (int)before[0], n, srv_log_tail(&S));
  int err = http_get(S.port, "/", &R);
  cr_expect_eq(err, 0, "GET / after the kill: %s" SRV_LOG_FMT,
               http_strerror(err), srv_log_tail(&S));
  cr_expect_eq(R.status, 200, "GET / after the kill: status %d", R.status);
}

Test(master, sigterm_lets_in_flight_request_finish_then_exits_0) {
  pid_t workers[2];
  start((const char *const[]){"--plugin", SLOW, "--workers", "2", NULL});
  expect_workers(2, workers, 2, 3000);
  slow_request_in_flight(1500);
  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  expect_slow_response();
  int code = srv_wait_exit(&S, 5000);
  cr_assert_eq(code, 0, "master exit %d after SIGTERM, want 0%s" SRV_LOG_FMT,
               code, code == -ETIMEDOUT ? " (still running after 5 s)" : "",
               srv_log_tail(&S));
  expect_gone(workers, 2);
}

Test(master, sigint_is_graceful_like_sigterm) {
  pid_t workers[1];
  start((const char *const[]){"--plugin", SLOW, "--workers", "1", NULL});
  expect_workers(1, workers, 1, 3000);
  slow_request_in_flight(1000);
  cr_assert_eq(kill(S.pid, SIGINT), 0);
  expect_slow_response();
  int code = srv_wait_exit(&S, 5000);
  cr_assert_eq(code, 0, "master exit %d after SIGINT, want 0%s" SRV_LOG_FMT,
               code, code == -ETIMEDOUT ? " (still running after 5 s)" : "",
               srv_log_tail(&S));
  expect_gone(workers, 1);
}

Test(master, kill_timeout_bounds_graceful_stop) {
  pid_t workers[1];
  start((const char *const[]){"--plugin", SLOW, "--workers", "1",
                              "--kill-timeout", "1", NULL});
  expect_workers(1, workers, 1, 3000);
  slow_request_in_flight(10000);
  int64_t t0 = now_ms();
  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  int code = srv_wait_exit(&S, 3000);
  cr_assert_neq(code, -ETIMEDOUT,
                "master still running 3 s after SIGTERM with --kill-timeout "
                "1" SRV_LOG_FMT,
                srv_log_tail(&S));
  cr_expect(now_ms() - t0 >= 800,
            "master exited after %lld ms: it did not wait for the request",
            (long long)(now_ms() - t0));
  /* The held request could not finish: its connection ends without the
   * 200 it would have got after 10 s. */
  int err = http_read(&C, &R, 0, 2000);
  cr_expect(
      err != 0 || R.status != 200,
      "a request held for 10 s was answered %d [%s] after a 1 s kill timeout",
      R.status, R.body);
  expect_gone(workers, 1);
}
