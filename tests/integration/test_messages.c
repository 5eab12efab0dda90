/*
 * test_messages.c - messages between workers (mc_subscribe(), mc_publish())
 * with the messages fixture on two workers: every worker gets every
 * message, the sender too, stamped with who sent it, in one order for all;
 * the refused calls; a callback that unsubscribes itself; a worker that
 * falls behind loses only its own copies, each counted; a fault in a
 * callback retires the worker, with a report that names the channel.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "memcheck.h"

#define MESSAGES TEST_PLUGINS_DIR "/messages.so"

static struct srv S;
static struct http_resp R;
/* one keep-alive connection to each worker: conn[i] to worker i + 1 */
static struct http_client conn[2];

static void fini(void) {
  for (int i = 0; i < 2; i++)
    if (conn[i].fd > 0)
      http_close(&conn[i]);
  srv_stop(&S);
}

TestSuite(messages, .fini = fini, .timeout = 60);

/* GET target on c; asserts a 200 with X-Worker, into R. */
static void get(struct http_client *c, const char *target) {
  char req[256];
  int err;
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
  cr_assert_eq(http_send_str(c, req), 0);
  err = http_read(c, &R, 0, 10000 * time_scale());
  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(R.status, 200, "GET %s: %d %s" SRV_LOG_FMT, target, R.status,
               R.body, srv_log_tail(&S));
}

/* Starts two workers and opens a connection to each. The balance gives a
 * new connection to the worker holding fewer, once both accept: the
 * connections to the first one stay open meanwhile (at most EXTRA). */
#define EXTRA 64
static void start(void) {
  const char *args[] = {"--plugin", MESSAGES, "--workers", "2", NULL};
  static struct http_client extra[EXTRA];
  int err = srv_start(&S, args, 10000), n = 0;
  cr_assert_eq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
  cr_assert_eq(wait_workers(S.pid, 2, 10000, 0), 2);
  for (int tries = 0; tries < 500 && (conn[0].fd <= 0 || conn[1].fd <= 0);
       tries++) {
    struct http_client *c = &extra[n];
    const char *id;
    cr_assert_eq(http_open(c, S.port, 5000), 0);
    get(c, "/");
    id = http_header(&R, "X-Worker");
    cr_assert_not_null(id);
    if ((*id == '1' || *id == '2') && conn[*id - '1'].fd <= 0) {
      conn[*id - '1'] = *c;
    } else if (n < EXTRA - 1) {
      n++;
    } else {
      http_close(c);
      sleep_ms(20);
    }
  }
  for (int i = 0; i < n; i++)
    http_close(&extra[i]);
  cr_assert(conn[0].fd > 0 && conn[1].fd > 0,
            "no connection to each of the two workers" SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* The "total N" of a worker's /log. */
static long log_total(int worker) {
  const char *t;
  get(&conn[worker], "/log");
  t = strstr(R.body, "total ");
  return t ? atol(t + 6) : -1;
}

/* Polls until the worker's /log counts `n` messages (or more), for 10 s;
 * both stretched under valgrind, so that the polls stay well below
 * --keepalive-requests on the one connection. */
static long wait_total(int worker, long n) {
  int64_t deadline = deadline_in(10000);
  long got = -1;
  while ((got = log_total(worker)) < n && now_ms() < deadline)
    sleep_ms(20 * time_scale());
  return got;
}

/* Two workers publish 150 messages each at once: each worker gets all 300,
 * its own included, each stamped with its sender; each sender's in its
 * order; and both workers in the same order. Fails against a relay that
 * skips the sender, or a worker that delivers its own messages itself. */
Test(messages, every_worker_gets_every_message_in_one_order) {
  char *first;
  start();
  cr_assert_eq(http_send_str(&conn[0], "GET /pub?tag=a&n=150 HTTP/1.1\r\n"
                                       "Host: t\r\n\r\n"),
               0);
  cr_assert_eq(http_send_str(&conn[1], "GET /pub?tag=b&n=150 HTTP/1.1\r\n"
                                       "Host: t\r\n\r\n"),
               0);
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(http_read(&conn[i], &R, 0, 10000), 0);
    cr_assert_str_eq(R.body, "published 150\n");
  }
  for (int i = 0; i < 2; i++)
    cr_assert_eq(wait_total(i, 300), 300, "worker %d got %ld of 300", i + 1,
                 log_total(i));
  get(&conn[0], "/log");
  first = strdup(R.body);
  get(&conn[1], "/log");
  cr_expect_str_eq(R.body, first, "the two workers saw different orders");
  for (int w = 0; w < 2; w++) {
    const char *p = w == 0 ? first : R.body;
    int next[2] = {0, 0};
    for (const char *l = p; *l != '\0' && strncmp(l, "total", 5) != 0;) {
      unsigned from;
      char tag;
      int seq;
      cr_assert_eq(sscanf(l, "%u %c%d", &from, &tag, &seq), 3, "%s", l);
      cr_assert(tag == 'a' || tag == 'b', "%s", l);
      cr_expect_eq(from, tag == 'a' ? 1u : 2u, "%c%d stamped from worker %u",
                   tag, seq, from);
      cr_expect_eq(seq, next[tag - 'a'], "worker %d: %c%d came after %c%d",
                   w + 1, tag, seq, tag, next[tag - 'a'] - 1);
      next[tag - 'a'] = seq + 1;
      l = strchr(l, '\n') + 1;
    }
  }
  free(first);
}

/* Each refused call says why, and the longest channel is accepted. */
Test(messages, refused_calls_say_why) {
  start();
  get(&conn[0], "/errors");
  cr_expect_str_eq(R.body, "null channel -22\n"
                           "empty channel -22\n"
                           "long channel -22\n"
                           "longest channel 0\n"
                           "null data -22\n"
                           "too big -90\n"
                           "subscribe twice -17\n"
                           "subscribe null -22\n"
                           "unsubscribe unknown -2\n");
}

/* A callback that unsubscribes itself is called once, for the first of
 * three messages, in each worker. */
Test(messages, a_callback_may_unsubscribe_itself) {
  start();
  get(&conn[0], "/once?n=3");
  get(&conn[1], "/pub?tag=s&n=1"); /* after the three, in every worker */
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(wait_total(i, 1), 1);
    get(&conn[i], "/count");
    cr_expect_str_eq(R.body, "once 1 late 0 later 0\n", "worker %d", i + 1);
  }
}

