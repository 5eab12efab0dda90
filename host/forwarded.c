/*
 * forwarded.c - trusted proxies and their forwarding headers.
 *
 * Pure: strings in, results out, nothing allocated. The walk reads the
 * hops left to right, as they arrive, yet finds the rightmost hop that is
 * not a trusted proxy (see forwarded.h): a hop that is not trusted takes
 * over as the client; a trusted one does only while no hop has been taken
 * yet (the leftmost trusted one wins when all are trusted) or right after
 * a hop without an address. That is nginx's real_ip_recursive, except that
 * a hop without an address leaves the nearest trusted one to its right,
 * not the peer.
 */
#include "forwarded.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "token.h"

/* state of a walk */
enum { WALK_START, WALK_SET, WALK_PENDING };

/* The longest hop or CIDR text looked at: "[" IPv6 "]:" port, or more. */
#define HOP_MAX 64

/* s[0..n) trimmed of OWS, NUL-terminated into out (HOP_MAX bytes); -1 if
 * it does not fit. */
static int copy_trimmed(const char *s, size_t n, char *out) {
  const char *e = token_trim_ows(s, s + n);

  s = token_skip_ows_to(s, e);
  n = (size_t)(e - s);
  if (n >= HOP_MAX)
    return -1;
  memcpy(out, s, n);
  out[n] = '\0';
  return 0;
}

/* ---- addresses ---- */

int forwarded_addr_of(const struct sockaddr *sa, struct fwd_addr *a,
                      int *port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    a->family = AF_INET;
    memcpy(a->b, &in->sin_addr, 4);
    *port = ntohs(in->sin_port);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    a->family = AF_INET6;
    memcpy(a->b, &in6->sin6_addr, 16);
    *port = ntohs(in6->sin6_port);
    return 0;
  }
  return -EAFNOSUPPORT;
}

/* IPv4 by hand: inet_ntop() goes through snprintf(), which costs every new
 * connection a few hundred nanoseconds and brings the printf machinery
 * into an otherwise idle worker's memory. */
void forwarded_addr_name(const struct fwd_addr *a, char *out) {
  if (a->family == AF_INET6) {
    inet_ntop(AF_INET6, a->b, out, FORWARDED_ADDR_LEN);
    return;
  }
  for (int i = 0; i < 4; i++) {
    if (a->b[i] >= 100)
      *out++ = (char)('0' + a->b[i] / 100);
    if (a->b[i] >= 10)
      *out++ = (char)('0' + a->b[i] / 10 % 10);
    *out++ = (char)('0' + a->b[i] % 10);
    *out++ = i < 3 ? '.' : '\0';
  }
}

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};

/* An IPv4-mapped IPv6 address ("::ffff:192.0.2.1", what a dual-stack
 * socket shows for an IPv4 client) as the IPv4 address it is. */
static void unmap(struct fwd_addr *a) {
  if (a->family == AF_INET6 && memcmp(a->b, v4mapped, 12) == 0) {
    memmove(a->b, a->b + 12, 4);
    a->family = AF_INET;
  }
}

