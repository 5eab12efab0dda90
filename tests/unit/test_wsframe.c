/*
 * test_wsframe.c - the WebSocket codec: frames parsed from a client
 * (wsframe.c) against RFC 6455's examples (section 5.7) and each rule of
 * section 5, cut at every byte; the server's frame heads; the handshake's
 * key (section 1.3) with SHA-1 (FIPS 180 vectors) and base64 (RFC 4648
 * vectors).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "sha1.h"
#include "wsframe.h"
#include "wshandshake.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A client's frame: b0 (FIN, RSV, opcode) and a masked payload, with the
 * shortest length form. Returns its length. */
static size_t frame(uint8_t *out, int b0, const void *payload, size_t len) {
  size_t n = 0;
  out[n++] = (uint8_t)b0;
  if (len < 126) {
    out[n++] = (uint8_t)(0x80 | len);
  } else if (len <= 0xffff) {
    out[n++] = 0x80 | 126;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  } else {
    out[n++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--)
      out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  memcpy(out + n, MASK, 4);
  n += 4;
  for (size_t i = 0; i < len; i++)
    out[n + i] = ((const uint8_t *)payload)[i] ^ MASK[i % 4];
  return n + len;
}

/* What a parser reported over a whole input: the messages put together,
 * the control frames, and the error. */
struct seen {
  char messages[8][4096];
  size_t mlen[8];
  int mtype[8];
  int nmessages;
  int controls[8];
  char cdata[8][128];
  size_t clen[8];
  int ncontrols;
  int close_code;
  char close_reason[128];
  int error; /* close code of the error, or 0 */
  const char *why;
};

/* Feeds `in` to a new parser in pieces of `step` bytes (0: all at once). */
static void run(const uint8_t *input, size_t len, size_t step, uint64_t max,
                struct seen *s) {
  struct wsframe_parser p;
  uint8_t *in = malloc(len + 1); /* parsed in place: a copy */
  char cur[4096];
  size_t cur_len = 0, off = 0;

  memcpy(in, input, len);
  memset(s, 0, sizeof *s);
  wsframe_init(&p, max);
  while (off < len) {
    size_t end = step == 0 || off + step > len ? len : off + step;
    while (off < end) {
      struct wsframe_ev ev;
      size_t used = wsframe_parse(&p, in + off, end - off, &ev);
      cr_assert_leq(used, end - off);
      off += used;
      if (ev.type == WSFRAME_NONE) {
        cr_assert_eq(off, end, "no event, but input left");
        break;
      }
      if (ev.type == WSFRAME_DATA) {
        if (ev.first)
          cr_assert_eq(cur_len, 0, "a message began inside another");
        cr_assert_leq(cur_len + ev.len, sizeof cur);
        memcpy(cur + cur_len, ev.data, ev.len);
        cur_len += ev.len;
        if (ev.last) {
          memcpy(s->messages[s->nmessages], cur, cur_len);
          s->mlen[s->nmessages] = cur_len;
          s->mtype[s->nmessages++] = ev.opcode;
          cur_len = 0;
        }
      } else if (ev.type == WSFRAME_CONTROL) {
        memcpy(s->cdata[s->ncontrols], ev.data, ev.len);
        s->clen[s->ncontrols] = ev.len;
        s->controls[s->ncontrols++] = ev.opcode;
        if (ev.opcode == WSFRAME_CLOSE) {
          s->close_code = ev.code;
          memcpy(s->close_reason, ev.reason, ev.reason_len);
        }
      } else {
        s->error = ev.code;
        s->why = ev.reason;
      }
    }
  }
  free(in);
}

/* The same outcome whether the input comes whole or cut at every byte. */
static void run_all_ways(const uint8_t *in, size_t len, uint64_t max,
                         struct seen *whole) {
  run(in, len, 0, max, whole);
  for (size_t step = 1; step <= 7; step++) {
    struct seen s;
    run(in, len, step, max, &s);
    cr_assert_eq(s.nmessages, whole->nmessages, "step %zu", step);
    for (int i = 0; i < s.nmessages; i++) {
      cr_assert_eq(s.mlen[i], whole->mlen[i]);
      cr_assert_eq(memcmp(s.messages[i], whole->messages[i], s.mlen[i]), 0);
      cr_assert_eq(s.mtype[i], whole->mtype[i]);
    }
    cr_assert_eq(s.ncontrols, whole->ncontrols, "step %zu", step);
    cr_assert_eq(s.error, whole->error, "step %zu", step);
    cr_assert_eq(s.close_code, whole->close_code, "step %zu", step);
  }
}

/* ---- RFC 6455, 5.7 ---- */

Test(wsframe, rfc_masked_hello) {
  static const uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                               0x7f, 0x9f, 0x4d, 0x51, 0x58};
  struct seen s;
  run_all_ways(in, sizeof in, 0, &s);
  cr_assert_eq(s.error, 0);
  cr_assert_eq(s.nmessages, 1);
  cr_assert_eq(s.mtype[0], WSFRAME_TEXT);
  cr_assert_eq(s.mlen[0], 5);
  cr_assert_eq(memcmp(s.messages[0], "Hello", 5), 0);
}

