/*
 * test_upload.c - request bodies a plugin reads itself (MC_PLUGIN_READS_BODY(),
 * docs/uploads.md), and --min-rate for heads and bodies.
 *
 * plugins/upload answers "<bytes> <sha256>" for a streamed body; the body
 * fixture (tests/plugins/body.c) reads bodies in every way the SDK offers
 * and answers "<bytes> <FNV-1a 64>". Real clients: curl, and
 * body_client.py (python3) for large, slow and held bodies.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define UPLOAD PLUGINS_DIR "/upload.so"
#define BODY TEST_PLUGINS_DIR "/body.so"
#define ECHO PLUGINS_DIR "/echo.so"

static struct srv S;
static struct http_client C;
static struct http_resp R;

static void init(void) { C.fd = -1; }

static void fini(void) {
  http_close(&C);
  srv_stop(&S);
}

TestSuite(upload, .init = init, .fini = fini, .timeout = 60);

/* One worker on `plugin` plus `more` options, serving, and C connected. */
static void start(const char *plugin, const char *const *more) {
  srv_start_one_connected(&S, &C, plugin, more);
}

static void send_str(const char *s) { srv_send_str(&S, &C, s); }

static void read_status(int want) {
  srv_read_status(&S, &C, &R, 0, want, 5000);
}

/* POST `len` bytes of `body` to `target` on C, with Content-Length. */
static void post(const char *target, const char *body, size_t len) {
  char head[256];
  snprintf(head, sizeof head,
           "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", target,
           len);
  send_str(head);
  cr_assert_eq(http_send(&C, body, len), 0, "sending the body to %s", target);
}

/* The fixture's answer for `len` bytes of `data`. */
static void fnv_answer(const char *data, size_t len, char *out, size_t size) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)data[i]) * 1099511628211ULL;
  snprintf(out, size, "%zu %016llx\n", len, (unsigned long long)h);
}

/* Runs `cmd` (a shell line) and returns its first line of output. */
static void run_line(const char *cmd, char *out, size_t size) {
  FILE *f = popen(cmd, "r");
  out[0] = '\0';
  cr_assert_not_null(f, "popen %s", cmd);
  if (fgets(out, (int)size, f) == NULL)
    out[0] = '\0';
  pclose(f);
  out[strcspn(out, "\n")] = '\0';
}

/* body_client.py MODE PORT PATH ARGS...: its one line of output. */
static void client(char *out, size_t size, const char *mode, const char *path,
                   const char *args) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "python3 %s %s %d '%s' %s", BODY_CLIENT, mode,
           S.port, path, args);
  run_line(cmd, out, size);
}

/* The worker's peak resident memory, kB (VmHWM), or -1. */
static long worker_hwm_kb(void) {
  pid_t pid;
  char path[64], *status, *p;
  long kb = -1;

  if (worker_pids(S.pid, &pid, 1) != 1)
    return -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if ((status = read_file(path, NULL)) == NULL)
    return -1;
  if ((p = strstr(status, "VmHWM:")) != NULL)
    kb = strtol(p + 6, NULL, 10);
  free(status);
  return kb;
}

/* ---- large bodies, streamed ---- */

Test(upload, streams_200_mb_at_full_speed_in_16_mib_of_worker_memory) {
  char line[256], want[256];
  double secs = 0;
  int status = 0;
  long hwm;

  start(UPLOAD, NULL);
  /* python3: Content-Length, in pieces of 100,000 bytes. */
  client(line, sizeof line, "big", "/upload", "200000000 100000");
  cr_assert(sscanf(line, "%d OK %lf", &status, &secs) == 2 && status == 200,
            "200 MB upload: '%s'" SRV_LOG_FMT, line, srv_log_tail(&S));
  /* curl: an upload of unknown length goes chunked. */
  run_line("head -c 20000000 /dev/zero | sha256sum | cut -d' ' -f1", want,
           sizeof want);
  snprintf(line, sizeof line,
           "head -c 20000000 /dev/zero | curl -sS -T - "
           "http://127.0.0.1:%d/upload",
           S.port);
  run_line(line, line, sizeof line);
  cr_expect(strstr(line, want) != NULL && strncmp(line, "20000000 ", 9) == 0,
            "curl, chunked: '%s', want '20000000 %s'", line, want);
  hwm = worker_hwm_kb();
  cr_expect(hwm > 0 && hwm < 16 * 1024,
            "worker peak RSS %ld kB during the upload, want < 16 MiB", hwm);
  cr_log_info("200 MB in %.2f s (%.0f MB/s), worker VmHWM %ld kB", secs,
              200 / secs, hwm);
}

/* The plugin holds the body (paused): the host stops reading the socket
 * once its 64 KiB input buffer is full, so what the client gets in is
 * what the kernel's socket buffers hold, and the worker does not grow. */
