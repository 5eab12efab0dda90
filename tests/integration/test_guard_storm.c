/*
 * test_guard_storm.c - a plugin that crashes again and again (README.md,
 * "crash loop": exponential backoff, never a fork storm). One worker, four
 * client threads, 200 crashing requests interleaved with 200 normal ones:
 * every crash gets 500, every normal request 200, no connection fails, the
 * master starts workers at a bounded rate and says the plugin is
 * crash-looping, and afterwards it runs exactly one worker again.
 *
 * Alone in its executable: the backoff is the point, so it runs for a while
 * (15-19 s on 2 CPUs, busy or not: about 7 worker starts a second, each
 * taking about 2 of the crashes), and keeps both CPUs busy.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CRASH TEST_PLUGINS_DIR "/crash.so"
#define THREADS 4
#define CRASHES 200
/* Above the backoff's ceiling (FAIL_MAX_MS, 5 s) plus a worker's start: a
 * request may wait that long in the listen queue, and must still succeed. */
#define REQUEST_TIMEOUT_MS 15000
/* Worker starts in any one second, at most. */
#define MAX_STARTS_PER_SECOND 30
#define MAX_PIDS 4096

static struct srv S;

static const char *const crash_paths[] = {"/segv", "/abort", "/fpe",
                                          "/ill",  "/bus",   "/later-crash"};
#define NPATHS (sizeof crash_paths / sizeof crash_paths[0])

static atomic_int crashes_claimed;
static atomic_int sampling;

struct tally {
  int crash_500, normal_200, failures;
  int64_t slowest_ms;
  char first_failure[512];
};

static void tally_fail(struct tally *t, const char *target, int err,
                       const struct http_resp *r) {
  if (t->failures++ == 0)
    snprintf(t->first_failure, sizeof t->first_failure,
             "GET %s: %s, status %d, body [%.100s]", target, http_strerror(err),
             err == 0 ? r->status : 0, err == 0 ? r->body : "");
}

static void *client(void *arg) {
  struct tally *t = arg;
  struct http_resp *r = malloc(sizeof *r);
  char target[64];
  if (!r) {
    t->failures++;
    return NULL;
  }
  for (int i = 0;; i++) {
    int k = atomic_fetch_add(&crashes_claimed, 1);
    if (k >= CRASHES)
      break;
    const char *path = crash_paths[(unsigned)k % NPATHS];
    int64_t t0 = now_ms();
    int err = http_get_timeout(S.port, path, r, REQUEST_TIMEOUT_MS);
    int64_t t1 = now_ms();
    if (err == 0 && r->status == 500)
      t->crash_500++;
    else
      tally_fail(t, path, err, r);

    snprintf(target, sizeof target, "/?n=%d", i);
    err = http_get_timeout(S.port, target, r, REQUEST_TIMEOUT_MS);
    int64_t t2 = now_ms();
    if (err == 0 && r->status == 200 && strcmp(r->body, "ok\n") == 0)
      t->normal_200++;
    else
      tally_fail(t, target, err, r);
    if (t1 - t0 > t->slowest_ms)
      t->slowest_ms = t1 - t0;
    if (t2 - t1 > t->slowest_ms)
      t->slowest_ms = t2 - t1;
  }
  free(r);
  return NULL;
}

/* Every worker pid the master ever had, and the most at one time. */
struct census {
  pid_t seen[MAX_PIDS];
  int nseen, most;
};

static void *sampler(void *arg) {
  struct census *c = arg;
  while (atomic_load(&sampling)) {
    pid_t now[64];
    int n = worker_pids(S.pid, now, 64);
    if (n > c->most)
      c->most = n;
    for (int i = 0; i < n && i < 64; i++) {
      int j = 0;
      while (j < c->nseen && c->seen[j] != now[i])
        j++;
      if (j == c->nseen && c->nseen < MAX_PIDS)
        c->seen[c->nseen++] = now[i];
    }
    sleep_ms(2);
  }
  return NULL;
}

/* Milliseconds of the day from a log line's "...THH:MM:SS.mmmZ" stamp. */
static int64_t stamp_ms(const char *line) {
  const char *t = strchr(line, 'T');
  int h, m, s, ms;
  if (!t || sscanf(t + 1, "%d:%d:%d.%dZ", &h, &m, &s, &ms) != 4)
    return -1;
  return ((int64_t)(h * 60 + m) * 60 + s) * 1000 + ms;
}

