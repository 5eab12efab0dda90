/* listen.h - the master's listening socket (listen.c). */
#ifndef MCHOST_LISTEN_H
#define MCHOST_LISTEN_H

#include <stddef.h>

#include "config.h"

/* Takes the socket systemd passed, or binds cfg->host:cfg->port (backlog
 * 4096, SO_REUSEADDR, non-blocking, close-on-exec). On success *fd is the
 * listening socket, where says "127.0.0.1:3000" or "[::1]:3000" (the real
 * port even with --port 0), and EXIT_OK is returned; otherwise one message
 * is printed to stderr and the exit code to end with is returned. */
int listen_open(const struct config *cfg, int *fd, char *where,
                size_t wherelen);

#endif
