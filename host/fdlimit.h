/* fdlimit.h - the open-file limit, and how many connections it leaves a
 * worker (fdlimit.c). */
#ifndef MCHOST_FDLIMIT_H
#define MCHOST_FDLIMIT_H

#include <stdint.h>

/* File descriptors a worker keeps for itself: the listening socket, the
 * control pipe, the board, the logs, libuv's own, and what a plugin opens
 * (a database, a file it serves). */
#define FDLIMIT_RESERVE 64

/* Raises the soft RLIMIT_NOFILE to the hard limit, as nginx's
 * worker_rlimit_nofile would by hand; workers inherit it. Returns the soft
 * limit in force afterwards. */
uint64_t fdlimit_raise(void);

/* The connections one worker may hold: `wanted` (0 = as many as the fd
 * limit allows), and never more than `nofile` leaves after the reserve. */
uint64_t fdlimit_connections(uint64_t wanted, uint64_t nofile);

#endif
