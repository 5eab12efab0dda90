/*
 * notify.c - systemd's notification and socket activation protocols.
 *
 * Written by hand instead of linking libsystemd: both protocols are a few
 * documented, stable lines (sd_notify(3), sd_listen_fds(3)), and libsystemd
 * would be one more runtime dependency for every user of mchost, including
 * those on non-systemd systems and in containers, where both calls must
 * quietly do nothing. The behaviour is the same as sd_notify() and
 * sd_listen_fds(1) for what mchost needs: one datagram per call, and one
 * inherited listening socket.
 */
#define _GNU_SOURCE
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* sd-daemon.h's SD_LISTEN_FDS_START: passed fds start right after stdio. */
#define LISTEN_FDS_START 3

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

/* Removes what socket activation put in the environment. Workers are
 * started with the master's environment: a worker that saw LISTEN_PID and
 * LISTEN_FDS (or a plugin using libsystemd) would take fd 3 for its own. */
static void listen_env_clear(void) {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
}

/* Parses a whole non-negative decimal number; -1 if `s` is anything else. */
static long parse_count(const char *s) {
  char *end;
  long v;

  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  return v;
}

/* Checks that `fd` is something workers can accept TCP connections on. */
static int listen_fd_check(int fd, char *err, size_t errlen) {
  struct stat st;
  int type = 0, listening = 0, domain = 0;
  socklen_t len;

  if (fstat(fd, &st) != 0) {
    snprintf(err, errlen,
             "socket activation: LISTEN_FDS=1 but fd %d is not open (%s)", fd,
             strerror(errno));
    return -1;
  }
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errlen, "socket activation: fd %d is not a socket", fd);
    return -1;
  }
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      type != SOCK_STREAM) {
    snprintf(err, errlen,
             "socket activation: fd %d is not a stream socket (use "
             "ListenStream= in the .socket unit)",
             fd);
    return -1;
  }
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
      !listening) {
    snprintf(err, errlen,
             "socket activation: fd %d is not listening (the .socket unit "
             "must have Accept=no, the default)",
             fd);
    return -1;
  }
  len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
      (domain != AF_INET && domain != AF_INET6)) {
    snprintf(err, errlen,
             "socket activation: fd %d is not a TCP socket (mchost serves "
             "TCP: give ListenStream= a port or an address:port)",
             fd);
    return -1;
  }
  return 0;
}

int listen_fds_take(int *fd_out, char *err, size_t errlen) {
  const char *pid_s = getenv("LISTEN_PID");
  const char *fds_s = getenv("LISTEN_FDS");
  int fd = LISTEN_FDS_START, flags;
  long pid, nfds;

  if (pid_s == NULL) {
    listen_env_clear();
    return 0;
  }
  pid = parse_count(pid_s);
  if (pid < 0) {
    snprintf(err, errlen, "socket activation: LISTEN_PID='%s' is not a pid",
             pid_s);
    listen_env_clear(); /* pid_s points into the environment: used above */
    return -1;
  }
  /* The variables are inherited: if they name another process, they were
   * meant for an ancestor (a shell started from the service, say). */
  if (pid != (long)getpid()) {
    listen_env_clear();
    return 0;
  }
  nfds = parse_count(fds_s);
  if (nfds < 0) {
    snprintf(err, errlen,
             "socket activation: LISTEN_FDS='%s' is not a number of sockets",
             fds_s != NULL ? fds_s : "");
    listen_env_clear(); /* fds_s points into the environment: used above */
    return -1;
  }
  listen_env_clear();
  if (nfds == 0)
    return 0;
  if (nfds > 1) {
    snprintf(err, errlen,
             "socket activation passed %ld sockets; mchost serves one (give "
             "the .socket unit a single ListenStream=)",
             nfds);
    return -1;
  }
  if (listen_fd_check(fd, err, errlen) != 0)
    return -1;
  /* systemd passes the fd blocking and inheritable. Workers need it
   * non-blocking (they accept in a loop until EAGAIN) and receive it
   * explicitly from uv_spawn(), so nothing else should inherit it. */
  flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    snprintf(err, errlen, "socket activation: fd %d: %s", fd, strerror(errno));
    return -1;
  }
  *fd_out = fd;
  return 1;
}
