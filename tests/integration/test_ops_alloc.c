/*
 * test_ops_alloc.c - the request path does not allocate: a worker that
 * answers 2000 small GETs makes no more heap allocations than one that
 * answers 200 (plus a small constant), over keep-alive and pipelined.
 *
 * The worker runs under tests/support/malloc_count.c (LD_PRELOAD), which
 * writes each process's count to MCHOST_MALLOC_COUNT_DIR/<pid> at exit; the
 * server is stopped gracefully so that the worker exits normally.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#ifndef MALLOC_COUNT_SO
#error "MALLOC_COUNT_SO must be defined by the build (the shim's path)"
#endif

#define HELLO PLUGINS_DIR "/hello.so"
/* Allocations a longer run may add without being per-request: libc
 * growing a table once, a timer heap node, ... */
#define SLACK 16

/* ASan (and TSan, MSan) must be the process's first malloc and abort under
 * another interposer; the build defines MCHOST_TEST_SANITIZED for them. */
#if defined(MCHOST_TEST_SANITIZED) || defined(__SANITIZE_ADDRESS__)
#define PRELOAD_WORKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRELOAD_WORKS 0
#endif
#endif
#ifndef PRELOAD_WORKS
#define PRELOAD_WORKS 1
#endif

static struct srv S;
static struct http_client C;
static struct http_resp R;
static char T[64]; /* scratch directory, "" if none */

static void alloc_init(void) {
  S.pid = -1;
  C.fd = -1;
}

static void alloc_fini(void) {
  http_close(&C);
  srv_stop(&S);
  rm_tree(T);
  T[0] = '\0';
}

TestSuite(alloc, .init = alloc_init, .fini = alloc_fini, .timeout = 60);

static const char GET[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

/* Sends `n` GETs on C, `batch` per write (1 = wait for each response). */
static void send_gets(int n, int batch) {
  static char buf[64 * sizeof GET];
  cr_assert_leq(batch, 64);
  for (int i = 0; i < batch; i++)
    memcpy(buf + i * (sizeof GET - 1), GET, sizeof GET - 1);
  for (int done = 0; done < n; done += batch) {
    int k = n - done < batch ? n - done : batch, err;
    err = http_send(&C, buf, (size_t)k * (sizeof GET - 1));
    cr_assert_eq(err, 0, "send: %s", strerror(-err));
    for (int i = 0; i < k; i++) {
      err = http_read(&C, &R, 0, 5000);
      cr_assert_eq(err, 0, "request %d: %s" SRV_LOG_FMT, done + i,
                   http_strerror(err), srv_log_tail(&S));
      cr_assert_eq(R.status, 200, "request %d: status %d", done + i, R.status);
    }
  }
}

/* Runs a one-worker server for `n` GETs on one connection and returns the
 * worker's allocations over its whole life. */
static unsigned long worker_allocations(int n, int batch) {
  char dir[128], env_dir[160], path[192];
  pid_t worker;
  unsigned long count = 0;
  int pid = 0;

  if (T[0] == '\0') {
    snprintf(T, sizeof T, "/tmp/mchost-alloc-XXXXXX");
    cr_assert_not_null(mkdtemp(T), "mkdtemp: %s", strerror(errno));
  }
  snprintf(dir, sizeof dir, "%s/%d-%d", T, n, batch);
  cr_assert_eq(mkdir(dir, 0755), 0, "mkdir %s: %s", dir, strerror(errno));
  snprintf(env_dir, sizeof env_dir, "MCHOST_MALLOC_COUNT_DIR=%s", dir);

  int err = spawn_mchost_env(
      (const char *const[]){"--plugin", HELLO, "--workers", "1", NULL},
      (const char *const[]){"LD_PRELOAD=" MALLOC_COUNT_SO, env_dir, NULL}, &S);
  cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
  if ((err = srv_wait_port(&S, 5000)) > 0)
    err = srv_wait_ready(&S, 5000);
  cr_assert_geq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
                srv_log_tail(&S));
  cr_assert_eq(worker_pids(S.pid, &worker, 1), 1);

  cr_assert_eq(http_open(&C, S.port, 2000), 0);
  send_gets(n, batch);
  http_close(&C);

  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  int code = srv_wait_exit(&S, 5000);
  cr_assert_eq(code, 0, "exit %d after SIGTERM" SRV_LOG_FMT, code,
               srv_log_tail(&S));
  snprintf(path, sizeof path, "%s/%d", dir, (int)worker);
  FILE *f = fopen(path, "re");
  cr_assert_not_null(f, "the worker (pid %d) left no count in %s" SRV_LOG_FMT,
                     (int)worker, dir, srv_log_tail(&S));
  cr_assert_eq(fscanf(f, "%d %lu", &pid, &count), 2);
  fclose(f);
  srv_stop(&S);
  return count;
}

static void expect_flat(int batch) {
  if (!PRELOAD_WORKS)
    cr_skip("a sanitizer build cannot run under another malloc interposer");
  unsigned long few = worker_allocations(200, batch);
  unsigned long many = worker_allocations(2000, batch);
  /* loading the plugin alone allocates: zero means the shim did not count */
  cr_assert_gt(few, 0, "no allocation counted: is the shim preloaded?");
  cr_log_info("worker allocations, %d per write: %lu for 200 requests, %lu "
              "for 2000",
              batch, few, many);
  cr_expect_leq(many, few + SLACK,
                "the worker allocated %lu times for 200 requests and %lu "
                "times for 2000 (%d per write): %.2f allocations per "
                "request",
                few, many, batch, ((double)many - (double)few) / 1800.0);
}

Test(alloc, keepalive_gets_do_not_allocate_per_request) { expect_flat(1); }

Test(alloc, pipelined_gets_do_not_allocate_per_request) { expect_flat(50); }
