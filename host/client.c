/*
 * client.c - who sent a connection's requests, and their IDs.
 *
 * Without --proxy-protocol and --trusted-proxies a connection costs one
 * address formatted at its start and a request nothing: no header is
 * looked at. With them, the PROXY header (proxy.c) is read before any
 * HTTP, and only a connection whose peer is a trusted proxy has its
 * requests' headers read for the client (forwarded.c). Senders outside the
 * list are never believed: their headers reach the plugin as plain
 * headers, and their PROXY headers are refused.
 */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn.h"
#include "forwarded.h"
#include "log.h"
#include "proxy.h"
#include "worker.h"

static int has_trust_list(const struct trusted_proxies *t) {
  return t->n > 0 || t->unix_peers;
}

/* Names sa as the conn's peer, which each request's client starts from
 * (exchange_take()); fills *a when it is an IP address. Returns 1 then. */
static int set_addr(struct conn *c, const struct sockaddr *sa,
                    struct fwd_addr *a) {
  if (forwarded_addr_of(sa, a, &c->peer_port) != 0) {
    /* A Unix-domain socket: its peers have no address (nginx says the
     * same in $remote_addr). */
    snprintf(c->peer_addr, sizeof c->peer_addr, "unix:");
    c->peer_port = 0;
    return 0;
  }
  forwarded_addr_name(a, c->peer_addr);
  return 1;
}

int client_start(struct conn *c, const struct sockaddr *peer) {
  const struct config *cfg = c->w->cfg;
  const struct trusted_proxies *t = &cfg->trusted_proxies;
  struct fwd_addr a;
  int inet = set_addr(c, peer, &a), trusted;

  c->peer_scheme = "http";
  c->proxy_wait = c->trusted = 0;
  if (!cfg->proxy_protocol && !has_trust_list(t))
    return 0;
  trusted = inet ? forwarded_trusts(t, &a)
                 : peer->sa_family == AF_UNIX && t->unix_peers;
  if (cfg->proxy_protocol) {
    /* Without a list every peer must send the header (HAProxy's
     * accept-proxy); with one, only those in it may. */
    if (has_trust_list(t) && !trusted) {
      log_warn("refusing a connection from %s: --proxy-protocol takes "
               "connections only from --trusted-proxies",
               c->peer_addr);
      return -EACCES;
    }
    c->proxy_wait = 1;
    return 0;
  }
  c->trusted = trusted;
  return 0;
}

int client_read_proxy(struct conn *c) {
  const struct trusted_proxies *t = &c->w->cfg->trusted_proxies;
  struct proxy_header h;
  struct fwd_addr a;
  const char *why;
  int n = proxy_parse(c->rbuf + c->rpos, c->rlen - c->rpos, &h, &why);

  if (n == 0)
    return -EAGAIN;
  if (n < 0) {
    log_warn("closing a connection from %s: bad PROXY protocol header (%s)",
             c->peer_addr, why);
    conn_close(c);
    return n;
  }
  c->rpos += (size_t)n;
  c->proxy_wait = 0;
  if (h.ssl)
    c->peer_scheme = "https";
  /* The proxy's own connection (LOCAL, UNKNOWN): its peer, trusted if it
   * had to be to get here. */
  if (!h.has_addr) {
    c->trusted = has_trust_list(t);
  } else {
    set_addr(c, (const struct sockaddr *)&h.src, &a);
    c->trusted = forwarded_trusts(t, &a);
  }
  return 0;
}

void client_proxy_timeout(struct conn *c) {
  log_warn("closing a connection from %s: no PROXY protocol header within "
           "--header-timeout",
           c->peer_addr);
  conn_close(c);
}

void client_request_begin(struct conn *c) {
  memcpy(c->req->remote_addr, c->peer_addr, sizeof c->req->remote_addr);
  c->req->remote_port = c->peer_port;
  c->req->scheme = c->peer_scheme;
}

static int is_name(const char *name, const char *want, size_t len) {
  return strlen(name) == len && strncasecmp(name, want, len) == 0;
}

void client_request_headers(struct conn *c) {
  const struct config *cfg = c->w->cfg;
  const char *client_header = forwarded_kind_header(cfg->client_header);
  const char *id = NULL, *scheme;
  size_t client_len = strlen(client_header);
  mc_request *req = c->req;
  struct forwarded_walk fw;
  int port;

  forwarded_walk_init(&fw, &cfg->trusted_proxies);
  for (size_t i = 0; i < req->nheaders; i++) {
    const char *name = req->headers[i].name, *value = req->headers[i].value;
    if (!is_name(name, client_header, client_len))
      id = is_name(name, "X-Request-Id", 12) ? value : id;
    else if (cfg->client_header == FORWARDED_RFC7239)
      forwarded_walk_rfc7239(&fw, value);
    else
      forwarded_walk_xff(&fw, value);
  }
  /* Second, so that the X-Forwarded-For hop of the client is known. */
  for (size_t i = 0;
       cfg->client_header != FORWARDED_RFC7239 && i < req->nheaders; i++)
    if (is_name(req->headers[i].name, "X-Forwarded-Proto", 17))
      forwarded_walk_proto(&fw, req->headers[i].value);
  if (forwarded_walk_client(&fw, req->remote_addr, &port))
    req->remote_port = port;
  if ((scheme = forwarded_walk_scheme(&fw)) != NULL)
    req->scheme = scheme;
  if (id != NULL && forwarded_id_ok(id))
    memcpy(req->id, id, strlen(id) + 1);
}

/* A random number drawn once per worker process, and a counter: unique
 * without a system call per request. */
static struct {
  uint64_t seed, next;
  int seeded;
} ids;

static void put_hex(char *out, uint64_t v) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, v >>= 4)
    out[i] = hex[v & 15];
}

const char *client_request_id(struct conn *c) {
  char *id = c->req->id;

  if (id[0] != '\0')
    return id;
  if (!ids.seeded) {
    if (uv_random(NULL, NULL, &ids.seed, sizeof ids.seed, 0, NULL) != 0)
      ids.seed = uv_hrtime() ^ (uint64_t)getpid() << 40;
    ids.seeded = 1;
  }
  put_hex(id, ids.seed);
  put_hex(id + 16, ++ids.next);
  id[32] = '\0';
  return id;
}