Test(wsframe, rfc_unmasked_hello_from_a_client_is_a_protocol_error) {
  static const uint8_t in[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  struct seen s;
  run_all_ways(in, sizeof in, 0, &s);
  cr_assert_eq(s.error, WS_CLOSE_PROTOCOL);
  cr_assert_eq(s.nmessages, 0);
}

Test(wsframe, rfc_fragmented_hello_with_a_ping_between) {
  uint8_t in[64];
  size_t n = frame(in, 0x01, "Hel", 3);
  n += frame(in + n, 0x89, "Hello", 5); /* RFC's ping, masked */
  n += frame(in + n, 0x80, "lo", 2);
  struct seen s;
  run_all_ways(in, n, 0, &s);
  cr_assert_eq(s.error, 0);
  cr_assert_eq(s.nmessages, 1);
  cr_assert_eq(s.mlen[0], 5);
  cr_assert_eq(memcmp(s.messages[0], "Hello", 5), 0);
  cr_assert_eq(s.ncontrols, 1);
  cr_assert_eq(s.controls[0], WSFRAME_PING);
  cr_assert_eq(memcmp(s.cdata[0], "Hello", 5), 0);
}

Test(wsframe, rfc_masked_pong) {
  static const uint8_t in[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                               0x7f, 0x9f, 0x4d, 0x51, 0x58};
  struct seen s;
  run_all_ways(in, sizeof in, 0, &s);
  cr_assert_eq(s.ncontrols, 1);
  cr_assert_eq(s.controls[0], WSFRAME_PONG);
  cr_assert_eq(s.clen[0], 5);
}

Test(wsframe, rfc_heads_of_256_bytes_and_64_kib) {
  uint8_t h[WSFRAME_HEAD_MAX];
  static const uint8_t hello[] = {0x81, 0x05};
  static const uint8_t b256[] = {0x82, 0x7e, 0x01, 0x00};
  static const uint8_t b64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0, 0};

  cr_assert_eq(wsframe_head(h, WSFRAME_TEXT, 5), 2);
  cr_assert_eq(memcmp(h, hello, 2), 0);
  cr_assert_eq(wsframe_head(h, WSFRAME_BINARY, 256), 4);
  cr_assert_eq(memcmp(h, b256, 4), 0);
  cr_assert_eq(wsframe_head(h, WSFRAME_BINARY, 65536), 10);
  cr_assert_eq(memcmp(h, b64k, 10), 0);
  cr_assert_eq(wsframe_head(h, WSFRAME_BINARY, 125), 2);
  cr_assert_eq(wsframe_head(h, WSFRAME_BINARY, 126), 4);
  cr_assert_eq(wsframe_head(h, WSFRAME_BINARY, 65535), 4);
}

/* ---- lengths ---- */

