/* access.h - one line per answered request, buffered, reopened on USR1. */
#ifndef MCHOST_ACCESS_H
#define MCHOST_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

struct conn;

struct access_log {
  int fd;           /* -1: no access log */
  const char *path; /* "-" = stdout */
  int json;
  uv_timer_t flush;
  int has_timer;
  time_t date_sec;
  char date[32]; /* "27/Nov/2026:17:45:18 +0000" */
  size_t len;
  char buf[32768];
};

/* Opens `path` for appending (creating it 0644). Returns 0 or a negative
 * errno with a message in err. With path NULL the log is off. */
int access_open(struct access_log *a, uv_loop_t *loop, const char *path,
                int json, char *err, size_t errlen);

/* Records the response just finished on c: status, body bytes, duration. */
void access_record(struct access_log *a, const struct conn *c);

/* logrotate moved the file away: write to a new one under the same name. */
void access_reopen(struct access_log *a);

/* Writes what is buffered. */
void access_flush(struct access_log *a);

/* Flushes, closes the file and the timer. */
void access_close(struct access_log *a);

#endif
