/*
 * test_params.c - percent-decoding (mc_url_decode()) and the query and
 * form parameters of params.c, on requests made by hand: decoding, order
 * and repeated names, what refuses a source as a whole (bad escapes, %00,
 * too many pairs), the integers, the form's media type, and the
 * per-request memory (nothing taken by a request that never asks, all of
 * it forgotten by the next).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "request_fake.h"

static mc_request req;

static void fini(void) { request_free(&req); }

/* ---- mc_url_decode() ---- */

static int decode(const char *s, unsigned flags, char *out, size_t *len) {
  return mc_url_decode(out, s, strlen(s), flags, len);
}

Test(params, url_decode_escapes_and_plus) {
  char out[64];
  size_t len = 99;

  cr_assert_eq(decode("a%41%4a%4Bz%2f%25", 0, out, &len), 0);
  cr_expect_str_eq(out, "aAJKz/%");
  cr_expect_eq(len, 7);
  cr_assert_eq(decode("a+b%20c", 0, out, NULL), 0);
  cr_expect_str_eq(out, "a+b c", "'+' stays outside forms");
  cr_assert_eq(decode("a+b%2B", MC_URL_PLUS, out, NULL), 0);
  cr_expect_str_eq(out, "a b+");
  cr_assert_eq(decode("", MC_URL_PLUS, out, &len), 0);
  cr_expect_str_eq(out, "");
  cr_expect_eq(len, 0);
  cr_assert_eq(decode("%C3%A9t%C3%A9", 0, out, NULL), 0);
  cr_expect_str_eq(out, "\xc3\xa9t\xc3\xa9");
}

Test(params, url_decode_refuses_bad_escapes) {
  const char *bad[] = {"%", "%0", "a%zz", "%g0", "%0g", "100%", "%%41", "%-1"};
  char out[64];

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_expect_eq(decode(bad[i], MC_URL_PLUS, out, NULL), -EBADMSG, "%s",
                 bad[i]);
  cr_expect_eq(mc_url_decode(out, "%0a", 2, 0, NULL), -EBADMSG,
               "an escape cut by the length");
  cr_expect_eq(decode("a", 4, out, NULL), -EINVAL, "unknown flag");
}

Test(params, url_decode_nul_only_when_asked) {
  char out[16];
  size_t len = 0;

  cr_expect_eq(decode("a%00.png", 0, out, NULL), -EBADMSG);
  cr_expect_eq(mc_url_decode(out, "a\0b", 3, 0, NULL), -EBADMSG);
  cr_assert_eq(decode("a%00.png", MC_URL_NUL, out, &len), 0);
  cr_expect_eq(len, 6);
  cr_expect_eq(memcmp(out, "a\0.png", 7), 0);
}

Test(params, url_decode_in_place) {
  char s[] = "x%3D1+2%26";
  size_t len;

  cr_assert_eq(mc_url_decode(s, s, strlen(s), MC_URL_PLUS, &len), 0);
  cr_expect_str_eq(s, "x=1 2&");
  cr_expect_eq(len, 6);
}

/* ---- the query ---- */

Test(params, query_pairs_in_order_with_repeats, .fini = fini) {
  const char *name, *value;

  fake_request(&req, "a=1&b=x+y%21&a=2&&c&=e&d=%3D%26&", NULL, NULL, 0);
  cr_assert_eq(mc_request_query_count(&req), 6);
  cr_expect_str_eq(mc_request_query_get(&req, "a"), "1", "the first a");
  cr_expect_str_eq(mc_request_query_get(&req, "b"), "x y!");
  cr_expect_str_eq(mc_request_query_get(&req, "c"), "");
  cr_expect_str_eq(mc_request_query_get(&req, ""), "e");
  cr_expect_str_eq(mc_request_query_get(&req, "d"), "=&");
  cr_expect_null(mc_request_query_get(&req, "A"), "names keep their case");
  cr_expect_null(mc_request_query_get(&req, "x"));
  cr_assert_eq(mc_request_query_at(&req, 2, &name, &value), 0);
  cr_expect_str_eq(name, "a");
  cr_expect_str_eq(value, "2");
  name = value = "untouched";
  cr_expect_eq(mc_request_query_at(&req, 6, &name, &value), -ERANGE);
  cr_expect_str_eq(name, "untouched");
}

