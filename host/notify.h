/*
 * notify.h - running under systemd: readiness notifications (Type=notify).
 *
 * It speaks systemd's documented protocol directly, without libsystemd;
 * notify.c says why. Outside systemd it is a harmless no-op, so the master
 * calls it unconditionally. Socket activation is activation.h.
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

#endif
