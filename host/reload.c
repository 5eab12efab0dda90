/*
 * reload.c - generations: snapshots of the plugin, --build, and the swap.
 *
 * A reload never touches the workers that serve: a new generation starts
 * beside them from its own snapshot of the plugin, and only when each of
 * its workers has reported ready do the old ones stop accepting and drain.
 * The listening socket is shared by both, so no connection is refused in
 * between. A generation that fails (load error, mc_init refusing or
 * crashing, not ready in time) is discarded and the old one keeps serving.
 *
 * Each generation loads its own copy: `cp new.so app.so` rewrites in place
 * the pages that the old workers execute (SIGBUS), the linker may still be
 * writing when the watcher fires, and dlopen() of a path it has open hands
 * back the cached handle instead of the new code.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "deconst.h"
#include "devreport.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "plugin.h"

static void reload_begin(struct master *m, int what, int force);

/* ---- snapshots ---- */

void reload_snapshot_path(const struct master *m, unsigned generation,
                          char *out, size_t len) {
  snprintf(out, len, "%s/gen-%u.so", m->snapdir, generation);
}

void reload_config_path(const struct master *m, unsigned generation, char *out,
                        size_t len) {
  snprintf(out, len, "%s/gen-%u.conf", m->snapdir, generation);
}

/* What generation `gen`'s workers read in place of the --config file: the
 * file as the master read it last (conffile_write()), so that a worker
 * started later (a crash, TTIN) gets what its generation got. */
static int write_config(struct master *m, unsigned gen, char *err,
                        size_t errlen) {
  char path[PATH_MAX + 32];
  FILE *f;
  int rc;

  if (m->cfg->config == NULL)
    return 0;
  reload_config_path(m, gen, path, sizeof path);
  if ((f = fopen(path, "we")) == NULL) {
    rc = -errno;
  } else {
    rc = conffile_write(f, m->cfg->config);
    if (fclose(f) != 0 && rc == 0)
      rc = -errno;
  }
  if (rc != 0)
    snprintf(err, errlen, "cannot write '%s': %s", path, strerror(-rc));
  return rc;
}

/* A master that was SIGKILLed could not remove its snapshots: remove those
 * of dead masters that were ours, so that /tmp does not fill up with them. */
static void remove_stale_snapdirs(const char *base) {
  DIR *dir = opendir(base);
  struct dirent *e;

  if (dir == NULL)
    return;
  while ((e = readdir(dir)) != NULL) {
    char path[PATH_MAX], file[PATH_MAX + 256];
    struct stat st;
    int pid;
    DIR *sub;
    struct dirent *f;

    if (sscanf(e->d_name, "mchost-%d-", &pid) != 1 || pid <= 0 ||
        (kill(pid, 0) == 0 || errno != ESRCH))
      continue;
    snprintf(path, sizeof path, "%s/%s", base, e->d_name);
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid() || (sub = opendir(path)) == NULL)
      continue;
    while ((f = readdir(sub)) != NULL) {
      if (strncmp(f->d_name, "gen-", 4) != 0)
        continue;
      snprintf(file, sizeof file, "%s/%s", path, f->d_name);
      unlink(file);
    }
    closedir(sub);
    rmdir(path);
  }
  closedir(dir);
}

/* The directory is private (mkdtemp makes it 0700) and checked to be ours:
 * whoever can write there chooses the code the workers run. */
