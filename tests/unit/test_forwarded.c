/*
 * test_forwarded.c - --trusted-proxies and the forwarding headers
 * (host/forwarded.c): CIDR lists, the walk to the rightmost hop that is
 * not a trusted proxy over X-Forwarded-For and Forwarded (RFC 7239), the
 * scheme, request IDs; and the forged, malformed and obfuscated hops that
 * must never let a client choose its own address.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "forwarded.h"

static struct trusted_proxies T;

static void trust(const char *list) {
  memset(&T, 0, sizeof T);
  cr_assert_eq(forwarded_add_trusted(&T, list), 0, "refused: %s", list);
}

static struct fwd_addr addr(const char *text) {
  struct fwd_addr a;
  a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
  cr_assert_eq(inet_pton(a.family, text, a.b), 1, "%s", text);
  return a;
}

static int trusts(const char *text) {
  struct fwd_addr a = addr(text);
  return forwarded_trusts(&T, &a);
}

/* The client the given fields name, as "addr port" or "peer" when they
 * name none; kind 'x' X-Forwarded-For, 'f' Forwarded. */
static const char *walk(int kind, const char *const *fields) {
  static char out[80];
  char name[FORWARDED_ADDR_LEN];
  struct forwarded_walk fw;
  int port;
  forwarded_walk_init(&fw, &T);
  for (; *fields != NULL; fields++)
    (kind == 'x' ? forwarded_walk_xff : forwarded_walk_rfc7239)(&fw, *fields);
  if (!forwarded_walk_client(&fw, name, &port))
    return "peer";
  snprintf(out, sizeof out, "%s %d", name, port);
  return out;
}

#define XFF(...) walk('x', (const char *const[]){__VA_ARGS__, NULL})
#define FWD(...) walk('f', (const char *const[]){__VA_ARGS__, NULL})

/* ---- the list ---- */

Test(forwarded, addresses_and_cidrs_of_both_families_are_trusted) {
  trust("10.0.0.0/8, 192.168.1.7,fd00::/8 , ::1,172.16.0.0/12");
  cr_expect_eq(T.n, 5);
  cr_expect(trusts("10.255.1.1"));
  cr_expect(trusts("192.168.1.7"));
  cr_expect(trusts("fd12:3456::1"));
  cr_expect(trusts("::1"));
  cr_expect(trusts("172.31.255.255"), "a prefix that is no multiple of 8");
  cr_expect_not(trusts("172.32.0.0"));
  cr_expect_not(trusts("11.0.0.1"));
  cr_expect_not(trusts("192.168.1.8"));
  cr_expect_not(trusts("fe80::1"));
  cr_expect_not(trusts("::2"));
  cr_expect_not(trusts("127.0.0.1"));
}

Test(forwarded, ipv4_mapped_peers_match_ipv4_entries) {
  trust("10.0.0.0/8,::ffff:192.0.2.0/120");
  cr_expect(trusts("::ffff:10.1.2.3"), "a dual-stack socket's IPv4 client");
  cr_expect(trusts("192.0.2.200"), "a mapped entry matches IPv4 peers");
  cr_expect_not(trusts("::ffff:11.1.2.3"));
  cr_expect_not(trusts("::10.1.2.3"), "IPv4-compatible is not mapped");
}

Test(forwarded, host_bits_and_zero_prefixes) {
  trust("10.1.2.3/8");
  cr_expect(trusts("10.200.0.1"), "host bits under the prefix are ignored");
  trust("0.0.0.0/0");
  cr_expect(trusts("203.0.113.1"));
  cr_expect_not(trusts("2001:db8::1"), "an IPv4 /0 is not every IPv6");
  trust("::/0,2001:db8::1/127");
  cr_expect(trusts("2001:db8::1"));
  cr_expect_eq(T.v[1].bits, 127);
}

Test(forwarded, unix_is_a_word_of_the_list) {
  trust("UNIX");
  cr_expect_eq(T.unix_peers, 1);
  cr_expect_eq(T.n, 0);
}

