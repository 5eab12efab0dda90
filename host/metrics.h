/* metrics.h - what a worker counts on its board slot, per request and per
 * connection (inline: a few stores on the hot path, no system call), and
 * the Prometheus text the master makes of the board (metrics.c). */
#ifndef MCHOST_METRICS_H
#define MCHOST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct master;

/* One worker writes its slot; others only read it. A relaxed load and
 * store, not an atomic add: no locked instruction, and a reader never sees
 * a torn value. */
static inline void metrics_add(uint64_t *counter, uint64_t n) {
  __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
                   __ATOMIC_RELAXED);
}

static inline void metrics_inflight(struct board_slot *s, int delta) {
  __atomic_store_n(&s->inflight,
                   __atomic_load_n(&s->inflight, __ATOMIC_RELAXED) +
                       (uint32_t)delta,
                   __ATOMIC_RELAXED);
}

/* A response is finished: its status class and how long it took, from
 * dispatch (or from the error that answered it) to now, in µs. */
static inline void metrics_response(struct board_slot *s, int status,
                                    uint64_t us) {
  static const uint32_t bound[BOARD_BUCKETS - 1] = {BOARD_BUCKET_BOUNDS_US};
  unsigned cls = (unsigned)status / 100 - 1, b = 0;

  if (cls >= BOARD_CLASSES)
    cls = BOARD_CLASSES - 1;
  while (b < BOARD_BUCKETS - 1 && us > bound[b])
    b++;
  metrics_add(&s->counts.responses[cls], 1);
  metrics_add(&s->counts.duration[b], 1);
  metrics_add(&s->counts.duration_us, us);
}

/* The master's side (metrics.c): the /metrics page, appended to *out
 * (malloc'd, grown as needed; *len and *cap track it). Returns 0 or
 * -ENOMEM. */
int metrics_write(struct master *m, char **out, size_t *len, size_t *cap);

#endif
