/*
 * test_status.c - `mchost status PID` shows what a running mchost is doing:
 * its workers, their pids and generation, requests served, crashes and
 * reloads, read from the running master.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct srv S;

static void stop(void) { srv_stop(&S); }

static void start(const char *plugin, const char *workers) {
  const char *args[] = {"--plugin", plugin, "--workers", workers, NULL};
  cr_assert_eq(srv_start(&S, args, 5000), 0, "mchost did not start" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_assert_eq(wait_workers(S.pid, atoi(workers), 3000, 100), atoi(workers));
}

/* Runs `mchost status <master pid>`; the caller frees r. */
static void status(struct run_result *r) {
  cr_assert_eq(run_status(S.pid, r), 0);
  cr_assert_eq(r->exit_code, 0, "status failed: %s", r->err);
}

/* Sum of the "requests" column. */
static long requests_served(const char *out) {
  long sum = 0;
  const char *line = strstr(out, "requests\n");
  for (line = line ? line + 9 : NULL; line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    const char *last = end ? end : line + strlen(line);
    while (last > line && last[-1] == ' ')
      last--;
    while (last > line && last[-1] >= '0' && last[-1] <= '9')
      last--;
    sum += atol(last);
    line = end ? end + 1 : NULL;
  }
  return sum;
}

Test(status, shows_workers_pids_and_requests, .fini = stop, .timeout = 20) {
  struct run_result r;
  struct http_resp resp;
  pid_t pids[4];
  int n;

  start(PLUGINS_DIR "/hello.so", "2");
  for (int i = 0; i < 7; i++)
    cr_assert_eq(http_get(S.port, "/", &resp), 0);
  status(&r);
  n = worker_pids(S.pid, pids, 4);
  cr_assert_eq(n, 2);
  cr_expect(strstr(r.out, "2 workers wanted") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "generation 1 serving") != NULL, "%s", r.out);
  for (int i = 0; i < n; i++) {
    char pid[16];
    snprintf(pid, sizeof pid, " %d ", (int)pids[i]);
    cr_expect(strstr(r.out, pid) != NULL, "worker %d not shown:\n%s",
              (int)pids[i], r.out);
  }
  /* srv_start's readiness probe also made requests */
  cr_expect_geq(requests_served(r.out), 7, "requests not counted:\n%s", r.out);
  run_result_free(&r);
}

Test(status, counts_crashes_and_reloads, .fini = stop, .timeout = 20) {
  struct run_result r;
  struct http_resp resp;

  start(TEST_PLUGINS_DIR "/crash.so", "1");
  cr_assert_eq(http_get(S.port, "/segv", &resp), 0);
  cr_assert_eq(resp.status, 500);
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_assert(wait_log(&S, "reloaded: generation 2", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  status(&r);
  cr_expect(strstr(r.out, "1 crash,") != NULL, "%s", r.out);
  /* the crashed worker's 500 is still counted after its replacement */
  cr_expect(strstr(r.out, "5xx 1)") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "(0 failed)") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "1 reload") != NULL, "%s", r.out);
  cr_expect(strstr(r.out, "generation 2 serving") != NULL, "%s", r.out);
  run_result_free(&r);
}

Test(status, a_pid_that_is_not_mchost_is_refused, .timeout = 10) {
  struct run_result r;
  const char *args[] = {"status", "1", NULL};
  cr_assert_eq(run_mchost_sync(args, NULL, &r, 5000), 0);
  cr_expect_eq(r.exit_code, 1);
  cr_expect(strstr(r.err, "not a running mchost master") != NULL, "%s", r.err);
  run_result_free(&r);
}