Test(forwarded, bad_lists_are_refused) {
  static const char *const bad[] = {
      "",          "10.0.0.0/33", "::/129",     "10.0.0.1,",
      ",10.0.0.1", "1.2.3.4/",    "/8",         "localhost",
      "10.0.0",    "1.2.3.4/8x",  "1.2.3.4/-1", "1.2.3.4 5.6.7.8",
      "[::1]",     "1.2.3.4/0008"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct trusted_proxies t;
    memset(&t, 0, sizeof t);
    cr_expect_eq(forwarded_add_trusted(&t, bad[i]), -EINVAL, "accepted [%s]",
                 bad[i]);
  }
}

Test(forwarded, more_than_64_entries_are_refused) {
  struct trusted_proxies t;
  memset(&t, 0, sizeof t);
  for (int i = 0; i < FORWARDED_TRUST_MAX; i++)
    cr_assert_eq(forwarded_add_trusted(&t, "10.0.0.1"), 0);
  cr_expect_eq(forwarded_add_trusted(&t, "10.0.0.1"), -ERANGE);
}

Test(forwarded, header_names_any_case) {
  uint64_t k = 9;
  cr_expect_eq(forwarded_parse_kind("x-forwarded-for", &k), 0);
  cr_expect_eq(k, FORWARDED_XFF);
  cr_expect_eq(forwarded_parse_kind("FORWARDED", &k), 0);
  cr_expect_eq(k, FORWARDED_RFC7239);
  cr_expect_eq(forwarded_parse_kind("X-Real-Ip", &k), 0);
  cr_expect_eq(k, FORWARDED_REAL_IP);
  cr_expect_eq(forwarded_parse_kind("X-Client-IP", &k), -EINVAL);
}

/* ---- X-Forwarded-For ---- */

Test(forwarded, xff_one_hop_is_the_client) {
  trust("10.0.0.0/8");
  cr_expect_str_eq(XFF("203.0.113.9"), "203.0.113.9 0");
  cr_expect_str_eq(XFF("  203.0.113.9\t"), "203.0.113.9 0");
  cr_expect_str_eq(XFF("203.0.113.9:4711"), "203.0.113.9 4711");
}

Test(forwarded, xff_chains_give_the_rightmost_untrusted_hop) {
  trust("10.0.0.0/8");
  cr_expect_str_eq(XFF("198.51.100.1, 10.0.0.2, 10.0.0.3"), "198.51.100.1 0");
  /* the client forged the hops left of its own address */
  cr_expect_str_eq(XFF("6.6.6.6, 7.7.7.7, 198.51.100.1, 10.0.0.2"),
                   "198.51.100.1 0");
  cr_expect_str_eq(XFF("10.9.9.9, 198.51.100.1"), "198.51.100.1 0");
  /* all trusted: the leftmost, as nginx's real_ip_recursive */
  cr_expect_str_eq(XFF("10.0.0.5, 10.0.0.6"), "10.0.0.5 0");
  /* several fields are one list, in order */
  cr_expect_str_eq(XFF("6.6.6.6, 198.51.100.1", "10.0.0.2", "10.0.0.3"),
                   "198.51.100.1 0");
  cr_expect_str_eq(XFF("198.51.100.1", "203.0.113.5"), "203.0.113.5 0");
  cr_expect_str_eq(XFF("198.51.100.1,,  ,10.0.0.2"), "198.51.100.1 0",
                   "empty list elements do not count");
}

Test(forwarded, xff_ipv6_hops_bare_or_bracketed) {
  trust("10.0.0.0/8,fd00::/8");
  cr_expect_str_eq(XFF("2001:db8::1"), "2001:db8::1 0");
  cr_expect_str_eq(XFF("[2001:db8::1]"), "2001:db8::1 0");
  cr_expect_str_eq(XFF("[2001:db8::1]:8443, fd00::7"), "2001:db8::1 8443");
  cr_expect_str_eq(XFF("2001:DB8:0:0:0:0:0:1"), "2001:db8::1 0",
                   "named in its short form");
  cr_expect_str_eq(XFF("::ffff:198.51.100.1"), "::ffff:198.51.100.1 0");
}