/* A subscription made by a callback gets the next message, not the one
 * being delivered: two messages on "late" call the late callback twice and
 * the one it subscribed at the first once, in each worker. */
Test(messages, a_subscription_from_a_callback_starts_with_the_next) {
  start();
  get(&conn[0], "/late");
  get(&conn[1], "/late");
  get(&conn[0], "/pub?tag=s&n=1"); /* after both, in every worker */
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(wait_total(i, 1), 1);
    get(&conn[i], "/count");
    cr_expect_str_eq(R.body, "once 0 late 2 later 1\n", "worker %d", i + 1);
  }
}

/* Worker 2 is blocked in a handler while worker 1 publishes 200 messages
 * of MC_MESSAGE_MAX bytes (12.5 MiB): worker 1 gets them all, of the
 * largest size; worker 2 gets what fits in its socket and
 * MC_MESSAGE_BACKLOG, and the master logs the drop, then that it took
 * its messages again, with the count of the others. */
Test(messages, a_worker_behind_loses_only_its_own_copies) {
  struct http_resp blocked;
  char *log, req[96];
  long got, dropped = -1;
  /* longer than the 200 take; shorter than --request-timeout (30 s) */
  int block_ms = time_scale() > 1 ? 20000 : 3000;
  start();
  snprintf(req, sizeof req, "GET /block?ms=%d HTTP/1.1\r\nHost: t\r\n\r\n",
           block_ms);
  cr_assert_eq(http_send_str(&conn[1], req), 0);
  cr_assert(wait_log(&S, "messages: blocking", 10000), SRV_LOG_FMT,
            srv_log_tail(&S));
  get(&conn[0], "/big?n=200");
  cr_assert_str_eq(R.body, "published 200\n");
  cr_assert_eq(wait_total(0, 200), 200);
  get(&conn[0], "/log");
  cr_expect(strstr(R.body, "1 B0 65536\n") != NULL, "%.300s", R.body);
  cr_expect(strstr(R.body, "1 B199 65536\n") != NULL, "%.300s", R.body);
  cr_assert_eq(http_read(&conn[1], &blocked, 0, block_ms + 10000), 0);
  cr_assert(wait_log(&S, "takes its messages again", 10000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "is not taking its messages"), 1, SRV_LOG_FMT,
               srv_log_tail(&S));
  got = log_total(1);
  log = srv_log_read(&S);
  if (log != NULL && (strstr(log, "takes its messages again; ")))
    dropped = atol(strstr(log, "takes its messages again; ") + 26);
  free(log);
  cr_expect(got > 0 && got < 200, "worker 2 got %ld of 200", got);
  {
    /* mchost status counts the same: 200 relayed, each drop once */
    struct run_result st;
    char want[96];
    snprintf(want, sizeof want,
             "messages between workers: 200 relayed, %ld copies dropped",
             200 - got);
    cr_assert_eq(run_status(S.pid, &st), 0);
    cr_expect(strstr(st.out, want) != NULL, "want '%s' in:\n%s", want, st.out);
    run_result_free(&st);
  }
  cr_expect_eq(dropped, 200 - got, "dropped %ld, worker 2 got %ld", dropped,
               got);
}

/* A fault in a message callback has no request to answer: each worker
 * reports it, naming the channel, and is replaced; the new workers serve
 * and take messages. */
Test(messages, a_fault_in_a_callback_retires_the_worker) {
  struct http_resp r;
  start();
  get(&conn[0], "/crash");
  cr_assert(wait_log(&S, "a message callback (channel 'crash')", 10000),
            SRV_LOG_FMT, srv_log_tail(&S));
  cr_assert(wait_log(&S, "retiring this worker", 10000), SRV_LOG_FMT,
            srv_log_tail(&S));
  for (int i = 0; i < 2; i++)
    http_close(&conn[i]), conn[i].fd = 0;
  for (int i = 0; i < 500 && log_count(&S, "retiring this worker") < 2; i++)
    sleep_ms(20);
  cr_assert_eq(log_count(&S, "retiring this worker"), 2, SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_assert_eq(http_get(S.port, "/pub?tag=n&n=1", &r), 0);
  cr_expect_eq(r.status, 200, SRV_LOG_FMT, srv_log_tail(&S));
}
