/* master.h - the master process: socket, workers, generations, signals. */
#ifndef MCHOST_MASTER_H
#define MCHOST_MASTER_H

#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <uv.h>

#include "board.h"
#include "config.h"
#include "listen.h"
#include "proto.h"
#include "watch.h"
#include "wproc.h"

/* Binds the socket, runs workers until stopped; returns the exit code.
 * argv is passed on to the workers, which parse the same options. */
int master_main(const struct config *cfg, int argc, char **argv);

/* ---- internals shared by master.c, wproc.c, board.c and reload.c ---- */

/* A burst of worker failures (exits before ready, deaths, plugin faults)
 * slows the spawning down: with FAIL_FREE or more failures within
 * FAIL_WINDOW_MS, the next start waits FAIL_BASE_MS, doubling with each
 * further failure up to FAIL_MAX_MS. A plugin that crashes on every request
 * thus costs a few worker starts per second, never a fork storm. */
#define FAIL_WINDOW_MS 1000
#define FAIL_FREE 4
#define FAIL_BASE_MS 25
#define FAIL_MAX_MS 5000
#define FAIL_RING 32

/* A new generation that is not ready by then is discarded. */
#define RELOAD_READY_TIMEOUT_MS 30000
/* How often a reload waits for a plugin that is still being written. */
#define RELOAD_INCOMPLETE_RETRIES 50

struct master;

/*
 * The signals the master acts on: X(signal, name, what it does). The list
 * gives the handlers master_on_signal() is installed for, the signals in
 * --help and the signals tables of the docs (usage.c).
 */
#define MASTER_SIGNALS(X)                                                      \
  X(SIGTERM, "TERM",                                                           \
    "graceful stop: /readyz fails, serving goes on for --drain-delay, then "   \
    "finish what is in flight and exit; SIGKILL after --kill-timeout")         \
  X(SIGINT, "INT",                                                             \
    "graceful stop, as TERM; a second INT (Ctrl-C twice) stops at once")       \
  X(SIGQUIT, "QUIT", "graceful stop, as TERM (nginx's graceful stop)")         \
  X(SIGHUP, "HUP", "reload the plugin with no downtime")                       \
  X(SIGTTIN, "TTIN", "one worker more")                                        \
  X(SIGTTOU, "TTOU", "one worker fewer")                                       \
  X(SIGUSR1, "USR1", "the workers reopen the access log (logrotate)")

enum {
#define X(sig, name, what) MASTER_SIG_##sig,
  MASTER_SIGNALS(X)
#undef X
      MASTER_NSIGNALS
};

struct admin;

enum reload_state {
  RELOAD_IDLE,
  RELOAD_BUILDING, /* --build is running */
  RELOAD_WAITING,  /* the plugin is still being written: retry soon */
  RELOAD_STARTING  /* a new generation is starting beside the old one */
};

struct reload {
  enum reload_state state;
  int again;       /* a change came during this reload */
  int again_what;  /* its enum watch_what bits */
  int again_force; /* a SIGHUP came during this reload */
  int force;       /* this reload makes a generation even if the plugin
                      is unchanged (SIGHUP) */
  char again_why[PATH_MAX + 32];
  char why[PATH_MAX + 32]; /* trigger of the current reload, for the log */
  unsigned generation;     /* the generation being started */
  unsigned wanted;         /* its size */
  unsigned tries;          /* RELOAD_WAITING rounds */
  uint64_t started_ms;
  char snapshot[PATH_MAX + 32];
  struct stat st;   /* the plugin file it was copied from */
  uv_timer_t timer; /* ready timeout, or the retry of RELOAD_WAITING */
  uv_process_t build;
  uv_pipe_t build_out;
  char build_log[16384]; /* the build's output, its tail when longer */
  size_t build_len;
  int build_running;
  /* A build is over when it has exited AND its output reached EOF (or a
   * grace time passed); its two handles are then closed, and what follows
   * (a new generation, or the next build) waits for both close callbacks:
   * build_start() reuses the handles. */
  int build_exited, build_eof, build_closing, build_spawn_failed;
  int64_t build_status;
  int build_sig;
};

struct master {
  uv_loop_t loop;
  const struct config *cfg;
  int argc;
  char **argv;
  char exe[PATH_MAX];
  struct stat exe_st;      /* as it was at start (exe_path() in wproc.c) */
  struct listeners listen; /* every worker accepts on each */
  struct wproc *procs;     /* running (not yet exited) workers */
  unsigned wanted;
  unsigned generation;      /* the generation serving */
  unsigned last_generation; /* the newest one started */
  int booted;               /* a worker has been ready once */
  int announced;            /* "ready" was logged for this generation */
  int stopping;
  int draining; /* --drain-delay: not ready, still serving */
  uv_timer_t drain_timer;
  char drain_why[32]; /* the signal that started the drain */
  int exit_code;
  uint64_t fails[FAIL_RING];
  unsigned nfails;
  uint64_t next_spawn_ms;
  uv_timer_t respawn_timer;
  uv_signal_t sig[MASTER_NSIGNALS];
  /* generations: each loads its own copy of the plugin from snapdir */
  char snapdir[PATH_MAX];
  char snapshot[PATH_MAX + 32]; /* the serving generation's copy */
  struct stat plugin_st;        /* the plugin file it was copied from */
  int watching;
  struct watch watch;
  struct reload reload;
  int board_fd; /* the workers' shared board (proto.h), -1 if none */
  struct board *board;
  unsigned char slot_used[BOARD_SLOTS];
  struct gen_count *gens; /* reaped workers' responses by generation */
  unsigned ngens, gens_cap;
  struct admin *admin; /* --admin, or NULL */
};

/* master.c */
void master_reconcile(struct master *m);
void master_announce(struct master *m);
/* Workers of the serving generation that are ready and not retiring. */
unsigned master_serving(const struct master *m);
/* A worker is ready: the first time, says "listening on" and marks the
 * master booted (a later failure to start is no longer a plugin that
 * cannot be used). */
void master_booted(struct master *m);
void master_notify_ready(struct master *m);
/* admin.c (admin.h) closes its listener and connections */
void admin_close(struct master *m);
/* reload.c */
int reload_init(struct master *m, char *err, size_t errlen);
void reload_request(struct master *m, int what, const char *why);
void reload_on_worker_ready(struct master *m, struct wproc *p);
void reload_on_worker_exit(struct master *m, struct wproc *p, const char *how);
void reload_forget_generation(struct master *m, unsigned generation);
void reload_stop(struct master *m);
void reload_cleanup(struct master *m);
/* The file generation `generation` loads its plugin from. */
void reload_snapshot_path(const struct master *m, unsigned generation,
                          char *out, size_t len);
/* The copy of the --config file generation `generation` reads. */
void reload_config_path(const struct master *m, unsigned generation, char *out,
                        size_t len);

#endif
