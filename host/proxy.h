/* proxy.h - the PROXY protocol header (HAProxy's spec, v1 text and v2
 * binary) that a proxy sends before anything else on a connection. */
#ifndef MCHOST_PROXY_H
#define MCHOST_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest v1 header, CRLF included (the spec's own bound). */
#define PROXY_V1_MAX 107
/* The largest v2 length field taken: the address block and TLVs (SSL
 * details, cloud endpoint IDs) fit many times over. */
#define PROXY_V2_MAX_LEN 4096

struct proxy_header {
  int has_addr; /* 0: LOCAL, UNKNOWN, AF_UNSPEC, AF_UNIX or UDP: the proxy
                   names no TCP client; the socket's peer stays the client */
  int ssl;      /* v2 PP2_TYPE_SSL says the client spoke TLS to the proxy */
  struct sockaddr_storage src; /* AF_INET or AF_INET6 when has_addr */
};

/* Reads a PROXY header at the start of buf[0..len), which may hold only a
 * part of it (call again with more) and may go on with the bytes that
 * follow it. Returns the header's length (> 0) with *out filled, 0 when
 * the bytes so far are a valid beginning but the header is not complete,
 * or -EPROTO when they cannot be one (*why then says why, a constant
 * string). Reads nothing past buf[len) and allocates nothing. */
int proxy_parse(const void *buf, size_t len, struct proxy_header *out,
                const char **why);

#endif
