/* forwarded.h - trusted proxies (--trusted-proxies) and what their
 * forwarding headers say about the client: X-Forwarded-For, X-Real-IP and
 * X-Forwarded-Proto, or Forwarded (RFC 7239). */
#ifndef MCHOST_FORWARDED_H
#define MCHOST_FORWARDED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Entries of --trusted-proxies, all occurrences together. */
#define FORWARDED_TRUST_MAX 64
/* The longest X-Request-Id taken from a trusted proxy (Heroku's bound). */
#define FORWARDED_ID_MAX 200
/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" and its NUL. */
#define FORWARDED_ADDR_LEN 46

/* An IP address: AF_INET (the first 4 bytes) or AF_INET6. */
struct fwd_addr {
  int family;
  unsigned char b[16];
};

struct fwd_cidr {
  unsigned char family, bits;
  unsigned char b[16];
};

struct trusted_proxies {
  unsigned n;
  int unix_peers; /* "unix": peers on a Unix-domain socket */
  struct fwd_cidr v[FORWARDED_TRUST_MAX];
};

/* Which header names the client (--client-header). */
enum forwarded_kind {
  FORWARDED_XFF = 0, /* X-Forwarded-For, scheme from X-Forwarded-Proto */
  FORWARDED_RFC7239, /* Forwarded: for= and proto= */
  FORWARDED_REAL_IP  /* X-Real-IP, scheme from X-Forwarded-Proto */
};

/* Adds the comma-separated addresses, CIDRs ("10.0.0.0/8", "fd00::/8") and
 * the word "unix" in `list` to t. Returns 0, -EINVAL (an entry is none of
 * those) or -ERANGE (more than FORWARDED_TRUST_MAX entries). Host bits
 * under a prefix are ignored, as nginx does. */
int forwarded_add_trusted(struct trusted_proxies *t, const char *list);

/* "X-Forwarded-For", "Forwarded" or "X-Real-IP" (any case) into *out (an
 * enum forwarded_kind). Returns 0 or -EINVAL. */
int forwarded_parse_kind(const char *s, uint64_t *out);

/* The header's name: "X-Forwarded-For", "Forwarded" or "X-Real-IP". */
const char *forwarded_kind_header(enum forwarded_kind kind);

/* The address and port of an AF_INET or AF_INET6 socket address. Returns 0,
 * or -EAFNOSUPPORT for any other family. */
int forwarded_addr_of(const struct sockaddr *sa, struct fwd_addr *a, int *port);

/* "192.0.2.1", "2001:db8::1" into out (FORWARDED_ADDR_LEN bytes). */
void forwarded_addr_name(const struct fwd_addr *a, char *out);

/* 1 when t holds a (an IPv4-mapped IPv6 address counts as its IPv4
 * address), else 0. */
int forwarded_trusts(const struct trusted_proxies *t, const struct fwd_addr *a);

/* 1 when s is a request ID worth taking from a proxy: 1 to
 * FORWARDED_ID_MAX characters, each a token character (RFC 9110) or one of
 * "/=:@"; nothing that a log line would have to escape. */
int forwarded_id_ok(const char *s);

/*
 * The walk over the hops that the proxies appended, in the order received,
 * which finds the rightmost hop that is not a trusted proxy: everything to
 * its left was written by the client or by proxies nobody vouches for.
 * When every hop is trusted, the leftmost one is the client. A hop that
 * names no address (malformed, "unknown", an obfuscated "_name", an element
 * without for=) stops the walk: what lies left of it cannot be checked, so
 * the client is the nearest trusted address to its right (the peer, if
 * none). Needs no memory per hop: fields of any length and number.
 */
enum forwarded_scheme { SCHEME_NONE = 0, SCHEME_HTTP, SCHEME_HTTPS };

struct forwarded_walk {
  const struct trusted_proxies *t;
  int state;            /* see forwarded.c */
  unsigned hops;        /* hops seen */
  unsigned client_hop;  /* index of the client's hop */
  struct fwd_addr addr; /* the client, when found */
  int port;             /* 0 when the hop gave none */
  int scheme;           /* Forwarded: proto= of the client's element */
  unsigned protos;      /* X-Forwarded-Proto elements seen */
  int proto_at_client;  /* the one at client_hop */
  int proto_last;       /* the rightmost one */
};

void forwarded_walk_init(struct forwarded_walk *fw,
                         const struct trusted_proxies *t);

/* One X-Forwarded-For or X-Real-IP field: "client, proxy1, proxy2"; hops
 * may carry a port ("192.0.2.1:4711", "[2001:db8::1]:4711"). */
void forwarded_walk_xff(struct forwarded_walk *fw, const char *value);

/* One Forwarded field: "for=192.0.2.60;proto=http, for=\"[2001:db8::1]\"". */
void forwarded_walk_rfc7239(struct forwarded_walk *fw, const char *value);

/* One X-Forwarded-Proto field, after every X-Forwarded-For field: with as
 * many elements as hops, the one at the client's hop counts, else the
 * rightmost. */
void forwarded_walk_proto(struct forwarded_walk *fw, const char *value);

/* 1 with the client's address in out (FORWARDED_ADDR_LEN bytes) and its
 * port (0: none given) when the hops named one, else 0. */
int forwarded_walk_client(const struct forwarded_walk *fw, char *out,
                          int *port);

/* "http" or "https" as the headers say, or NULL when they say nothing. */
const char *forwarded_walk_scheme(const struct forwarded_walk *fw);

#endif
