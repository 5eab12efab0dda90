/* utc.h - Unix time as the dates mchost writes, in UTC (utc.c). */
#ifndef MCHOST_UTC_H
#define MCHOST_UTC_H

#include <stddef.h>
#include <time.h>

/* Each writes its date and a terminating NUL into out, which must hold
 * UTC_*_LEN + 1 bytes, and returns UTC_*_LEN. t is any time from year 0
 * to 9999. */

/* "2026-11-27T20:52:21": the error and access logs (ISO 8601) */
#define UTC_ISO_LEN 19
size_t utc_iso(char *out, time_t t);

/* "Fri, 27 Nov 2026 20:52:21 GMT": the Date header (RFC 9110 IMF-fixdate) */
#define UTC_HTTP_LEN 29
size_t utc_http(char *out, time_t t);

/* "27/Nov/2026:20:52:21 +0000": the Common Log Format */
#define UTC_CLF_LEN 26
size_t utc_clf(char *out, time_t t);

#endif
