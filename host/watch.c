/*
 * watch.c - what live reload watches.
 *
 * libuv's uv_fs_event is inotify on Linux and is not recursive, so each
 * directory of a --watch tree gets its own watcher, directories created
 * later are added when they appear, and removed ones are dropped. Events
 * are debounced on the trailing edge: the callback runs --cooldown ms after
 * the LAST event of a burst, never on the first one (an editor's save, or a
 * linker writing a .so, is many events).
 *
 * The plugin file is watched through its directory, not by itself: `cp`
 * rewrites it in place, but `mv` and most linkers replace the inode, which
 * a watch on the file itself would lose.
 */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* Enough for a source tree; a mistaken --watch / stops here, loudly. */
#define WATCH_MAX_DIRS 4096

struct watch_dir {
  uv_fs_event_t ev;
  struct watch *w;
  struct watch_dir *next;
  int recursive; /* part of a --watch tree */
  int plugin;    /* the plugin file's directory */
  char path[];
};

int watch_ext_matches(const char *exts, const char *name) {
  const char *dot = strrchr(name, '.');
  size_t len;

  if (dot == NULL || dot == name || name[0] == '.')
    return 0; /* no extension, or a hidden file (editor swap files) */
  dot++;
  len = strlen(dot);
  for (const char *p = exts; *p != '\0';) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (*p == '.')
      p++, n--;
    if (n == len && strncmp(p, dot, n) == 0)
      return 1;
    p += n + (comma != NULL);
  }
  return 0;
}

static void watch_on_debounce(uv_timer_t *t) {
  struct watch *w = t->data;
  int what = w->pending;
  w->pending = 0;
  if (what != 0)
    w->cb(w->arg, what, w->last);
}

static void watch_note(struct watch *w, int what, const char *path) {
  w->pending |= what;
  snprintf(w->last, sizeof w->last, "%s", path);
  uv_timer_start(&w->debounce, watch_on_debounce, w->cooldown_ms, 0);
}

static struct watch_dir *watch_find(struct watch *w, const char *path,
                                    int recursive) {
  for (struct watch_dir *d = w->dirs; d != NULL; d = d->next)
    if (d->recursive == recursive && strcmp(d->path, path) == 0)
      return d;
  return NULL;
}

static void watch_dir_on_close(uv_handle_t *h) { free(h->data); }

static void watch_drop(struct watch *w, struct watch_dir *gone) {
  for (struct watch_dir **pp = &w->dirs; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == gone) {
      *pp = gone->next;
      w->ndirs--;
      uv_close((uv_handle_t *)&gone->ev, watch_dir_on_close);
      log_debug("no longer watching %s (removed)", gone->path);
      return;
    }
  }
}

static int watch_tree(struct watch *w, const char *path, int *found);

static void watch_on_event(uv_fs_event_t *h, const char *name, int events,
                           int status) {
  struct watch_dir *d = h->data;
  struct watch *w = d->w;
  char full[PATH_MAX];
  struct stat st;
  (void)events;

  if (status < 0 || name == NULL)
    return;
  snprintf(full, sizeof full, "%s/%s", d->path, name);
  if (d->plugin && strcmp(name, w->plugin_base) == 0)
    watch_note(w, WATCH_PLUGIN, full);
  if (!d->recursive)
    return;
  if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
    int found = 0;
    if (name[0] != '.' && watch_find(w, full, 1) == NULL) {
      /* Files may have been written into it before its watcher existed. */
      watch_tree(w, full, &found);
      if (found)
        watch_note(w, WATCH_SOURCE, full);
    }
    return;
  }
  if (watch_find(w, full, 1) != NULL) {
    struct watch_dir *gone = watch_find(w, full, 1);
    /* The tree under it is gone too. */
    size_t n = strlen(full);
    for (struct watch_dir *x = w->dirs, *next; x != NULL; x = next) {
      next = x->next;
      if (x->recursive && strncmp(x->path, full, n) == 0 &&
          (x->path[n] == '/' || x->path[n] == '\0') && x != gone)
        watch_drop(w, x);
    }
    watch_drop(w, gone);
    return;
  }
  if (watch_ext_matches(w->exts, name))
    watch_note(w, WATCH_SOURCE, full);
}

