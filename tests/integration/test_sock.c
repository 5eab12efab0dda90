/*
 * test_sock.c - a connection's socket in libuv with the fewest system
 * calls (host/sock.c): connections are served on the adopted path and on
 * libuv's public one (MCHOST_TEST_SOCK_PLAIN), and a child process that a
 * plugin forks, which shares the worker's sockets, does not leave closed
 * sockets behind in the worker's epoll set.
 *
 * Fixture: crash.so (GET /fork?ms=N forks a child that holds the worker's
 * descriptors for N ms).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CRASH TEST_PLUGINS_DIR "/crash.so"

static struct srv S;

static void stop(void) { srv_stop(&S); }

TestSuite(sock, .fini = stop, .timeout = 60);

/* env: NULL, or MCHOST_* settings for mchost (the harness passes no
 * other) */
static void start(const char *const *env) {
  const char *args[] = {"--plugin", CRASH, "--workers", "1", NULL};
  cr_assert_eq(srv_start_env(&S, args, env, 5000), 0,
               "mchost did not start" SRV_LOG_FMT, srv_log_tail(&S));
}

/* 200 connections of one request each, then 50 requests on one
 * keep-alive connection. */
static void serve_some(void) {
  struct http_client c;
  struct http_resp r;
  for (int i = 0; i < 200; i++) {
    int err = http_get(S.port, "/", &r);
    cr_assert_eq(err, 0, "request %d: %s" SRV_LOG_FMT, i, http_strerror(err),
                 srv_log_tail(&S));
    cr_assert_eq(r.status, 200);
  }
  cr_assert_eq(http_open(&c, S.port, 2000), 0);
  for (int i = 0; i < 50; i++) {
    cr_assert_eq(http_send_str(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    cr_assert_eq(http_read(&c, &r, 0, 5000), 0, "keep-alive request %d", i);
    cr_assert_eq(r.status, 200);
  }
  http_close(&c);
}

Test(sock, adopted_sockets_serve) {
  start(NULL);
  serve_some();
}

Test(sock, plain_libuv_path_serves) {
  const char *env[] = {"MCHOST_TEST_SOCK_PLAIN=1", NULL};
  start(env);
  serve_some();
}

/* CPU time (user + system) of process pid, in ms; -1 if unknown. */
static long cpu_ms(pid_t pid) {
  char path[64], buf[1024], *p;
  unsigned long utime, stime;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  p = fgets(buf, sizeof buf, f);
  fclose(f);
  /* the fields after the command name, which may hold spaces */
  if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
             &utime, &stime) != 2)
    return -1;
  return (long)((utime + stime) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* A child forked without exec holds every socket the worker had open at
 * the fork. A connection the worker closes meanwhile must leave its epoll
 * set then: otherwise the closed socket's end-of-file is reported at every
 * turn of the loop, which spins until the child exits. */
Test(sock, forked_child_does_not_make_the_worker_spin) {
  struct http_client c;
  struct http_resp r;
  pid_t worker;
  long before, after;

  start(NULL);
  worker = srv_the_worker(&S, 5000);
  cr_assert_gt(worker, 0);
  cr_assert_eq(http_open(&c, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
  cr_assert_eq(http_read(&c, &r, 0, 5000), 0);
  cr_assert_eq(http_get(S.port, "/fork?ms=6000", &r), 0);
  cr_assert_str_eq(r.body, "forked\n");
  /* the worker closes its end after this; the child still holds it */
  http_close(&c);
  sleep_ms(200);
  before = cpu_ms(worker);
  sleep_ms(1500); /* the measured window */
  after = cpu_ms(worker);
  cr_assert(before >= 0 && after >= 0);
  cr_expect_lt(after - before, 500,
               "the worker used %ld ms of CPU in 1.5 s with nothing to do",
               after - before);
  cr_expect_eq(http_get(S.port, "/", &r), 0);
  cr_expect_eq(r.status, 200);
}
