/*
 * notify.c - systemd's notification protocol (Type=notify).
 *
 * Written by hand instead of linking libsystemd: the protocol is a few
 * documented, stable lines (sd_notify(3)), and libsystemd
 * would be one more runtime dependency for every user of mchost, including
 * those on non-systemd systems and in containers, where the call must
 * quietly do nothing. The behaviour is the same as sd_notify() for what
 * mchost needs: one datagram per call. Socket activation is activation.c.
 */
#define _GNU_SOURCE
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Big enough for READY, STATUS and MAINPID together; systemd itself reads
 * at most a page per datagram. */
#define NOTIFY_MAX 1024

int notify_send(const char *fmt, ...) {
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa;
  socklen_t salen;
  char msg[NOTIFY_MAX];
  size_t plen;
  va_list ap;
  ssize_t sent;
  int fd, n, e;

  if (path == NULL || path[0] == '\0')
    return 0;
  /* A path, or '@' for Linux's abstract namespace (systemd's own form).
   * Newer systemd may also give "vsock:..." to a VM; mchost runs on the
   * host side of that, where it is never set. */
  if (path[0] != '/' && path[0] != '@')
    return -EAFNOSUPPORT;
  plen = strlen(path);
  if (plen > sizeof sa.sun_path)
    return -ENAMETOOLONG;

  va_start(ap, fmt);
  n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Half a message could say READY=1 without its STATUS: send none. */
  if (n < 0 || (size_t)n >= sizeof msg)
    return -ENAMETOOLONG;

  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, plen);
  if (path[0] == '@')
    sa.sun_path[0] = '\0';
  /* Exact length: an abstract name is not NUL-terminated, and trailing
   * zeros would make it another name. */
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);

  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  /* No SCM_CREDENTIALS needed: systemd sets SO_PASSCRED on its end, so the
   * kernel attaches our pid, which NotifyAccess=main checks. */
  sent =
      sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  e = errno;
  close(fd);
  if (sent < 0)
    return -e;
  return 1;
}
