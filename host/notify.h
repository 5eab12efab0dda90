/*
 * notify.h - running under systemd: readiness notifications (Type=notify)
 * and socket activation (a .socket unit hands the listening socket over).
 *
 * Both speak systemd's documented protocols directly, without libsystemd;
 * notify.c says why. Outside systemd both are harmless no-ops, so the master
 * calls them unconditionally.
 */
#ifndef MCHOST_NOTIFY_H
#define MCHOST_NOTIFY_H

#include <stddef.h>

#include "mchost.h"

/* Sends one notification datagram, formatted printf-style, to the socket
 * named by $NOTIFY_SOCKET, e.g.
 *   notify_send("READY=1\nSTATUS=%u workers, generation %u\nMAINPID=%d",
 *               n, gen, (int)getpid());
 * Lines are "NAME=value", separated by '\n' (see sd_notify(3)): READY=1,
 * RELOADING=1, STOPPING=1, STATUS=..., MAINPID=...
 * Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset or empty (not run by
 * systemd as Type=notify: nothing to do), or a negative errno:
 *   -EAFNOSUPPORT  the address is neither a path nor '@abstract';
 *   -ENAMETOOLONG  the address or the message does not fit;
 *   other          from socket() or sendto().
 * Prints nothing; a caller may log a failure (systemd will time the start
 * out on its own if READY=1 never arrives). */
int notify_send(const char *fmt, ...) MC_PRINTF(1, 2);

/* Takes the listening socket passed by systemd socket activation
 * ($LISTEN_PID, $LISTEN_FDS, first fd 3 as SD_LISTEN_FDS_START).
 * Returns:
 *    1  *fd_out is the socket (a listening TCP socket, now O_NONBLOCK and
 *       FD_CLOEXEC; the caller owns it);
 *    0  not socket-activated ($LISTEN_PID unset or another process's, or
 *       $LISTEN_FDS unset or 0): bind as usual;
 *   -1  activated, but with something mchost cannot serve (several sockets,
 *       a datagram or not-listening socket, a Unix socket, a closed fd, a
 *       malformed variable); err holds one message without "mchost: ".
 * In every case $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES are removed
 * from the environment, so that workers never believe the fds are theirs.
 * Call it once, before binding. */
int listen_fds_take(int *fd_out, char *err, size_t errlen);

#endif
