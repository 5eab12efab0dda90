/*
 * master.c - the master process.
 *
 * It binds the listening sockets once (listen.c) and keeps them for its whole
 * life, drops privileges (privileges.c), starts and supervises the workers
 * (wproc.c), and turns signals into decisions. It never loads the plugin:
 * nothing a plugin does can take it down.
 *
 * Like gunicorn's arbiter, every event ends in master_reconcile(), the one
 * place that compares the workers wanted with the workers running.
 */
#define _GNU_SOURCE
#include "master.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "access.h"
#include "admin.h"
#include "bundle.h"
#include "fdlimit.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "privileges.h"

#define X(sig, name, what) sig,
static const int master_signals[MASTER_NSIGNALS] = {MASTER_SIGNALS(X)};
#undef X

/* ---- readiness ---- */

/* systemd (Type=notify): the service is up, with what. A no-op elsewhere. */
void master_notify_ready(struct master *m) {
  notify_send("READY=1\nSTATUS=%u worker%s serving, generation %u\nMAINPID=%d",
              m->wanted, m->wanted == 1 ? "" : "s", m->generation,
              (int)getpid());
}

void master_booted(struct master *m) {
  if (m->booted)
    return;
  m->booted = 1;
  log_info("listening on %s with %u worker%s (plugin %s%s)", m->listen.where,
           m->wanted, m->wanted == 1 ? "" : "s", m->cfg->plugin,
           m->watching ? ", reloading on changes" : "");
}

unsigned master_serving(const struct master *m) {
  unsigned ready = 0;
  for (const struct wproc *q = m->procs; q != NULL; q = q->next)
    ready +=
        q->generation == m->generation && q->state == W_READY && !q->tainted;
  return ready;
}

/* Logs once per generation that all of its workers are serving. */
void master_announce(struct master *m) {
  unsigned ready = master_serving(m);

  if (!m->announced && ready >= m->wanted) {
    m->announced = 1;
    log_info("ready: %u worker%s serving (generation %u)", ready,
             ready == 1 ? "" : "s", m->generation);
    master_notify_ready(m);
  }
}

/* ---- the one place that acts ---- */

static void master_finish(struct master *m) {
  for (size_t i = 0; i < MASTER_NSIGNALS; i++)
    uv_close((uv_handle_t *)&m->sig[i], NULL);
  uv_close((uv_handle_t *)&m->respawn_timer, NULL);
  uv_close((uv_handle_t *)&m->drain_timer, NULL);
  admin_close(m);
}

static void master_on_respawn_timer(uv_timer_t *t) {
  master_reconcile(t->data);
}

void master_reconcile(struct master *m) {
  unsigned live = 0, starting = 0;
  uint64_t now;

  if (m->stopping) {
    if (m->procs == NULL && !uv_is_closing((uv_handle_t *)&m->respawn_timer))
      master_finish(m);
    return;
  }
  for (struct wproc *p = m->procs; p != NULL; p = p->next) {
    if (p->state == W_STOPPING || p->tainted || p->generation != m->generation)
      continue;
    live++;
    starting += p->state == W_STARTING;
  }
  if (live > m->wanted) {
    /* TTOU: the highest ids go, so ids stay 1..wanted. */
    for (unsigned n = live - m->wanted; n > 0; n--) {
      struct wproc *top = NULL;
      for (struct wproc *p = m->procs; p != NULL; p = p->next)
        if (p->state != W_STOPPING && !p->tainted &&
            p->generation == m->generation && (top == NULL || p->id > top->id))
          top = p;
      wproc_stop(top);
    }
    return;
  }
  if (live == m->wanted)
    return;
  /* The first worker starts alone: if the plugin cannot load, it says so
   * once and the master exits, instead of N workers saying it N times. */
  if (!m->booted && starting > 0)
    return;
  now = uv_now(&m->loop);
  if (now < m->next_spawn_ms) {
    uv_timer_start(&m->respawn_timer, master_on_respawn_timer,
                   m->next_spawn_ms - now, 0);
    return;
  }
  for (unsigned n = m->booted ? m->wanted - live : 1; n > 0; n--)
    if (wproc_spawn(m, m->generation, m->snapshot) != 0)
      break;
}

/* ---- signals ---- */