static int watch_add(struct watch *w, const char *path, int recursive,
                     int plugin) {
  size_t n = strlen(path);
  struct watch_dir *d;
  int err;

  if (w->ndirs >= WATCH_MAX_DIRS)
    return -EMFILE;
  if ((d = calloc(1, sizeof *d + n + 1)) == NULL)
    return -ENOMEM;
  memcpy(d->path, path, n + 1);
  d->w = w;
  d->recursive = recursive;
  d->plugin = plugin;
  uv_fs_event_init(w->loop, &d->ev);
  d->ev.data = d;
  if ((err = uv_fs_event_start(&d->ev, watch_on_event, path, 0)) != 0) {
    uv_close((uv_handle_t *)&d->ev, watch_dir_on_close);
    return err;
  }
  d->next = w->dirs;
  w->dirs = d;
  w->ndirs++;
  return 0;
}

/* Adds `path` and every directory below it (hidden ones excepted: .git
 * changes on every commit and holds no sources). *found is set when a file
 * with a watched extension is already there. */
static int watch_tree(struct watch *w, const char *path, int *found) {
  DIR *dir;
  struct dirent *e;
  int err;

  if ((err = watch_add(w, path, 1, 0)) != 0)
    return err;
  if ((dir = opendir(path)) == NULL)
    return 0;
  while ((e = readdir(dir)) != NULL) {
    char sub[PATH_MAX];
    struct stat st;
    if (e->d_name[0] == '.')
      continue;
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    if (stat(sub, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      if ((err = watch_tree(w, sub, found)) == -EMFILE)
        break;
    } else if (watch_ext_matches(w->exts, e->d_name)) {
      *found = 1;
    }
  }
  closedir(dir);
  return err == -EMFILE ? err : 0;
}

int watch_start(struct watch *w, uv_loop_t *loop, const struct config *cfg,
                watch_cb cb, void *arg, char *err, size_t errlen) {
  char buf[PATH_MAX];
  int rc, found = 0;

  memset(w, 0, sizeof *w);
  w->loop = loop;
  w->exts = cfg->ext;
  w->cooldown_ms = cfg->cooldown_ms;
  w->cb = cb;
  w->arg = arg;
  uv_timer_init(loop, &w->debounce);
  w->debounce.data = w;

  if (realpath(cfg->plugin, buf) == NULL) {
    snprintf(err, errlen, "cannot watch '%s': %s", cfg->plugin,
             strerror(errno));
    return -errno;
  }
  snprintf(w->plugin_base, sizeof w->plugin_base, "%s", basename(buf));
  snprintf(w->plugin_dir, sizeof w->plugin_dir, "%s", dirname(buf));
  if ((rc = watch_add(w, w->plugin_dir, 0, 1)) != 0) {
    snprintf(err, errlen, "cannot watch '%s': %s", w->plugin_dir,
             uv_strerror(rc));
    return rc;
  }
  for (unsigned i = 0; i < cfg->watch.n; i++) {
    struct stat st;
    errno = 0;
    if (realpath(cfg->watch.v[i], buf) == NULL || stat(buf, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
      snprintf(err, errlen, "--watch '%s': %s", cfg->watch.v[i],
               errno ? strerror(errno) : "not a directory");
      return -ENOTDIR;
    }
    rc = watch_tree(w, buf, &found);
    if (rc == -EMFILE) {
      snprintf(err, errlen,
               "--watch '%s': more than %d directories: watch the source "
               "directory, not a whole disk",
               cfg->watch.v[i], WATCH_MAX_DIRS);
      return rc;
    }
    if (rc != 0) {
      snprintf(err, errlen, "cannot watch '%s': %s", buf, uv_strerror(rc));
      return rc;
    }
  }
  return 0;
}

void watch_close(struct watch *w) {
  struct watch_dir *d = w->dirs, *next;
  for (; d != NULL; d = next) {
    next = d->next;
    uv_close((uv_handle_t *)&d->ev, watch_dir_on_close);
  }
  w->dirs = NULL;
  w->ndirs = 0;
  if (w->loop != NULL && !uv_is_closing((uv_handle_t *)&w->debounce))
    uv_close((uv_handle_t *)&w->debounce, NULL);
}