Test(upload, paused_plugin_stops_the_client_by_tcp_backpressure) {
  char line[256];
  int status = 0;
  long long length = 0, held = 0;
  long hwm;

  start(BODY, NULL);
  client(line, sizeof line, "hold", "/hold?max=100000000&ms=2000",
         "64000000 1.5");
  cr_assert(sscanf(line, "%d %lld %lld", &status, &length, &held) == 3,
            "client: '%s'" SRV_LOG_FMT, line, srv_log_tail(&S));
  cr_expect_eq(status, 200, "status %d" SRV_LOG_FMT, status, srv_log_tail(&S));
  cr_expect_eq(length, 64000000, "the server counted %lld bytes", length);
  cr_expect(held < 16000000,
            "%lld bytes went in while the plugin held the body", held);
  hwm = worker_hwm_kb();
  cr_expect(hwm > 0 && hwm < 16 * 1024, "worker peak RSS %ld kB", hwm);
}

Test(upload, plugin_that_pauses_at_every_piece_gets_the_whole_body) {
  static char body[1 << 20];
  char want[64];

  for (size_t i = 0; i < sizeof body; i++)
    body[i] = (char)(i * 7 + i / 251);
  start(BODY, NULL);
  post("/pause?ms=1", body, sizeof body);
  read_status(200);
  fnv_answer(body, sizeof body, want, sizeof want);
  cr_expect_str_eq(R.body, want);
  cr_expect_str_eq(http_header(&R, "Connection"), "keep-alive");
  /* The connection goes on with the next request. */
  send_str("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  read_status(200);
  fnv_answer("abc", 3, want, sizeof want);
  cr_expect_str_eq(R.body, want);
}

Test(upload, buffered_body_with_the_plugins_own_limit) {
  static char body[50000];
  char want[64];

  memset(body, 'b', sizeof body);
  start(BODY, (const char *const[]){"--max-body", "1K", NULL});
  post("/buffer?max=100000", body, sizeof body);
  read_status(200);
  fnv_answer(body, sizeof body, want, sizeof want);
  cr_expect_str_eq(R.body, want);
}

Test(upload, streamed_response_echoes_the_body_while_it_arrives) {
  static char body[12000];

  for (size_t i = 0; i < sizeof body; i++)
    body[i] = (char)('a' + i % 26);
  start(BODY, NULL);
  post("/echo", body, sizeof body);
  read_status(200);
  cr_expect_eq(R.body_len, sizeof body);
  cr_expect(memcmp(R.body, body, sizeof body) == 0, "echoed body differs");
}

/* ---- 100-continue, refusals, limits ---- */

Test(upload, expect_100_continue_is_answered_only_once_the_plugin_accepts) {
  int64_t t0;
  char want[64];

  start(BODY, NULL);
  t0 = now_ms();
  send_str("POST /defer?ms=600 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
           "Expect: 100-continue\r\n\r\n");
  read_status(100);
  cr_expect(now_ms() - t0 >= 550,
            "100 Continue after %lld ms, before the plugin accepted (600)",
            (long long)(now_ms() - t0));
  send_str("hello");
  read_status(200);
  fnv_answer("hello", 5, want, sizeof want);
  cr_expect_str_eq(R.body, want);
}

Test(upload, refused_body_gets_its_final_status_without_100_continue) {
  start(BODY, NULL);
  send_str("POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
           "Expect: 100-continue\r\n\r\n");
  read_status(401);
  cr_expect_str_eq(http_header(&R, "Connection"), "close");
  cr_expect_eq(http_wait_close(&C, 3000), 0, "connection not closed");
}

Test(upload, refused_body_already_sent_is_drained_not_reset) {
  static char body[200000];

  memset(body, 'r', sizeof body);
  start(BODY, NULL);
  send_str("POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n"
           "\r\n");
  cr_assert_eq(http_send(&C, body, sizeof body), 0);
  read_status(401);
  cr_expect_eq(http_wait_close(&C, 4000), 0, "no clean close");
}

Test(upload, content_length_over_the_plugins_limit_gets_413_logged) {
  start(BODY, NULL);
  send_str("POST /stream?max=1000 HTTP/1.1\r\nHost: t\r\n"
           "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  read_status(413); /* and no 100 Continue before it */
  cr_expect(wait_log(&S,
                     "413 for 'POST /stream?max=1000' from 127.0.0.1: a body "
                     "of at least 5000 bytes, above the plugin's limit (1000 "
                     "bytes)",
                     3000),
            "413 not logged with its limit" SRV_LOG_FMT, srv_log_tail(&S));
}

Test(upload, chunked_body_over_the_plugins_limit_gets_413_logged) {
  start(BODY, NULL);
  send_str("POST /stream?max=1000 HTTP/1.1\r\nHost: t\r\n"
           "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; i++) {
    static char chunk[700];
    memset(chunk, 'c', sizeof chunk);
    send_str("258\r\n"); /* 600 */
    http_send(&C, chunk, 600);
    send_str("\r\n");
  }
  read_status(413);
  cr_expect(wait_log(&S,
                     "a body of at least 1200 bytes, above the plugin's "
                     "limit (1000 bytes)",
                     3000),
            "413 not logged with its limit" SRV_LOG_FMT, srv_log_tail(&S));
}

Test(upload, body_over_max_body_in_a_buffering_plugin_gets_413_logged) {
  start(ECHO, (const char *const[]){"--max-body", "1K", NULL});
  send_str("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
  read_status(413);
  cr_expect(wait_log(&S,
                     "a body of at least 5000 bytes, above --max-body "
                     "(1024 bytes)",
                     3000),
            "413 not logged with --max-body" SRV_LOG_FMT, srv_log_tail(&S));
}

/* ---- faults ---- */

Test(upload, fault_in_the_data_callback_costs_a_500_and_retires_the_worker) {
  struct http_resp r;
  start(BODY, NULL);
  send_str("POST /crash-data HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
           "hello");
  read_status(500);
  cr_expect(wait_log(&S, "retiring this worker", 3000),
            "worker not retired" SRV_LOG_FMT, srv_log_tail(&S));
  /* The replacement serves. */
  cr_expect_eq(http_get(S.port, "/", &r), 0);
  cr_expect_eq(r.status, 200);
}

Test(upload, fault_in_the_end_callback_costs_a_500) {
  start(BODY, NULL);
  send_str("POST /crash-end HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
           "hello");
  read_status(500);
  cr_expect(wait_log(&S, "retiring this worker", 3000),
            "worker not retired" SRV_LOG_FMT, srv_log_tail(&S));
}

/* ---- --min-rate ---- */

/* body_client.py rate PATH ARGS against a server started with `more`:
 * the status it got (0: none), and when, in seconds since it began. */
static int rate_client(const char *plugin, const char *const *more,
                       const char *path, const char *args, double *secs) {
  char line[256];
  int status = 0;
  long sent = 0;

  start(plugin, more);
  client(line, sizeof line, "rate", path, args);
  cr_assert(sscanf(line, "%d %ld %lf", &status, &sent, secs) == 3, "'%s'",
            line);
  cr_log_info("%s %s: status %d after %ld bytes in %.2f s", path, args, status,
              sent, *secs);
  return status;
}

/* The client got 408 between `from` and `to` seconds after it began. */
static void expect_cut(int status, double secs, double from, double to) {
  cr_expect_eq(status, 408, "status %d after %.2f s" SRV_LOG_FMT, status, secs,
               srv_log_tail(&S));
  cr_expect(secs >= from && secs < to, "cut after %.2f s, want %.2f-%.2f s",
            secs, from, to);
}

static const char *const rate_args[] = {
    "--min-rate", "2000", "--min-rate-grace", "1", "--header-timeout",
    "10",         NULL};

Test(upload, body_above_the_min_rate_is_accepted) {
  double secs = 0;
  /* 4,000 bytes/s for 2.5 s: twice the rate, well past the grace. */
  int status = rate_client(BODY, rate_args, "/stream", "10000 4000", &secs);
  cr_expect_eq(status, 200, "status %d after %.2f s" SRV_LOG_FMT, status, secs,
               srv_log_tail(&S));
}

/* 500 bytes/s against a rate of 2,000 and 1 s of grace: the deficit
 * reaches grace * rate at 1 / (1 - 500/2000) = 1.33 s. */
Test(upload, body_below_the_min_rate_is_cut_near_the_promised_rate) {
  double secs = 0;
  int status = rate_client(BODY, rate_args, "/stream", "100000 500", &secs);
  expect_cut(status, secs, 1.2, 3.0);
}

/* The same for a plugin whose bodies are buffered before mc_run(): a
 * client that sends a byte now and then no longer holds the connection,
 * as it did when every read restarted the body's timeout. */
Test(upload, buffered_body_below_the_min_rate_is_cut_too) {
  double secs = 0;
  int status = rate_client(ECHO, rate_args, "/", "100000 500", &secs);
  expect_cut(status, secs, 1.2, 3.0);
}

/* A head trickled at 100 bytes/s is cut by the rate long before
 * --header-timeout: at 1 / (1 - 100/2000) = 1.05 s. */
Test(upload, slow_head_is_cut_by_the_min_rate_before_the_header_timeout) {
  double secs = 0;
  int status = rate_client(BODY, rate_args, "/stream", "100 100 head", &secs);
  expect_cut(status, secs, 0.9, 3.0);
}