Test(wsframe, long_forms_parse_at_every_cut) {
  static uint8_t in[70000 + 64], payload[70000];
  struct seen s;
  size_t n;

  for (size_t i = 0; i < sizeof payload; i++)
    payload[i] = (uint8_t)(i * 7);
  n = frame(in, 0x82, payload, 300);
  run_all_ways(in, n, 0, &s);
  cr_assert_eq(s.nmessages, 1);
  cr_assert_eq(s.mlen[0], 300);
  cr_assert_eq(memcmp(s.messages[0], payload, 300), 0);
  /* 64-bit length: checked by pieces, the message is too long for seen */
  n = frame(in, 0x82, payload, sizeof payload);
  {
    struct wsframe_parser p;
    struct wsframe_ev ev;
    size_t off = 0, got = 0;
    wsframe_init(&p, 0);
    while (off < n) {
      off += wsframe_parse(&p, in + off, n - off, &ev);
      cr_assert_neq(ev.type, WSFRAME_ERROR);
      if (ev.type == WSFRAME_DATA) {
        cr_assert_eq(memcmp(ev.data, payload + got, ev.len), 0);
        got += ev.len;
      }
    }
    cr_assert_eq(got, sizeof payload);
  }
}

Test(wsframe, empty_messages) {
  uint8_t in[64];
  size_t n = frame(in, 0x81, "", 0);
  n += frame(in + n, 0x02, "", 0); /* empty fragments, then the end */
  n += frame(in + n, 0x00, "", 0);
  n += frame(in + n, 0x80, "", 0);
  struct seen s;
  run_all_ways(in, n, 0, &s);
  cr_assert_eq(s.error, 0);
  cr_assert_eq(s.nmessages, 2);
  cr_assert_eq(s.mtype[0], WSFRAME_TEXT);
  cr_assert_eq(s.mtype[1], WSFRAME_BINARY);
  cr_assert_eq(s.mlen[0] + s.mlen[1], 0);
}

/* ---- the rules of section 5: each broken once ---- */

struct bad {
  const char *name;
  uint8_t bytes[24];
  size_t len;
  int code;
};

