/*
 * test_capacity.c - how many connections a worker holds: as many as the
 * open-file limit allows, not a constant. mchost raises its soft
 * RLIMIT_NOFILE to the hard limit, sizes --max-connections from it, and
 * says so when the limit, not the option, is what bounds a worker. And
 * what a worker maps: libdw, which only crash reports need, is not.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "harness.h"

static struct srv S;

static void stop(void) { srv_stop(&S); }

TestSuite(capacity, .fini = stop, .timeout = 60);

static void start_hello(const char *const *more) {
  const char *args[16] = {"--plugin", PLUGINS_DIR "/hello.so", "--workers",
                          "1",        "--log-level",           "debug"};
  size_t n = 6;
  for (; more && *more && n < 15; more++)
    args[n++] = *more;
  args[n] = NULL;
  cr_assert_eq(srv_start(&S, args, 5000), 0, "mchost did not start" SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* The soft and hard "Max open files" of a process, from /proc. */
static int open_files_limits(pid_t pid, long *soft, long *hard) {
  char path[64], *text, *line;
  snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
  if ((text = read_file(path, NULL)) == NULL)
    return -1;
  line = strstr(text, "Max open files");
  int ok = line != NULL &&
           sscanf(line + strlen("Max open files"), "%ld %ld", soft, hard) == 2;
  free(text);
  return ok ? 0 : -1;
}

/* Started with a soft limit of 512, the worker runs with its hard limit. */
/* A worker never reads DWARF (the master names crash frames), so it does
 * not map libdw, libelf or their compression libraries: about 0.5 MiB of
 * every worker's RSS. */
Test(capacity, a_worker_maps_no_dwarf_reader) {
  char path[64], *maps;
  pid_t w;

  start_hello(NULL);
  cr_assert_gt(w = srv_the_worker(&S, 5000), 0);
  snprintf(path, sizeof path, "/proc/%d/maps", (int)w);
  cr_assert_not_null(maps = read_file(path, NULL));
  cr_expect_null(strstr(maps, "libdw"), "%s", maps);
  cr_expect_null(strstr(maps, "libelf"), "%s", maps);
  free(maps);
}

Test(capacity, soft_open_file_limit_is_raised_to_the_hard_limit) {
  struct rlimit rl;
  pid_t pids[2];
  long soft, hard;

  getrlimit(RLIMIT_NOFILE, &rl);
  cr_assert(rl.rlim_max > 512, "the hard limit here is too low to tell");
  rl.rlim_cur = 512;
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  start_hello(NULL);
  cr_assert_eq(wait_workers(S.pid, 1, 3000, 0), 1);
  cr_assert_eq(worker_pids(S.pid, pids, 2), 1);
  cr_assert_eq(open_files_limits(pids[0], &soft, &hard), 0);
  cr_expect_eq(soft, hard, "the worker's soft limit is %ld, its hard %ld", soft,
               hard);
}

