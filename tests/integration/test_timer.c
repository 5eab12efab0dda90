/*
 * test_timer.c - the plugin's timers (mc_timer_start(), mc_timer_stop())
 * with the timer fixture on one worker: repeating and one-shot timers
 * fire, a timer stopped by a handler or by its own callback fires no more
 * while another goes on, a 0 ms timer fires from the loop and not inside
 * the call, the refused calls say why, and a fault in a timer callback
 * retires the worker with a report.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TIMER TEST_PLUGINS_DIR "/timer.so"

static struct srv S;
static struct http_resp R;

static void fini(void) { srv_stop(&S); }

TestSuite(timer, .fini = fini, .timeout = 60);

static void start(void) {
  int err = srv_start_one(&S, TIMER, NULL, 10000);
  cr_assert_eq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
}

static void get(const char *target) {
  int err = http_get(S.port, target, &R);
  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(R.status, 200, "GET %s: %d" SRV_LOG_FMT, target, R.status,
               srv_log_tail(&S));
}

/* The counts of /counts. */
struct counts {
  unsigned tick, witness, once, self;
  int refused[2];
};

static struct counts counts(void) {
  struct counts c;
  get("/counts");
  cr_assert_eq(sscanf(R.body,
                      "tick %u witness %u once %u self %u refused %d %d",
                      &c.tick, &c.witness, &c.once, &c.self, &c.refused[0],
                      &c.refused[1]),
               6, "%s", R.body);
  return c;
}

/* Polls until the witness timer has fired `n` more times than `from`. */
static struct counts wait_witness(unsigned from, unsigned n) {
  struct counts c = counts();
  for (int i = 0; i < 500 && c.witness < from + n; i++) {
    sleep_ms(20);
    c = counts();
  }
  cr_assert_geq(c.witness, from + n, "the witness timer stopped firing");
  return c;
}

/* While the witness fires 10 times: the repeating timer fires, the one-shot
 * once, the self-stopping one three times; the refused calls say -EINVAL. */
Test(timer, repeating_one_shot_and_self_stopping_timers) {
  struct counts c;
  start();
  c = wait_witness(0, 10);
  cr_expect_geq(c.tick, 5);
  cr_expect_eq(c.once, 1);
  cr_expect_eq(c.self, 3);
  cr_expect_eq(c.refused[0], -22);
  cr_expect_eq(c.refused[1], -22);
}

/* A timer stopped by a handler fires no more, while another goes on. */
Test(timer, a_stopped_timer_fires_no_more) {
  unsigned at;
  struct counts c;
  start();
  wait_witness(0, 2);
  get("/stop");
  cr_assert_eq(sscanf(R.body, "stopped at %u", &at), 1, "%s", R.body);
  c = wait_witness(counts().witness, 5);
  cr_expect_eq(c.tick, at, "tick fired %u times after its stop", c.tick - at);
}

/* A 0 ms timer fires from the loop, after mc_timer_start() returned. */
Test(timer, a_zero_timer_fires_from_the_loop) {
  start();
  get("/zero");
  cr_expect_str_eq(R.body, "inside 0\n");
}

/* A fault in a timer callback: reported, naming the timer, and the worker
 * retires; its replacement serves. */
Test(timer, a_fault_in_a_timer_retires_the_worker) {
  start();
  get("/crash");
  cr_assert(wait_log(&S, "a timer callback", 10000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_assert(wait_log(&S, "retiring this worker", 10000), SRV_LOG_FMT,
            srv_log_tail(&S));
  counts();
}