static int make_snapdir(struct master *m, char *err, size_t errlen) {
  const char *bases[] = {getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"), "/tmp"};
  struct stat st;

  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    if (bases[i] == NULL || bases[i][0] == '\0')
      continue;
    remove_stale_snapdirs(bases[i]);
    snprintf(m->snapdir, sizeof m->snapdir, "%s/mchost-%d-XXXXXX", bases[i],
             (int)getpid());
    if (mkdtemp(m->snapdir) == NULL)
      continue;
    if (lstat(m->snapdir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
      snprintf(err, errlen, "snapshot directory '%s' is not private",
               m->snapdir);
      return -EPERM;
    }
    return 0;
  }
  m->snapdir[0] = '\0';
  snprintf(err, errlen,
           "cannot create a private directory for plugin "
           "snapshots in $XDG_RUNTIME_DIR, $TMPDIR or /tmp: %s",
           strerror(errno));
  return -errno;
}

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
         a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* ---- the state machine ---- */

static void reload_on_watch(void *arg, int what, const char *path) {
  char why[PATH_MAX + 32];
  snprintf(why, sizeof why, "%s changed", path);
  reload_request(arg, what, why);
}

int reload_init(struct master *m, char *err, size_t errlen) {
  char msg[PATH_MAX + 256];
  int rc;

  uv_timer_init(&m->loop, &m->reload.timer);
  m->reload.timer.data = m;
  if ((rc = make_snapdir(m, err, errlen)) != 0)
    return rc;
  reload_snapshot_path(m, m->generation, m->snapshot, sizeof m->snapshot);
  rc = plugin_snapshot(m->cfg->plugin, m->snapshot, &m->plugin_st, msg,
                       sizeof msg);
  if (rc != 0) {
    snprintf(err, errlen, "%s", msg);
    return rc;
  }
  if ((rc = write_config(m, m->generation, err, errlen)) != 0)
    return rc;
  if (!m->cfg->reload_on)
    return 0;
  if ((rc = watch_start(&m->watch, &m->loop, m->cfg, reload_on_watch, m, msg,
                        sizeof msg)) != 0) {
    watch_close(&m->watch);
    snprintf(err, errlen, "%s", msg);
    return rc;
  }
  m->watching = 1;
  return 0;
}

/* The current reload is over, one way or another: a change that arrived
 * meanwhile is not lost. */
static void reload_done(struct master *m) {
  struct reload *r = &m->reload;
  /* systemd leaves "reloading" only on READY=1, also after a failure */
  if (r->state == RELOAD_STARTING)
    master_notify_ready(m);
  r->state = RELOAD_IDLE;
  uv_timer_stop(&r->timer);
  if (r->again && !m->stopping) {
    int what = r->again_what, force = r->again_force;
    r->again = 0;
    r->again_what = 0;
    r->again_force = 0;
    snprintf(r->why, sizeof r->why, "%s", r->again_why);
    reload_begin(m, what, force);
  }
}

static void reload_fail(struct master *m, const char *reason) {
  struct reload *r = &m->reload;
  char title[128], why[2048];

  snprintf(title, sizeof title, "generation %u could not start", r->generation);
  devreport_load_error(m, r->generation, why, sizeof why);
  devreport_set(m, title, why[0] != '\0' ? why : reason);
  log_error("reload to generation %u failed: %s; generation %u keeps "
            "serving",
            r->generation, reason, m->generation);
  board_note(m, BOARD_RELOAD_FAILED);
  for (struct wproc *p = m->procs; p != NULL; p = p->next)
    if (p->generation == r->generation)
      wproc_stop(p);
  reload_done(m);
  reload_forget_generation(m, r->generation);
}

static void reload_on_timer(uv_timer_t *t) {
  struct master *m = t->data;
  struct reload *r = &m->reload;

  if (r->state == RELOAD_WAITING)
    reload_begin(m, WATCH_PLUGIN, r->force);
  else if (r->state == RELOAD_STARTING)
    reload_fail(m, "its workers were not ready within 30 s");
}

/* Starts a new generation from a fresh snapshot, unless the plugin file is
 * the one the serving generation already runs (a build that changed nothing,
 * or the linker's last events after a reload) and the reload is not forced
 * (SIGHUP). */
static void reload_start_generation(struct master *m, int force) {
  struct reload *r = &m->reload;
  char err[PATH_MAX + 256], tmp[PATH_MAX + 32];
  unsigned gen = m->last_generation + 1;
  struct stat st;
  int rc;

  if (!force && stat(m->cfg->plugin, &st) == 0 &&
      same_file(&st, &m->plugin_st)) {
    log_debug("%s: the plugin is unchanged, nothing to reload", r->why);
    reload_done(m);
    return;
  }
  /* The file's [plugin] section again; one that no longer parses keeps
   * the serving generation, as a plugin that does not load does. */
  if (m->cfg->config != NULL &&
      ((rc = conffile_reload(m->cfg, err, sizeof err)) != 0 ||
       (rc = write_config(m, gen, err, sizeof err)) != 0)) {
    r->generation = gen;
    reload_fail(m, err);
    return;
  }
  reload_snapshot_path(m, gen, tmp, sizeof tmp);
  rc = plugin_snapshot(m->cfg->plugin, tmp, &st, err, sizeof err);
  if (rc == -EAGAIN && ++r->tries < RELOAD_INCOMPLETE_RETRIES) {
    log_debug("%s; retrying in %llu ms", err,
              (unsigned long long)m->cfg->cooldown_ms);
    r->state = RELOAD_WAITING;
    uv_timer_start(&r->timer, reload_on_timer,
                   m->cfg->cooldown_ms ? m->cfg->cooldown_ms : 100, 0);
    return;
  }
  r->tries = 0;
  r->generation = gen;
  if (rc != 0) {
    reload_fail(m, err);
    return;
  }
  m->last_generation = gen;
  snprintf(r->snapshot, sizeof r->snapshot, "%s", tmp);
  r->st = st;
  r->wanted = m->wanted;
  r->state = RELOAD_STARTING;
  log_info("reloading (%s): starting generation %u", r->why, gen);
  notify_send("RELOADING=1\nSTATUS=reloading: starting generation %u", gen);
  /* One worker first, as at boot: a plugin that cannot start says so once,
   * not once per worker. */
  if (wproc_spawn(m, gen, r->snapshot) != 0) {
    reload_fail(m, "a worker could not be started");
    return;
  }
  uv_timer_start(&r->timer, reload_on_timer, RELOAD_READY_TIMEOUT_MS, 0);
}

/* ---- --build ---- */

static void build_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct master *m = h->data;
  struct reload *r = &m->reload;
  (void)hint;
  /* Keep the tail: a failed build says what went wrong at its end. */
  if (r->build_len > sizeof r->build_log / 2) {
    size_t keep = sizeof r->build_log / 4;
    memmove(r->build_log, r->build_log + r->build_len - keep, keep);
    r->build_len = keep;
  }
  *buf = uv_buf_init(r->build_log + r->build_len,
                     (unsigned)(sizeof r->build_log - r->build_len - 1));
}

