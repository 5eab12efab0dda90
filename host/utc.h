/* utc.h - Unix time as the dates mchost writes, in UTC (utc.c). */
#ifndef MCHOST_UTC_H
#define MCHOST_UTC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Each writes its date and a terminating NUL into out, which must hold
 * UTC_*_LEN + 1 bytes, and returns UTC_*_LEN. The time is any from year
 * 0 to 9999. */

/* "2026-11-27T20:52:21.123Z": the error and access logs (ISO 8601, to
 * the millisecond) */
#define UTC_ISO_MS_LEN 24
size_t utc_iso_ms(char *out, const struct timespec *ts);

/* "Fri, 27 Nov 2026 20:52:21 GMT": the Date header (RFC 9110 IMF-fixdate) */
#define UTC_HTTP_LEN 29
size_t utc_http(char *out, time_t t);

/* "27/Nov/2026:20:52:21 +0000": the Common Log Format */
#define UTC_CLF_LEN 26
size_t utc_clf(char *out, time_t t);

/* Milliseconds since 1970 by the wall clock: the times on the status
 * board, which `mchost status` shows. */
uint64_t utc_now_ms(void);

#endif
