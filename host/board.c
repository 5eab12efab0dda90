/*
 * board.c - the master's side of the shared board (proto.h): a memfd that
 * every worker maps, where workers post their connection counts (the
 * fairness check of accept.c) and the master posts who is who, for
 * `mchost status` (status.c) and /metrics (metrics.c); the counts of the
 * workers it reaps are kept, so that no sum ever goes backwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "board.h"
#include "log.h"
#include "master.h"
#include "utc.h"

/* The board the workers balance connections with (proto.h). Without it
 * (no memfd) they still serve, unbalanced. */
void board_create(struct master *m) {
  void *p;
  m->board_fd = memfd_create("mchost-board", MFD_CLOEXEC);
  if (m->board_fd < 0 || ftruncate(m->board_fd, sizeof(struct board)) != 0 ||
      (p = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE, MAP_SHARED,
                m->board_fd, 0)) == MAP_FAILED) {
    log_warn("no shared board (%s): workers will not balance connections",
             strerror(errno));
    if (m->board_fd >= 0)
      close(m->board_fd);
    m->board_fd = -1;
    return;
  }
  m->board = p;
  m->board->head.magic = BOARD_MAGIC;
  m->board->head.master_pid = (int32_t)getpid();
  m->board->head.started_ms = utc_now_ms();
  snprintf(m->board->head.plugin, sizeof m->board->head.plugin, "%s",
           m->cfg->plugin);
  board_note(m, BOARD_SYNC);
}

/* Who a worker is, for `mchost status` (the counters are the worker's).
 * A slot is all zero when it is given out (wproc_on_exit() clears it when
 * its worker is reaped), and the worker's own fields are left alone here:
 * uv_spawn() returns once the worker runs, and it may have posted already.
 * Clearing them wiped a new worker's `accepting`, so its siblings saw
 * nobody to make room for and took every connection of a burst. */
void board_slot(struct master *m, const struct wproc *p,
                enum board_state state) {
  struct board_slot *s;
  if (m->board == NULL || p->slot >= BOARD_SLOTS)
    return;
  s = &m->board->slot[p->slot];
  if (state == SLOT_STARTING) {
    if (p->slot >= m->board->head.slots)
      m->board->head.slots = p->slot + 1;
    s->pid = p->pid;
    s->id = p->id;
    s->generation = p->generation;
    s->started_ms = utc_now_ms();
  }
  s->state = state;
}

/* The master's own counters, for `mchost status` and /metrics. */
void board_note(struct master *m, enum board_event ev) {
  struct board_head *h;
  if (m->board == NULL)
    return;
  h = &m->board->head;
  switch (ev) {
  case BOARD_CRASH:
    h->crashes++;
    break;
  case BOARD_TIMEOUT:
    h->timeouts++;
    break;
  case BOARD_START:
    h->starts++;
    break;
  case BOARD_RELOAD:
    h->reloads++;
    break;
  case BOARD_RELOAD_FAILED:
    h->reload_failures++;
    break;
  case BOARD_MESSAGE:
    h->messages++;
    break;
  case BOARD_MESSAGE_DROPPED:
    h->messages_dropped++;
    break;
  case BOARD_SYNC:
    break;
  }
  h->generation = m->generation;
  h->wanted = m->wanted;
}

static void counts_add(struct board_counts *sum, const struct board_counts *c) {
  for (unsigned i = 0; i < BOARD_CLASSES; i++)
    sum->responses[i] += __atomic_load_n(&c->responses[i], __ATOMIC_RELAXED);
  for (unsigned i = 0; i < BOARD_BUCKETS; i++)
    sum->duration[i] += __atomic_load_n(&c->duration[i], __ATOMIC_RELAXED);
  sum->duration_us += __atomic_load_n(&c->duration_us, __ATOMIC_RELAXED);
  sum->accepted += __atomic_load_n(&c->accepted, __ATOMIC_RELAXED);
  sum->shed += __atomic_load_n(&c->shed, __ATOMIC_RELAXED);
  sum->shed_slow += __atomic_load_n(&c->shed_slow, __ATOMIC_RELAXED);
}

/* The responses of one generation, in the table of reaped workers' counts
 * (grown as needed); NULL when out of memory. */
static struct gen_count *gen_count(struct master *m, unsigned generation) {
  struct gen_count *g;
  for (unsigned i = 0; i < m->ngens; i++)
    if (m->gens[i].generation == generation)
      return &m->gens[i];
  if (m->ngens == m->gens_cap) {
    unsigned cap = m->gens_cap ? 2 * m->gens_cap : 8;
    if ((g = realloc(m->gens, cap * sizeof *g)) == NULL)
      return NULL;
    m->gens = g;
    m->gens_cap = cap;
  }
  g = &m->gens[m->ngens++];
  memset(g, 0, sizeof *g);
  g->generation = generation;
  return g;
}

/* A worker was reaped: its final counts join the totals, and its slot is
 * cleared for the next worker (all zero is a free slot). */
void board_retire(struct master *m, const struct wproc *p) {
  struct board_slot *s;
  struct gen_count *g;
  if (m->board == NULL || p->slot >= BOARD_SLOTS)
    return;
  s = &m->board->slot[p->slot];
  counts_add(&m->board->head.retired, &s->counts);
  m->board->head.retired_requests +=
      __atomic_load_n(&s->requests, __ATOMIC_RELAXED);
  if ((g = gen_count(m, p->generation)) != NULL)
    for (unsigned i = 0; i < BOARD_CLASSES; i++)
      g->responses[i] += s->counts.responses[i];
  memset(s, 0, sizeof *s);
}

void board_sum(const struct board *b, struct board_sum *sum) {
  memset(sum, 0, sizeof *sum);
  sum->counts = b->head.retired;
  sum->requests = b->head.retired_requests;
  for (unsigned i = 0; i < b->head.slots && i < BOARD_SLOTS; i++) {
    const struct board_slot *s = &b->slot[i];
    counts_add(&sum->counts, &s->counts);
    sum->requests += __atomic_load_n(&s->requests, __ATOMIC_RELAXED);
    sum->inflight += __atomic_load_n(&s->inflight, __ATOMIC_RELAXED);
    sum->conns += __atomic_load_n(&s->conns, __ATOMIC_RELAXED);
  }
}
