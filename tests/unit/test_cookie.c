/*
 * test_cookie.c - the request's cookies (cookie.c): RFC 6265's "a=1; b=2",
 * the odder forms browsers and old clients send (no spaces, quotes, pieces
 * without a name or '=', several Cookie fields), and the limit.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "request_fake.h"

static mc_request req;

static void fini(void) { request_free(&req); }

static void with_cookies(const char *const *fields) {
  fake_request(&req, "", fields, NULL, 0);
}

Test(cookie, pairs_as_rfc6265_has_them, .fini = fini) {
  const char *const f[] = {"Cookie", "sid=abc123; theme=dark", NULL};
  const char *name, *value;

  with_cookies(f);
  cr_assert_eq(mc_request_cookie_count(&req), 2);
  cr_expect_str_eq(mc_request_cookie(&req, "sid"), "abc123");
  cr_expect_str_eq(mc_request_cookie(&req, "theme"), "dark");
  cr_expect_null(mc_request_cookie(&req, "Sid"), "names keep their case");
  cr_assert_eq(mc_request_cookie_at(&req, 1, &name, &value), 0);
  cr_expect_str_eq(name, "theme");
  cr_expect_eq(mc_request_cookie_at(&req, 2, &name, &value), -ERANGE);
}

Test(cookie, tolerant_of_spaces_quotes_and_junk, .fini = fini) {
  const char *const f[] = {
      "cookie",
      " a = 1 ;b=2;;  c=\"x y\";flag; =anon; d=; e=k=v; f=\"\"; g=\"h",
      "Cookie", "a=second; z=last", NULL};

  with_cookies(f);
  cr_expect_str_eq(mc_request_cookie(&req, "a"), "1", "the first a wins");
  cr_expect_str_eq(mc_request_cookie(&req, "b"), "2");
  cr_expect_str_eq(mc_request_cookie(&req, "c"), "x y", "quotes removed");
  cr_expect_null(mc_request_cookie(&req, "flag"), "no '=': skipped");
  cr_expect_null(mc_request_cookie(&req, ""), "no name: skipped");
  cr_expect_str_eq(mc_request_cookie(&req, "d"), "");
  cr_expect_str_eq(mc_request_cookie(&req, "e"), "k=v");
  cr_expect_str_eq(mc_request_cookie(&req, "f"), "");
  cr_expect_str_eq(mc_request_cookie(&req, "g"), "\"h", "one quote stays");
  cr_expect_str_eq(mc_request_cookie(&req, "z"), "last", "every field");
  cr_expect_eq(mc_request_cookie_count(&req), 9);
}

Test(cookie, values_are_not_decoded, .fini = fini) {
  const char *const f[] = {"Cookie", "q=a%20b+c", NULL};

  with_cookies(f);
  cr_expect_str_eq(mc_request_cookie(&req, "q"), "a%20b+c");
}

Test(cookie, none_without_the_field, .fini = fini) {
  const char *const f[] = {"Set-Cookie", "a=1", "Cookies", "a=1", NULL};
  const char *name, *value;

  with_cookies(f);
  cr_expect_null(mc_request_cookie(&req, "a"));
  cr_expect_eq(mc_request_cookie_count(&req), 0);
  cr_expect_eq(mc_request_cookie_at(&req, 0, &name, &value), -ERANGE);
  cr_expect_null(req.arena.head == NULL ? NULL : req.parsed->cookies.v,
                 "no list allocated");
}

Test(cookie, too_many_are_refused_whole, .fini = fini) {
  char *most = malloc(MC_PARAMS_MAX * 10 + 16), *p = most;
  const char *f[] = {"Cookie", most, NULL};

  for (int i = 0; i < MC_PARAMS_MAX; i++)
    p += sprintf(p, "c%d=1; ", i);
  with_cookies(f);
  cr_expect_eq(mc_request_cookie_count(&req), MC_PARAMS_MAX);
  strcpy(p, "one=more");
  with_cookies(f);
  cr_expect_eq(mc_request_cookie_count(&req), -E2BIG);
  cr_expect_null(mc_request_cookie(&req, "c0"));
  free(most);
}
