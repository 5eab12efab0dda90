/* wshandshake.h - the server's side of the WebSocket opening handshake
 * (RFC 6455, 4.2). */
#ifndef MCHOST_WSHANDSHAKE_H
#define MCHOST_WSHANDSHAKE_H

#include "mchost.h"

/* Sec-WebSocket-Accept's length: base64 of a SHA-1 digest. */
#define WSHANDSHAKE_ACCEPT_LEN 28

/* Checks that req is a valid WebSocket handshake, and writes the
 * Sec-WebSocket-Accept value for it into accept (with a NUL). Returns 0,
 * or the status to refuse it with: 426 for a Sec-WebSocket-Version other
 * than 13 (answer with Sec-WebSocket-Version: 13), 400 for anything else;
 * *why says what was wrong. */
int wshandshake_check(const mc_request *req,
                      char accept[WSHANDSHAKE_ACCEPT_LEN + 1],
                      const char **why);

/* The Sec-WebSocket-Accept value for a Sec-WebSocket-Key. */
void wshandshake_accept(const char *key, size_t len,
                        char accept[WSHANDSHAKE_ACCEPT_LEN + 1]);

#endif