static void master_begin_stop(struct master *m, const char *why) {
  m->stopping = 1;
  notify_send("STOPPING=1\nSTATUS=stopping (%s)", why);
  log_info("%s: stopping gracefully (in-flight requests get up to %.1f s)", why,
           (double)m->cfg->kill_timeout_ms / 1000.0);
  uv_timer_stop(&m->respawn_timer);
  reload_stop(m);
  /* The workers close their copies as they stop: with ours closed too,
   * new connections are refused at once rather than left waiting. */
  listen_close(&m->listen);
  for (struct wproc *p = m->procs; p != NULL; p = p->next)
    wproc_stop(p);
}

static void master_on_drain_end(uv_timer_t *t) {
  struct master *m = t->data;
  m->draining = 0;
  master_begin_stop(m, m->drain_why);
  master_reconcile(m);
}

/* --drain-delay: /readyz fails at once, so that balancers take this
 * instance out of rotation, while the workers go on serving whatever
 * still comes for that long; then the graceful stop. */
static void master_begin_drain(struct master *m, const char *why) {
  if (m->cfg->drain_delay_ms == 0) {
    master_begin_stop(m, why);
    return;
  }
  m->draining = 1;
  snprintf(m->drain_why, sizeof m->drain_why, "%s", why);
  notify_send("STOPPING=1\nSTATUS=draining (%s)", why);
  log_info("%s: draining: not ready from now on, still serving for %.1f s "
           "(--drain-delay), then stopping gracefully",
           why, (double)m->cfg->drain_delay_ms / 1000.0);
  uv_timer_start(&m->drain_timer, master_on_drain_end, m->cfg->drain_delay_ms,
                 0);
}

static void master_on_signal(uv_signal_t *h, int signum) {
  struct master *m = h->data;
  char why[32];

  snprintf(why, sizeof why, "SIG%s", sigabbrev_np(signum));
  switch (signum) {
  case SIGTERM:
  case SIGQUIT:
  case SIGINT:
    if (!m->stopping && !m->draining) {
      master_begin_drain(m, why);
    } else if (signum == SIGINT) {
      log_warn("second SIGINT: stopping now");
      m->exit_code = EXIT_RUNTIME;
      if (!m->stopping) {
        uv_timer_stop(&m->drain_timer);
        m->draining = 0;
        master_begin_stop(m, why);
      }
      for (struct wproc *p = m->procs; p != NULL; p = p->next)
        uv_process_kill(&p->proc, SIGKILL);
    }
    break;
  case SIGTTIN:
    if (m->wanted < 1024)
      m->wanted++;
    log_info("%s: %u workers", why, m->wanted);
    board_note(m, BOARD_SYNC);
    break;
  case SIGTTOU:
    if (m->wanted > 1)
      m->wanted--;
    log_info("%s: %u worker%s", why, m->wanted, m->wanted == 1 ? "" : "s");
    board_note(m, BOARD_SYNC);
    break;
  case SIGHUP:
    reload_request(m, 0, why);
    break;
  case SIGUSR1:
    /* logrotate moved the access log: the workers write it, they reopen */
    log_info("%s: reopening the access log", why);
    for (struct wproc *p = m->procs; p != NULL; p = p->next)
      wproc_tell(p, MSG_REOPEN);
    break;
  }
  master_reconcile(m);
}

/* ---- life ---- */

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* The master does not load the plugin, but a missing file is worth one
 * clear line before anything starts. Workers run this same executable:
 * see exe_path() in wproc.c. */
static int master_check_files(struct master *m) {
  struct stat st;
  ssize_t n;

  if (stat(m->cfg->plugin, &st) != 0) {
    fprintf(stderr,
            "mchost: --plugin '%s': %s (build it first, or check the path)\n",
            m->cfg->plugin, strerror(errno));
    return EXIT_PLUGIN;
  }
  n = readlink("/proc/self/exe", m->exe, sizeof m->exe - 1);
  if (n <= 0) {
    fprintf(stderr, "mchost: cannot find my own executable: %s\n",
            strerror(errno));
    return EXIT_RUNTIME;
  }
  m->exe[n] = '\0';
  stat(m->exe, &m->exe_st);
  return EXIT_OK;
}

/* The workers write the access log; a wrong path is said once, before
 * starting, and as the user they will run as. */