Test(params, query_names_are_decoded, .fini = fini) {
  fake_request(&req, "first+name=Ada&%C3%A9=1", NULL, NULL, 0);
  cr_expect_str_eq(mc_request_query_get(&req, "first name"), "Ada");
  cr_expect_str_eq(mc_request_query_get(&req, "\xc3\xa9"), "1");
}

Test(params, empty_query_has_no_pairs, .fini = fini) {
  const char *name, *value;

  fake_request(&req, "", NULL, NULL, 0);
  cr_expect_eq(mc_request_query_count(&req), 0);
  cr_expect_eq(mc_request_query_at(&req, 0, &name, &value), -ERANGE);
  fake_request(&req, "&&&", NULL, NULL, 0);
  cr_expect_eq(mc_request_query_count(&req), 0);
}

Test(params, malformed_query_is_refused_whole, .fini = fini) {
  const char *bad[] = {"a=1&b=%zz", "a=1&b=%0", "a=%00&b=1", "a%=1", "%"};
  const char *name, *value;
  int64_t n;

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    fake_request(&req, bad[i], NULL, NULL, 0);
    cr_expect_eq(mc_request_query_count(&req), -EBADMSG, "%s", bad[i]);
    cr_expect_null(mc_request_query_get(&req, "a"), "%s", bad[i]);
    cr_expect_eq(mc_request_query_at(&req, 0, &name, &value), -EBADMSG);
    cr_expect_eq(mc_request_query_int(&req, "a", &n), -EBADMSG);
  }
}

static char *pairs(int n) {
  char *s = malloc((size_t)n * 8 + 8), *p = s;
  for (int i = 0; i < n; i++)
    p += sprintf(p, "%sk%d=", i ? "&" : "", i);
  return s;
}

Test(params, too_many_pairs_are_refused_whole, .fini = fini) {
  char *most = pairs(MC_PARAMS_MAX), *over = pairs(MC_PARAMS_MAX + 1);

  fake_request(&req, most, NULL, NULL, 0);
  cr_expect_eq(mc_request_query_count(&req), MC_PARAMS_MAX);
  cr_expect_str_eq(mc_request_query_get(&req, "k999"), "");
  strcat(most, "&&&&");
  fake_request(&req, most, NULL, NULL, 0);
  cr_expect_eq(mc_request_query_count(&req), MC_PARAMS_MAX,
               "empty pieces do not count");
  fake_request(&req, over, NULL, NULL, 0);
  cr_expect_eq(mc_request_query_count(&req), -E2BIG);
  cr_expect_null(mc_request_query_get(&req, "k0"));
  free(most);
  free(over);
}

Test(params, query_integers, .fini = fini) {
  int64_t n = 42;

  fake_request(&req,
               "a=-12&b=%2B7&c=9223372036854775807&d=-9223372036854775808&"
               "e=9223372036854775808&f=12a&g=&h=+1&i=0x10&j=-",
               NULL, NULL, 0);
  cr_expect_eq(mc_request_query_int(&req, "a", &n), 0);
  cr_expect_eq(n, -12);
  cr_expect_eq(mc_request_query_int(&req, "b", &n), 0);
  cr_expect_eq(n, 7);
  cr_expect_eq(mc_request_query_int(&req, "c", &n), 0);
  cr_expect_eq(n, INT64_MAX);
  cr_expect_eq(mc_request_query_int(&req, "d", &n), 0);
  cr_expect_eq(n, INT64_MIN);
  n = 42;
  cr_expect_eq(mc_request_query_int(&req, "e", &n), -ERANGE);
  cr_expect_eq(mc_request_query_int(&req, "f", &n), -EINVAL);
  cr_expect_eq(mc_request_query_int(&req, "g", &n), -EINVAL);
  cr_expect_eq(mc_request_query_int(&req, "h", &n), -EINVAL, "' 1'");
  cr_expect_eq(mc_request_query_int(&req, "i", &n), -EINVAL);
  cr_expect_eq(mc_request_query_int(&req, "j", &n), -EINVAL);
  cr_expect_eq(mc_request_query_int(&req, "z", &n), -ENOENT);
  cr_expect_eq(n, 42, "left alone on error");
}

