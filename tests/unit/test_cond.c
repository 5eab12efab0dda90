/* test_cond.c - conditional requests (host/cond.c): HTTP-dates in their
 * three formats, entity-tag lists, the order of RFC 9110 §13.2.2's
 * preconditions and If-Range. Plain loops over tables. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cond.h"
#include "utc.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

struct date_case {
  const char *s;
  int rc;
  int64_t t;
};

/* Sun, 06 Nov 1994 08:49:37 GMT: RFC 9110's example. */
#define RFC 784111777

static const struct date_case dates[] = {
    /* the three formats */
    {"Sun, 06 Nov 1994 08:49:37 GMT", 0, RFC},
    {"Sunday, 06-Nov-94 08:49:37 GMT", 0, RFC},
    {"Sun Nov  6 08:49:37 1994", 0, RFC},
    {"Sun Nov 06 08:49:37 1994", 0, RFC},
    /* optional whitespace around the value */
    {" \tSun, 06 Nov 1994 08:49:37 GMT \t", 0, RFC},
    {"  Sunday, 06-Nov-94 08:49:37 GMT ", 0, RFC},
    {"\tSun Nov  6 08:49:37 1994\t", 0, RFC},
    /* the day name is checked for form only */
    {"Mon, 06 Nov 1994 08:49:37 GMT", 0, RFC},
    {"Wednesday, 06-Nov-94 08:49:37 GMT", 0, RFC},
    {"Sat Nov  6 08:49:37 1994", 0, RFC},
    /* edges of the calendar */
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0, 0},
    {"Wed, 31 Dec 1969 23:59:59 GMT", 0, -1},
    {"Sat, 01 Jan 0000 00:00:00 GMT", 0, -62167219200},
    {"Fri, 31 Dec 9999 23:59:59 GMT", 0, 253402300799},
    {"Fri Dec 31 23:59:59 9999", 0, 253402300799},
    {"Tue, 29 Feb 2000 12:00:00 GMT", 0, 951825600},  /* 400: leap */
    {"Thu, 29 Feb 2024 23:59:59 GMT", 0, 1709251199}, /* 4: leap */
    {"Tue, 29 Feb 1600 00:00:00 GMT", 0, -11670998400},
    {"Thu, 01 Mar 1900 00:00:00 GMT", 0, -2203891200},
    {"Mon, 01 Mar 2100 00:00:00 GMT", 0, 4107542400},
    {"Tue, 30 Jun 2015 23:59:60 GMT", 0, 1435708800}, /* a leap second */
    /* RFC 850's two-digit year: 70-99 19xx, 00-69 20xx */
    {"Thursday, 01-Jan-70 00:00:00 GMT", 0, 0},
    {"Friday, 31-Dec-99 23:59:59 GMT", 0, 946684799},
    {"Saturday, 01-Jan-00 00:00:00 GMT", 0, 946684800},
    {"Tuesday, 31-Dec-69 23:59:59 GMT", 0, 3155759999},
    {"Thursday, 29-Feb-24 23:59:59 GMT", 0, 1709251199},
    /* out of range */
    {"Sun, 06 Nov 1994 24:00:00 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 23:60:00 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 23:59:61 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 99:99:99 GMT", -EINVAL, 0},
    {"Sun, 00 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 31 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 32 Jan 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 29 Feb 1900 08:49:37 GMT", -EINVAL, 0}, /* 100: not leap */
    {"Sun, 29 Feb 2023 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 30 Feb 2024 08:49:37 GMT", -EINVAL, 0},
    {"Sunday, 29-Feb-00 08:49:37 GMT", 0, 951814177},
    {"Sunday, 29-Feb-99 08:49:37 GMT", -EINVAL, 0},
    {"Sun Feb 29 08:49:37 2100", -EINVAL, 0},
    {"Sun Nov  0 08:49:37 1994", -EINVAL, 0},
    /* not a date */
    {"", -EINVAL, 0},
    {" \t ", -EINVAL, 0},
    {"Sun", -EINVAL, 0},
    {"Sun,", -EINVAL, 0},
    {"Sunday", -EINVAL, 0},
    {"784111777", -EINVAL, 0},
    {"Sun, 06 Nov 1994", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 GM", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 GMTx", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 GMT x", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 UTC", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 gmt", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 +0000", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 GMT\r\n", -EINVAL, 0},
    {"sun, 06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"SUN, 06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 Xyz 1994 08:49:37 GMT", -EINVAL, 0},
    {"Abc, 06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun 06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun,06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun,  06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06  Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 6 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 94 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 19940 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 Nov +994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 8:49:37 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:-7 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08.49.37 GMT", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37.5 GMT", -EINVAL, 0},
    {"Sun, 06-Nov-1994 08:49:37 GMT", -EINVAL, 0},
    {"Sun, 06-Nov-94 08:49:37 GMT", -EINVAL, 0},
    {"Sunday, 06 Nov 1994 08:49:37 GMT", -EINVAL, 0},
    {"Sundae, 06-Nov-94 08:49:37 GMT", -EINVAL, 0},
    {"Sunday, 06-Nov-94 08:49:37", -EINVAL, 0},
    {"Sunday, 6-Nov-94 08:49:37 GMT", -EINVAL, 0},
    {"Sunday, 06-Nov-994 08:49:37 GMT", -EINVAL, 0},
    {"Sunday, 06-Nov-94 24:49:37 GMT", -EINVAL, 0},
    {"Sun Nov 6 08:49:37 1994", -EINVAL, 0},
    {"Sun Nov   6 08:49:37 1994", -EINVAL, 0},
    {"Sun Nov  6 08:49:37 94", -EINVAL, 0},
    {"Sun Nov  6 08:49:37 1994 GMT", -EINVAL, 0},
    {"Sun, Nov  6 08:49:37 1994", -EINVAL, 0},
    {"Sunday Nov  6 08:49:37 1994", -EINVAL, 0},
    {"Sun 06 Nov 08:49:37 1994", -EINVAL, 0},
    {"Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT", -EINVAL,
     0},
};

Test(cond, date_parse) {
  for (size_t i = 0; i < LEN(dates); i++) {
    const struct date_case *c = &dates[i];
    int64_t t = 42;
    int rc = cond_date_parse(c->s, &t);
    cr_expect_eq(rc, c->rc, "\"%s\": rc %d, want %d", c->s, rc, c->rc);
    cr_expect_eq(t, c->rc == 0 ? c->t : 42, "\"%s\": %lld, want %lld", c->s,
                 (long long)t, (long long)(c->rc == 0 ? c->t : 42));
  }
}

/* utc_http() formats what cond_date_parse() reads back: every day of
 * 1899-2101 (leap years and centuries), and steps across 0000-9999. */
Test(cond, date_round_trip) {
  char s[UTC_HTTP_LEN + 1];
  int64_t t, back;
  for (t = -2240524800 + 3723; t < 4133980800; t += 86400) {
    utc_http(s, (time_t)t);
    cr_assert_eq(cond_date_parse(s, &back), 0, "\"%s\"", s);
    cr_assert_eq(back, t, "\"%s\": %lld, want %lld", s, (long long)back,
                 (long long)t);
  }
  for (t = -62167219200; t <= 253402300799; t += 86400 * 31 + 7919) {
    utc_http(s, (time_t)t);
    cr_assert_eq(cond_date_parse(s, &back), 0, "\"%s\"", s);
    cr_assert_eq(back, t, "\"%s\"", s);
  }
}

Test(cond, etag) {
  char out[COND_ETAG_MAX];
  cr_expect_eq(cond_etag(out, 0, 0), 5);
  cr_expect_str_eq(out, "\"0-0\"");
  cr_expect_eq(cond_etag(out, 1700000000, 1234), 14);
  cr_expect_str_eq(out, "\"6553f100-4d2\"");
  cr_expect_eq(cond_etag(out, -1, UINT64_MAX), 35);
  cr_expect_str_eq(out, "\"ffffffffffffffff-ffffffffffffffff\"");
  cr_expect_eq(cond_etag_match(out, out, 0), 1);
}

struct match_case {
  const char *list;
  int strong, weak; /* cond_etag_match()'s answers for "abc" */
};

static const struct match_case matches[] = {
    {"*", 1, 1},
    {" \t* ", 1, 1},
    {"\"abc\"", 1, 1},
    {" \"abc\" ", 1, 1},
    {"W/\"abc\"", 0, 1},
    {"\"xyz\", \"abc\"", 1, 1},
    {"\"xyz\",\"abc\"", 1, 1},
    {"\"xyz\" ,\tW/\"abc\"", 0, 1},
    {"W/\"abc\", \"abc\"", 1, 1},
    {",,\"abc\",,", 1, 1},
    {" , \"abc\" ,\t", 1, 1},
    {"\"xyz\"", 0, 0},
    {"W/\"xyz\"", 0, 0},
    {"\"ab\"", 0, 0},
    {"\"abcd\"", 0, 0},
    {"\"ABC\"", 0, 0},
    {"\"\"", 0, 0},
    {"\"\x80\xff\"", 0, 0}, /* obs-text */
    {"", 0, 0},             /* no element */
    {" , ,\t", 0, 0},
    /* malformed */
    {"abc", -EINVAL, -EINVAL},
    {"\"abc", -EINVAL, -EINVAL},
    {"\"", -EINVAL, -EINVAL},
    {"\"abc\"x", -EINVAL, -EINVAL},
    {"\"abc\";", -EINVAL, -EINVAL},
    {"\"abc\" \"xyz\"", -EINVAL, -EINVAL},
    {"\"a bc\"", -EINVAL, -EINVAL},
    {"\"a\tbc\"", -EINVAL, -EINVAL},
    {"\"a\x01\"", -EINVAL, -EINVAL},
    {"\"a\x7f\"", -EINVAL, -EINVAL},
    {"w/\"abc\"", -EINVAL, -EINVAL},
    {"W/ \"abc\"", -EINVAL, -EINVAL},
    {"W\"abc\"", -EINVAL, -EINVAL},
    {"W/", -EINVAL, -EINVAL},
    {"W/W/\"abc\"", -EINVAL, -EINVAL},
    {"*, \"abc\"", -EINVAL, -EINVAL},
    {"\"abc\", *", -EINVAL, -EINVAL},
    {"**", -EINVAL, -EINVAL},
    {"\"abc\", junk", -EINVAL, -EINVAL}, /* after a match: still malformed */
    {"junk, \"abc\"", -EINVAL, -EINVAL},
    {"'abc'", -EINVAL, -EINVAL},
};

Test(cond, etag_match) {
  for (size_t i = 0; i < LEN(matches); i++) {
    const struct match_case *c = &matches[i];
    int strong = cond_etag_match(c->list, "\"abc\"", 0);
    int weak = cond_etag_match(c->list, "\"abc\"", 1);
    cr_expect_eq(strong, c->strong, "'%s' strong: %d, want %d", c->list, strong,
                 c->strong);
    cr_expect_eq(weak, c->weak, "'%s' weak: %d, want %d", c->list, weak,
                 c->weak);
  }
}

#define E "\"abc\""
#define D "Sun, 06 Nov 1994 08:49:37 GMT"        /* mtime */
#define D_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT" /* a second before it */
#define D_AFTER "Sun, 06 Nov 1994 08:49:38 GMT"
#define NOPE "\"xyz\""

struct eval_case {
  const char *if_match, *if_unmodified_since, *if_none_match,
      *if_modified_since;
  int get_or_head;
  enum cond_result want;
};

static const struct eval_case evals[] = {
    {NULL, NULL, NULL, NULL, 1, COND_PROCEED},
    {NULL, NULL, NULL, NULL, 0, COND_PROCEED},
    /* If-Match: strong */
    {E, NULL, NULL, NULL, 1, COND_PROCEED},
    {"*", NULL, NULL, NULL, 0, COND_PROCEED},
    {NOPE ", " E, NULL, NULL, NULL, 0, COND_PROCEED},
    {NOPE, NULL, NULL, NULL, 1, COND_FAILED},
    {"W/" E, NULL, NULL, NULL, 1, COND_FAILED},
    {"", NULL, NULL, NULL, 1, COND_FAILED},
    {"abc", NULL, NULL, NULL, 0, COND_FAILED}, /* malformed: matches none */
    {E ", junk", NULL, NULL, NULL, 0, COND_FAILED},
    /* If-Unmodified-Since */
    {NULL, D, NULL, NULL, 0, COND_PROCEED},
    {NULL, D_AFTER, NULL, NULL, 0, COND_PROCEED},
    {NULL, D_BEFORE, NULL, NULL, 0, COND_FAILED},
    {NULL, D_BEFORE, NULL, NULL, 1, COND_FAILED},
    {NULL, "yesterday", NULL, NULL, 0, COND_PROCEED}, /* ignored */
    {NULL, "Sun, 06 Nov 1994 08:49:36", NULL, NULL, 0, COND_PROCEED},
    /* If-Match wins over If-Unmodified-Since, either way */
    {E, D_BEFORE, NULL, NULL, 0, COND_PROCEED},
    {NOPE, D_AFTER, NULL, NULL, 0, COND_FAILED},
    /* If-None-Match: weak */
    {NULL, NULL, E, NULL, 1, COND_NOT_MODIFIED},
    {NULL, NULL, "W/" E, NULL, 1, COND_NOT_MODIFIED},
    {NULL, NULL, NOPE ", W/" E, NULL, 1, COND_NOT_MODIFIED},
    {NULL, NULL, "*", NULL, 1, COND_NOT_MODIFIED},
    {NULL, NULL, NOPE, NULL, 1, COND_PROCEED},
    {NULL, NULL, "", NULL, 1, COND_PROCEED},
    {NULL, NULL, "abc", NULL, 1, COND_PROCEED}, /* malformed: matches none */
    {NULL, NULL, E, NULL, 0, COND_FAILED},      /* POST: 412 */
    {NULL, NULL, "W/" E, NULL, 0, COND_FAILED},
    {NULL, NULL, "*", NULL, 0, COND_FAILED},
    {NULL, NULL, NOPE, NULL, 0, COND_PROCEED},
    /* If-Modified-Since: GET and HEAD only, not modified when mtime <= it */
    {NULL, NULL, NULL, D, 1, COND_NOT_MODIFIED},
    {NULL, NULL, NULL, D_AFTER, 1, COND_NOT_MODIFIED},
    {NULL, NULL, NULL, D_BEFORE, 1, COND_PROCEED},
    {NULL, NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", 1, COND_NOT_MODIFIED},
    {NULL, NULL, NULL, "Sun Nov  6 08:49:37 1994", 1, COND_NOT_MODIFIED},
    {NULL, NULL, NULL, "Sun Nov  6 08:49:36 1994", 1, COND_PROCEED},
    {NULL, NULL, NULL, D, 0, COND_PROCEED},
    {NULL, NULL, NULL, "garbage", 1, COND_PROCEED}, /* ignored */
    {NULL, NULL, NULL, D " junk", 1, COND_PROCEED},
    /* If-None-Match wins over If-Modified-Since, either way */
    {NULL, NULL, NOPE, D, 1, COND_PROCEED},
    {NULL, NULL, "abc", D, 1, COND_PROCEED},
    {NULL, NULL, E, D_BEFORE, 1, COND_NOT_MODIFIED},
    /* 412 before 304 */
    {NOPE, NULL, E, NULL, 1, COND_FAILED},
    {NULL, D_BEFORE, E, NULL, 1, COND_FAILED},
    {NULL, D_BEFORE, NULL, D, 1, COND_FAILED},
    {E, NULL, E, NULL, 1, COND_NOT_MODIFIED},
    {E, D_BEFORE, NOPE, D, 1, COND_PROCEED},
    {NULL, D, NULL, D, 1, COND_NOT_MODIFIED},
};

Test(cond, evaluate) {
  static const char *const names[] = {"proceed", "not modified", "failed"};
  for (size_t i = 0; i < LEN(evals); i++) {
    const struct eval_case *c = &evals[i];
    struct cond_request r = {c->if_match, c->if_unmodified_since,
                             c->if_none_match, c->if_modified_since,
                             c->get_or_head};
    enum cond_result got = cond_evaluate(&r, E, RFC);
    cr_expect_eq(got, c->want,
                 "case %zu (If-Match %s, If-Unmodified-Since %s, "
                 "If-None-Match %s, If-Modified-Since %s, %s): %s, want %s",
                 i, c->if_match ? c->if_match : "-",
                 c->if_unmodified_since ? c->if_unmodified_since : "-",
                 c->if_none_match ? c->if_none_match : "-",
                 c->if_modified_since ? c->if_modified_since : "-",
                 c->get_or_head ? "GET" : "POST", names[got], names[c->want]);
  }
}

struct range_case {
  const char *value;
  int want;
};

static const struct range_case if_ranges[] = {
    {NULL, 1},
    {E, 1},
    {" " E "\t", 1},
    {D, 1},
    {" " D " ", 1},
    {"Sunday, 06-Nov-94 08:49:37 GMT", 1},
    {"Sun Nov  6 08:49:37 1994", 1},
    {"W/" E, 0}, /* a weak tag never matches */
    {NOPE, 0},
    {"\"ab\"", 0},
    {E ", " E, 0}, /* one tag, not a list */
    {E ",", 0},
    {"\"abc", 0},
    {"*", 0},
    {"W/", 0},
    {"abc", 0},
    {D_BEFORE, 0},
    {D_AFTER, 0},
    {D " GMT", 0},
    {"Sun, 31 Nov 1994 08:49:37 GMT", 0},
    {"", 0},
    {"garbage", 0},
};

Test(cond, if_range) {
  for (size_t i = 0; i < LEN(if_ranges); i++) {
    const struct range_case *c = &if_ranges[i];
    int got = cond_if_range(c->value, E, RFC);
    cr_expect_eq(got, c->want, "If-Range %s: %d, want %d",
                 c->value ? c->value : "(none)", got, c->want);
  }
}
