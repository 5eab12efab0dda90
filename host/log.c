/* log.c - levels, timestamps, and one write(2) per line. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utc.h"

/* Process-wide by nature: every module logs, and mc_log() has no context
 * argument. Set once at start-up, read-only afterwards. */
static struct {
  int level;
  int json;
  char who[48];
} logger = {MC_LOG_INFO, 0, "mchost"};

static const char *const level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
static const char *const json_levels[] = {"error", "warn", "info", "debug"};

size_t log_json_escape(char *out, size_t cap, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < len && n + 7 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') {
      out[n++] = '\\';
      out[n++] = (char)ch;
    } else if (ch == '\n') {
      out[n++] = '\\';
      out[n++] = 'n';
    } else if (ch < 0x20 || ch == 0x7f) {
      memcpy(out + n, "\\u00", 4);
      out[n + 4] = hex[ch >> 4];
      out[n + 5] = hex[ch & 15];
      n += 6;
    } else {
      out[n++] = (char)ch;
    }
  }
  return n;
}

void log_init(int level, const char *who, int json) {
  logger.level = level;
  logger.json = json;
  snprintf(logger.who, sizeof logger.who, "%s", who);
}

int log_enabled(int level) { return level <= logger.level; }

void log_vmsg(int level, const char *fmt, va_list ap) {
  char line[2300];
  struct timespec ts;
  size_t n;
  int k;

  if (!log_enabled(level))
    return;
  if (level < MC_LOG_ERROR)
    level = MC_LOG_ERROR;
  if (level > MC_LOG_DEBUG)
    level = MC_LOG_DEBUG;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (logger.json) {
    char msg[2048], stamp[UTC_ISO_MS_LEN + 1];
    k = vsnprintf(msg, sizeof msg, fmt, ap);
    if (k < 0)
      k = 0;
    utc_iso_ms(stamp, &ts);
    n = (size_t)snprintf(line, sizeof line,
                         "{\"time\":\"%s\",\"level\":\"%s\","
                         "\"process\":\"%s\",\"msg\":\"",
                         stamp, json_levels[level], logger.who);
    n += log_json_escape(line + n, sizeof line - n - 3, msg,
                         (size_t)k < sizeof msg ? (size_t)k : sizeof msg - 1);
    line[n++] = '"';
    line[n++] = '}';
  } else {
    n = utc_iso_ms(line, &ts);
    k = snprintf(line + n, sizeof line - n, " %s [%s] ", level_names[level],
                 logger.who);
    n += (size_t)k;
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    if (k < 0)
      k = 0;
    n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
  }
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

MC_EXTERN void mc_log(enum mc_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(level, fmt, ap);
  va_end(ap);
}
