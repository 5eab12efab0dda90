/*
 * test_admin.c - the admin listener (--admin): /healthz, /readyz and
 * /metrics answered by the master whatever the plugin does; readiness
 * during --drain-delay and in a crash loop; counters that match the
 * requests sent and never go backwards; output that promtool accepts; bad
 * --admin values. And the keep-alive side of running behind a balancer: a
 * worker at --max-connections sheds its longest idle keep-alive connection
 * for a new client, never one in the middle of a request.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define HELLO PLUGINS_DIR "/hello.so"
#define CRASH TEST_PLUGINS_DIR "/crash.so"

static struct srv S;
static int admin_port;
static struct http_resp R;

static void fini(void) { srv_stop(&S); }

TestSuite(admin, .fini = fini, .timeout = 30);

/* Starts mchost with --admin 127.0.0.1:0 and the given options, and finds
 * the admin port in its log. */
static void start(const char *plugin, const char *const *more) {
  const char *args[32] = {"--plugin", plugin, "--admin", "127.0.0.1:0"};
  size_t n = 4;
  int err;

  for (; more != NULL && *more != NULL && n < 31; more++)
    args[n++] = *more;
  args[n] = NULL;
  err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
  admin_port = srv_admin_port(&S, 3000);
  cr_assert_gt(admin_port, 0, "no admin line: %s" SRV_LOG_FMT,
               strerror(-admin_port), srv_log_tail(&S));
}

static void admin_get(const char *path) {
  int err = http_get(admin_port, path, &R);
  cr_assert_eq(err, 0, "GET %s on the admin port: %s" SRV_LOG_FMT, path,
               http_strerror(err), srv_log_tail(&S));
}

/* The value of the sample named exactly `series` (name and labels) in a
 * /metrics page, or -1. */
static double sample(const char *page, const char *series) {
  size_t n = strlen(series);
  for (const char *l = page; l != NULL && *l != '\0';) {
    if (strncmp(l, series, n) == 0 && l[n] == ' ')
      return strtod(l + n + 1, NULL);
    l = strchr(l, '\n');
    l = l ? l + 1 : NULL;
  }
  return -1;
}

/* The sum of every sample whose line starts with `prefix`. */
static double sum_of(const char *page, const char *prefix) {
  size_t n = strlen(prefix);
  double sum = 0;
  for (const char *l = page; l != NULL && *l != '\0';) {
    if (strncmp(l, prefix, n) == 0) {
      const char *sp = strchr(l, ' ');
      if (sp != NULL)
        sum += strtod(sp + 1, NULL);
    }
    l = strchr(l, '\n');
    l = l ? l + 1 : NULL;
  }
  return sum;
}

/* A /metrics page, malloc'd. */
static char *metrics(void) {
  admin_get("/metrics");
  cr_assert_eq(R.status, 200);
  return strdup(R.body);
}

static double requests_total(void) {
  char *m = metrics();
  double v = sum_of(m, "mchost_requests_total{");
  free(m);
  return v;
}

/* Polls /metrics until `series` has `value`, up to timeout_ms. */
static int wait_sample(const char *series, double value, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  do {
    char *m = metrics();
    double v = sample(m, series);
    free(m);
    if (v == value)
      return 1;
    sleep_ms(50);
  } while (remaining_ms(deadline) > 0);
  return 0;
}

static void get_ok(int port, const char *path, int status) {
  struct http_resp r;
  int err = http_get(port, path, &r);
  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, path, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(r.status, status, "GET %s: %d" SRV_LOG_FMT, path, r.status,
               srv_log_tail(&S));
}

/* ---- the endpoints ---- */

