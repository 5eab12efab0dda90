/*
 * board.c - the master's side of the shared board (proto.h): a memfd that
 * every worker maps, where workers post their connection counts (the
 * fairness check of accept.c) and the master posts who is who, for
 * `mchost status` (status.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "utc.h"

/* The board the workers balance connections with (proto.h). Without it
 * (no memfd) they still serve, unbalanced. */
void master_board_create(struct master *m) {
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
  master_board_count(m, 0, 0);
}

/* Who a worker is, for `mchost status` (the counters are the worker's).
 * A slot is all zero when it is given out (wproc_on_exit() clears it when
 * its worker is reaped), and the worker's own fields are left alone here:
 * uv_spawn() returns once the worker runs, and it may have posted already.
 * Clearing them wiped a new worker's `accepting`, so its siblings saw
 * nobody to make room for and took every connection of a burst. */
void master_board_slot(struct master *m, const struct wproc *p,
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

/* The master's own line of `mchost status`. */
void master_board_count(struct master *m, unsigned crashes, unsigned reloads) {
  struct board_head *h;
  if (m->board == NULL)
    return;
  h = &m->board->head;
  h->crashes += crashes;
  h->reloads += reloads;
  h->generation = m->generation;
  h->wanted = m->wanted;
}
