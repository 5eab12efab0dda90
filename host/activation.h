/* activation.h - systemd socket activation: the listening sockets a
 * .socket unit hands over (activation.c). */
#ifndef MCHOST_ACTIVATION_H
#define MCHOST_ACTIVATION_H

#include <stddef.h>

/* Takes the listening sockets passed by systemd socket activation
 * ($LISTEN_PID, $LISTEN_FDS; fds 3, 4, ... as SD_LISTEN_FDS_START says).
 * Returns:
 *   n > 0  fds[0..n) are the sockets, in the .socket unit's order: each a
 *          listening TCP or Unix-domain stream socket, now O_NONBLOCK and
 *          FD_CLOEXEC; the caller owns them;
 *   0      not socket-activated ($LISTEN_PID unset or another process's,
 *          or $LISTEN_FDS unset or 0): bind as usual;
 *   -1     activated, but with something mchost cannot serve (more than
 *          `max` sockets, a datagram or not-listening socket, a closed fd,
 *          a malformed variable); err holds one message without
 *          "mchost: ".
 * In every case $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES are removed
 * from the environment, so that workers never believe the fds are theirs.
 * Call it once, before binding. */
int activation_take(int *fds, unsigned max, char *err, size_t errlen);

#endif