Test(forwarded, xff_hops_without_an_address_stop_the_walk) {
  trust("10.0.0.0/8");
  /* the client cannot get past a hop nobody can check */
  cr_expect_str_eq(XFF("6.6.6.6, unknown, 10.0.0.2"), "10.0.0.2 0");
  cr_expect_str_eq(XFF("6.6.6.6, garbage"), "peer");
  cr_expect_str_eq(XFF("unknown"), "peer");
  cr_expect_str_eq(XFF("6.6.6.6, 1.2.3.4:99999, 10.0.0.2"), "10.0.0.2 0");
  cr_expect_str_eq(XFF("6.6.6.6, [2001:db8::1, 10.0.0.2"), "10.0.0.2 0");
  cr_expect_str_eq(XFF("6.6.6.6, 1.2.3.4.5, 10.0.0.2"), "10.0.0.2 0");
  cr_expect_str_eq(XFF("6.6.6.6, 1.2.3.4 5.6.7.8"), "peer");
  char longhop[300];
  memset(longhop, '1', sizeof longhop - 1);
  longhop[sizeof longhop - 1] = '\0';
  cr_expect_str_eq(XFF("6.6.6.6", longhop, "10.0.0.2"), "10.0.0.2 0");
  /* ...but a later good hop is the client again */
  cr_expect_str_eq(XFF("unknown, 198.51.100.1, 10.0.0.2"), "198.51.100.1 0");
}

Test(forwarded, xff_proto_follows_the_clients_hop) {
  struct forwarded_walk fw;
  trust("10.0.0.0/8");
  forwarded_walk_init(&fw, &T);
  forwarded_walk_xff(&fw, "198.51.100.1, 10.0.0.2");
  forwarded_walk_proto(&fw, "https, http");
  cr_expect_str_eq(forwarded_walk_scheme(&fw), "https");
  forwarded_walk_init(&fw, &T);
  forwarded_walk_xff(&fw, "198.51.100.1, 10.0.0.2");
  forwarded_walk_proto(&fw, "HTTPS");
  cr_expect_str_eq(forwarded_walk_scheme(&fw), "https",
                   "counts differ: the rightmost");
  forwarded_walk_init(&fw, &T);
  forwarded_walk_proto(&fw, "https");
  cr_expect_str_eq(forwarded_walk_scheme(&fw), "https", "without any XFF");
  forwarded_walk_init(&fw, &T);
  forwarded_walk_proto(&fw, "gopher");
  cr_expect_null(forwarded_walk_scheme(&fw));
  forwarded_walk_init(&fw, &T);
  cr_expect_null(forwarded_walk_scheme(&fw), "nothing said");
}

/* ---- Forwarded ---- */

Test(forwarded, rfc7239_examples) {
  trust("10.0.0.0/8,203.0.113.43");
  cr_expect_str_eq(FWD("for=\"_gazonk\""), "peer");
  cr_expect_str_eq(FWD("For=\"[2001:db8:cafe::17]:4711\""),
                   "2001:db8:cafe::17 4711");
  cr_expect_str_eq(FWD("for=192.0.2.60;proto=http;by=203.0.113.43"),
                   "192.0.2.60 0");
  cr_expect_str_eq(FWD("for=192.0.2.43, for=198.51.100.17"), "198.51.100.17 0");
  cr_expect_str_eq(FWD("for=192.0.2.43, for=\"[2001:db8:cafe::17]\", "
                       "for=unknown"),
                   "peer");
}

