/*
 * test_work.c - mc_work() (sdk/mchost/work.h; docs/sdk.md): a
 * blocking call on the thread pool does not stop the worker's other
 * requests; a fault in work() on a pool thread, or in done() on the loop,
 * costs its request a 500 with the usual report (log line with the
 * generation and frames, a crash bundle holding the request) and retires
 * the worker cleanly; a work() that hangs is bounded by its response's
 * deadline (503), and done() still runs after it.
 *
 * Fixture: tests/plugins/work.c (see its list). Its work() waits for a
 * file this test creates, so that what happens while it runs is decided
 * by the test, not by the clock.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WORK TEST_PLUGINS_DIR "/work.so"

static struct srv S;
static struct http_client C;
static char scratch[64];

static void work_init(void) {
  C.fd = -1;
  snprintf(scratch, sizeof scratch, "/tmp/mchost-work-XXXXXX");
  cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
}

static void work_fini(void) {
  http_close(&C);
  srv_stop(&S);
  rm_tree(scratch);
}

TestSuite(work, .init = work_init, .fini = work_fini, .timeout = 60);

/* One worker, at log level debug, --crash-dir in the scratch directory. */
static pid_t start_work(void) {
  char dir[128];
  snprintf(dir, sizeof dir, "%s/crashes", scratch);
  const char *more[] = {"--log-level", "debug", "--crash-dir", dir, NULL};
  int err = srv_start_one(&S, WORK, more, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
  pid_t pid = only_worker(S.pid, 3000);
  cr_assert_gt(pid, 0, "want 1 worker" SRV_LOG_FMT, srv_log_tail(&S));
  return pid;
}

static void touch(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
  close(fd);
}

/* A work() that blocks until the test says so; meanwhile curl, on the same
 * single worker, gets its answer: the call runs off the loop. Then the
 * work's own response comes. */
Test(work, blocking_call_runs_off_the_loop) {
  char url[128], request[256], until[128];
  struct run_result rr;
  struct http_resp r;

  start_work();
  snprintf(until, sizeof until, "%s/go", scratch);
  snprintf(request, sizeof request,
           "GET /work?until=%s HTTP/1.1\r\nHost: t\r\n\r\n", until);
  cr_assert_eq(http_open(&C, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&C, request), 0);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", S.port);
  const char *argv[] = {"curl", "-sS", "--max-time", "10", url, NULL};
  cr_assert_eq(run_tool_sync(argv, &rr, 15000), 0);
  cr_expect_str_eq(rr.out, "ok\n",
                   "curl got [%s] [%s] while a work() blocked" SRV_LOG_FMT,
                   rr.out, rr.err, srv_log_tail(&S));
  run_result_free(&rr);
  cr_expect(http_still_open(&C, 100),
            "the work's response came before its work() returned");
  touch(until);
  cr_assert_eq(http_read(&C, &r, 0, 10000), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(r.status, 200);
  cr_expect_str_eq(r.body, "worked\n");
  cr_expect(wait_log(&S, "work: done aborted 0", 3000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* A fault in `target`'s work() (pool thread) or done() (loop): 500; the
 * log names the fault, where, the request and the generation, with
 * frames; a bundle holds the request; the worker retires and a
 * replacement serves. */
static void fault_answers_500(const char *target, const char *where) {
  struct http_resp r;
  char line[1024], bundle[512], key[64];
  pid_t old = start_work();
  int err = http_get_timeout(S.port, target, &r, 10000);

  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_expect_eq(r.status, 500, "GET %s: %d" SRV_LOG_FMT, target, r.status,
               srv_log_tail(&S));
  cr_assert(wait_log(&S, "crash bundle: ", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  char *log = srv_log_read(&S);
  cr_assert_not_null(log);
  snprintf(key, sizeof key, "'GET %s'", target);
  cr_expect(find_line(log, "plugin crashed: SIGSEGV", line, sizeof line) &&
                strstr(line, where) != NULL && strstr(line, key) != NULL &&
                strstr(line, "generation 1") != NULL,
            "the fault line does not say %s%s, generation 1: [%s]", where, key,
            line);
  const char *after = strstr(log, "plugin crashed: SIGSEGV");
  cr_expect(after && strstr(after, "/work.so+0x") != NULL,
            "no frame in work.so after the fault line" SRV_LOG_FMT,
            srv_log_tail(&S));
  free(log);
  cr_assert_eq(srv_bundle_path(&S, 1, bundle, sizeof bundle, 5000), 0);
  char *text = read_file(bundle, NULL);
  cr_assert_not_null(text, "cannot read the bundle %s", bundle);
  cr_expect(strstr(text, target) != NULL, "no %s in the bundle:\n%s", target,
            text);
  free(text);
  srv_expect_replaced(&S, old, 10000);
}

Test(work, fault_in_work_on_a_pool_thread_gets_500_and_retires) {
  fault_answers_500("/work-crash", "in mc_work() of ");
}

Test(work, fault_in_done_gets_500_and_retires) {
  fault_answers_500("/done-crash", "in '");
}

/* work() blocks past the response's 300 ms deadline: 503 then, the worker
 * retires, but done() has not run yet; once work() returns, done() runs
 * with the response aborted (to free its data), and the worker exits. */
Test(work, hung_work_is_bounded_by_the_response_deadline) {
  char target[256], until[128];
  struct http_resp r;
  pid_t old = start_work();

  snprintf(until, sizeof until, "%s/go", scratch);
  snprintf(target, sizeof target, "/work-hang?timeout=300&until=%s", until);
  cr_assert_eq(http_get_timeout(S.port, target, &r, 15000), 0, SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(r.status, 503);
  cr_expect(wait_log(&S, "retiring this worker", 3000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(
      wait_log(&S,
               "deferred response missed its deadline (--request-timeout"
               " or mc_response_timeout()) in mc_work() of 'GET "
               "/work-hang",
               3000),
      "the log does not say which mc_work() missed its deadline" SRV_LOG_FMT,
      srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "work: done aborted"), 0,
               "done() ran before its work() returned" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect(pid_alive(old), "the worker left before its work() returned");
  touch(until);
  cr_expect(wait_log(&S, "work: done aborted 1", 10000),
            "done() did not run after the deadline" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(wait_pid_gone(old, 10000), "the worker did not exit");
  cr_expect_eq(http_get(S.port, "/", &r), 0);
  cr_expect_eq(r.status, 200);
}