static int prefix_match(const unsigned char *x, const unsigned char *y,
                        unsigned bits) {
  unsigned whole = bits / 8, rest = bits % 8;
  if (memcmp(x, y, whole) != 0)
    return 0;
  return rest == 0 || ((x[whole] ^ y[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

int forwarded_trusts(const struct trusted_proxies *t,
                     const struct fwd_addr *addr) {
  struct fwd_addr a = *addr;
  unmap(&a);
  for (unsigned i = 0; i < t->n; i++)
    if (t->v[i].family == a.family &&
        prefix_match(t->v[i].b, a.b, t->v[i].bits))
      return 1;
  return 0;
}

/* "192.0.2.1", "2001:db8::1", "10.0.0.0/8", "fd00::/8". */
static int parse_cidr(const char *s, struct fwd_cidr *c) {
  char text[HOP_MAX];
  const char *slash = strchr(s, '/');
  size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
  unsigned max, bits = 0;
  struct fwd_addr a;

  if (n == 0 || n >= sizeof text)
    return -EINVAL;
  memcpy(text, s, n);
  text[n] = '\0';
  a.family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
  if (inet_pton(a.family, text, a.b) != 1)
    return -EINVAL;
  max = a.family == AF_INET ? 32 : 128;
  if (slash == NULL) {
    bits = max;
  } else {
    const char *d = slash + 1;
    if (*d == '\0' || strlen(d) > 3)
      return -EINVAL;
    for (; *d != '\0'; d++) {
      if (*d < '0' || *d > '9')
        return -EINVAL;
      bits = bits * 10 + (unsigned)(*d - '0');
    }
    if (bits > max)
      return -EINVAL;
  }
  /* ::ffff:10.0.0.0/104 is 10.0.0.0/8: matched as unmap() leaves peers */
  if (a.family == AF_INET6 && bits >= 96 && memcmp(a.b, v4mapped, 12) == 0) {
    unmap(&a);
    bits -= 96;
  }
  c->family = (unsigned char)a.family;
  c->bits = (unsigned char)bits;
  memset(c->b, 0, sizeof c->b);
  for (unsigned i = 0; i < bits / 8; i++)
    c->b[i] = a.b[i];
  if (bits % 8)
    c->b[bits / 8] = (unsigned char)(a.b[bits / 8] & (0xff00u >> bits % 8));
  return 0;
}

int forwarded_add_trusted(struct trusted_proxies *t, const char *list) {
  const char *p = list;

  do {
    size_t n = strcspn(p, ",");
    char entry[HOP_MAX];
    if (copy_trimmed(p, n, entry) != 0 || entry[0] == '\0')
      return -EINVAL;
    if (strcasecmp(entry, "unix") == 0) {
      t->unix_peers = 1;
    } else {
      if (t->n == FORWARDED_TRUST_MAX)
        return -ERANGE;
      if (parse_cidr(entry, &t->v[t->n]) != 0)
        return -EINVAL;
      t->n++;
    }
    p += n;
  } while (*p++ == ',');
  return 0;
}

static const char *const kind_names[] = {"X-Forwarded-For", "Forwarded",
                                         "X-Real-IP"};

int forwarded_parse_kind(const char *s, uint64_t *out) {
  for (uint64_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
    if (strcasecmp(s, kind_names[i]) == 0)
      return *out = i, 0;
  return -EINVAL;
}

const char *forwarded_kind_header(enum forwarded_kind kind) {
  return kind_names[kind];
}

int forwarded_id_ok(const char *s) {
  size_t n = 0;
  for (; s[n] != '\0'; n++)
    if (n == FORWARDED_ID_MAX ||
        !(token_is_tchar((unsigned char)s[n]) || strchr("/=:@", s[n]) != NULL))
      return 0;
  return n > 0;
}

/* ---- hops ---- */

/* "_abc": an obfuscated port (RFC 7239, 6.3), which says nothing. */
static int parse_port(const char *s, int *port) {
  uint64_t v;
  if (s[0] == '_' && s[1] != '\0') {
    *port = 0;
    return 0;
  }
  if (strlen(s) > 5 || config_parse_uint(s, 0, 65535, &v) != 0)
    return -1;
  *port = (int)v;
  return 0;
}

/* A hop as text (NUL-terminated, trimmed): "192.0.2.1", "192.0.2.1:80",
 * "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80". Returns 0, or -1 when
 * it is no address ("unknown", "_hidden", garbage). */
static int parse_hop(char *s, struct fwd_addr *a, int *port) {
  char *colon;

  *port = 0;
  if (s[0] == '[') {
    char *close = strchr(s, ']');
    if (close == NULL || (close[1] != '\0' && close[1] != ':'))
      return -1;
    *close = '\0';
    if (close[1] == ':' && parse_port(close + 2, port) != 0)
      return -1;
    a->family = AF_INET6;
    return inet_pton(AF_INET6, s + 1, a->b) == 1 ? 0 : -1;
  }
  colon = strchr(s, ':');
  if (colon != NULL && strchr(colon + 1, ':') != NULL) { /* bare IPv6 */
    a->family = AF_INET6;
    return inet_pton(AF_INET6, s, a->b) == 1 ? 0 : -1;
  }
  if (colon != NULL) {
    *colon = '\0';
    if (parse_port(colon + 1, port) != 0)
      return -1;
  }
  a->family = AF_INET;
  return inet_pton(AF_INET, s, a->b) == 1 ? 0 : -1;
}

/* One hop, NULL for one without an address; `scheme` is the proto= of its
 * Forwarded element. */
static void walk_hop(struct forwarded_walk *fw, const struct fwd_addr *a,
                     int port, int scheme) {
  unsigned index = fw->hops++;

  if (a == NULL) {
    fw->state = WALK_PENDING;
    return;
  }
  if (fw->state != WALK_SET || !forwarded_trusts(fw->t, a)) {
    fw->state = WALK_SET;
    fw->addr = *a;
    fw->port = port;
    fw->scheme = scheme;
    fw->client_hop = index;
  }
}

void forwarded_walk_init(struct forwarded_walk *fw,
                         const struct trusted_proxies *t) {
  memset(fw, 0, sizeof *fw);
  fw->t = t;
  fw->state = WALK_START;
}

void forwarded_walk_xff(struct forwarded_walk *fw, const char *value) {
  const char *p = value;

  do {
    size_t n = strcspn(p, ",");
    char hop[HOP_MAX];
    struct fwd_addr a;
    int port = 0, ok = copy_trimmed(p, n, hop) == 0;
    /* empty list elements do not count */
    if (!ok || hop[0] != '\0') {
      ok = ok && parse_hop(hop, &a, &port) == 0;
      walk_hop(fw, ok ? &a : NULL, port, SCHEME_NONE);
    }
    p += n;
  } while (*p++ == ',');
}

static int scheme_of(const char *s) {
  if (strcasecmp(s, "http") == 0)
    return SCHEME_HTTP;
  if (strcasecmp(s, "https") == 0)
    return SCHEME_HTTPS;
  return SCHEME_NONE;
}

void forwarded_walk_proto(struct forwarded_walk *fw, const char *value) {
  const char *p = value;

  do {
    size_t n = strcspn(p, ",");
    char proto[HOP_MAX];
    int too_long = copy_trimmed(p, n, proto) != 0;
    if (too_long || proto[0] != '\0') { /* empty elements do not count */
      int s = too_long ? SCHEME_NONE : scheme_of(proto);
      if (fw->protos++ == fw->client_hop)
        fw->proto_at_client = s;
      fw->proto_last = s;
    }
    p += n;
  } while (*p++ == ',');
}

/* ---- Forwarded (RFC 7239) ---- */

/* A parameter's value at *p: a token, or a quoted-string (unquoted into
 * out, HOP_MAX bytes). Returns 0, or -1 when it is malformed or too long
 * (then the rest of the field cannot be split into elements). */
static int rfc7239_value(const char **p, char *out) {
  const char *s = *p;
  size_t n = 0;

  if (*s != '"') {
    while (token_is_tchar((unsigned char)*s)) {
      if (n == HOP_MAX - 1)
        return -1;
      out[n++] = *s++;
    }
  } else {
    for (s++; *s != '"'; s++) {
      if (*s == '\\' && s[1] != '\0')
        s++;
      if (*s == '\0' || n == HOP_MAX - 1)
        return -1;
      out[n++] = *s;
    }
    s++;
  }
  out[n] = '\0';
  *p = s;
  return 0;
}

/* One element, "for=...;proto=...;by=...", from *p to its ',' or the end.
 * Returns 0 with *p past it, or -1 when it is malformed. */
static int rfc7239_element(struct forwarded_walk *fw, const char **p) {
  const char *s = *p;
  int has_for = 0, for_ok = 0, port = 0, scheme = SCHEME_NONE, pairs = 0;
  struct fwd_addr a;

  for (;;) {
    const char *name;
    char value[HOP_MAX];
    size_t nlen;
    s = token_skip_ows(s);
    if (*s == ',' || *s == '\0') /* an empty element, or after a ';' */
      break;
    for (name = s; token_is_tchar((unsigned char)*s); s++)
      ;
    nlen = (size_t)(s - name);
    if (nlen == 0 || *s++ != '=' || rfc7239_value(&s, value) != 0)
      return -1;
    pairs++;
    if (nlen == 3 && strncasecmp(name, "for", 3) == 0) {
      /* two for= in one element: which is it? Neither. */
      for_ok = has_for++ == 0 && parse_hop(value, &a, &port) == 0;
    } else if (nlen == 5 && strncasecmp(name, "proto", 5) == 0) {
      scheme = scheme_of(value);
    }
    s = token_skip_ows(s);
    if (*s == ';')
      s++;
    else if (*s != ',' && *s != '\0')
      return -1;
  }
  if (pairs > 0)
    walk_hop(fw, for_ok ? &a : NULL, port, scheme);
  *p = s;
  return 0;
}

void forwarded_walk_rfc7239(struct forwarded_walk *fw, const char *value) {
  const char *p = value;

  for (;;) {
    if (rfc7239_element(fw, &p) != 0) {
      /* Its elements cannot be told apart: one hop without an address. */
      walk_hop(fw, NULL, 0, SCHEME_NONE);
      return;
    }
    if (*p++ != ',')
      return;
  }
}

int forwarded_walk_client(const struct forwarded_walk *fw, char *out,
                          int *port) {
  if (fw->state != WALK_SET)
    return 0;
  forwarded_addr_name(&fw->addr, out);
  *port = fw->port;
  return 1;
}

const char *forwarded_walk_scheme(const struct forwarded_walk *fw) {
  static const char *const names[] = {NULL, "http", "https"};
  int s = fw->state == WALK_SET ? fw->scheme : SCHEME_NONE;

  if (fw->protos > 0)
    s = fw->state == WALK_SET && fw->protos == fw->hops ? fw->proto_at_client
                                                        : fw->proto_last;
  return names[s];
}
