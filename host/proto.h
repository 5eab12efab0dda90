/* proto.h - what the master and a worker share: the fds a worker
 * inherits, the fixed-size messages on its control pipe, and the board. */
#ifndef MCHOST_PROTO_H
#define MCHOST_PROTO_H

#include <stdint.h>

/* The fds a worker inherits from the master (wproc.c, wproc_spawn()): the
 * listening socket, its end of the control socketpair, the board, and its
 * end of the message socketpair. */
#define WORKER_LISTEN_FD 3
#define WORKER_CONTROL_FD 4
#define WORKER_BOARD_FD 5
#define WORKER_MESSAGE_FD 6
/* The listening sockets after the first: 7, 8, ... */
#define WORKER_LISTEN_MORE_FD 7

enum msg_type {
  MSG_READY = 1,    /* worker -> master: plugin loaded, accepting */
  MSG_TAINTED = 2,  /* worker -> master: retiring, start a replacement now */
  MSG_STOP = 3,     /* master -> worker: stop accepting, drain, exit */
  MSG_REOPEN = 4,   /* master -> worker: reopen the access log (SIGUSR1) */
  MSG_RETIRING = 5, /* worker -> master: --max-requests reached, replace me */
  MSG_FAULT = 6,    /* worker -> master: a struct fault_msg follows (fault.h) */
  MSG_DEV_ERROR = 7, /* master -> worker: --dev error changed (devreport.h) */
  MSG_DEV_CRASH = 8  /* master -> worker: its crash report (devreport.h) */
};

/* MSG_TAINTED's value: why the worker retires. */
enum taint { TAINT_FAULT = 0, TAINT_TIMEOUT = 1 };

/* A worker may be corrupt: the master checks size, type and worker_id of
 * every message before it acts on one. */
struct msg {
  uint32_t type;
  uint32_t worker_id;
  uint64_t value;
};

/*
 * Messages between workers (sdk/mchost/messages.h, mc_publish()) travel on a
 * SOCK_SEQPACKET socketpair of their own, one record per message, so that
 * neither side needs framing and a flood of them never delays the control
 * pipe. A record is this head, the channel name (channel_len bytes, no
 * NUL), then the data. A worker sends it with from_* 0; the master checks
 * it, stamps who sent it (a worker cannot speak for another) and sends the
 * same record to every worker (relay.c, message.c).
 */
struct message_head {
  uint32_t from_worker;
  uint32_t from_generation;
  uint32_t channel_len; /* 1 .. MC_CHANNEL_MAX */
  uint32_t zero;
};

/*
 * The board: memory shared by the master and every worker (a memfd the
 * master creates and each worker inherits as fd 5). Each worker posts how
 * many connections it holds, whether it accepts, and what it counted
 * (requests, responses by status class and duration, connections); the
 * master posts who the workers are, its own counters, and the counts of
 * the workers it has reaped. Workers read it to share connections fairly
 * (accept.c, accept_fair()); the master reads it for /metrics (metrics.c),
 * and `mchost status PID` to show a running server (status.c). Nothing else
 * depends on it, so a corrupt worker scribbling here can only skew the
 * balance or the numbers shown.
 */
#define BOARD_SLOTS 1024
#define BOARD_MAGIC 0x6d636833u /* "mch3": the layout of this file */

/* Responses by status class: [0] 1xx .. [4] 5xx. */
#define BOARD_CLASSES 5
/* The request-duration histogram: upper bounds of its buckets in
 * microseconds (Prometheus' default buckets, from 1 ms), the last bucket
 * being +Inf. */
#define BOARD_BUCKET_BOUNDS_US                                                 \
  1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,      \
      2500000, 5000000, 10000000
#define BOARD_BUCKETS 14

enum board_state { SLOT_FREE, SLOT_STARTING, SLOT_SERVING, SLOT_DRAINING };

/* What a worker counts, each field only ever growing. Written by the one
 * worker with relaxed atomic stores, read by anyone. */
struct board_counts {
  uint64_t responses[BOARD_CLASSES];
  uint64_t duration[BOARD_BUCKETS]; /* responses by duration (per bucket,
                                       not cumulative) */
  uint64_t duration_us;             /* the sum of those durations */
  uint64_t accepted;                /* connections accepted */
  uint64_t shed;      /* idle keep-alive connections closed to make room for a
                         new one at --max-connections */
  uint64_t shed_slow; /* then the slowest ones still sending a request */
};

struct board_slot {
  uint32_t conns;     /* by the worker: open connections */
  uint32_t accepting; /* by the worker: 1 while it takes new connections */
  uint64_t requests;  /* by the worker: requests dispatched */
  uint32_t inflight;  /* by the worker: requests dispatched, not answered */
  int32_t pid;        /* by the master, from here on */
  uint32_t id, generation, state;
  uint64_t started_ms; /* wall clock, ms since the epoch */
  /* by the worker, per request: a cache line of its own, away from what
   * its siblings read at every accept */
  struct board_counts counts __attribute__((aligned(64)));
};

struct board_head {
  uint32_t magic;
  int32_t master_pid;
  uint32_t generation;      /* serving */
  uint32_t wanted;          /* workers */
  uint32_t crashes;         /* plugin faults and worker deaths */
  uint32_t reloads;         /* generations swapped in */
  uint32_t slots;           /* slots ever used: readers scan no further */
  uint32_t timeouts;        /* handlers or deferred responses over
                               --request-timeout */
  uint32_t starts;          /* workers started */
  uint32_t reload_failures; /* generations discarded */
  uint64_t started_ms;
  uint64_t messages;         /* relayed between workers (relay.c) */
  uint64_t messages_dropped; /* copies not delivered: a worker behind */
  char plugin[256];
  /* the counts of every worker reaped so far, so that the sums never go
   * backwards when a worker is replaced */
  struct board_counts retired;
  uint64_t retired_requests;
};

struct board {
  struct board_head head;
  struct board_slot slot[BOARD_SLOTS];
};

#endif
