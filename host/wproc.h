/* wproc.h - one worker process as the master sees it (wproc.c). */
#ifndef MCHOST_WPROC_H
#define MCHOST_WPROC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fault.h"
#include "proto.h"
#include "relay.h"

/* A worker that exits closes its control pipe a moment before the master
 * learns that it exited; one whose pipe is closed and still runs after this
 * long has lost its pipe (wproc.c, wproc_on_pipe_closed()). */
#define CONTROL_LOST_GRACE_MS 1000

enum wstate { W_STARTING, W_READY, W_STOPPING };

struct master;

struct wproc {
  uv_process_t proc;
  uv_pipe_t control;
  uv_timer_t kill_timer;
  struct master *m;
  struct wproc *next;
  unsigned id, generation;
  unsigned slot; /* its place on the board */
  int pid;
  enum wstate state;
  int tainted;
  int exited;
  int handles;             /* open uv handles; freed at 0 */
  struct relay_link relay; /* its messages (relay.c) */
  size_t rlen;
  char rbuf[sizeof(struct msg) + sizeof(struct fault_msg)];
};

/* Starts a worker of `generation` that loads the plugin copy `so`, and
 * links it into m->procs. Returns 0, or -ENOMEM or a libuv error (logged,
 * and counted as a failure for the backoff). */
int wproc_spawn(struct master *m, unsigned generation, const char *so);
/* Asks a worker to stop accepting, finish, and exit; it is killed if it
 * overstays --kill-timeout. A no-op for one stopping or exited. */
void wproc_stop(struct wproc *p);
/* Sends a message; a worker that can no longer be told is treated as one
 * whose control pipe closed. */
void wproc_tell(struct wproc *p, uint32_t type);

#endif
