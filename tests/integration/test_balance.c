/*
 * test_balance.c - keep-alive connections are shared fairly between
 * workers (the accept path in host/accept.c: EPOLLEXCLUSIVE registered in
 * libuv's epoll set by hand, and the shared board). libuv's own accept loop
 * gives one worker nearly every connection; this pins the difference, and
 * would catch a libuv upgrade that changes how its loop dispatches events.
 * With a libuv whose internals were not checked, the workers poll the
 * socket plainly; MCHOST_TEST_ACCEPT_PLAIN takes that path here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CONNS 64

static struct srv S;

static void stop(void) { srv_stop(&S); }

/* Opens CONNS connections at once (a burst, as wrk or a browser pool does),
 * sends one request on each, and counts which worker answered each one:
 * returns the most connections one worker took, and in *npids_out how
 * many workers took some. */
static int burst_once(int *npids_out) {
  static struct http_client c[CONNS];
  struct http_resp r;
  pid_t pids[8] = {0};
  int counts[8] = {0}, npids = 0, most = 0;

  for (int i = 0; i < CONNS; i++)
    cr_assert_eq(http_open(&c[i], S.port, 2000), 0, "connect %d", i);
  for (int i = 0; i < CONNS; i++)
    cr_assert_eq(http_send_str(&c[i], "GET / HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
  for (int i = 0; i < CONNS; i++) {
    const char *pid;
    int k;
    cr_assert_eq(http_read(&c[i], &r, 0, 5000), 0, "response %d", i);
    cr_assert_eq(r.status, 200);
    pid = http_header(&r, "X-Pid");
    cr_assert_not_null(pid, "no X-Pid header");
    for (k = 0; k < npids && pids[k] != atoi(pid); k++)
      ;
    if (k == npids && npids < 8)
      pids[npids++] = atoi(pid);
    counts[k]++;
  }
  for (int i = 0; i < CONNS; i++)
    http_close(&c[i]);
  for (int k = 0; k < npids; k++)
    if (counts[k] > most)
      most = counts[k];
  *npids_out = npids;
  return most;
}

/* Bursts against `workers` workers, `env` as for spawn_mchost_env(). The
 * split is a matter of scheduling: a sibling that the machine keeps off
 * its CPU for longer than the step-aside (1 ms) loses a connection or two.
 * So up to three bursts, and one of them must split within max_share; an
 * accept path that does not share fails all three. */
static void burst(int workers, double max_share, const char *const *env) {
  char nworkers[8], ready[64], seen[64] = "";
  const char *args[] = {"--plugin", TEST_PLUGINS_DIR "/crash.so", "--workers",
                        nworkers, NULL};
  int most = CONNS, npids = 0;

  snprintf(nworkers, sizeof nworkers, "%d", workers);
  cr_assert_eq(srv_start_env(&S, args, env, 5000), 0,
               "mchost did not start" SRV_LOG_FMT, srv_log_tail(&S));
  /* Every worker accepting, not only started: a worker that is still
   * setting up is no sibling to make room for, and the first one would
   * rightly take the whole burst (as happens on a loaded machine). */
  snprintf(ready, sizeof ready, "ready: %d workers serving", workers);
  cr_assert(wait_log(&S, ready, 5000), "not all workers ready" SRV_LOG_FMT,
            srv_log_tail(&S));
  for (int try = 0; try < 3 && most > (int)(CONNS * max_share); try++) {
    most = burst_once(&npids);
    snprintf(seen + strlen(seen), sizeof seen - strlen(seen), " %d", most);
  }
  cr_expect_eq(npids, workers, "%d of %d workers got connections", npids,
               workers);
  cr_expect_leq(most, (int)(CONNS * max_share),
                "one worker took the most of %d keep-alive connections in "
                "each burst:%s (at most %d wanted)" SRV_LOG_FMT,
                CONNS, seen, (int)(CONNS * max_share), srv_log_tail(&S));
}

Test(balance, two_workers_split_a_burst_of_keepalive_connections, .fini = stop,
     .timeout = 20) {
  burst(2, 0.6, NULL);
  cr_expect_eq(log_count(&S, "without exclusive wakeups"), 0,
               "the exclusive accept is not used" SRV_LOG_FMT,
               srv_log_tail(&S));
}

Test(balance, four_workers_all_take_a_share, .fini = stop, .timeout = 20) {
  burst(4, 0.4, NULL);
}

/* The fallback for a libuv whose internals were not checked: every worker
 * says it accepts without exclusive wakeups, and they still serve the
 * whole burst and share it. */
Test(balance, plain_accept_fallback_serves_and_shares, .fini = stop,
     .timeout = 20) {
  burst(2, 0.75, (const char *const[]){"MCHOST_TEST_ACCEPT_PLAIN=1", NULL});
  cr_expect_eq(log_count(&S, "without exclusive wakeups"), 2,
               "want the fallback named once per worker" SRV_LOG_FMT,
               srv_log_tail(&S));
}
