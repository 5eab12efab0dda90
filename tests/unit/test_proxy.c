/*
 * test_proxy.c - the PROXY protocol parser (host/proxy.c): v1 and v2 as
 * HAProxy's proxy-protocol.txt writes them, header pieces as TCP may
 * deliver them, and the truncated, oversized and lying headers that must
 * be refused before a byte of HTTP is read.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy.h"

static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                      0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* A v2 header: signature, version/command, family, length, then `body`. */
static size_t v2(unsigned char *out, unsigned ver_cmd, unsigned fam,
                 const void *body, size_t len) {
  memcpy(out, sig, 12);
  out[12] = (unsigned char)ver_cmd;
  out[13] = (unsigned char)fam;
  out[14] = (unsigned char)(len >> 8);
  out[15] = (unsigned char)len;
  if (len > 0)
    memcpy(out + 16, body, len);
  return 16 + len;
}

/* 192.0.2.7:5555 -> 10.0.0.1:80, then `extra` (TLVs). */
static size_t v2_tcp4(unsigned char *out, const void *extra, size_t elen) {
  unsigned char body[256] = {192, 0, 2, 7, 10, 0, 0, 1, 0x15, 0xb3, 0, 80};
  if (elen > 0)
    memcpy(body + 12, extra, elen);
  return v2(out, 0x21, 0x11, body, 12 + elen);
}

static int parse(const void *buf, size_t len, struct proxy_header *h) {
  const char *why;
  int n = proxy_parse(buf, len, h, &why);
  cr_expect(n >= 0 || (why != NULL && why[0] != '\0'),
            "a refusal without a reason");
  return n;
}

static const char *src_name(const struct proxy_header *h, char *out,
                            size_t size) {
  if (h->src.ss_family == AF_INET)
    return inet_ntop(AF_INET, &((const struct sockaddr_in *)&h->src)->sin_addr,
                     out, (socklen_t)size);
  return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&h->src)->sin6_addr,
                   out, (socklen_t)size);
}

static int src_port(const struct proxy_header *h) {
  return ntohs(h->src.ss_family == AF_INET
                   ? ((const struct sockaddr_in *)&h->src)->sin_port
                   : ((const struct sockaddr_in6 *)&h->src)->sin6_port);
}

/* Every strict prefix of a valid header asks for more; the whole one is
 * read, and the bytes after it are left alone. */
static void expect_incremental(const void *hdr, size_t len) {
  unsigned char buf[8192];
  struct proxy_header h;
  memcpy(buf, hdr, len);
  memcpy(buf + len, "GET / HTTP/1.1\r\n", 16);
  for (size_t i = 0; i < len; i++)
    cr_expect_eq(parse(buf, i, &h), 0, "a prefix of %zu of %zu bytes", i, len);
  cr_expect_eq(parse(buf, len, &h), (int)len);
  cr_expect_eq(parse(buf, len + 16, &h), (int)len);
}

/* ---- v1 ---- */

Test(proxy, v1_tcp4_names_the_source) {
  const char *s = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /";
  struct proxy_header h;
  char name[64];
  cr_assert_eq(parse(s, strlen(s), &h), (int)strlen(s) - 5);
  cr_assert(h.has_addr);
  cr_expect_str_eq(src_name(&h, name, sizeof name), "192.0.2.1");
  cr_expect_eq(src_port(&h), 56324);
  cr_expect_eq(h.ssl, 0);
}

Test(proxy, v1_tcp6_names_the_source) {
  const char *s = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
  struct proxy_header h;
  char name[64];
  cr_assert_eq(parse(s, strlen(s), &h), (int)strlen(s));
  cr_assert(h.has_addr);
  cr_expect_eq(h.src.ss_family, AF_INET6);
  cr_expect_str_eq(src_name(&h, name, sizeof name), "2001:db8::1");
  cr_expect_eq(src_port(&h), 65535);
}

Test(proxy, v1_unknown_keeps_the_peer_whatever_follows_it) {
  const char *s[] = {"PROXY UNKNOWN\r\n",
                     "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"};
  struct proxy_header h;
  for (int i = 0; i < 2; i++) {
    cr_expect_eq(parse(s[i], strlen(s[i]), &h), (int)strlen(s[i]), "%s", s[i]);
    cr_expect_eq(h.has_addr, 0);
  }
}

Test(proxy, v1_in_pieces_waits_for_the_whole_line) {
  const char *s = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  cr_assert_eq(strlen(s), 104);
  expect_incremental(s, strlen(s));
}

Test(proxy, v1_of_107_bytes_is_taken_and_longer_is_refused) {
  char s[160];
  struct proxy_header h;
  /* "PROXY UNKNOWN " + padding + CRLF: exactly the spec's 107 */
  memset(s, 'x', sizeof s);
  memcpy(s, "PROXY UNKNOWN ", 14);
  memcpy(s + 105, "\r\n", 2);
  cr_expect_eq(parse(s, 107, &h), 107);
  memcpy(s + 105, "xx\r\n", 4);
  cr_expect_eq(parse(s, 106, &h), 0, "still within the bound");
  cr_expect_eq(parse(s, 107, &h), -EPROTO, "no CRLF within 107 bytes");
  cr_expect_eq(parse(s, 109, &h), -EPROTO);
}