Test(admin, healthz_readyz_and_metrics_answer) {
  struct http_client c;
  struct http_resp r;
  char *m;

  start(HELLO, (const char *const[]){"--workers", "2", NULL});
  cr_assert_eq(wait_workers(S.pid, 2, 3000, 100), 2);
  admin_get("/healthz");
  cr_expect_eq(R.status, 200);
  cr_expect_str_eq(R.body, "ok\n");
  cr_assert(wait_sample("mchost_workers_serving", 2, 3000));
  admin_get("/readyz?verbose");
  cr_expect_eq(R.status, 200, "%s", R.body);
  cr_expect(strncmp(R.body, "ready: generation 1, 2 workers", 30) == 0, "%s",
            R.body);
  m = metrics();
  cr_expect(strncmp(http_header(&R, "Content-Type"),
                    "text/plain; version=0.0.4", 25) == 0);
  cr_expect(strstr(m, "mchost_build_info{version=\"") != NULL, "%s", m);
  cr_expect(strstr(m, "# TYPE mchost_request_duration_seconds histogram\n") !=
                NULL,
            "%s", m);
  cr_expect_eq(sample(m, "mchost_workers_wanted"), 2);
  cr_expect_eq(sample(m, "mchost_generation"), 1);
  cr_expect_eq(sample(m, "mchost_ready"), 1);
  cr_expect_eq(sample(m, "mchost_worker_starts_total"), 2);
  /* each worker's RSS, a real number of bytes */
  for (int i = 0, found = 0; i < 2; i++, found = 0) {
    pid_t pids[2];
    char prefix[128];
    cr_assert_eq(worker_pids(S.pid, pids, 2), 2);
    snprintf(prefix, sizeof prefix, "pid=\"%d\"} ", (int)pids[i]);
    for (const char *l = strstr(m, "mchost_worker_resident_memory_bytes{");
         l != NULL; l = strstr(l + 1, "mchost_worker_resident_memory_bytes{"))
      if (strstr(l, prefix) != NULL && strstr(l, prefix) < strchr(l, '\n') &&
          atof(strstr(l, prefix) + strlen(prefix)) > 100000)
        found = 1;
    cr_expect(found, "no RSS for worker %d:\n%s", (int)pids[i], m);
  }
  free(m);

  get_ok(admin_port, "/nope", 404);
  /* HEAD gets the head alone; other methods and garbage are refused */
  cr_assert_eq(http_open(&c, admin_port, 2000), 0);
  http_send_str(&c, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_assert_eq(http_read(&c, &r, HTTP_RESP_TO_HEAD, 3000), 0);
  cr_expect_eq(r.status, 200);
  cr_expect_str_eq(http_header(&r, "Content-Length"), "3");
  cr_expect_eq(http_wait_close(&c, 3000), 0);
  http_close(&c);
  cr_assert_eq(http_open(&c, admin_port, 2000), 0);
  http_send_str(&c, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_assert_eq(http_read(&c, &r, 0, 3000), 0);
  cr_expect_eq(r.status, 405);
  http_close(&c);
  cr_assert_eq(http_open(&c, admin_port, 2000), 0);
  http_send_str(&c, "hello there\r\n\r\n");
  cr_assert_eq(http_read(&c, &r, 0, 3000), 0);
  cr_expect_eq(r.status, 400);
  http_close(&c);
  /* a request that never ends within 4 KiB */
  cr_assert_eq(http_open(&c, admin_port, 2000), 0);
  http_send_str(&c, "GET /metrics HTTP/1.1\r\n");
  for (int i = 0; i < 100; i++)
    http_send_str(&c,
                  "X-Padding: 0123456789012345678901234567890123456789\r\n");
  cr_assert_eq(http_read(&c, &r, 0, 3000), 0);
  cr_expect_eq(r.status, 431);
  http_close(&c);
  admin_get("/healthz");
  cr_expect_eq(R.status, 200);
}

/* ---- the counters ---- */

Test(admin, request_counters_equal_the_requests_sent) {
  struct http_client c[4];
  struct http_resp r;
  double before_total, before_count, before_accepted;
  char *m;
  int sent = 0;

  start(HELLO, (const char *const[]){"--workers", "2", NULL});
  m = metrics();
  before_total = sum_of(m, "mchost_requests_total{");
  before_count = sample(m, "mchost_request_duration_seconds_count");
  before_accepted = sample(m, "mchost_connections_accepted_total");
  free(m);
  /* 4 keep-alive connections x 25 requests, 20 connection-per-request */
  for (int i = 0; i < 4; i++)
    cr_assert_eq(http_open(&c[i], S.port, 2000), 0);
  for (int k = 0; k < 25; k++)
    for (int i = 0; i < 4; i++) {
      cr_assert_eq(http_send_str(&c[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                   0);
      cr_assert_eq(http_read(&c[i], &r, 0, 5000), 0);
      cr_assert_eq(r.status, 200);
      sent++;
    }
  for (int i = 0; i < 4; i++)
    http_close(&c[i]);
  for (int i = 0; i < 20; i++, sent++)
    get_ok(S.port, "/", 200);
  /* and one malformed request: the host's 400 counts too */
  cr_assert_eq(http_open(&c[0], S.port, 2000), 0);
  http_send_str(&c[0], "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
  cr_assert_eq(http_read(&c[0], &r, 0, 5000), 0);
  cr_assert_eq(r.status, 400);
  http_close(&c[0]);

  m = metrics();
  cr_expect_eq(sum_of(m, "mchost_requests_total{") - before_total, sent + 1,
               "%s", m);
  cr_expect_eq(
      sum_of(m, "mchost_requests_total{generation=\"1\",code=\"4xx\"}"), 1,
      "%s", m);
  cr_expect_eq(sample(m, "mchost_request_duration_seconds_count") -
                   before_count,
               sent + 1, "%s", m);
  cr_expect_eq(sample(m, "mchost_request_duration_seconds_bucket{le=\"+Inf\"}"),
               sample(m, "mchost_request_duration_seconds_count"));
  cr_expect_eq(sample(m, "mchost_connections_accepted_total") - before_accepted,
               4 + 20 + 1, "%s", m);
  cr_expect_eq(sample(m, "mchost_requests_in_flight"), 0, "%s", m);
  free(m);
}

Test(admin, counters_never_go_backwards_after_a_crash_or_a_reload) {
  pid_t first, second;
  double total;
  char *m;

  start(CRASH, (const char *const[]){"--workers", "1", NULL});
  cr_assert_eq(worker_pids(S.pid, &first, 1), 1);
  for (int i = 0; i < 5; i++)
    get_ok(S.port, "/", 200);
  total = requests_total();
  get_ok(S.port, "/segv", 500);
  cr_assert(wait_pid_gone(first, 5000), "the crashed worker is still there");
  cr_assert_eq(wait_workers(S.pid, 1, 5000, 100), 1);
  m = metrics();
  cr_expect_eq(sum_of(m, "mchost_requests_total{"), total + 1, "%s", m);
  cr_expect_eq(
      sample(m, "mchost_requests_total{generation=\"1\",code=\"5xx\"}"), 1,
      "%s", m);
  cr_expect_eq(sample(m, "mchost_worker_crashes_total"), 1, "%s", m);
  free(m);
  for (int i = 0; i < 3; i++)
    get_ok(S.port, "/", 200);
  total += 4;
  cr_expect_eq(requests_total(), total);

  /* a reload: generation 1's workers go, their counts stay */
  cr_assert_eq(worker_pids(S.pid, &second, 1), 1);
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_assert(wait_sample("mchost_generation", 2, 10000),
            "no generation 2" SRV_LOG_FMT, srv_log_tail(&S));
  cr_assert(wait_pid_gone(second, 10000), "generation 1 is still there");
  for (int i = 0; i < 2; i++)
    get_ok(S.port, "/", 200);
  m = metrics();
  cr_expect_eq(sum_of(m, "mchost_requests_total{"), total + 2, "%s", m);
  cr_expect_eq(sum_of(m, "mchost_requests_total{generation=\"1\","), total,
               "%s", m);
  cr_expect_eq(
      sample(m, "mchost_requests_total{generation=\"2\",code=\"2xx\"}"), 2,
      "%s", m);
  cr_expect_eq(sample(m, "mchost_reloads_total{result=\"succeeded\"}"), 1);
  cr_expect_eq(sample(m, "mchost_request_duration_seconds_count"), total + 2);
  free(m);
}

Test(admin, promtool_accepts_the_metrics) {
  char path[] = "/tmp/mchost-metrics-XXXXXX", cmd[128];
  FILE *f;
  int fd, rc;

  start(CRASH, (const char *const[]){"--workers", "2", NULL});
  get_ok(S.port, "/", 200);
  get_ok(S.port, "/segv", 500);
  cr_assert_eq(wait_workers(S.pid, 2, 5000, 100), 2);
  admin_get("/metrics");
  cr_assert_eq(R.status, 200);
  cr_assert((fd = mkstemp(path)) >= 0);
  cr_assert_eq(write(fd, R.body, R.body_len), (ssize_t)R.body_len);
  close(fd);
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
  f = popen(cmd, "r");
  cr_assert_not_null(f);
  char out[4096] = "";
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = '\0';
  rc = pclose(f);
  unlink(path);
  cr_expect_eq(rc, 0, "promtool check metrics failed (%d):\n%s\n---\n%s", rc,
               out, R.body);
  cr_expect_eq(n, 0, "promtool has remarks:\n%s", out);
}

/* ---- readiness ---- */

Test(admin, readyz_fails_during_drain_delay_while_the_port_serves) {
  int64_t termed;
  int code;

  start(HELLO,
        (const char *const[]){"--workers", "1", "--drain-delay", "2", NULL});
  cr_assert(wait_sample("mchost_ready", 1, 3000));
  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  termed = now_ms();
  cr_assert(wait_log(&S, "draining", 2000), SRV_LOG_FMT, srv_log_tail(&S));
  admin_get("/readyz");
  cr_expect_eq(R.status, 503);
  cr_expect(strstr(R.body, "draining") != NULL, "%s", R.body);
  /* new connections are still served, for as long as the delay lasts */
  for (int i = 0; i < 5; i++)
    get_ok(S.port, "/", 200);
  cr_expect_lt(now_ms() - termed, 2000,
               "the checks took too long to mean "
               "anything");
  admin_get("/healthz");
  cr_expect_eq(R.status, 200);
  code = srv_wait_exit(&S, 8000);
  cr_expect_eq(code, 0, "exit %d" SRV_LOG_FMT, code, srv_log_tail(&S));
  cr_expect_geq(now_ms() - termed, 1900, "stopped before --drain-delay");
}

Test(admin, a_second_sigint_during_the_drain_stops_at_once) {
  int64_t t;
  int code;

  start(HELLO,
        (const char *const[]){"--workers", "1", "--drain-delay", "60", NULL});
  cr_assert_eq(kill(S.pid, SIGINT), 0);
  cr_assert(wait_log(&S, "draining", 2000), SRV_LOG_FMT, srv_log_tail(&S));
  admin_get("/readyz");
  cr_expect_eq(R.status, 503);
  get_ok(S.port, "/", 200);
  t = now_ms();
  cr_assert_eq(kill(S.pid, SIGINT), 0);
  code = srv_wait_exit(&S, 5000);
  cr_expect_neq(code, -ETIMEDOUT, "still draining after a second SIGINT");
  cr_expect_lt(now_ms() - t, 5000);
}

Test(admin, readyz_fails_while_crash_looping_and_recovers) {
  int64_t deadline;
  int looping = 0;

  start(CRASH, (const char *const[]){"--workers", "4", NULL});
  cr_assert(wait_sample("mchost_workers_serving", 4, 5000));
  admin_get("/readyz");
  cr_assert_eq(R.status, 200, "%s", R.body);
  /* crashes in bursts, one per worker, until the master slows the
   * restarts down (4 failures within a second) */
  deadline = deadline_in(20000);
  while (!looping && remaining_ms(deadline) > 0) {
    static struct http_client c[6];
    struct http_resp r;
    for (int i = 0; i < 6; i++)
      if (http_open(&c[i], S.port, 1000) != 0)
        c[i].fd = -1;
      else if (http_send_str(&c[i], "GET /segv HTTP/1.1\r\nHost: x\r\n\r\n"))
        http_close(&c[i]);
    for (int i = 0; i < 6; i++)
      if (c[i].fd >= 0) {
        http_read(&c[i], &r, 0, 2000);
        http_close(&c[i]);
      }
    admin_get("/readyz");
    looping = R.status == 503 && strstr(R.body, "crash-looping") != NULL;
  }
  cr_assert(looping, "never reported crash-looping: %d %s" SRV_LOG_FMT,
            R.status, R.body, srv_log_tail(&S));
  cr_expect(log_count(&S, "crash-looping?") > 0);
  admin_get("/healthz");
  cr_expect_eq(R.status, 200);
  /* no more crashes: ready again once the backoff is over */
  deadline = deadline_in(15000);
  do {
    sleep_ms(100);
    admin_get("/readyz");
  } while (R.status != 200 && remaining_ms(deadline) > 0);
  cr_expect_eq(R.status, 200, "%s" SRV_LOG_FMT, R.body, srv_log_tail(&S));
}

Test(admin, answers_while_a_handler_hangs) {
  struct http_client c;
  int64_t t;

  start(CRASH, (const char *const[]){"--workers", "1", "--request-timeout",
                                     "20", NULL});
  cr_assert_eq(http_open(&c, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&c, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  cr_assert(wait_sample("mchost_requests_in_flight", 1, 5000),
            "the hanging request never showed as in flight");
  t = now_ms();
  admin_get("/healthz");
  cr_expect_eq(R.status, 200);
  admin_get("/readyz");
  cr_expect_eq(R.status, 200);
  cr_expect(wait_sample("mchost_requests_in_flight", 1, 1000));
  cr_expect_lt(now_ms() - t, 3000, "the admin port was slow to answer");
  http_close(&c);
}

/* ---- bad --admin ---- */

Test(admin, bad_admin_values_are_usage_errors) {
  static const char *const bad[] = {
      "nope",  "127.0.0.1",      "127.0.0.1:99999",
      "[::1]", "localhost:9100", ":9100"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct run_result r;
    const char *args[] = {"--plugin", HELLO, "--admin", bad[i], NULL};
    cr_assert_eq(run_mchost_sync(args, NULL, &r, 5000), 0);
    cr_expect_eq(r.exit_code, 2, "--admin '%s': exit %d", bad[i], r.exit_code);
    cr_expect(strstr(r.err, "--admin") != NULL &&
                  strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
              "--admin '%s': want one line naming --admin, got:\n%s", bad[i],
              r.err);
    run_result_free(&r);
  }
}

Test(admin, an_admin_port_in_use_is_one_clear_error) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t alen = sizeof a;
  struct run_result r;
  char addr[64];
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(fd >= 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 1), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(a.sin_port));
  const char *args[] = {"--plugin", HELLO,    "--admin",   addr, "--port",
                        "0",        "--host", "127.0.0.1", NULL};
  cr_assert_eq(run_mchost_sync(args, NULL, &r, 5000), 0);
  close(fd);
  cr_expect_eq(r.exit_code, 1, "exit %d:\n%s", r.exit_code, r.err);
  cr_expect(strstr(r.err, "address already in use") != NULL, "%s", r.err);
  cr_expect(strstr(r.err, addr) != NULL, "%s", r.err);
  cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1,
               "want one line:\n%s", r.err);
  run_result_free(&r);
}

/* ---- keep-alive at --max-connections ---- */

static void request_ok(struct http_client *c) {
  struct http_resp r;
  int err = http_send_str(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  if (err == 0)
    err = http_read(c, &r, 0, 5000);
  cr_assert_eq(err, 0, "%s" SRV_LOG_FMT, http_strerror(err), srv_log_tail(&S));
  cr_assert_eq(r.status, 200);
}

Test(admin, a_full_worker_sheds_an_idle_keepalive_connection_first) {
  struct http_client idle, busy, fresh;
  struct http_resp r;

  start(HELLO, (const char *const[]){"--workers", "1", "--max-connections", "2",
                                     NULL});
  cr_assert_eq(http_open(&idle, S.port, 2000), 0);
  request_ok(&idle);
  cr_assert_eq(http_open(&busy, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&busy, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
  cr_assert(wait_sample("mchost_connections_open", 2, 3000));
  /* a third client: the idle connection makes room for it */
  cr_assert_eq(http_open(&fresh, S.port, 2000), 0);
  request_ok(&fresh);
  cr_expect_eq(http_wait_close(&idle, 3000), 0, "the idle one is still open");
  /* the one in the middle of its request was left alone */
  cr_assert_eq(http_send_str(&busy, "\r\n"), 0);
  cr_assert_eq(http_read(&busy, &r, 0, 3000), 0);
  cr_expect_eq(r.status, 200);
  cr_expect(
      wait_sample("mchost_connections_shed_total{reason=\"idle\"}", 1, 2000));
  cr_expect(
      wait_sample("mchost_connections_shed_total{reason=\"slow\"}", 0, 2000));
  http_close(&idle);
  http_close(&busy);
  http_close(&fresh);
}

/* At --max-connections with no idle keep-alive connection, the slowest
 * connection still sending its head (fewest bytes per second, past
 * --min-rate-grace) makes room; the faster one stays. --min-rate 0: the
 * shed, not the rate, cuts it. */
Test(admin, a_full_worker_sheds_the_slowest_sender_after_the_idle_ones) {
  struct http_client idle, slow, fast, fresh, next;
  struct http_resp r;
  char fast_head[512];

  start(HELLO, (const char *const[]){"--workers", "1", "--max-connections", "3",
                                     "--min-rate", "0", "--min-rate-grace", "1",
                                     NULL});
  snprintf(fast_head, sizeof fast_head,
           "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: %0300d\r\n", 0);
  cr_assert_eq(http_open(&idle, S.port, 2000), 0);
  request_ok(&idle);
  cr_assert_eq(http_open(&slow, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&slow, "GET / HTTP/1.1\r\n"), 0);
  cr_assert_eq(http_open(&fast, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&fast, fast_head), 0);
  cr_assert(wait_sample("mchost_connections_open", 3, 3000));
  /* the idle one goes first, the senders stay */
  cr_assert_eq(http_open(&fresh, S.port, 2000), 0);
  request_ok(&fresh);
  cr_expect_eq(http_wait_close(&idle, 3000), 0, "the idle one is still open");
  cr_expect(http_still_open(&slow, 10));
  cr_expect(http_still_open(&fast, 10));
  /* `fresh` starts another request: full, and nothing idle. After the
   * grace the slowest sender goes, not the faster ones. */
  cr_assert_eq(http_send_str(&fresh, fast_head), 0);
  cr_assert_eq(http_open(&next, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&next, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  cr_assert_eq(http_read(&next, &r, 0, 10000), 0,
               "the new client was not served" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(r.status, 200);
  cr_expect_eq(http_wait_close(&slow, 3000), 0, "the slowest is still open");
  cr_expect(http_still_open(&fast, 10), "the faster sender was shed");
  cr_expect(http_still_open(&fresh, 10), "the faster sender was shed");
  cr_expect(
      wait_sample("mchost_connections_shed_total{reason=\"slow\"}", 1, 2000));
  cr_expect(
      wait_sample("mchost_connections_shed_total{reason=\"idle\"}", 1, 2000));
  http_close(&slow);
  http_close(&fast);
  http_close(&fresh);
  http_close(&next);
}

/* Mid-request connections are not shed within --min-rate-grace (5 s by
 * default) of their start. */
Test(admin, a_connection_mid_request_is_never_shed) {
  struct http_client a, b, fresh;
  struct http_resp r;

  start(HELLO, (const char *const[]){"--workers", "1", "--max-connections", "2",
                                     NULL});
  cr_assert_eq(http_open(&a, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&a, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
  cr_assert_eq(http_open(&b, S.port, 2000), 0);
  request_ok(&b);
  cr_assert_eq(http_send_str(&b, "GET / HTTP/1.1\r\n"), 0);
  cr_assert(wait_sample("mchost_connections_open", 2, 3000));
  /* both are mid-request: the third client waits */
  cr_assert_eq(http_open(&fresh, S.port, 2000), 0);
  cr_assert_eq(http_send_str(&fresh, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  cr_expect_eq(http_read(&fresh, &r, 0, 500), -ETIMEDOUT,
               "served while the worker was full of busy connections");
  cr_expect(http_still_open(&a, 10));
  cr_expect(http_still_open(&b, 10));
  /* a finishes its request and goes idle: now it makes room */
  cr_assert_eq(http_send_str(&a, "\r\n"), 0);
  cr_assert_eq(http_read(&a, &r, 0, 3000), 0);
  cr_assert_eq(r.status, 200);
  cr_assert_eq(http_read(&fresh, &r, 0, 3000), 0, SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(r.status, 200);
  cr_expect_eq(http_wait_close(&a, 3000), 0);
  cr_assert_eq(http_send_str(&b, "Host: x\r\n\r\n"), 0);
  cr_assert_eq(http_read(&b, &r, 0, 3000), 0);
  cr_expect_eq(r.status, 200);
  http_close(&a);
  http_close(&b);
  http_close(&fresh);
}
