/*
 * activation.c - systemd socket activation: the listening sockets a
 * .socket unit opened and passed to mchost ($LISTEN_PID, $LISTEN_FDS,
 * from fd 3 on; sd_listen_fds(3)).
 *
 * Written by hand instead of linking libsystemd, as notify.c is: the
 * protocol is two variables and a range of fds, and mchost must run
 * without libsystemd where there is no systemd (containers).
 */
#define _GNU_SOURCE
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* sd-daemon.h's SD_LISTEN_FDS_START: passed fds start right after stdio. */
#define ACTIVATION_FDS_START 3

/* Removes what socket activation put in the environment. Workers are
 * started with the master's environment: a worker that saw LISTEN_PID and
 * LISTEN_FDS (or a plugin using libsystemd) would take fd 3 for its own. */
static void env_clear(void) {
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

/* Checks that `fd` is something workers can accept HTTP connections on:
 * a listening stream socket, TCP or Unix-domain. */
static int check_fd(int fd, char *err, size_t errlen) {
  struct stat st;
  int type = 0, listening = 0, domain = 0;
  socklen_t len;

  if (fstat(fd, &st) != 0) {
    snprintf(err, errlen, "fd %d is not open (%s)", fd, strerror(errno));
    return -1;
  }
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errlen, "fd %d is not a socket", fd);
    return -1;
  }
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      type != SOCK_STREAM) {
    snprintf(err, errlen,
             "fd %d is not a stream socket (use ListenStream= in the "
             ".socket unit)",
             fd);
    return -1;
  }
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
      !listening) {
    snprintf(err, errlen,
             "fd %d is not listening (the .socket unit must have "
             "Accept=no, the default)",
             fd);
    return -1;
  }
  len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
      (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX)) {
    snprintf(err, errlen,
             "fd %d is neither a TCP nor a Unix socket (give "
             "ListenStream= a port, an address:port or a path)",
             fd);
    return -1;
  }
  return 0;
}

int activation_take(int *fds, unsigned max, char *err, size_t errlen) {
  const char *pid_s = getenv("LISTEN_PID");
  const char *fds_s = getenv("LISTEN_FDS");
  long pid, nfds;

  if (pid_s == NULL) {
    env_clear();
    return 0;
  }
  pid = parse_count(pid_s);
  if (pid < 0) {
    snprintf(err, errlen, "LISTEN_PID='%s' is not a pid", pid_s);
    env_clear(); /* pid_s points into the environment: used above */
    return -1;
  }
  /* The variables are inherited: if they name another process, they were
   * meant for an ancestor (a shell started from the service, say). */
  if (pid != (long)getpid()) {
    env_clear();
    return 0;
  }
  nfds = parse_count(fds_s);
  if (nfds < 0) {
    snprintf(err, errlen, "LISTEN_FDS='%s' is not a number of sockets",
             fds_s != NULL ? fds_s : "");
    env_clear(); /* fds_s points into the environment: used above */
    return -1;
  }
  env_clear();
  if (nfds > (long)max) {
    snprintf(err, errlen,
             "%ld sockets passed; mchost serves at most %u (fewer "
             "ListenStream= lines in the .socket unit)",
             nfds, max);
    return -1;
  }
  for (int i = 0; i < (int)nfds; i++) {
    int fd = ACTIVATION_FDS_START + i, flags;
    if (check_fd(fd, err, errlen) != 0)
      return -1;
    /* systemd passes the fds blocking and inheritable. Workers need them
     * non-blocking (they accept in a loop until EAGAIN) and receive them
     * explicitly from uv_spawn(), so nothing else should inherit them. */
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
      snprintf(err, errlen, "fd %d: %s", fd, strerror(errno));
      return -1;
    }
    fds[i] = fd;
  }
  return (int)nfds;
}