Test(forwarded, rfc7239_chains_casing_and_spaces) {
  trust("10.0.0.0/8");
  cr_expect_str_eq(FWD("for=6.6.6.6, for=198.51.100.1;proto=https, "
                       "for=10.0.0.2"),
                   "198.51.100.1 0");
  cr_expect_str_eq(FWD("for=6.6.6.6", "FOR=198.51.100.1", "fOr=10.0.0.2"),
                   "198.51.100.1 0");
  cr_expect_str_eq(FWD("  for=198.51.100.1 ;  by=10.0.0.1 , for=10.0.0.2 "),
                   "198.51.100.1 0");
  cr_expect_str_eq(FWD("for=\"198.51.100.1:8080\""), "198.51.100.1 8080");
  cr_expect_str_eq(FWD("for=\"198.51.100.1:_p1\""), "198.51.100.1 0",
                   "an obfuscated port says nothing");
  cr_expect_str_eq(FWD("for=\"\\1\\98.51.100.1\""), "198.51.100.1 0",
                   "quoted-pair");
  cr_expect_str_eq(FWD("proto=https;for=198.51.100.1;host=\"a,b;c\""),
                   "198.51.100.1 0", "separators inside quotes");
}

Test(forwarded, rfc7239_elements_without_an_address_stop_the_walk) {
  trust("10.0.0.0/8");
  cr_expect_str_eq(FWD("for=6.6.6.6, for=_hidden, for=10.0.0.2"), "10.0.0.2 0");
  cr_expect_str_eq(FWD("for=6.6.6.6, by=10.0.0.1, for=10.0.0.2"), "10.0.0.2 0",
                   "an element without for=");
  cr_expect_str_eq(FWD("for=6.6.6.6;for=198.51.100.1, for=10.0.0.2"),
                   "10.0.0.2 0", "two for= in one element");
  cr_expect_str_eq(FWD("for = 6.6.6.6"), "peer", "spaces around =");
  cr_expect_str_eq(FWD("for=6.6.6.6, for=\"198.51.100.1"), "peer",
                   "an unclosed quote");
  cr_expect_str_eq(FWD("for=6.6.6.6", "for=[::1]", "for=10.0.0.2"),
                   "10.0.0.2 0", "an IPv6 address must be quoted");
  cr_expect_str_eq(FWD("for=6.6.6.6 for=7.7.7.7"), "peer");
}

Test(forwarded, rfc7239_proto_comes_from_the_clients_element) {
  struct forwarded_walk fw;
  trust("10.0.0.0/8");
  forwarded_walk_init(&fw, &T);
  forwarded_walk_rfc7239(
      &fw, "for=198.51.100.1;proto=HTTPS, for=10.0.0.2;proto=http");
  cr_expect_str_eq(forwarded_walk_scheme(&fw), "https");
  forwarded_walk_init(&fw, &T);
  forwarded_walk_rfc7239(&fw, "for=198.51.100.1;proto=https, for=_x");
  cr_expect_null(forwarded_walk_scheme(&fw), "the client is the peer");
}

/* ---- request IDs ---- */

Test(forwarded, request_ids_are_bounded_token_strings) {
  char id[FORWARDED_ID_MAX + 2];
  cr_expect(forwarded_id_ok("f47ac10b-58cc-4372-a567-0e02b2c3d479"));
  cr_expect(forwarded_id_ok("Root=1-67891233-abc/x:y@z"));
  cr_expect_not(forwarded_id_ok(""));
  cr_expect_not(forwarded_id_ok("a b"));
  cr_expect_not(forwarded_id_ok("a\"b"));
  cr_expect_not(forwarded_id_ok("a\\b"));
  cr_expect_not(forwarded_id_ok("a,b"));
  cr_expect_not(forwarded_id_ok("caf\xc3\xa9"));
  memset(id, 'a', sizeof id);
  id[FORWARDED_ID_MAX] = '\0';
  cr_expect(forwarded_id_ok(id));
  id[FORWARDED_ID_MAX] = 'a';
  id[FORWARDED_ID_MAX + 1] = '\0';
  cr_expect_not(forwarded_id_ok(id), "one character too long");
}
