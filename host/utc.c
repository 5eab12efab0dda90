/*
 * utc.c - dates in UTC, formatted by hand.
 *
 * gmtime_r() and strftime() would do, but the first gmtime_r() of a
 * process runs tzset(): it reads $TZ and /etc/localtime into the heap, a
 * file open and heap pages in every worker on its first request, for a
 * time zone that UTC never consults. strftime() also goes through the
 * locale. The calendar arithmetic is the days-to-civil algorithm of Howard
 * Hinnant's "chrono-Compatible Low-Level Date Algorithms" (proleptic
 * Gregorian, exact for every day from year 0 to 9999).
 */
#include "utc.h"

#include <stdint.h>
#include <string.h>

struct civil {
  int year, month, day; /* month 1-12, day 1-31 */
  int hour, min, sec;
  int wday; /* 0 = Sunday */
};

static void civil_from_time(time_t t, struct civil *c) {
  int64_t days = (int64_t)t / 86400, secs = (int64_t)t % 86400;
  int64_t era, z, doe, yoe, doy, mp;

  if (secs < 0) {
    secs += 86400;
    days--;
  }
  c->hour = (int)(secs / 3600);
  c->min = (int)(secs / 60 % 60);
  c->sec = (int)(secs % 60);
  /* 1970-01-01 was a Thursday */
  c->wday = (int)((days % 7 + 11) % 7);
  /* Count from 0000-03-01, so that the leap day ends each year, in 400-year
   * eras of 146097 days. */
  z = days + 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
  c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
  c->year = (int)(yoe + era * 400 + (c->month <= 2));
}

static const char wdays[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* Writes v as exactly n decimal digits; returns the end. */
static char *digits(char *p, int v, int n) {
  for (int i = n - 1; i >= 0; i--, v /= 10)
    p[i] = (char)('0' + v % 10);
  return p + n;
}

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

/* "20:52:21" */
static char *clock_part(char *p, const struct civil *c) {
  p = digits(p, c->hour, 2);
  *p++ = ':';
  p = digits(p, c->min, 2);
  *p++ = ':';
  return digits(p, c->sec, 2);
}

/* "27 Nov 2026" or "27/Nov/2026" */
static char *day_month_year(char *p, const struct civil *c, char sep) {
  p = digits(p, c->day, 2);
  *p++ = sep;
  p = put(p, months + 3 * (c->month - 1), 3);
  *p++ = sep;
  return digits(p, c->year, 4);
}

size_t utc_iso_ms(char *out, const struct timespec *ts) {
  struct civil c;
  char *p = out;
  civil_from_time(ts->tv_sec, &c);
  p = digits(p, c.year, 4);
  *p++ = '-';
  p = digits(p, c.month, 2);
  *p++ = '-';
  p = digits(p, c.day, 2);
  *p++ = 'T';
  p = clock_part(p, &c);
  *p++ = '.';
  p = digits(p, (int)(ts->tv_nsec / 1000000), 3);
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - out);
}

size_t utc_http(char *out, time_t t) {
  struct civil c;
  char *p = out;
  civil_from_time(t, &c);
  p = put(p, wdays + 3 * c.wday, 3);
  p = put(p, ", ", 2);
  p = day_month_year(p, &c, ' ');
  *p++ = ' ';
  p = clock_part(p, &c);
  p = put(p, " GMT", 4);
  *p = '\0';
  return (size_t)(p - out);
}

size_t utc_clf(char *out, time_t t) {
  struct civil c;
  char *p = out;
  civil_from_time(t, &c);
  p = day_month_year(p, &c, '/');
  *p++ = ':';
  p = clock_part(p, &c);
  p = put(p, " +0000", 6);
  *p = '\0';
  return (size_t)(p - out);
}

uint64_t utc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
