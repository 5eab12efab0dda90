/*
 * test_robust.c - the master outlives any worker: garbage on a control
 * pipe, a message cut short, odd exit codes, a SIGKILL. Each time it says
 * what happened, replaces the worker, and keeps serving.
 */
#include <criterion/criterion.h>
#include <signal.h>
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
 * matter), then: the master is alive, said `said`, and a new worker
 * serves. */
static void survives(const char *path, const char *said) {
  struct http_resp r;
  pid_t before, after;

  start();
  cr_assert_eq(worker_pids(S.pid, &before, 1), 1);
  http_get(S.port, path, &r);
  cr_expect(wait_log(&S, said, 3000), "the master did not say '%s'" SRV_LOG_FMT,
            said, srv_log_tail(&S));
  cr_assert(srv_alive(&S), "the master died" SRV_LOG_FMT, srv_log_tail(&S));
  cr_assert(!pid_alive(before) || (sleep_ms(500), !pid_alive(before)),
            "the misbehaving worker %d still runs", (int)before);
  cr_assert_eq(wait_workers(S.pid, 1, 3000, 100), 1);
  cr_assert_eq(worker_pids(S.pid, &after, 1), 1);
  cr_expect_neq(after, before, "no replacement worker");
  cr_assert_eq(http_get(S.port, "/", &r), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(r.status, 200);
}

Test(robust, garbage_on_the_control_pipe_gets_the_worker_killed) {
  survives("/garbage", "garbled control message");
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
