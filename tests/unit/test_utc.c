/*
 * test_utc.c - the hand-made UTC dates of utc.c against glibc's gmtime_r()
 * and strftime() in the C locale, at the edges of the calendar (leap days,
 * century years, 1970, 2038, year 0 and 9999) and at a million random
 * seconds in between.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utc.h"

/* utc_iso_ms() of t, with a millisecond part that varies with t and
 * nanoseconds that must be cut, not rounded. */
static size_t iso_ms_of(char *out, time_t t) {
  struct timespec ts = {t, (long)((uint64_t)t * 7 % 1000) * 1000000 + 999999};
  return utc_iso_ms(out, &ts);
}

/* What strftime() makes of t in the format of utc.c's function number i
 * (the formats are literals, so that the compiler checks them). */
static void strftime_form(int i, time_t t, const struct tm *tm, char *out,
                          size_t len) {
  switch (i) {
  case 0: {
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", tm);
    snprintf(out + n, len - n, ".%03dZ", (int)((uint64_t)t * 7 % 1000));
    break;
  }
  case 1:
    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", tm);
    break;
  default:
    strftime(out, len, "%d/%b/%Y:%H:%M:%S +0000", tm);
    break;
  }
}

/* Formats t with each of utc.c's functions and with strftime(), and says
 * which differ. */
static void check_time(time_t t) {
  static const struct {
    size_t (*fn)(char *, time_t);
    size_t len;
  } forms[] = {
      {iso_ms_of, UTC_ISO_MS_LEN},
      {utc_http, UTC_HTTP_LEN},
      {utc_clf, UTC_CLF_LEN},
  };
  struct tm tm;

  cr_assert_not_null(gmtime_r(&t, &tm));
  for (int i = 0; i < 3; i++) {
    char want[64], got[64];
    size_t n;
    memset(got, 'x', sizeof got);
    strftime_form(i, t, &tm, want, sizeof want);
    n = forms[i].fn(got, t);
    cr_assert_eq(n, forms[i].len, "t=%lld: length %zu, want %zu", (long long)t,
                 n, forms[i].len);
    cr_assert_str_eq(got, want, "t=%lld: '%s', want '%s'", (long long)t, got,
                     want);
  }
}

Test(utc, known_dates) {
  char out[UTC_HTTP_LEN + 1];
  utc_http(out, 0);
  cr_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
  utc_http(out, 1795812741);
  cr_assert_str_eq(out, "Fri, 27 Nov 2026 20:52:21 GMT");
  utc_http(out, 951782400); /* the leap day of a year divisible by 400 */
  cr_assert_str_eq(out, "Tue, 29 Feb 2000 00:00:00 GMT");
  utc_http(out, -62167219200LL);
  cr_assert_str_eq(out, "Sat, 01 Jan 0000 00:00:00 GMT");
  utc_http(out, -62162035201LL);
  cr_assert_str_eq(out, "Tue, 29 Feb 0000 23:59:59 GMT");
}

Test(utc, calendar_edges) {
  /* every day boundary, and the second before it, from 1899 to 2101:
   * leap years, 1900 and 2100 (not leap), 2000 (leap), 1970, 2038 */
  for (time_t day = -2240524800LL; day <= 4133980800LL; day += 86400) {
    check_time(day);
    check_time(day - 1);
  }
  check_time(253402300799LL); /* 9999-12-31 23:59:59 */
  check_time((time_t)INT32_MAX);
  check_time((time_t)INT32_MAX + 1);
}

Test(utc, random_times) {
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 1000000; i++) {
    /* xorshift64: reproducible, spread over years 1000 to 9999 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    check_time(-30610224000LL + (time_t)(x % 283979980800ull));
  }
}