static void build_finish(struct master *m) {
  struct reload *r = &m->reload;
  char title[64];
  uint64_t ms = uv_now(&m->loop) - r->started_ms;

  r->build_log[r->build_len] = '\0';
  if (m->stopping)
    return;
  if (r->build_spawn_failed) {
    reload_done(m);
    return;
  }
  if (r->build_status == 0 && r->build_sig == 0) {
    log_info("build succeeded in %llu ms", (unsigned long long)ms);
    devreport_clear(m);
    reload_start_generation(m, r->force);
    return;
  }
  log_error("build failed (%s %d) after %llu ms; generation %u keeps "
            "serving. Its output:\n%s",
            r->build_sig ? "signal" : "exit code",
            r->build_sig ? r->build_sig : (int)r->build_status,
            (unsigned long long)ms, m->generation, r->build_log);
  board_note(m, BOARD_RELOAD_FAILED);
  snprintf(title, sizeof title, "the build failed (%s %d)",
           r->build_sig ? "signal" : "exit code",
           r->build_sig ? r->build_sig : (int)r->build_status);
  devreport_set(m, title, r->build_log);
  reload_done(m);
}

static void build_on_close(uv_handle_t *h) {
  struct master *m = h->data;
  if (--m->reload.build_closing == 0)
    build_finish(m);
}

