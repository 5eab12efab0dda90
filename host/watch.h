/* watch.h - file watching for live reload: recursive, filtered, debounced. */
#ifndef MCHOST_WATCH_H
#define MCHOST_WATCH_H

#include <limits.h>
#include <uv.h>

#include "config.h"

enum watch_what {
  WATCH_PLUGIN = 1, /* the --plugin file changed */
  WATCH_SOURCE = 2  /* a file with one of the --ext extensions changed */
};

/* Called once per burst of changes, --cooldown ms after its last event. */
typedef void (*watch_cb)(void *arg, int what, const char *path);

struct watch_dir;

struct watch {
  uv_loop_t *loop;
  struct watch_dir *dirs;
  unsigned ndirs;
  char plugin_dir[PATH_MAX];
  char plugin_base[256];
  const char *exts; /* "c,h" */
  uint64_t cooldown_ms;
  uv_timer_t debounce;
  int pending;         /* enum watch_what bits seen in this burst */
  char last[PATH_MAX]; /* the burst's last changed file, for the log */
  watch_cb cb;
  void *arg;
};

/* Watches the directory of cfg->plugin (for the plugin file) and every
 * cfg->watch directory recursively. Returns 0 or a negative errno with a
 * message in err. */
int watch_start(struct watch *w, uv_loop_t *loop, const struct config *cfg,
                watch_cb cb, void *arg, char *err, size_t errlen);

/* Closes every handle; the memory is freed by the close callbacks. */
void watch_close(struct watch *w);

/* 1 if `name` ends in one of the comma-separated extensions. */
int watch_ext_matches(const char *exts, const char *name);

#endif