/* An option above what the limit allows is bounded by it, and said. */
Test(capacity, max_connections_above_the_fd_limit_is_said_and_bounded) {
  const char *more[] = {"--max-connections", "100000000", NULL};
  start_hello(more);
  cr_expect(wait_log(&S, "is more than the open-file limit allows", 2000),
            "no warning about the open-file limit" SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* More connections than the old fixed ceiling of 1,024 per worker: the
 * last one opened is still served. */
Test(capacity, one_worker_serves_more_than_1024_connections) {
  enum { N = 1100 };
  static struct http_client held[N];
  struct http_resp r;
  struct rlimit rl;
  int opened = 0, err;

  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  cr_assert(rl.rlim_max > N + 2 * 64 + 16, "the hard limit here is too low");
  start_hello(NULL);
  for (int i = 0; i < N; i++) {
    held[i].fd = -1;
    if (http_open(&held[i], S.port, 2000) == 0)
      opened++;
  }
  cr_assert_eq(opened, N, "only %d connections opened", opened);
  /* Each connection is accepted before the next request on it is read:
   * ask on the last one opened, and on the first. */
  for (int k = 0; k < 2; k++) {
    struct http_client *c = &held[k == 0 ? N - 1 : 0];
    cr_assert_eq(http_send_str(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    err = http_read(c, &r, 0, 5000);
    cr_expect_eq(err, 0, "connection %d of %d was not served: %s" SRV_LOG_FMT,
                 k == 0 ? N : 1, N, http_strerror(err), srv_log_tail(&S));
    cr_expect_eq(r.status, 200);
  }
  for (int i = 0; i < N; i++)
    http_close(&held[i]);
}

/* Lifts the soft open-file limit of the test itself to its hard one. */
static void raise_fd_limit(size_t need) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  cr_assert(rl.rlim_max > need,
            "the hard open-file limit here (%llu) is "
            "too low for this test",
            (unsigned long long)rl.rlim_max);
}

/* Opens n connections and asks one request on each: they stay open, idle
 * between requests. Returns how many were answered 200. */
static int open_idle(struct http_client *c, int n) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    c[i].fd = -1;
    if (http_open(&c[i], S.port, 2000) == 0)
      http_send_str(&c[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (int i = 0; i < n; i++) {
    struct http_resp r;
    if (c[i].fd >= 0 && http_read(&c[i], &r, 0, 5000) == 0 && r.status == 200)
      ok++;
  }
  return ok;
}

/* An idle keep-alive connection holds no buffers: its worker's RSS grows
 * by at most 1 KiB per such connection (measured over 2,000 of them, after
 * 200 that take whatever a worker allocates once). */
Test(capacity, an_idle_keepalive_connection_costs_at_most_1_kib) {
  enum { WARM = 200, N = 2000 };
  static struct http_client warm[WARM], idle[N];
  long before, after;
  pid_t w;

#if defined(__SANITIZE_ADDRESS__)
  cr_skip_test("AddressSanitizer's allocator sizes memory its own way");
#endif
  if (under_valgrind())
    cr_skip_test("valgrind's own memory is in the worker's RSS");
  raise_fd_limit(WARM + N + 64);
  start_hello(NULL);
  cr_assert_gt((w = only_worker(S.pid, 3000)), 0);
  cr_assert_eq(open_idle(warm, WARM), WARM);
  before = rss_kib(w);
  cr_assert_eq(open_idle(idle, N), N, SRV_LOG_FMT, srv_log_tail(&S));
  after = rss_kib(w);
  cr_expect_leq((after - before) * 1024 / N, 1024,
                "%ld bytes of worker RSS per idle keep-alive connection "
                "(%ld KiB before %d of them, %ld KiB after)",
                (after - before) * 1024 / N, before, N, after);
  for (int i = 0; i < N; i++)
    http_close(&idle[i]);
  for (int i = 0; i < WARM; i++)
    http_close(&warm[i]);
}

/* Thousands of clients at default options that send their heads or
 * bodies a piece at a time: a normal client is answered while every one
 * of them still holds its connection, at each round of their pieces. */
Test(capacity, thousands_of_slow_clients_leave_room_for_a_normal_one) {
  enum { SLOW = 2000, ROUNDS = 3 };
  static struct http_client slow[SLOW];
  const char *head = "GET /slow HTTP/1.1\r\nHost: x\r\n";
  const char *body_head = "POST /slow HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: 100\r\n\r\n";
  const char *more[] = {"--workers", "2", NULL};
  int opened = 0;

  raise_fd_limit(SLOW + 64);
  start_hello(more);
  cr_assert_eq(wait_workers(S.pid, 2, 3000, 0), 2);
  /* half send a head, half a body, a piece at a time */
  for (int i = 0; i < SLOW; i++) {
    slow[i].fd = -1;
    if (http_open(&slow[i], S.port, 2000) == 0) {
      opened++;
      if (i % 2 == 1)
        http_send_str(&slow[i], body_head);
    }
  }
  cr_assert_eq(opened, SLOW, "only %d slow connections opened", opened);
  for (int round = 0; round < ROUNDS; round++) {
    struct http_resp r;
    int holding = 0;
    for (int i = 0; i < SLOW; i++)
      http_send(&slow[i], i % 2 == 0 ? head + round : "x", 1);
    holding = srv_normal_amid(&S, slow, SLOW, &r);
    cr_assert_geq(holding, 0,
                  "round %d: a normal client was not answered" SRV_LOG_FMT,
                  round, srv_log_tail(&S));
    cr_expect_eq(r.status, 200);
    cr_expect_eq(holding, SLOW,
                 "round %d: the normal client was answered only after %d "
                 "slow clients were cut off",
                 round, SLOW - holding);
  }
  for (int i = 0; i < SLOW; i++)
    http_close(&slow[i]);
}
