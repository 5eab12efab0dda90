/*
 * cond.c - conditional requests (RFC 9110 §13): the dates and entity-tags
 * a client sends back, and what they say about the resource it would get.
 * Plain functions over the fields' values, for a response made from a file
 * (an entity-tag and a modification time), as nginx's static module does.
 *
 * Dates are parsed by hand, not with strptime() and timegm(): those go
 * through the locale and the time zone, and accept more than the grammar.
 * The calendar arithmetic is the days-from-civil algorithm of Howard
 * Hinnant's "chrono-Compatible Low-Level Date Algorithms", the inverse of
 * utc.c's (proleptic Gregorian).
 */
#include "cond.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "token.h"

struct civil {
  int year, month, day; /* month 1-12 */
  int hour, min, sec;
};

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char wdays[] = "MonTueWedThuFriSatSun";
static const char *const wdays_long[] = {"Monday",   "Tuesday", "Wednesday",
                                         "Thursday", "Friday",  "Saturday",
                                         "Sunday"};

/* Exactly n decimal digits into *v; NULL unless there are n. */
static const char *num(const char *p, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++, p++) {
    if (*p < '0' || *p > '9')
      return NULL;
    *v = *v * 10 + (*p - '0');
  }
  return p;
}

/* The literal s (case-sensitive); NULL when p does not start with it. */
static const char *lit(const char *p, const char *s) {
  size_t n = strlen(s);
  return p != NULL && strncmp(p, s, n) == 0 ? p + n : NULL;
}

/* One of `n` three-letter names in `names`: its index in *i. */
static const char *name3(const char *p, const char *names, int n, int *i) {
  for (*i = 0; *i < n; (*i)++)
    if (strncmp(p, names + 3 * *i, 3) == 0)
      return p + 3;
  return NULL;
}

static const char *month(const char *p, int *m) {
  if (p == NULL || (p = name3(p, months, 12, m)) == NULL)
    return NULL;
  (*m)++;
  return p;
}

/* "08:49:37" */
static const char *clock_part(const char *p, struct civil *c) {
  if (p == NULL || (p = num(p, 2, &c->hour)) == NULL || *p++ != ':' ||
      (p = num(p, 2, &c->min)) == NULL || *p++ != ':')
    return NULL;
  return num(p, 2, &c->sec);
}

/* After the day name and its comma: the IMF-fixdate's " 06 Nov 1994
 * 08:49:37 GMT" (sep " ", a 4-digit year) or RFC 850's " 06-Nov-94
 * 08:49:37 GMT" (sep "-", a 2-digit year: 70-99 are 19xx, 00-69 20xx). */
static const char *gmt_date(const char *p, struct civil *c, const char *sep,
                            int ydigits) {
  if ((p = lit(p, " ")) == NULL || (p = num(p, 2, &c->day)) == NULL)
    return NULL;
  p = month(lit(p, sep), &c->month);
  if ((p = lit(p, sep)) == NULL || (p = num(p, ydigits, &c->year)) == NULL)
    return NULL;
  if (ydigits == 2)
    c->year += c->year >= 70 ? 1900 : 2000;
  return lit(clock_part(lit(p, " "), c), " GMT");
}

/* After "Sun": " Nov  6 08:49:37 1994" (or "Nov 06") */
static const char *asctime_date(const char *p, struct civil *c) {
  if ((p = month(lit(p, " "), &c->month)) == NULL || *p++ != ' ')
    return NULL;
  if (*p == ' ')
    p = num(p + 1, 1, &c->day);
  else
    p = num(p, 2, &c->day);
  if ((p = clock_part(lit(p, " "), c)) == NULL || (p = lit(p, " ")) == NULL)
    return NULL;
  return num(p, 4, &c->year);
}

static int leap(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

static int civil_valid(const struct civil *c) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int days = mdays[c->month - 1] + (c->month == 2 && leap(c->year));
  return c->day >= 1 && c->day <= days && c->hour <= 23 && c->min <= 59 &&
         c->sec <= 60;
}

/* Days since 1970-01-01. Counting from 0000-03-01 puts the leap day at the
 * end of each year, in 400-year eras of 146097 days. */