/* ---- the form body ---- */

static const char *const form_type[] = {
    "Content-Type", "application/x-www-form-urlencoded", NULL};

Test(params, form_body_pairs, .fini = fini) {
  const char body[] = "name=J%C3%BCrgen+K&tags=a&tags=b";
  const char *const upper[] = {
      "Content-Type", " Application/X-WWW-Form-URLencoded ; charset=UTF-8",
      NULL};
  const char *name, *value;
  int64_t n;

  fake_request(&req, "name=query", form_type, body, sizeof body - 1);
  cr_assert_eq(mc_request_form_count(&req), 3);
  cr_expect_str_eq(mc_request_form_get(&req, "name"), "J\xc3\xbcrgen K");
  cr_assert_eq(mc_request_form_at(&req, 2, &name, &value), 0);
  cr_expect_str_eq(value, "b");
  cr_expect_str_eq(mc_request_query_get(&req, "name"), "query",
                   "the query is a list of its own");
  cr_expect_eq(mc_request_form_int(&req, "tags", &n), -EINVAL);
  fake_request(&req, "", upper, "n=5", 3);
  cr_expect_eq(mc_request_form_int(&req, "n", &n), 0);
  cr_expect_eq(n, 5);
}

Test(params, form_needs_its_media_type, .fini = fini) {
  const char *const json[] = {"Content-Type", "application/json", NULL};
  const char *const longer[] = {"Content-Type",
                                "application/x-www-form-urlencodedx", NULL};
  int64_t n;

  fake_request(&req, "", json, "a=1", 3);
  cr_expect_eq(mc_request_form_count(&req), -ENOTSUP);
  cr_expect_null(mc_request_form_get(&req, "a"));
  cr_expect_eq(mc_request_form_int(&req, "a", &n), -ENOTSUP);
  fake_request(&req, "", longer, "a=1", 3);
  cr_expect_eq(mc_request_form_count(&req), -ENOTSUP);
  fake_request(&req, "", NULL, "a=1", 3);
  cr_expect_eq(mc_request_form_count(&req), -ENOTSUP);
  fake_request(&req, "", form_type, NULL, 0);
  cr_expect_eq(mc_request_form_count(&req), 0, "an empty form");
}

Test(params, form_nul_byte_is_refused, .fini = fini) {
  const char body[] = "a=1&b=x\0y";

  fake_request(&req, "", form_type, body, sizeof body - 1);
  cr_expect_eq(mc_request_form_count(&req), -EBADMSG);
  cr_expect_null(mc_request_form_get(&req, "a"));
}

/* ---- per-request memory ---- */

Test(params, memory_only_when_asked_and_forgotten_at_reset, .fini = fini) {
  fake_request(&req, "a=1", NULL, NULL, 0);
  (void)mc_request_query(&req);
  (void)mc_request_header(&req, "Cookie");
  cr_expect_null(req.arena.head, "a request that never asks takes nothing");
  cr_expect_str_eq(mc_request_query_get(&req, "a"), "1");
  cr_expect_not_null(req.arena.head);
  fake_request(&req, "a=2", NULL, NULL, 0);
  cr_expect_null(req.parsed, "the next request parses anew");
  cr_expect_str_eq(mc_request_query_get(&req, "a"), "2");
  request_free(&req);
  cr_expect_null(req.arena.head);
  cr_expect_null(req.parsed);
}
