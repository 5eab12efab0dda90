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
 * The board: one page shared by the master and every worker (a memfd the
 * master creates and each worker inherits as fd 5), where each worker posts
 * how many connections it holds and whether it accepts. Workers read it to
 * share connections fairly (worker.c, accept_fair()); nothing else depends
 * on it, so a corrupt worker scribbling here can only skew the balance.
 */
#define BOARD_SLOTS 1024

struct board_slot {
  uint32_t conns;     /* open connections */
  uint32_t accepting; /* 1 while it takes new connections */
};

struct board {
  struct board_slot slot[BOARD_SLOTS];
};

#endif