static int64_t days_from_civil(int y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int cond_date_parse(const char *s, int64_t *t) {
  struct civil c = {0};
  const char *p = token_skip_ows(s), *q;
  int i;

  /* The day name says which format follows; each long name starts with
   * its short one. */
  if ((q = name3(p, wdays, 7, &i)) == NULL)
    p = NULL;
  else if (*q == ',')
    p = gmt_date(q + 1, &c, " ", 4);
  else if (*q == ' ')
    p = asctime_date(q, &c);
  else if ((q = lit(p, wdays_long[i])) != NULL && *q == ',')
    p = gmt_date(q + 1, &c, "-", 2);
  else
    p = NULL;
  if (p == NULL || *token_skip_ows(p) != '\0' || !civil_valid(&c))
    return -EINVAL;
  *t = days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 +
       c.min * 60 + c.sec;
  return 0;
}

size_t cond_etag(char *out, int64_t mtime, uint64_t size) {
  return (size_t)snprintf(out, COND_ETAG_MAX, "\"%" PRIx64 "-%" PRIx64 "\"",
                          (uint64_t)mtime, size);
}

/* An entity-tag (RFC 9110 §8.8.3): *weak tells whether it has "W/", *tag
 * and *len its opaque-tag with the quotes. NULL when there is none. */
static const char *etag_scan(const char *p, int *weak, const char **tag,
                             size_t *len) {
  *weak = p[0] == 'W' && p[1] == '/';
  p += 2 * *weak;
  if (*p != '"')
    return NULL;
  *tag = p++;
  /* etagc: %x21 / %x23-7E / obs-text */
  for (unsigned char c = (unsigned char)*p;
       c == 0x21 || (c >= 0x23 && c != 0x7f); c = (unsigned char)*++p)
    ;
  if (*p++ != '"')
    return NULL;
  *len = (size_t)(p - *tag);
  return p;
}

static int etag_equal(const char *tag, size_t len, const char *etag) {
  return len == strlen(etag) && memcmp(tag, etag, len) == 0;
}

int cond_etag_match(const char *list, const char *etag, int weak) {
  const char *p = token_skip_ows(list), *tag;
  size_t len;
  int found = 0, w;

  if (*p == '*' && *token_skip_ows(p + 1) == '\0')
    return 1;
  for (;;) { /* the whole list is read: a malformed one never matches */
    while (*p == ',' || token_is_ows(*p))
      p++;
    if (*p == '\0')
      return found;
    if ((p = etag_scan(p, &w, &tag, &len)) == NULL)
      return -EINVAL;
    if ((weak || !w) && etag_equal(tag, len, etag))
      found = 1;
    p = token_skip_ows(p);
    if (*p != ',' && *p != '\0')
      return -EINVAL;
  }
}

enum cond_result cond_evaluate(const struct cond_request *r, const char *etag,
                               int64_t mtime) {
  int64_t t;

  if (r->if_match != NULL) {
    if (cond_etag_match(r->if_match, etag, 0) != 1)
      return COND_FAILED;
  } else if (r->if_unmodified_since != NULL &&
             cond_date_parse(r->if_unmodified_since, &t) == 0 && mtime > t) {
    return COND_FAILED;
  }
  if (r->if_none_match != NULL) {
    if (cond_etag_match(r->if_none_match, etag, 1) == 1)
      return r->get_or_head ? COND_NOT_MODIFIED : COND_FAILED;
  } else if (r->get_or_head && r->if_modified_since != NULL &&
             cond_date_parse(r->if_modified_since, &t) == 0 && mtime <= t) {
    return COND_NOT_MODIFIED;
  }
  return COND_PROCEED;
}

int cond_if_range(const char *value, const char *etag, int64_t mtime) {
  const char *p, *tag;
  size_t len;
  int64_t t;
  int w;

  if (value == NULL)
    return 1;
  p = token_skip_ows(value);
  if (*p == '"' || (p[0] == 'W' && p[1] == '/')) {
    p = etag_scan(p, &w, &tag, &len);
    return p != NULL && *token_skip_ows(p) == '\0' && !w &&
           etag_equal(tag, len, etag);
  }
  return cond_date_parse(value, &t) == 0 && t == mtime;
}
