/* client.h - who sent a connection's requests: the socket's peer, what a
 * PROXY protocol header says (--proxy-protocol), or what a trusted proxy's
 * forwarding headers say (--trusted-proxies); and each request's ID. */
#ifndef MCHOST_CLIENT_H
#define MCHOST_CLIENT_H

#include <sys/socket.h>

struct conn;

/* A new connection from `peer`: names it in c->req, and decides whether a
 * PROXY header must come first (c->proxy_wait) and whether the peer's
 * forwarding headers count (c->trusted). Returns 0, or -EACCES when
 * --proxy-protocol refuses the peer (logged; the caller closes). */
int client_start(struct conn *c, const struct sockaddr *peer);

/* c->proxy_wait and input arrived: reads the PROXY header. Returns 0 when
 * it is read (c->rpos is past it), -EAGAIN when more is needed, or -EPROTO
 * when it is refused (logged, and the connection is closing). */
int client_read_proxy(struct conn *c);

/* --header-timeout ran out before the PROXY header was read: logs and
 * closes. No HTTP answer: the peer never spoke HTTP. */
void client_proxy_timeout(struct conn *c);

/* c->trusted: a new request starts from the peer's address and scheme. */
void client_request_begin(struct conn *c);

/* c->trusted: the request's head is complete; its forwarding headers and
 * X-Request-Id name its client, scheme and ID. */
void client_request_headers(struct conn *c);

/* The request's ID: the trusted proxy's X-Request-Id, or one made here on
 * first use (32 hex digits, unique per worker and time: a random number
 * drawn once per worker, then a counter). */
const char *client_request_id(struct conn *c);

#endif