/* The most lines with `needle` that fall in any one-second window. */
static int most_per_second(const char *log, const char *needle, int *total) {
  static int64_t at[MAX_PIDS];
  int n = 0, most = 0;
  for (const char *p = log; p && *p;) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(len < 511 ? len : 511), p);
    if (strstr(line, needle) && n < MAX_PIDS && stamp_ms(line) >= 0)
      at[n++] = stamp_ms(line);
    p = end ? end + 1 : NULL;
  }
  for (int i = 0, j = 0; i < n; i++) {
    while (at[i] - at[j] >= 1000)
      j++;
    if (i - j + 1 > most)
      most = i - j + 1;
  }
  *total = n;
  return most;
}

static void storm_fini(void) { srv_stop(&S); }

Test(guard_storm, crash_loop_of_200_crashes_under_4_clients_keeps_serving,
     .fini = storm_fini, .timeout = 60) {
  static struct census census;
  struct tally tally[THREADS];
  pthread_t threads[THREADS], sampler_thread;
  int err = srv_start(&S,
                      (const char *const[]){"--plugin", CRASH, "--workers", "1",
                                            "--log-level", "debug", NULL},
                      5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));

  memset(tally, 0, sizeof tally);
  atomic_store(&sampling, 1);
  cr_assert_eq(pthread_create(&sampler_thread, NULL, sampler, &census), 0);
  int64_t t0 = now_ms();
  for (int i = 0; i < THREADS; i++)
    cr_assert_eq(pthread_create(&threads[i], NULL, client, &tally[i]), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(threads[i], NULL);
  int64_t took = now_ms() - t0;

  /* Back to one worker, and it stays one (held 1 s). */
  int n = wait_workers(S.pid, 1, 10000, 1000);
  atomic_store(&sampling, 0);
  pthread_join(sampler_thread, NULL);

  struct tally sum = {0};
  for (int i = 0; i < THREADS; i++) {
    sum.crash_500 += tally[i].crash_500;
    sum.normal_200 += tally[i].normal_200;
    sum.failures += tally[i].failures;
    if (tally[i].slowest_ms > sum.slowest_ms)
      sum.slowest_ms = tally[i].slowest_ms;
    if (!sum.first_failure[0] && tally[i].first_failure[0])
      memcpy(sum.first_failure, tally[i].first_failure,
             sizeof sum.first_failure);
  }
  char *log = srv_log_read(&S);
  cr_assert_not_null(log);
  int starts = 0, readies = 0;
  int starts_1s = most_per_second(log, "started worker", &starts);
  most_per_second(log, "] ready (generation", &readies);
  cr_log_info("storm: %d crashes + %d normal requests in %lld ms; slowest "
              "request %lld ms; %d worker pids seen (at most %d at once); "
              "%d workers started, at most %d in one second",
              sum.crash_500, sum.normal_200, (long long)took,
              (long long)sum.slowest_ms, census.nseen, census.most, starts,
              starts_1s);

  cr_expect_eq(sum.failures, 0, "%d requests failed; the first: %s" SRV_LOG_FMT,
               sum.failures, sum.first_failure, srv_log_tail(&S));
  cr_expect_eq(sum.crash_500, CRASHES, "%d of %d crashing requests got 500",
               sum.crash_500, CRASHES);
  cr_expect_eq(sum.normal_200, CRASHES, "%d of %d normal requests got 200",
               sum.normal_200, CRASHES);
  cr_expect_eq(n, 1,
               "after the storm the master has %d workers, want 1" SRV_LOG_FMT,
               n, srv_log_tail(&S));
  cr_expect_leq(starts_1s, MAX_STARTS_PER_SECOND,
                "%d workers started within one second: a fork storm",
                starts_1s);
  cr_expect_leq(census.most, 8,
                "%d workers at once with --workers 1 (one serving, the rest "
                "retiring)",
                census.most);
  cr_expect(strstr(log, "crash-looping") != NULL,
            "the log never says the plugin is crash-looping" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(strstr(log, "outside plugin code") == NULL,
            "a fault escaped the guard during the storm" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(srv_alive(&S), "the master died during the storm" SRV_LOG_FMT,
            srv_log_tail(&S));
  free(log);
}