Test(proxy, not_a_proxy_header_is_refused_at_its_first_bytes) {
  struct proxy_header h;
  cr_expect_eq(parse("GET / HTTP/1.1\r\n", 16, &h), -EPROTO);
  cr_expect_eq(parse("G", 1, &h), -EPROTO, "one byte is enough");
  cr_expect_eq(parse("PROXZ", 5, &h), -EPROTO);
  cr_expect_eq(parse("proxy TCP4", 10, &h), -EPROTO, "the keyword's case");
  cr_expect_eq(parse("\r\nGET", 5, &h), -EPROTO, "not the v2 signature");
  cr_expect_eq(parse("", 0, &h), 0, "nothing yet");
}

Test(proxy, v1_lying_or_malformed_lines_are_refused) {
  static const char *const bad[] = {
      "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",     /* family mismatch */
      "PROXY TCP6 192.0.2.1 ::1 1 2\r\n",            /* family mismatch */
      "PROXY TCP4 192.0.2.1 10.0.0.1 65536 80\r\n",  /* port too large */
      "PROXY TCP4 192.0.2.1 10.0.0.1 -1 80\r\n",     /* not a number */
      "PROXY TCP4 192.0.2.1 10.0.0.1 080 80\r\n",    /* leading zero */
      "PROXY TCP4 192.0.2.1 10.0.0.1 80\r\n",        /* a field missing */
      "PROXY TCP4 192.0.2.1 10.0.0.1 1 2 3\r\n",     /* a field too many */
      "PROXY TCP4 192.0.2.1  10.0.0.1 1 2\r\n",      /* two spaces */
      "PROXY TCP4 192.0.2.1 10.0.0.1 1 2 \r\n",      /* a trailing space */
      "PROXY TCP4 192.0.2.1 10.0.0.1 1 2\n",         /* LF without CR */
      "PROXY TCP4 192.0.2.1 10.0.0.1 1 2\r\r\n",     /* CR inside */
      "PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n",     /* not an address */
      "PROXY TCP4 192.0.2 10.0.0.1 1 2\r\n",         /* not an address */
      "PROXY tcp4 192.0.2.1 10.0.0.1 1 2\r\n",       /* the protocol's case */
      "PROXY UDP4 192.0.2.1 10.0.0.1 1 2\r\n",       /* not TCP */
      "PROXY \r\n",                                  /* nothing */
      "PROXY TCP4 192.0.2.1\t10.0.0.1 1 2\r\n",      /* a tab */
      "PROXY UNKNOWN \x01\r\n",                      /* a control byte */
      "PROXY TCP4 192.0.2.1 10.0.0.1 12345678 2\r\n" /* port too long */
  };
  struct proxy_header h;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_expect_eq(parse(bad[i], strlen(bad[i]), &h), -EPROTO, "accepted: %s",
                 bad[i]);
}

/* ---- v2 ---- */

Test(proxy, v2_tcp4_names_the_source) {
  unsigned char buf[512];
  struct proxy_header h;
  char name[64];
  size_t n = v2_tcp4(buf, NULL, 0);
  cr_assert_eq(parse(buf, n, &h), 28);
  cr_assert(h.has_addr);
  cr_expect_str_eq(src_name(&h, name, sizeof name), "192.0.2.7");
  cr_expect_eq(src_port(&h), 5555);
  cr_expect_eq(h.ssl, 0);
}

Test(proxy, v2_tcp6_names_the_source) {
  unsigned char buf[512], body[36] = {0x20, 0x01, 0x0d, 0xb8};
  struct proxy_header h;
  char name[64];
  body[15] = 9;
  body[31] = 1;
  body[32] = 0x12;
  body[33] = 0x67; /* port 4711 */
  size_t n = v2(buf, 0x21, 0x21, body, sizeof body);
  cr_assert_eq(parse(buf, n, &h), 52);
  cr_assert(h.has_addr);
  cr_expect_str_eq(src_name(&h, name, sizeof name), "2001:db8::9");
  cr_expect_eq(src_port(&h), 4711);
}

Test(proxy, v2_in_pieces_waits_for_its_length) {
  unsigned char buf[512], tlvs[] = {0x04, 0, 3, 0, 0, 0}; /* a NOOP TLV */
  expect_incremental(buf, v2_tcp4(buf, tlvs, sizeof tlvs));
}