static const struct bad bad_frames[] = {
    {"RSV1", {0xc1, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"RSV2", {0xa1, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"RSV3", {0x91, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"opcode 3", {0x83, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"opcode 7", {0x87, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"opcode B", {0x8b, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"opcode F", {0x8f, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"unmasked", {0x82, 0x00}, 2, WS_CLOSE_PROTOCOL},
    {"fragmented ping", {0x09, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"ping of 126", {0x89, 0xfe, 0, 126, 1, 2, 3, 4}, 8, WS_CLOSE_PROTOCOL},
    {"close of 126", {0x88, 0xfe, 0, 126, 1, 2, 3, 4}, 8, WS_CLOSE_PROTOCOL},
    {"lonely continuation", {0x80, 0x80, 1, 2, 3, 4}, 6, WS_CLOSE_PROTOCOL},
    {"64-bit top bit",
     {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
     14,
     WS_CLOSE_PROTOCOL},
    {"16-bit form of 125",
     {0x82, 0xfe, 0, 125, 1, 2, 3, 4},
     8,
     WS_CLOSE_PROTOCOL},
    {"64-bit form of 65535",
     {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4},
     14,
     WS_CLOSE_PROTOCOL},
    /* payloads below are masked with 0 */
    {"close of 1 byte", {0x88, 0x81, 0, 0, 0, 0, 0x03}, 7, WS_CLOSE_PROTOCOL},
    {"close code 999",
     {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7},
     8,
     WS_CLOSE_PROTOCOL},
    {"close code 1004",
     {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xec},
     8,
     WS_CLOSE_PROTOCOL},
    {"close code 1005",
     {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed},
     8,
     WS_CLOSE_PROTOCOL},
    {"close code 1006",
     {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xee},
     8,
     WS_CLOSE_PROTOCOL},
    {"close code 1015",
     {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xf7},
     8,
     WS_CLOSE_PROTOCOL},
    {"close code 2999",
     {0x88, 0x82, 0, 0, 0, 0, 0x0b, 0xb7},
     8,
     WS_CLOSE_PROTOCOL},
    {"close code 5000",
     {0x88, 0x82, 0, 0, 0, 0, 0x13, 0x88},
     8,
     WS_CLOSE_PROTOCOL},
    {"close reason not UTF-8",
     {0x88, 0x83, 0, 0, 0, 0, 0x03, 0xe8, 0xff},
     9,
     WS_CLOSE_BAD_DATA},
    {"text not UTF-8",
     {0x81, 0x82, 0, 0, 0, 0, 0xc0, 0x80},
     8,
     WS_CLOSE_BAD_DATA},
    {"text cut in a character",
     {0x81, 0x81, 0, 0, 0, 0, 0xe2},
     7,
     WS_CLOSE_BAD_DATA},
    {"new message inside one",
     {0x01, 0x81, 0, 0, 0, 0, 'a', 0x81, 0x81, 0, 0, 0, 0, 'b'},
     14,
     WS_CLOSE_PROTOCOL},
};

ParameterizedTestParameters(wsframe, each_rule_broken) {
  return cr_make_param_array(struct bad, bad_frames,
                             sizeof bad_frames / sizeof bad_frames[0]);
}

ParameterizedTest(const struct bad *b, wsframe, each_rule_broken) {
  struct seen s;
  run_all_ways(b->bytes, b->len, 0, &s);
  cr_assert_eq(s.error, b->code, "%s: got %d (%s)", b->name, s.error,
               s.why ? s.why : "no error");
  cr_assert_eq(s.nmessages, 0, "%s", b->name);
}

Test(wsframe, valid_close_codes_and_reason) {
  static const int ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                           1010, 1011, 1012, 1013, 1014, 3000, 4999};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint8_t payload[16] = {(uint8_t)(ok[i] >> 8), (uint8_t)ok[i], 0xc3, 0xa9};
    uint8_t in[32];
    struct seen s;
    size_t n = frame(in, 0x88, payload, 4);
    run_all_ways(in, n, 0, &s);
    cr_assert_eq(s.error, 0, "code %d", ok[i]);
    cr_assert_eq(s.close_code, ok[i]);
    cr_assert_str_eq(s.close_reason, "\xc3\xa9");
  }
}

Test(wsframe, close_without_code_is_1005_and_ends_parsing) {
  uint8_t in[32];
  size_t n = frame(in, 0x88, "", 0);
  n += frame(in + n, 0x81, "after", 5);
  struct seen s;
  run_all_ways(in, n, 0, &s);
  cr_assert_eq(s.close_code, WS_CLOSE_NO_STATUS);
  cr_assert_eq(s.nmessages, 0); /* nothing is read after a close */
}

Test(wsframe, message_limit_counts_every_fragment) {
  uint8_t in[64];
  size_t n = frame(in, 0x02, "12345", 5);
  n += frame(in + n, 0x80, "67890", 5);
  struct seen s;
  run_all_ways(in, n, 10, &s);
  cr_assert_eq(s.error, 0);
  cr_assert_eq(s.nmessages, 1);
  run_all_ways(in, n, 9, &s);
  cr_assert_eq(s.error, WS_CLOSE_TOO_BIG);
  cr_assert_eq(s.nmessages, 0);
  /* control frames do not count */
  n = frame(in, 0x89, "0123456789ab", 12);
  run_all_ways(in, n, 4, &s);
  cr_assert_eq(s.error, 0);
}

/* ---- UTF-8 ---- */

Test(wsframe, utf8) {
  static const struct {
    const char *s;
    int ok;
  } cases[] = {
      {"plain ascii text, long enough for the fast path", 1},
      {"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80", 1},
      {"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
      {"\xed\x9f\xbf", 1},         /* U+D7FF */
      {"\xc0\x80", 0},             /* overlong NUL */
      {"\xc1\xbf", 0},             /* overlong */
      {"\xe0\x9f\xbf", 0},         /* overlong */
      {"\xf0\x8f\xbf\xbf", 0},     /* overlong */
      {"\xed\xa0\x80", 0},         /* surrogate U+D800 */
      {"\xf4\x90\x80\x80", 0},     /* U+110000 */
      {"\xf5\x80\x80\x80", 0},     /* never a lead byte */
      {"\x80", 0},                 /* lone continuation */
      {"abcdefgh\xce\xba\xe1", 0}, /* cut short */
      {"\xce\xbaX", 1},
      {"\xce", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const uint8_t *s = (const uint8_t *)cases[i].s;
    size_t len = strlen(cases[i].s);
    /* whole, and one byte at a time */
    uint32_t st = 0;
    int whole = wsframe_utf8(&st, s, len) == 0 && st == 0, bytes = 1;
    st = 0;
    for (size_t k = 0; k < len && bytes; k++)
      bytes = wsframe_utf8(&st, s + k, 1) == 0;
    bytes = bytes && st == 0;
    cr_expect_eq(whole, cases[i].ok, "case %zu", i);
    cr_expect_eq(bytes, cases[i].ok, "case %zu bytewise", i);
  }
}

Test(wsframe, text_split_inside_a_character_across_fragments) {
  uint8_t in[64];
  size_t n = frame(in, 0x01, "\xe2\x82", 2); /* U+20AC, cut */
  n += frame(in + n, 0x80, "\xac", 1);
  struct seen s;
  run_all_ways(in, n, 0, &s);
  cr_assert_eq(s.error, 0);
  cr_assert_eq(s.nmessages, 1);
  cr_assert_eq(memcmp(s.messages[0], "\xe2\x82\xac", 3), 0);
}

/* ---- the handshake's digest ---- */

static void hex(const uint8_t *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", d[i]);
}

Test(wsframe, sha1_vectors) {
  static const struct {
    const char *in, *out;
  } v[] = {
      {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklm"
       "nopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
       "a49b2446a02c645bf419f995b67091253a04a259"},
  };
  uint8_t d[SHA1_LEN];
  char h[41];
  char *million = malloc(1000000);

  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    sha1(v[i].in, strlen(v[i].in), d);
    hex(d, SHA1_LEN, h);
    cr_expect_str_eq(h, v[i].out);
  }
  /* 'a' * n where the padding needs one block or two (55/56 mod 64) */
  static const struct {
    size_t n;
    const char *out;
  } edge[] = {{55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
              {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
              {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
              {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
              {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
              {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
              {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"}};
  memset(million, 'a', 1000000);
  for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
    sha1(million, edge[i].n, d);
    hex(d, SHA1_LEN, h);
    cr_expect_str_eq(h, edge[i].out, "%zu bytes", edge[i].n);
  }
  sha1(million, 1000000, d);
  hex(d, SHA1_LEN, h);
  cr_expect_str_eq(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  free(million);
}

Test(wsframe, base64_vectors) {
  static const char *const in[] = {"",     "f",     "fo",    "foo",
                                   "foob", "fooba", "foobar"};
  static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  char enc[16];
  uint8_t dec[16];

  for (size_t i = 0; i < 7; i++) {
    size_t n = base64_encode((const uint8_t *)in[i], strlen(in[i]), enc);
    cr_expect_eq(n, strlen(out[i]));
    cr_expect_str_eq(enc, out[i]);
    cr_expect_eq(base64_decode(out[i], strlen(out[i]), dec),
                 (long)strlen(in[i]));
    cr_expect_eq(memcmp(dec, in[i], strlen(in[i])), 0);
  }
  cr_expect_eq(base64_decode("Zg=", 3, dec), -1);
  cr_expect_eq(base64_decode("Zh==", 4, dec), -1); /* unused bits set */
  cr_expect_eq(base64_decode("Z===", 4, dec), -1);
  cr_expect_eq(base64_decode("Zg==Zg==", 8, dec), -1);
  cr_expect_eq(base64_decode("Zm9!", 4, dec), -1);
}

Test(wsframe, rfc_accept_key) {
  char accept[WSHANDSHAKE_ACCEPT_LEN + 1];
  wshandshake_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
  cr_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
