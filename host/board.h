/* board.h - the shared board (its layout is in proto.h): the master's
 * side, and the sums its readers show (board.c). */
#ifndef MCHOST_BOARD_H
#define MCHOST_BOARD_H

#include <stdint.h>

#include "proto.h"

struct master;
struct wproc;

/* The master's own counters on the board. */
enum board_event {
  BOARD_CRASH,   /* a plugin fault, a worker death, a lost worker */
  BOARD_TIMEOUT, /* a handler or deferred response over --request-timeout */
  BOARD_START,   /* a worker started */
  BOARD_RELOAD,  /* a generation swapped in */
  BOARD_RELOAD_FAILED,   /* a reload that left the old generation serving */
  BOARD_MESSAGE,         /* a message relayed between workers */
  BOARD_MESSAGE_DROPPED, /* a copy of one that a worker will not get */
  BOARD_SYNC             /* only post the generation and workers wanted */
};

/* Responses of reaped workers, by generation (board.c, metrics.c). */
struct gen_count {
  unsigned generation;
  uint64_t responses[BOARD_CLASSES];
};

/* Creates the board the workers inherit (m->board_fd, m->board); without
 * one (no memfd: logged) they serve, unbalanced, and both stay unset. */
void board_create(struct master *m);
/* Posts who the worker in p's slot is, and its state. */
void board_slot(struct master *m, const struct wproc *p,
                enum board_state state);
/* Counts one of the master's events, and posts the generation serving and
 * the workers wanted. */
void board_note(struct master *m, enum board_event ev);
/* A reaped worker's counts join the totals, and its slot is freed. */
void board_retire(struct master *m, const struct wproc *p);

/* The counts of every worker, running or reaped, added up. */
struct board_sum {
  struct board_counts counts;
  uint64_t requests, inflight, conns;
};
void board_sum(const struct board *b, struct board_sum *sum);

#endif