Test(proxy, v2_local_and_families_without_a_tcp_client_keep_the_peer) {
  unsigned char buf[512], body[216] = {0};
  struct proxy_header h;
  struct {
    unsigned ver_cmd, fam;
    size_t len;
  } cases[] = {
      {0x20, 0x11, 12},  /* LOCAL, addresses ignored */
      {0x20, 0x00, 0},   /* LOCAL, nothing */
      {0x20, 0x77, 5},   /* LOCAL: the family is ignored (the spec) */
      {0x21, 0x00, 0},   /* PROXY, AF_UNSPEC */
      {0x21, 0x00, 40},  /* PROXY, AF_UNSPEC with bytes to skip */
      {0x21, 0x31, 216}, /* PROXY, AF_UNIX stream */
      {0x21, 0x32, 216}, /* PROXY, AF_UNIX datagram */
      {0x21, 0x12, 12},  /* PROXY, UDP over IPv4 */
      {0x21, 0x22, 36},  /* PROXY, UDP over IPv6 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = v2(buf, cases[i].ver_cmd, cases[i].fam, body, cases[i].len);
    cr_expect_eq(parse(buf, n, &h), (int)n, "case %zu", i);
    cr_expect_eq(h.has_addr, 0, "case %zu", i);
  }
}

Test(proxy, v2_tlvs_are_skipped_and_the_ssl_one_says_https) {
  unsigned char buf[512];
  unsigned char noop[] = {0x04, 0, 2, 0xaa, 0xbb, 0x01, 0, 1, 'h'};
  unsigned char ssl[] = {0x20, 0, 5, 0x01, 0, 0, 0, 0};
  unsigned char no_ssl[] = {0x20, 0, 5, 0x00, 0, 0, 0, 0};
  struct proxy_header h;
  size_t n = v2_tcp4(buf, noop, sizeof noop);
  cr_expect_eq(parse(buf, n, &h), (int)n);
  cr_expect(h.has_addr && !h.ssl);
  n = v2_tcp4(buf, ssl, sizeof ssl);
  cr_expect_eq(parse(buf, n, &h), (int)n);
  cr_expect(h.has_addr && h.ssl);
  n = v2_tcp4(buf, no_ssl, sizeof no_ssl);
  cr_expect_eq(parse(buf, n, &h), (int)n);
  cr_expect_eq(h.ssl, 0, "the client bit is not set");
}

Test(proxy, v2_lying_lengths_and_families_are_refused) {
  unsigned char buf[8192], body[64] = {0};
  unsigned char over[] = {0x04, 0, 9, 0};   /* TLV longer than the header */
  unsigned char cut[] = {0x04, 0};          /* TLV header cut short */
  unsigned char ssl_over[] = {0x20, 0, 40}; /* SSL TLV past the end */
  struct proxy_header h;
  static const struct {
    unsigned ver_cmd, fam;
    size_t len;
    const char *what;
  } lies[] = {
      {0x21, 0x21, 12, "TCP6 in 12 bytes: family mismatch"},
      {0x21, 0x11, 11, "TCP4 in 11 bytes"},
      {0x21, 0x31, 64, "UNIX in 64 bytes"},
      {0x21, 0x13, 12, "unknown transport"},
      {0x21, 0x41, 12, "unknown family"},
      {0x22, 0x11, 12, "unknown command"},
      {0x11, 0x11, 12, "version 1 in a v2 signature"},
  };
  for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++)
    cr_expect_eq(parse(buf,
                       v2(buf, lies[i].ver_cmd, lies[i].fam, body, lies[i].len),
                       &h),
                 -EPROTO, "%s", lies[i].what);
  cr_expect_eq(parse(buf, v2_tcp4(buf, over, sizeof over), &h), -EPROTO);
  cr_expect_eq(parse(buf, v2_tcp4(buf, cut, sizeof cut), &h), -EPROTO);
  cr_expect_eq(parse(buf, v2_tcp4(buf, ssl_over, sizeof ssl_over), &h),
               -EPROTO);
  buf[12] = 0x11;
  cr_expect_eq(parse(buf, 13, &h), -EPROTO,
               "the version is refused as soon as it arrives");
}

Test(proxy, v2_length_beyond_the_buffer_waits_and_beyond_the_cap_is_refused) {
  unsigned char buf[16 + PROXY_V2_MAX_LEN + 1] = {0};
  struct proxy_header h;
  size_t n = v2_tcp4(buf, NULL, 0);
  buf[15] = 100; /* says 100 bytes follow; 12 do */
  cr_expect_eq(parse(buf, n, &h), 0, "the rest may still come");
  v2(buf, 0x21, 0x11, buf + 16, 0);
  buf[14] = (PROXY_V2_MAX_LEN + 1) >> 8;
  buf[15] = (PROXY_V2_MAX_LEN + 1) & 0xff;
  cr_expect_eq(parse(buf, 16, &h), -EPROTO, "over the cap, refused at once");
  buf[14] = 0xff;
  buf[15] = 0xff;
  cr_expect_eq(parse(buf, 16, &h), -EPROTO);
  buf[14] = PROXY_V2_MAX_LEN >> 8;
  buf[15] = PROXY_V2_MAX_LEN & 0xff;
  buf[13] = 0x00; /* UNSPEC: skipped whole */
  cr_expect_eq(parse(buf, 16 + PROXY_V2_MAX_LEN, &h), 16 + PROXY_V2_MAX_LEN,
               "the cap itself is taken");
}
