/* listen.h - the master's listening sockets (listen.c): --host/--port,
 * --listen (TCP and Unix-domain) or systemd's (activation.h). */
#ifndef MCHOST_LISTEN_H
#define MCHOST_LISTEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* Listening sockets at most, --host/--port and every --listen together
 * (or the sockets systemd passes). */
#define LISTEN_MAX 16

struct listener {
  int fd;         /* -1 once closed */
  char path[108]; /* a Unix socket file this process made, "" otherwise */
  dev_t dev;      /* that file, so that only it is removed */
  ino_t ino;
};

struct listeners {
  unsigned n;
  struct listener v[LISTEN_MAX];
  /* "http://127.0.0.1:3000, unix:/run/mchost.sock": the real ports, even
   * with port 0 or sockets from systemd */
  char where[1024];
};

/* A --listen value: "ADDR:PORT" (numeric IPv4), "[IPv6]:PORT" or
 * "unix:PATH". Returns 0, -EINVAL, or -ENAMETOOLONG (a path longer than a
 * Unix socket address holds). Prints nothing. */
int listen_parse_spec(const char *spec);

/* A --socket-mode value: octal permission bits, 1 to 0777 ("0660",
 * "660"). Returns 0, -EINVAL or -ERANGE. Prints nothing. */
int listen_parse_mode(const char *s, uint64_t *out);

/* Opens every listening socket: the ones systemd passed, if any (then
 * --host, --port and --listen are the .socket unit's business); else each
 * --listen, and --host:--port when no --listen is given or when --host or
 * --port is given as well. TCP sockets: backlog 4096, SO_REUSEADDR,
 * --defer-accept, an IPv6 --listen address IPv6-only (as nginx does). A unix:
 * path left behind by a process that is gone (nothing answers on it) is
 * replaced; one where a server answers is "address already in use".
 * --socket-mode is applied before the socket listens. All non-blocking and
 * close-on-exec. Returns EXIT_OK, or prints one message to stderr, closes what
 * it opened and returns the exit code to end with. */
int listen_open(const struct config *cfg, struct listeners *ls);

/* Closes the sockets (again: a no-op) and removes the Unix socket files
 * this process made, if they are still the ones it made. */
void listen_close(struct listeners *ls);

#endif
