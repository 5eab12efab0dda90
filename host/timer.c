/*
 * timer.c - the plugin's own timers (mc_timer_start(), mc_timer_stop()):
 * a uv_timer_t each, its callback under the crash guard.
 *
 * mc_timer_stop() closes the handle and the close callback frees it, on a
 * later turn of the loop: so a timer may stop itself from inside its
 * callback. The worker keeps every timer on a list: those the plugin did
 * not stop are freed after the loop has closed their handles at exit.
 */
#include <errno.h>
#include <stdlib.h>

#include "worker.h"

struct mc_timer {
  uv_timer_t h;
  struct mc_timer *prev, *next; /* the worker's timers */
  mc_timer_fn cb;
  void *arg;
  int stopped; /* mc_timer_stop() was called: closing */
};

static void unlink_timer(struct worker *w, mc_timer *t) {
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    w->timers = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
}

static void on_closed(uv_handle_t *h) {
  mc_timer *t = h->data;
  unlink_timer(worker_current(), t);
  free(t);
}

static void fire_thunk(void *arg) {
  mc_timer *t = arg;
  t->cb(t, t->arg);
}

static void on_timer(uv_timer_t *h) {
  mc_timer *t = h->data;
  struct worker *w = worker_current();

  if (worker_guard_detached(w, fire_thunk, t, "a timer callback") != 0)
    uv_timer_stop(&t->h); /* the plugin may be corrupt: never again */
}

MC_EXTERN int mc_timer_start(mc_timer **out, uint64_t ms, uint64_t repeat,
                             mc_timer_fn cb, void *arg) {
  struct worker *w = worker_current();
  mc_timer *t;

  if (out == NULL || cb == NULL)
    return -EINVAL;
  if ((t = calloc(1, sizeof *t)) == NULL)
    return -ENOMEM;
  uv_timer_init(&w->loop, &t->h);
  t->h.data = t;
  t->cb = cb;
  t->arg = arg;
  /* a stopping worker ends when its connections are done */
  uv_unref((uv_handle_t *)&t->h);
  uv_timer_start(&t->h, on_timer, ms, repeat);
  t->next = w->timers;
  if (w->timers != NULL)
    w->timers->prev = t;
  w->timers = t;
  *out = t;
  return 0;
}

MC_EXTERN int mc_timer_stop(mc_timer *t) {
  if (t == NULL)
    return -EINVAL;
  if (t->stopped)
    return 0;
  t->stopped = 1;
  uv_close((uv_handle_t *)&t->h, on_closed);
  return 0;
}

void timers_free(struct worker *w) {
  while (w->timers != NULL) {
    mc_timer *t = w->timers;
    w->timers = t->next;
    free(t);
  }
}
