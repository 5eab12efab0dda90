/*
 * listen.c - the listening socket the master keeps for its whole life and
 * every worker inherits: handed over by systemd (socket activation), or
 * bound here from --host and --port, with one message that says what to do
 * when it cannot be.
 */
#define _GNU_SOURCE
#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "notify.h"

/* "127.0.0.1:3000" or "[::1]:3000": with --port 0, or a socket from
 * systemd, the port is only known from the socket; a script reads it here. */
static void describe_socket(int fd, char *where, size_t wherelen) {
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  char host[INET6_ADDRSTRLEN];

  if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
    return;
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, host, sizeof host);
    snprintf(where, wherelen, "[%s]:%u", host, ntohs(a->sin6_port));
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    uv_ip4_name(a, host, sizeof host);
    snprintf(where, wherelen, "%s:%u", host, ntohs(a->sin_port));
  }
}

/* EXIT_OK, EXIT_USAGE when --host is no address, or EXIT_RUNTIME. */
static int bind_socket(const struct config *cfg, int *fd_out, char *where,
                       size_t wherelen) {
  struct addrinfo hints, *ai = NULL;
  char port[16];
  int fd, one = 1, rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
  snprintf(where, wherelen, "%s:%s", cfg->host, port);
  if ((rc = getaddrinfo(cfg->host, port, &hints, &ai)) != 0) {
    fprintf(stderr,
            "mchost: --host '%s': %s (give an address such as "
            "0.0.0.0, 127.0.0.1 or ::)\n",
            cfg->host, gai_strerror(rc));
    /* A name that could not be looked up now may resolve later. */
    return rc == EAI_AGAIN || rc == EAI_SYSTEM || rc == EAI_MEMORY
               ? EXIT_RUNTIME
               : EXIT_USAGE;
  }
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    fprintf(stderr, "mchost: cannot create a socket: %s\n", strerror(errno));
    freeaddrinfo(ai);
    return EXIT_RUNTIME;
  }
  /* Lets a restarted mchost bind at once while old connections sit in
   * TIME_WAIT; it does not let two servers share the port. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    const char *hint =
        e == EADDRINUSE ? " (another server has it: stop it or pick another "
                          "--port)"
        : e == EACCES   ? " (ports below 1024 need root or "
                          "CAP_NET_BIND_SERVICE: pick a --port above 1023)"
        : e == EADDRNOTAVAIL ? " (is --host an address of this machine?)"
                             : "";
    fprintf(stderr, "mchost: cannot listen on %s: %s%s\n", where,
            e == EADDRINUSE ? "address already in use" : strerror(e), hint);
    close(fd);
    freeaddrinfo(ai);
    return EXIT_RUNTIME;
  }
  freeaddrinfo(ai);
  *fd_out = fd;
  describe_socket(fd, where, wherelen);
  return EXIT_OK;
}

int listen_open(const struct config *cfg, int *fd, char *where,
                size_t wherelen) {
  char err[256];
  /* Under systemd socket activation the socket comes ready-made, and
   * --host / --port are the .socket unit's business. */
  switch (listen_fds_take(fd, err, sizeof err)) {
  case 1:
    describe_socket(*fd, where, wherelen);
    return EXIT_OK;
  case 0:
    return bind_socket(cfg, fd, where, wherelen);
  default:
    fprintf(stderr, "mchost: socket activation: %s\n", err);
    return EXIT_USAGE;
  }
}
