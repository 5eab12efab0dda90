/* log.h - one line per event on stderr: time, level, process, message. */
#ifndef MCHOST_LOG_H
#define MCHOST_LOG_H

#include <stdarg.h>

#include "mchost.h"

/* Levels are the SDK's MC_LOG_* so that mc_log() is a thin shim. */
void log_init(int level, const char *who, int json);

/* Appends `s` to out (at most cap bytes) escaped for a JSON string; returns
 * the bytes written. Also used by the access log. */
size_t log_json_escape(char *out, size_t cap, const char *s, size_t len);
int log_enabled(int level);
void log_msg(int level, const char *fmt, ...) MC_PRINTF(2, 3);
void log_vmsg(int level, const char *fmt, va_list ap) MC_PRINTF(2, 0);

#define log_error(...) log_msg(MC_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(MC_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(MC_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
  do {                                                                         \
    if (log_enabled(MC_LOG_DEBUG))                                             \
      log_msg(MC_LOG_DEBUG, __VA_ARGS__);                                      \
  } while (0)

#endif
