/*
 * test_robust.c - the master outlives any worker: garbage on a control
 * pipe, a message cut short, a control pipe closed or shut down, odd exit
 * codes, a SIGKILL. Each time it says what happened, replaces the worker,
 * and keeps serving.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct srv S;

static void stop(void) { srv_stop(&S); }

TestSuite(robust, .fini = stop, .timeout = 20);

static void start(void) {
  const char *args[] = {"--plugin", TEST_PLUGINS_DIR "/rogue.so", "--workers",
                        "1", NULL};
  cr_assert_eq(srv_start(&S, args, 5000), 0, "mchost did not start" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_assert_eq(wait_workers(S.pid, 1, 3000, 100), 1);
}

/* The request that makes the worker misbehave (its answer, if any, does not
 * matter), then `signum` to the master unless it is 0, then: the master is
 * alive, said `said` once, and a new worker serves. Returns the new
 * worker. */
static pid_t survives_signal(const char *path, int signum, const char *said) {
  struct http_resp r;
  pid_t before, after;

  start();
  cr_assert_eq(worker_pids(S.pid, &before, 1), 1);
  http_get(S.port, path, &r);
  if (signum != 0)
    cr_assert_eq(kill(S.pid, signum), 0);
  cr_expect(wait_log(&S, said, 3000), "the master did not say '%s'" SRV_LOG_FMT,
            said, srv_log_tail(&S));
  int times = log_count(&S, said);
  cr_expect_eq(times, 1, "'%s' said %d times, want once" SRV_LOG_FMT, said,
               times, srv_log_tail(&S));
  cr_assert(srv_alive(&S), "the master died" SRV_LOG_FMT, srv_log_tail(&S));
  cr_assert(wait_pid_gone(before, 3000),
            "the misbehaving worker %d still runs" SRV_LOG_FMT, (int)before,
            srv_log_tail(&S));
  cr_assert_eq(wait_workers(S.pid, 1, 3000, 100), 1);
  cr_assert_eq(worker_pids(S.pid, &after, 1), 1);
  cr_expect_neq(after, before, "no replacement worker");
  cr_assert_eq(http_get(S.port, "/", &r), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(r.status, 200);
  return after;
}

static void survives(const char *path, const char *said) {
  survives_signal(path, 0, said);
}

Test(robust, garbage_on_the_control_pipe_gets_the_worker_killed) {
  survives("/garbage", "garbled control message");
}

/* A worker that closed its end of the control pipe serves on, but can no
 * longer be stopped by the master nor tell it of a fault: the master says
 * so, stops it (by SIGTERM: MSG_STOP cannot reach it) and replaces it, and
 * `mchost status` counts it. SIGUSR1 right after the close makes the master
 * write into the closed pipe (reopen the access log) before it has noticed:
 * EPIPE, and SIGPIPE if the master did not ignore it. */
Test(robust, closed_control_pipe_gets_the_worker_replaced) {
  struct run_result st;
  char shown[32];
  pid_t fresh =
      survives_signal("/close-control", SIGUSR1, "closed its control pipe");

  cr_assert_eq(run_status(S.pid, &st), 0);
  snprintf(shown, sizeof shown, " %d ", (int)fresh);
  cr_expect(strstr(st.out, "1 crash,") != NULL, "not counted:\n%s", st.out);
  cr_expect(strstr(st.out, shown) != NULL, "replacement %d not shown:\n%s",
            (int)fresh, st.out);
  run_result_free(&st);
}

/* A worker that shut down its sending side can still be asked to stop:
 * it is replaced, and leaves gracefully instead of being killed. */
Test(robust, shut_down_control_pipe_gets_the_worker_replaced) {
  survives("/shutdown-control", "closed its control pipe");
  cr_expect_eq(log_count(&S, "killing worker"), 0, SRV_LOG_FMT,
               srv_log_tail(&S));
}

Test(robust, odd_exit_code_is_reported_and_replaced) {
  survives("/exit7", "died: exit code 7");
}

Test(robust, sigkilled_worker_is_reported_and_replaced) {
  survives("/kill", "died: killed by SIGKILL");
}

/* A message cut short is not acted on; the worker keeps serving until it
 * sends something complete. */
Test(robust, half_a_message_is_not_acted_on) {
  struct http_resp r;
  start();
  cr_assert_eq(http_get(S.port, "/half", &r), 0);
  cr_assert_eq(http_get(S.port, "/", &r), 0);
  cr_expect_eq(r.status, 200);
  cr_expect(srv_alive(&S));
}
