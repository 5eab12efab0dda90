/* log.c - levels, timestamps, and one write(2) per line. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Process-wide by nature: every module logs, and mc_log() has no context
 * argument. Set once at start-up, read-only afterwards. */
static struct {
  int level;
  char who[48];
} logger = {MC_LOG_INFO, "mchost"};

static const char *const level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

void log_init(int level, const char *who) {
  logger.level = level;
  snprintf(logger.who, sizeof logger.who, "%s", who);
}

int log_enabled(int level) { return level <= logger.level; }

void log_vmsg(int level, const char *fmt, va_list ap) {
  char line[2300];
  struct timespec ts;
  struct tm tm;
  size_t n;
  int k;

  if (!log_enabled(level))
    return;
  if (level < MC_LOG_ERROR)
    level = MC_LOG_ERROR;
  if (level > MC_LOG_DEBUG)
    level = MC_LOG_DEBUG;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
  k = snprintf(line + n, sizeof line - n, ".%03ldZ %s [%s] ",
               ts.tv_nsec / 1000000, level_names[level], logger.who);
  n += (size_t)k;
  k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  if (k < 0)
    k = 0;
  n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
  line[n++] = '\n';
  /* One write per line: lines from the master and its workers share stderr
   * and must not interleave mid-line. */
  while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
    ;
}

void log_msg(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(level, fmt, ap);
  va_end(ap);
}

MC_EXTERN void mc_log(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(level, fmt, ap);
  va_end(ap);
}