static void build_close(struct master *m) {
  struct reload *r = &m->reload;
  if (r->build_closing > 0)
    return;
  uv_timer_stop(&r->timer);
  r->build_closing = 2;
  uv_close((uv_handle_t *)&r->build, build_on_close);
  uv_close((uv_handle_t *)&r->build_out, build_on_close);
}

static void build_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct master *m = s->data;
  struct reload *r = &m->reload;
  (void)buf;
  if (n > 0) {
    r->build_len += (size_t)n;
    return;
  }
  if (n < 0) {
    uv_read_stop(s);
    r->build_eof = 1;
    if (r->build_exited)
      build_close(m);
  }
}

/* A build that left a process behind holding the pipe (a compiler
 * server) never gives EOF: do not wait for it. */
static void build_on_grace(uv_timer_t *t) { build_close(t->data); }

static void build_on_exit(uv_process_t *proc, int64_t status, int sig) {
  struct master *m = proc->data;
  struct reload *r = &m->reload;

  r->build_running = 0;
  r->build_exited = 1;
  r->build_status = status;
  r->build_sig = sig;
  if (r->build_eof)
    build_close(m);
  else
    uv_timer_start(&r->timer, build_on_grace, 500, 0);
}

static void build_start(struct master *m) {
  struct reload *r = &m->reload;
  uv_process_options_t opt;
  uv_stdio_container_t stdio[3];
  char *args[] = {DECONST(char *, "/bin/sh"), DECONST(char *, "-c"),
                  DECONST(char *, m->cfg->build), NULL};
  uv_file fds[2];
  int err;

  r->build_len = 0;
  r->build_exited = r->build_eof = r->build_spawn_failed = 0;
  /* One pipe for both stdout and stderr, so that the output keeps the
   * order in which the compiler wrote it. */
  if ((err = uv_pipe(fds, 0, 0)) != 0) {
    log_error("cannot run --build: %s", uv_strerror(err));
    reload_done(m);
    return;
  }
  uv_pipe_init(&m->loop, &r->build_out, 0);
  r->build_out.data = m;
  uv_pipe_open(&r->build_out, fds[0]);
  memset(stdio, 0, sizeof stdio);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = fds[1];
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = fds[1];
  memset(&opt, 0, sizeof opt);
  opt.file = args[0];
  opt.args = args;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  opt.exit_cb = build_on_exit;
  /* Its own process group, so that stopping mchost stops make and the
   * compilers it started, not only the shell. */
  opt.flags = UV_PROCESS_DETACHED;
  r->build.data = m;
  log_info("%s: building: %s", r->why, m->cfg->build);
  r->started_ms = uv_now(&m->loop);
  err = uv_spawn(&m->loop, &r->build, &opt);
  close(fds[1]);
  if (err != 0) {
    log_error("cannot run --build '%s': %s", m->cfg->build, uv_strerror(err));
    /* Both handles are initialized even so: close them before any reuse. */
    r->build_spawn_failed = 1;
    r->state = RELOAD_BUILDING;
    build_close(m);
    return;
  }
  r->build_running = 1;
  r->state = RELOAD_BUILDING;
  uv_read_start((uv_stream_t *)&r->build_out, build_on_alloc, build_on_read);
}

/* ---- entry points ---- */

static void reload_begin(struct master *m, int what, int force) {
  struct reload *r = &m->reload;

  if (r->state != RELOAD_WAITING)
    r->started_ms = uv_now(&m->loop);
  r->force = force;
  if ((what & WATCH_SOURCE) && m->cfg->build != NULL) {
    build_start(m);
    return;
  }
  if (what == WATCH_SOURCE && !force) {
    /* Without --build a source change has nothing to reload: the user's
     * own build will touch the plugin, which is watched. */
    log_debug("%s; no --build given, waiting for the plugin to change", r->why);
    reload_done(m);
    return;
  }
  reload_start_generation(m, force);
}

