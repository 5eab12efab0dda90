/* Fixture for the plugin's timers (mc_timer_start(), mc_timer_stop()).
 * mc_init() starts:
 *   tick     every 20 ms, until /stop
 *   witness  every 20 ms, never stopped (freed when the worker exits)
 *   once     once, after 10 ms (stopped by the plugin after it fired)
 *   self     every 10 ms; stops itself in its third call
 * and records what two refused calls returned.
 *   /counts  "tick T witness W once O self S refused R1 R2"
 *   /stop    stops tick; "stopped at T"
 *   /zero    starts a one-shot timer of 0 ms: "inside C" (C: calls of its
 *            callback before mc_timer_start() returned)
 *   /crash   starts a one-shot timer whose callback faults
 *   anything else 200 "ok\n" (the harness's readiness probe) */
#include <mchost.h>

#include <stdio.h>
#include <string.h>

MC_PLUGIN();

static mc_timer *tick, *once, *self, *zero;
static unsigned ticks, witnessed, onces, selfs, zeros;
static int refused[2];

static void on_tick(mc_timer *t, void *arg) {
  (void)t;
  (*(unsigned *)arg)++;
}

static void on_once(mc_timer *t, void *arg) {
  (void)arg;
  onces++;
  mc_timer_stop(t);
  once = NULL;
}

static void on_self(mc_timer *t, void *arg) {
  (void)arg;
  if (++selfs == 3)
    mc_timer_stop(t);
}

static void on_zero(mc_timer *t, void *arg) {
  (void)arg;
  zeros++;
  mc_timer_stop(t);
}

static void on_crash(mc_timer *t, void *arg) {
  (void)t;
  (void)arg;
  *(volatile int *)NULL = 1;
}

int mc_init(const mc_worker *w) {
  mc_timer *witness; /* only mchost holds it */
  (void)w;
  refused[0] = mc_timer_start(NULL, 10, 0, on_once, NULL);
  refused[1] = mc_timer_start(&zero, 10, 0, NULL, NULL);
  if (mc_timer_start(&tick, 20, 20, on_tick, &ticks) != 0 ||
      mc_timer_start(&witness, 20, 20, on_tick, &witnessed) != 0 ||
      mc_timer_start(&once, 10, 0, on_once, NULL) != 0 ||
      mc_timer_start(&self, 10, 10, on_self, NULL) != 0)
    return -1;
  return 0;
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  char out[160];
  int n;

  if (strcmp(path, "/counts") == 0) {
    n = snprintf(out, sizeof out,
                 "tick %u witness %u once %u self %u refused %d %d\n", ticks,
                 witnessed, onces, selfs, refused[0], refused[1]);
  } else if (strcmp(path, "/stop") == 0) {
    mc_timer_stop(tick);
    n = snprintf(out, sizeof out, "stopped at %u\n", ticks);
  } else if (strcmp(path, "/zero") == 0) {
    unsigned before = zeros;
    mc_timer_start(&zero, 0, 0, on_zero, NULL);
    n = snprintf(out, sizeof out, "inside %u\n", zeros - before);
  } else if (strcmp(path, "/crash") == 0) {
    mc_timer *t;
    mc_timer_start(&t, 0, 0, on_crash, NULL);
    n = snprintf(out, sizeof out, "ok\n");
  } else {
    n = snprintf(out, sizeof out, "ok\n");
  }
  mc_response_send(res, 200, out, (size_t)n);
}
