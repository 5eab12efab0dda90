/*
 * test_sock.c - a connection's socket with the fewest system calls:
 * connections are served on the adopted path (host/sock.c) and on libuv's
 * public one (MCHOST_TEST_SOCK_PLAIN); a child process that a plugin forks,
 * which shares the worker's sockets, does not leave closed sockets behind
 * in the worker's epoll set; a connection reaches the worker with its
 * request (--defer-accept), which is read and answered at accept, so that
 * its socket never joins the worker's epoll set, and costs no ioctl and no
 * setsockopt either (strace counts, which also tell libuv's public path
 * apart).
 *
 * Fixture: crash.so (GET /fork?ms=N forks a child that holds the worker's
 * descriptors for N ms).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CRASH TEST_PLUGINS_DIR "/crash.so"

static struct srv S;

static void stop(void) { srv_stop(&S); }

TestSuite(sock, .fini = stop, .timeout = 60);

/* One worker, with `more` options (or NULL); env: NULL, or MCHOST_*
 * settings for mchost (the harness passes no other). */
static void start_with(const char *const *more, const char *const *env) {
  const char *args[16] = {"--plugin", CRASH, "--workers", "1"};
  size_t n = 4;
  for (; more != NULL && *more != NULL && n < 15; more++)
    args[n++] = *more;
  args[n] = NULL;
  cr_assert_eq(srv_start_env(&S, args, env, 5000), 0,
               "mchost did not start" SRV_LOG_FMT, srv_log_tail(&S));
}

static void start(const char *const *env) { start_with(NULL, env); }

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

/* --defer-accept: a connection that has sent nothing stays in the kernel,
 * and no worker holds a descriptor for it; its first bytes bring it to a
 * worker, which answers at once. */
Test(sock, a_silent_connection_waits_in_the_kernel) {
  const char *more[] = {"--defer-accept", "30", NULL};
  struct http_client c;
  struct http_resp r;
  int64_t until;
  pid_t worker;
  int before;

  start_with(more, NULL);
  worker = srv_the_worker(&S, 5000);
  cr_assert_gt(worker, 0);
  before = proc_fd_count(worker);
  cr_assert_gt(before, 0);
  cr_assert_eq(http_open(&c, S.port, 2000), 0);
  until = deadline_in(1000);
  while (now_ms() < until) {
    cr_assert_eq(proc_fd_count(worker), before,
                 "the worker took a connection that has sent nothing");
    sleep_ms(50);
  }
  cr_assert_eq(http_send_str(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
  cr_assert_eq(http_read(&c, &r, 0, 5000), 0);
  cr_expect_eq(r.status, 200);
  cr_expect_eq(proc_fd_count(worker), before + 1, "the keep-alive connection");
  http_close(&c);
}

struct cost {
  int accepts, epoll_ctls, ioctls, setsockopts;
  char *trace;
};

/* 64 connections of one request each (Connection: close), sent as soon as
 * each is connected, to one worker started with `env`: what its main thread
 * spent on them besides read, write and close. */
static struct cost connections_cost(const char *const *env) {
  char out[] = "/tmp/mchost-strace-XXXXXX", err[64];
  struct http_resp r;
  struct cost c;
  pid_t worker, tracer;
  int fd;

  start(env);
  worker = srv_the_worker(&S, 5000);
  cr_assert_gt(worker, 0);
  cr_assert_geq(fd = mkstemp(out), 0);
  close(fd);
  snprintf(err, sizeof err, "%s.err", out);
  tracer =
      strace_attach(worker, "accept4,epoll_ctl,ioctl,setsockopt", out, err);
  for (int i = 0; i < 64; i++) {
    cr_assert_eq(http_get(S.port, "/", &r), 0, "request %d", i);
    cr_assert_eq(r.status, 200);
  }
  kill(tracer, SIGINT);
  waitpid(tracer, NULL, 0);
  c.trace = read_file(out, NULL);
  unlink(out);
  unlink(err);
  cr_assert_not_null(c.trace);
  c.accepts = strace_calls(c.trace, "accept4", 1);
  c.epoll_ctls = strace_calls(c.trace, "epoll_ctl", 0);
  c.ioctls = strace_calls(c.trace, "ioctl", 0);
  c.setsockopts = strace_calls(c.trace, "setsockopt", 0);
  cr_expect_eq(c.accepts, 64, "%s", c.trace);
  return c;
}

/* A request that comes with its connection is read and answered at
 * accept: a connection per request costs accept4, read, write and close.
 * Its socket never joins the worker's epoll set (the only epoll_ctl()
 * calls are the listening socket's re-arms, two every 16 accepts), libuv
 * does not set O_NONBLOCK again (ioctl), and a connection written to once
 * gets no TCP_NODELAY (setsockopt). */
Test(sock, a_request_that_comes_with_its_connection_never_joins_epoll) {
  struct cost c = connections_cost(NULL);
  cr_expect_leq(c.epoll_ctls, 64 / 4, "%d epoll_ctl() for %d connections:\n%s",
                c.epoll_ctls, c.accepts, c.trace);
  cr_expect_eq(c.ioctls, 0, "%s", c.trace);
  cr_expect_eq(c.setsockopts, 0, "%s", c.trace);
  free(c.trace);
}

/* The same count tells libuv's public path apart: uv_tcp_open() sets
 * O_NONBLOCK with ioctl(FIONBIO), and uv_close() removes each socket from
 * epoll (host/sock.c). */
Test(sock, the_count_tells_libuvs_public_path_apart) {
  const char *env[] = {"MCHOST_TEST_SOCK_PLAIN=1", NULL};
  struct cost c = connections_cost(env);
  cr_expect_geq(c.ioctls, 64, "%s", c.trace);
  cr_expect_geq(c.epoll_ctls, 64, "%s", c.trace);
  free(c.trace);
}