static int check_access_log(const struct config *cfg) {
  struct access_log probe;
  char err[PATH_MAX + 128];

  if (cfg->access_log == NULL)
    return 0;
  if (access_open(&probe, NULL, cfg->access_log, 0, err, sizeof err) != 0) {
    fprintf(stderr, "mchost: %s (check the directory exists and is writable)\n",
            err);
    return -1;
  }
  access_close(&probe);
  return 0;
}

static void master_watch_signals(struct master *m) {
  uv_timer_init(&m->loop, &m->respawn_timer);
  m->respawn_timer.data = m;
  uv_timer_init(&m->loop, &m->drain_timer);
  m->drain_timer.data = m;
  for (size_t i = 0; i < MASTER_NSIGNALS; i++) {
    uv_signal_init(&m->loop, &m->sig[i]);
    m->sig[i].data = m;
    uv_signal_start(&m->sig[i], master_on_signal, master_signals[i]);
  }
}

/* Raises the open-file limit for the workers, and says so when it, not
 * --max-connections, bounds the connections a worker holds. */
static void master_check_fd_limit(const struct config *cfg) {
  uint64_t nofile = fdlimit_raise();
  uint64_t per = fdlimit_connections(cfg->max_connections, nofile);

  if (cfg->max_connections > per)
    log_warn("--max-connections %llu is more than the open-file limit "
             "allows (%llu): each worker holds at most %llu connections; "
             "raise the hard limit (ulimit -Hn, or LimitNOFILE= for systemd)",
             (unsigned long long)cfg->max_connections,
             (unsigned long long)nofile, (unsigned long long)per);
  else
    log_debug("open-file limit %llu: up to %llu connections per worker",
              (unsigned long long)nofile, (unsigned long long)per);
}

/* Everything after the sockets are open; returns the exit code. */
static int master_serve(struct master *m) {
  const struct config *cfg = m->cfg;
  char err[PATH_MAX + 128];
  int rc;

  if ((rc = admin_open(m)) != EXIT_OK)
    return rc;
  if (privileges_drop(cfg) != 0)
    return EXIT_USAGE;
  if (check_access_log(cfg) != 0)
    return EXIT_RUNTIME;
  if (cfg->crash_dir != NULL &&
      bundle_dir_prepare(cfg->crash_dir, err, sizeof err) != 0) {
    fprintf(stderr, "mchost: %s\n", err);
    return EXIT_RUNTIME;
  }

  board_create(m);
  uv_loop_init(&m->loop);
  master_watch_signals(m);
  if (reload_init(m, err, sizeof err) != 0) {
    fprintf(stderr, "mchost: %s\n", err);
    reload_cleanup(m);
    return EXIT_PLUGIN;
  }
  if (admin_start(m) != 0) {
    reload_cleanup(m);
    return EXIT_RUNTIME;
  }
  /* "listening on" waits for the first worker to be ready (master_booted()):
   * a plugin that cannot load ends mchost with no such line. */
  log_debug("starting %u worker%s on %s", m->wanted, m->wanted == 1 ? "" : "s",
            m->listen.where);
  master_reconcile(m);
  uv_run(&m->loop, UV_RUN_DEFAULT);

  uv_walk(&m->loop, close_walk_cb, NULL);
  uv_run(&m->loop, UV_RUN_DEFAULT);
  uv_loop_close(&m->loop);
  admin_free(m);
  free(m->gens);
  reload_cleanup(m);
  if (m->exit_code == EXIT_OK)
    log_info("stopped");
  return m->exit_code;
}

int master_main(const struct config *cfg, int argc, char **argv) {
  static struct master m;
  char who[32];
  int rc;

  snprintf(who, sizeof who, "master %d", (int)getpid());
  log_init((int)cfg->log_level, who, (int)cfg->log_format);
  config_warn_unknown_env();
  m.cfg = cfg;
  m.argc = argc;
  m.argv = argv;
  m.wanted = (unsigned)cfg->workers;
  m.generation = m.last_generation = 1;

  if ((rc = master_check_files(&m)) != EXIT_OK)
    return rc;
  master_check_fd_limit(cfg);
  signal(SIGPIPE, SIG_IGN);
  if ((rc = listen_open(cfg, &m.listen)) != EXIT_OK)
    return rc;
  rc = master_serve(&m);
  /* Unix socket files are removed however the master ends, short of a
   * kill: a file left behind is replaced by the next start. */
  listen_close(&m.listen);
  return rc;
}
