/* proto.h - the fixed-size messages on a worker's control pipe. */
#ifndef MCHOST_PROTO_H
#define MCHOST_PROTO_H

#include <stdint.h>

enum msg_type {
  MSG_READY = 1,   /* worker -> master: plugin loaded, accepting */
  MSG_TAINTED = 2, /* worker -> master: retiring, start a replacement now */
  MSG_STOP = 3,    /* master -> worker: stop accepting, drain, exit */
  MSG_REOPEN = 4,  /* master -> worker: reopen the access log (SIGUSR1) */
  MSG_RETIRING = 5 /* worker -> master: --max-requests reached, replace me */
};

/* A worker may be corrupt: the master checks size, type and worker_id of
 * every message before it acts on one. */
struct msg {
  uint32_t type;
  uint32_t worker_id;
  uint64_t value;
};

/*
 * The board: memory shared by the master and every worker (a memfd the
 * master creates and each worker inherits as fd 5). Each worker posts how
 * many connections it holds, whether it accepts, and how many requests it
 * served; the master posts who the workers are. Workers read it to share
 * connections fairly (accept.c, accept_fair()), and `mchost status PID`
 * reads it to show a running server (status.c). Nothing else depends on it,
 * so a corrupt worker scribbling here can only skew the balance or the
 * status shown.
 */
#define BOARD_SLOTS 1024
#define BOARD_MAGIC 0x6d63686fu /* "mcho" */

enum board_state { SLOT_FREE, SLOT_STARTING, SLOT_SERVING, SLOT_DRAINING };

struct board_slot {
  uint32_t conns;     /* by the worker: open connections */
  uint32_t accepting; /* by the worker: 1 while it takes new connections */
  uint64_t requests;  /* by the worker: requests dispatched */
  int32_t pid;        /* by the master, from here on */
  uint32_t id, generation, state;
  uint64_t started_ms; /* wall clock, ms since the epoch */
};

struct board_head {
  uint32_t magic;
  int32_t master_pid;
  uint32_t generation; /* serving */
  uint32_t wanted;     /* workers */
  uint32_t crashes;    /* plugin faults and worker deaths */
  uint32_t reloads;    /* generations swapped in */
  uint32_t slots;      /* slots ever used: readers scan no further */
  uint64_t started_ms;
  char plugin[256];
};

struct board {
  struct board_head head;
  struct board_slot slot[BOARD_SLOTS];
};

#endif