void reload_request(struct master *m, int what, const char *why) {
  struct reload *r = &m->reload;

  if (m->stopping || m->draining)
    return;
  if (r->state != RELOAD_IDLE) {
    r->again = 1;
    r->again_what |= what;
    r->again_force |= what == 0;
    snprintf(r->again_why, sizeof r->again_why, "%s", why);
    log_debug("%s during a reload: another reload follows it", why);
    return;
  }
  snprintf(r->why, sizeof r->why, "%s", why);
  reload_begin(m, what, what == 0);
}

void reload_on_worker_ready(struct master *m, struct wproc *p) {
  struct reload *r = &m->reload;
  unsigned ready = 0, old = m->generation;

  unsigned started = 0;

  if (r->state != RELOAD_STARTING || p->generation != r->generation)
    return;
  for (struct wproc *q = m->procs; q != NULL; q = q->next) {
    if (q->generation != r->generation)
      continue;
    started++;
    ready += q->state == W_READY;
  }
  for (; started < r->wanted; started++) {
    if (wproc_spawn(m, r->generation, r->snapshot) != 0) {
      reload_fail(m, "a worker could not be started");
      return;
    }
  }
  if (ready < r->wanted)
    return;
  /* Every new worker accepts now: the old ones may stop accepting. */
  m->generation = r->generation;
  board_note(m, BOARD_RELOAD);
  m->announced = 1;
  master_booted(m);
  for (struct wproc *q = m->procs; q != NULL; q = q->next)
    if (q->generation != m->generation)
      wproc_stop(q);
  snprintf(m->snapshot, sizeof m->snapshot, "%s", r->snapshot);
  m->plugin_st = r->st;
  devreport_clear(m);
  log_info("reloaded: generation %u serving (%u worker%s, %s) in %llu ms; "
           "generation %u is draining",
           m->generation, ready, ready == 1 ? "" : "s", r->why,
           (unsigned long long)(uv_now(&m->loop) - r->started_ms), old);
  reload_done(m);
  master_reconcile(m);
}

void reload_on_worker_exit(struct master *m, struct wproc *p, const char *how) {
  struct reload *r = &m->reload;
  char detail[128];

  if (r->state != RELOAD_STARTING || p->generation != r->generation)
    return;
  snprintf(detail, sizeof detail,
           "worker %u of it exited before it was ready "
           "(%s; see above)",
           p->id, how);
  reload_fail(m, detail);
}

/* A generation's snapshot goes once its last worker is gone (the serving
 * one stays: its workers may need replacing). Unlinking is safe earlier
 * too, for the mapped inode stays, but a worker still starting would not
 * find its file. */
void reload_forget_generation(struct master *m, unsigned generation) {
  char path[PATH_MAX + 32];

  if (generation == m->generation || (m->reload.state == RELOAD_STARTING &&
                                      generation == m->reload.generation))
    return;
  for (struct wproc *p = m->procs; p != NULL; p = p->next)
    if (p->generation == generation)
      return;
  reload_snapshot_path(m, generation, path, sizeof path);
  unlink(path);
  reload_config_path(m, generation, path, sizeof path);
  unlink(path);
}

void reload_stop(struct master *m) {
  struct reload *r = &m->reload;

  if (r->build_running)
    uv_kill(-r->build.pid, SIGTERM);
  uv_timer_stop(&r->timer);
  if (!uv_is_closing((uv_handle_t *)&r->timer))
    uv_close((uv_handle_t *)&r->timer, NULL);
  if (m->watching)
    watch_close(&m->watch);
  m->watching = 0;
  r->state = RELOAD_IDLE;
}

void reload_cleanup(struct master *m) {
  char path[PATH_MAX + 32];

  if (m->snapdir[0] == '\0')
    return;
  for (unsigned g = 1; g <= m->last_generation; g++) {
    reload_snapshot_path(m, g, path, sizeof path - 8);
    unlink(path);
    strcat(path, DEVREPORT_LOAD_ERROR_SUFFIX); /* devpage_note_load_error() */
    unlink(path);
    reload_config_path(m, g, path, sizeof path);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/" DEVREPORT_ERROR_FILE, m->snapdir);
  unlink(path);
  rmdir(m->snapdir);
  m->snapdir[0] = '\0';
}
