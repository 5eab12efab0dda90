/*
 * master.c - the master process.
 *
 * It binds the listening socket once and keeps it for its whole life,
 * starts the workers with uv_spawn() of this same executable (the socket
 * and a control socketpair are inherited as fds 3 and 4), supervises them,
 * and turns signals into decisions. It never loads the plugin: nothing a
 * plugin does can take it down.
 *
 * Like gunicorn's arbiter, every event ends in master_reconcile(), the one
 * place that compares the workers wanted with the workers running.
 */
#define _GNU_SOURCE
#include "master.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "access.h"
#include "log.h"
#include "notify.h"
#include "worker.h"

static const int master_signals[MASTER_NSIGNALS] = {
    SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1};

static uint64_t wall_ms(void);

/* ---- the listening socket ---- */

/* "127.0.0.1:3000" or "[::1]:3000": with --port 0, or a socket from
 * systemd, the port is only known from the socket; a script reads it here. */
static void describe_socket(int fd, char *where, size_t wherelen) {
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  char host[INET6_ADDRSTRLEN];

  if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
    return;
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, host, sizeof host);
    snprintf(where, wherelen, "[%s]:%u", host, ntohs(a->sin6_port));
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    uv_ip4_name(a, host, sizeof host);
    snprintf(where, wherelen, "%s:%u", host, ntohs(a->sin_port));
  }
}

static int master_listen(struct master *m, char *where, size_t wherelen) {
  const struct config *cfg = m->cfg;
  struct addrinfo hints, *ai = NULL;
  char port[16];
  int fd, one = 1, rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
  snprintf(where, wherelen, "%s:%s", cfg->host, port);
  if ((rc = getaddrinfo(cfg->host, port, &hints, &ai)) != 0) {
    fprintf(stderr,
            "mchost: --host '%s': %s (give an address such as "
            "0.0.0.0, 127.0.0.1 or ::)\n",
            cfg->host, gai_strerror(rc));
    return -1;
  }
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    fprintf(stderr, "mchost: cannot create a socket: %s\n", strerror(errno));
    freeaddrinfo(ai);
    return -1;
  }
  /* Lets a restarted mchost bind at once while old connections sit in
   * TIME_WAIT; it does not let two servers share the port. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    const char *hint =
        e == EADDRINUSE ? " (another server has it: stop it or pick another "
                          "--port)"
        : e == EACCES   ? " (ports below 1024 need root or "
                          "CAP_NET_BIND_SERVICE: pick a --port above 1023)"
        : e == EADDRNOTAVAIL ? " (is --host an address of this machine?)"
                             : "";
    fprintf(stderr, "mchost: cannot listen on %s: %s%s\n", where,
            e == EADDRINUSE ? "address already in use" : strerror(e), hint);
    close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  m->listen_fd = fd;
  describe_socket(fd, where, wherelen);
  return 0;
}

/* --user / --group: like nginx, bind as root (ports below 1024), then
 * become someone who cannot do much harm; workers inherit it. */
static int master_drop_privileges(const struct config *cfg) {
  struct passwd *pw = NULL;
  struct group *gr = NULL;
  gid_t gid;

  if (cfg->user == NULL && cfg->group == NULL)
    return 0;
  if (cfg->user != NULL && (pw = getpwnam(cfg->user)) == NULL) {
    fprintf(stderr, "mchost: --user '%s': no such user\n", cfg->user);
    return -1;
  }
  if (cfg->group != NULL && (gr = getgrnam(cfg->group)) == NULL) {
    fprintf(stderr, "mchost: --group '%s': no such group\n", cfg->group);
    return -1;
  }
  gid = gr != NULL ? gr->gr_gid : pw != NULL ? pw->pw_gid : getegid();
  if (geteuid() != 0) {
    if ((pw == NULL || pw->pw_uid == geteuid()) && gid == getegid())
      return 0; /* already who was asked for */
    fprintf(stderr, "mchost: --user/--group: only root can switch to them; "
                    "start mchost as root (it binds, then drops to them) or "
                    "leave them out\n");
    return -1;
  }
  if ((pw != NULL ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) != 0 ||
      setgid(gid) != 0 || (pw != NULL && setuid(pw->pw_uid) != 0)) {
    fprintf(stderr, "mchost: cannot switch to --user/--group: %s\n",
            strerror(errno));
    return -1;
  }
  if (pw != NULL && pw->pw_uid != 0 && setuid(0) == 0) {
    fprintf(stderr, "mchost: dropping root did not stick; refusing to run\n");
    return -1;
  }
  return 0;
}

/* The board the workers balance connections with (proto.h). Without it
 * (no memfd) they still serve, unbalanced. */
static void master_board_create(struct master *m) {
  void *p;
  m->board_fd = memfd_create("mchost-board", MFD_CLOEXEC);
  if (m->board_fd < 0 || ftruncate(m->board_fd, sizeof(struct board)) != 0 ||
      (p = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE, MAP_SHARED,
                m->board_fd, 0)) == MAP_FAILED) {
    log_warn("no shared board (%s): workers will not balance connections",
             strerror(errno));
    if (m->board_fd >= 0)
      close(m->board_fd);
    m->board_fd = -1;
    return;
  }
  m->board = p;
  m->board->head.magic = BOARD_MAGIC;
  m->board->head.master_pid = (int32_t)getpid();
  m->board->head.started_ms = wall_ms();
  snprintf(m->board->head.plugin, sizeof m->board->head.plugin, "%s",
           m->cfg->plugin);
  master_board_count(m, 0, 0);
}

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Who a worker is, for `mchost status` (the counters are the worker's). */
void master_board_slot(struct master *m, const struct wproc *p,
                       enum board_state state) {
  struct board_slot *s;
  if (m->board == NULL || p->slot >= BOARD_SLOTS)
    return;
  s = &m->board->slot[p->slot];
  if (state == SLOT_STARTING) {
    if (p->slot >= m->board->head.slots)
      m->board->head.slots = p->slot + 1;
    memset(s, 0, sizeof *s);
    s->pid = p->pid;
    s->id = p->id;
    s->generation = p->generation;
    s->started_ms = wall_ms();
  }
  s->state = state;
}

/* The master's own line of `mchost status`. */
void master_board_count(struct master *m, unsigned crashes, unsigned reloads) {
  struct board_head *h;
  if (m->board == NULL)
    return;
  h = &m->board->head;
  h->crashes += crashes;
  h->reloads += reloads;
  h->generation = m->generation;
  h->wanted = m->wanted;
}

/* ---- failures and backoff ---- */

static void master_note_failure(struct master *m) {
  uint64_t now = uv_now(&m->loop);
  unsigned recent = 0;

  m->fails[m->nfails++ % FAIL_RING] = now;
  for (unsigned i = 0; i < FAIL_RING && i < m->nfails; i++)
    if (now - m->fails[i] <= FAIL_WINDOW_MS)
      recent++;
  if (recent >= FAIL_FREE) {
    unsigned shift = recent - FAIL_FREE;
    uint64_t delay =
        shift >= 16 ? FAIL_MAX_MS : (uint64_t)FAIL_BASE_MS << shift;
    if (delay > FAIL_MAX_MS)
      delay = FAIL_MAX_MS;
    m->next_spawn_ms = now + delay;
    log_warn("%u worker failures in the last second (the plugin is "
             "crash-looping?): next worker starts in %llu ms",
             recent, (unsigned long long)delay);
  }
}

/* ---- one worker ---- */

static void wproc_on_close(uv_handle_t *h) {
  struct wproc *p = h->data;
  if (--p->handles == 0)
    free(p);
}

static void wproc_unlink(struct master *m, struct wproc *p) {
  for (struct wproc **pp = &m->procs; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  }
}

static void wproc_close(struct wproc *p) {
  uv_close((uv_handle_t *)&p->proc, wproc_on_close);
  if (!uv_is_closing((uv_handle_t *)&p->control))
    uv_close((uv_handle_t *)&p->control, wproc_on_close);
  uv_close((uv_handle_t *)&p->kill_timer, wproc_on_close);
}

static void wproc_kill(struct wproc *p, const char *why) {
  if (p->exited)
    return;
  log_warn("killing worker %u (pid %d): %s", p->id, p->pid, why);
  uv_process_kill(&p->proc, SIGKILL);
}

static void wproc_on_kill_timer(uv_timer_t *t) {
  wproc_kill(t->data, "still running after --kill-timeout");
}

/* 0, or -EPIPE when the message cannot be written: the worker's end of the
 * pipe is closed (SIGPIPE is ignored, so that is only an error). */
static int wproc_send(struct wproc *p, uint32_t type) {
  struct msg msg = {type, p->id, 0};
  uv_buf_t b = uv_buf_init((char *)&msg, sizeof msg);
  if (uv_try_write((uv_stream_t *)&p->control, &b, 1) != (int)sizeof msg)
    return -EPIPE;
  return 0;
}

/* Asks a worker to stop accepting, finish, and exit; killed if it overstays.
 * The worker has the same limit itself: the margin lets it exit cleanly. */
void master_stop_worker(struct wproc *p) {
  if (p->exited || p->state == W_STOPPING)
    return;
  p->state = W_STOPPING;
  master_board_slot(p->m, p, SLOT_DRAINING);
  if (wproc_send(p, MSG_STOP) != 0)
    uv_process_kill(&p->proc, SIGTERM); /* the same request, by signal */
  uv_timer_start(&p->kill_timer, wproc_on_kill_timer,
                 p->m->cfg->kill_timeout_ms + 1000, 0);
}

/* A worker whose control pipe closed while it runs (a plugin closed or
 * reused fd 4) can no longer be told to stop, nor report a fault: it is
 * lost like a dead one. It is replaced now, and stopped by signal. */
static void wproc_on_control_lost(uv_timer_t *t) {
  struct wproc *p = t->data;
  struct master *m = p->m;

  log_error("worker %u (pid %d) closed its control pipe while running: "
            "stopping it; a replacement is starting",
            p->id, p->pid);
  master_note_failure(m);
  master_board_count(m, 1, 0);
  master_stop_worker(p);
  master_reconcile(m);
}

/* The worker's end of the control pipe is closed (EOF, or a write failed).
 * Mostly the worker is exiting, and its exit callback follows within
 * moments and tells how; one still running CONTROL_LOST_GRACE_MS later
 * closed it while running. A stopping or retiring worker is on its kill
 * timer already. */
static void wproc_on_pipe_closed(struct wproc *p) {
  if (p->exited || p->state == W_STOPPING || p->tainted || p->m->stopping ||
      uv_is_active((uv_handle_t *)&p->kill_timer))
    return;
  uv_timer_start(&p->kill_timer, wproc_on_control_lost, CONTROL_LOST_GRACE_MS,
                 0);
}

/* systemd (Type=notify): the service is up, with what. A no-op elsewhere. */
void master_notify_ready(struct master *m) {
  notify_send("READY=1\nSTATUS=%u worker%s serving, generation %u\nMAINPID=%d",
              m->wanted, m->wanted == 1 ? "" : "s", m->generation,
              (int)getpid());
}

/* Logs once per generation that all of its workers are serving. */
void master_announce(struct master *m) {
  unsigned ready = 0;

  for (struct wproc *q = m->procs; q != NULL; q = q->next)
    if (q->generation == m->generation && q->state == W_READY && !q->tainted)
      ready++;
  if (!m->announced && ready >= m->wanted) {
    m->announced = 1;
    log_info("ready: %u worker%s serving (generation %u)", ready,
             ready == 1 ? "" : "s", m->generation);
    master_notify_ready(m);
  }
}

static void master_on_ready(struct master *m, struct wproc *p) {
  p->state = W_READY;
  master_board_slot(m, p, SLOT_SERVING);
  if (p->generation != m->generation) {
    reload_on_worker_ready(m, p);
    return;
  }
  m->booted = 1;
  master_announce(m);
}

static void wproc_apply(struct wproc *p, const struct msg *msg) {
  struct master *m = p->m;

  if (msg->worker_id != p->id) {
    wproc_kill(p, "garbled control message");
    return;
  }
  switch (msg->type) {
  case MSG_READY:
    if (p->state == W_STARTING)
      master_on_ready(m, p);
    break;
  case MSG_RETIRING:
  case MSG_TAINTED:
    if (!p->tainted) {
      /* replaced at once like a faulty worker; only faults count as
       * failures for the backoff */
      p->tainted = 1;
      master_board_slot(m, p, SLOT_DRAINING);
      if (msg->type == MSG_TAINTED) {
        master_note_failure(m);
        master_board_count(m, 1, 0);
      }
      uv_timer_start(&p->kill_timer, wproc_on_kill_timer,
                     m->cfg->kill_timeout_ms + 1000, 0);
    }
    break;
  default:
    wproc_kill(p, "garbled control message");
    return;
  }
  master_reconcile(m);
}

static void wproc_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct wproc *p = h->data;
  (void)hint;
  *buf = uv_buf_init(p->rbuf + p->rlen, (unsigned)(sizeof p->rbuf - p->rlen));
}

static void wproc_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct wproc *p = s->data;
  (void)buf;

  if (n < 0) {
    uv_read_stop(s);
    wproc_on_pipe_closed(p);
    return;
  }
  p->rlen += (size_t)n;
  if (p->rlen == sizeof p->rbuf) {
    struct msg msg;
    memcpy(&msg, p->rbuf, sizeof msg);
    p->rlen = 0;
    wproc_apply(p, &msg);
  }
}

static void describe_exit(char *out, size_t len, int64_t status, int sig) {
  if (sig != 0)
    snprintf(out, len, "killed by SIG%s", sigabbrev_np(sig));
  else
    snprintf(out, len, "exit code %lld", (long long)status);
}

static void master_fatal_boot(struct master *m, int64_t status, int sig) {
  struct wproc *q;
  if (!(sig == 0 && status == EXIT_PLUGIN)) {
    char how[64];
    describe_exit(how, sizeof how, status, sig);
    log_error("the first worker could not start (%s); see above", how);
  }
  m->exit_code = sig == 0 && status == EXIT_PLUGIN ? EXIT_PLUGIN : EXIT_RUNTIME;
  m->stopping = 1;
  reload_stop(m);
  for (q = m->procs; q != NULL; q = q->next)
    master_stop_worker(q);
}

static void wproc_on_exit(uv_process_t *proc, int64_t status, int sig) {
  struct wproc *p = proc->data;
  struct master *m = p->m;
  char how[64];

  p->exited = 1;
  wproc_unlink(m, p);
  if (p->slot < BOARD_SLOTS) {
    m->slot_used[p->slot] = 0;
    if (m->board != NULL)
      memset(&m->board->slot[p->slot], 0, sizeof m->board->slot[0]);
  }
  describe_exit(how, sizeof how, status, sig);
  if (p->generation != m->generation && p->state != W_STOPPING &&
      !m->stopping) {
    /* a worker of a generation that is still starting */
    reload_on_worker_exit(m, p, how);
  } else if (m->stopping || p->state == W_STOPPING || p->tainted) {
    log_debug("worker %u (pid %d) exited: %s", p->id, p->pid, how);
  } else if (!m->booted) {
    wproc_close(p);
    master_fatal_boot(m, status, sig);
    master_reconcile(m);
    return;
  } else if (p->state == W_STARTING) {
    log_error("worker %u (pid %d) failed to start: %s", p->id, p->pid, how);
    master_note_failure(m);
  } else {
    log_error("worker %u (pid %d) died: %s%s", p->id, p->pid, how,
              sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
                      sig == SIGFPE || sig == SIGILL
                  ? " (a fault outside guarded code: see its backtrace above)"
                  : "");
    master_note_failure(m);
    master_board_count(m, 1, 0);
  }
  wproc_close(p);
  reload_forget_generation(m, p->generation);
  master_reconcile(m);
}

static unsigned master_free_id(struct master *m, unsigned generation) {
  for (unsigned id = 1;; id++) {
    struct wproc *q;
    for (q = m->procs; q != NULL; q = q->next)
      if (q->id == id && q->generation == generation &&
          q->state != W_STOPPING && !q->tainted)
        break;
    if (q == NULL)
      return id;
  }
}

/* The binary that workers run: the master's own. Its path may have been
 * replaced since (make install, a rebuild), even be half-written now, and
 * a worker must speak its master's protocol: then /proc/self/exe, which
 * after fork() still names the running binary. While the path is the same
 * file it is used as such, which tools that follow exec (valgrind
 * --trace-children) need. */
static const char *master_exe(const struct master *m) {
  struct stat st;
  if (stat(m->exe, &st) == 0 && st.st_ino == m->exe_st.st_ino &&
      st.st_dev == m->exe_st.st_dev && st.st_mtime == m->exe_st.st_mtime)
    return m->exe;
  return "/proc/self/exe";
}

int master_spawn(struct master *m, unsigned generation, const char *so) {
  struct wproc *p = calloc(1, sizeof *p);
  uv_process_options_t opt;
  uv_stdio_container_t stdio[6];
  char idbuf[16], genbuf[16], slotbuf[16];
  char **args;
  int err, k = 0;

  args = calloc((size_t)m->argc + 6, sizeof *args);
  if (p == NULL || args == NULL) {
    free(p);
    free(args);
    log_error("cannot start a worker: out of memory");
    return -ENOMEM;
  }
  p->m = m;
  p->id = master_free_id(m, generation);
  p->generation = generation;
  p->slot = 0;
  while (p->slot < BOARD_SLOTS && m->slot_used[p->slot])
    p->slot++;
  snprintf(slotbuf, sizeof slotbuf, "%u", p->slot);
  snprintf(idbuf, sizeof idbuf, "%u", p->id);
  snprintf(genbuf, sizeof genbuf, "%u", p->generation);
  args[k++] = m->exe;
  args[k++] = (char *)"__worker";
  args[k++] = idbuf;
  args[k++] = genbuf;
  args[k++] = slotbuf;
  args[k++] = (char *)so;
  for (int i = 1; i < m->argc; i++)
    args[k++] = m->argv[i];
  args[k] = NULL;

  uv_pipe_init(&m->loop, &p->control, 0);
  memset(stdio, 0, sizeof stdio);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = STDOUT_FILENO;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = STDERR_FILENO;
  stdio[WORKER_LISTEN_FD].flags = UV_INHERIT_FD;
  stdio[WORKER_LISTEN_FD].data.fd = m->listen_fd;
  stdio[WORKER_CONTROL_FD].flags =
      UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
  stdio[WORKER_CONTROL_FD].data.stream = (uv_stream_t *)&p->control;
  stdio[WORKER_BOARD_FD].flags = m->board_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
  stdio[WORKER_BOARD_FD].data.fd = m->board_fd;
  memset(&opt, 0, sizeof opt);
  opt.file = master_exe(m);
  opt.args = args;
  opt.exit_cb = wproc_on_exit;
  opt.stdio = stdio;
  opt.stdio_count = 6;

  p->proc.data = p->control.data = p->kill_timer.data = p;
  err = uv_spawn(&m->loop, &p->proc, &opt);
  free(args);
  uv_timer_init(&m->loop, &p->kill_timer);
  p->kill_timer.data = p;
  p->handles = 3;
  if (err != 0) {
    log_error("cannot start a worker: %s", uv_strerror(err));
    p->exited = 1;
    wproc_close(p);
    master_note_failure(m);
    return err;
  }
  p->pid = p->proc.pid;
  p->state = W_STARTING;
  if (p->slot < BOARD_SLOTS)
    m->slot_used[p->slot] = 1;
  master_board_slot(m, p, SLOT_STARTING);
  uv_read_start((uv_stream_t *)&p->control, wproc_on_alloc, wproc_on_read);
  p->next = m->procs;
  m->procs = p;
  log_debug("started worker %u (pid %d, generation %u)", p->id, p->pid,
            p->generation);
  return 0;
}

/* ---- the one place that acts ---- */

static void master_finish(struct master *m) {
  for (size_t i = 0; i < MASTER_NSIGNALS; i++)
    uv_close((uv_handle_t *)&m->sig[i], NULL);
  uv_close((uv_handle_t *)&m->respawn_timer, NULL);
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
      master_stop_worker(top);
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
    if (master_spawn(m, m->generation, m->snapshot) != 0)
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
  close(m->listen_fd);
  m->listen_fd = -1;
  for (struct wproc *p = m->procs; p != NULL; p = p->next)
    master_stop_worker(p);
}

static void master_on_signal(uv_signal_t *h, int signum) {
  struct master *m = h->data;
  char why[32];

  snprintf(why, sizeof why, "SIG%s", sigabbrev_np(signum));
  switch (signum) {
  case SIGTERM:
  case SIGQUIT:
  case SIGINT:
    if (!m->stopping) {
      master_begin_stop(m, why);
    } else if (signum == SIGINT) {
      log_warn("second SIGINT: stopping now");
      m->exit_code = EXIT_RUNTIME;
      for (struct wproc *p = m->procs; p != NULL; p = p->next)
        uv_process_kill(&p->proc, SIGKILL);
    }
    break;
  case SIGTTIN:
    if (m->wanted < 1024)
      m->wanted++;
    log_info("%s: %u workers", why, m->wanted);
    master_board_count(m, 0, 0);
    break;
  case SIGTTOU:
    if (m->wanted > 1)
      m->wanted--;
    log_info("%s: %u worker%s", why, m->wanted, m->wanted == 1 ? "" : "s");
    master_board_count(m, 0, 0);
    break;
  case SIGHUP:
    reload_request(m, 0, why);
    break;
  case SIGUSR1:
    /* logrotate moved the access log: the workers write it, they reopen */
    log_info("%s: reopening the access log", why);
    for (struct wproc *p = m->procs; p != NULL; p = p->next)
      if (!p->exited && wproc_send(p, MSG_REOPEN) != 0)
        wproc_on_pipe_closed(p);
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

int master_main(const struct config *cfg, int argc, char **argv) {
  static struct master m;
  struct stat st;
  char who[32], where[128], err[PATH_MAX + 128];
  ssize_t n;

  snprintf(who, sizeof who, "master %d", (int)getpid());
  log_init((int)cfg->log_level, who, (int)cfg->log_format);
  m.cfg = cfg;
  m.argc = argc;
  m.argv = argv;
  m.wanted = (unsigned)cfg->workers;
  m.generation = m.last_generation = 1;
  m.listen_fd = -1;

  /* The master does not load the plugin, but a missing file is worth one
   * clear line before anything starts. */
  if (stat(cfg->plugin, &st) != 0) {
    fprintf(stderr,
            "mchost: --plugin '%s': %s (build it first, or check the path)\n",
            cfg->plugin, strerror(errno));
    return EXIT_PLUGIN;
  }
  n = readlink("/proc/self/exe", m.exe, sizeof m.exe - 1);
  if (n <= 0) {
    fprintf(stderr, "mchost: cannot find my own executable: %s\n",
            strerror(errno));
    return EXIT_RUNTIME;
  }
  m.exe[n] = '\0';
  stat(m.exe, &m.exe_st);
  signal(SIGPIPE, SIG_IGN);
  /* Under systemd socket activation the socket comes ready-made, and
   * --host / --port are the .socket unit's business. */
  switch (listen_fds_take(&m.listen_fd, err, sizeof err)) {
  case 1:
    describe_socket(m.listen_fd, where, sizeof where);
    break;
  case 0:
    if (master_listen(&m, where, sizeof where) != 0)
      return EXIT_RUNTIME;
    break;
  default:
    fprintf(stderr, "mchost: socket activation: %s\n", err);
    return EXIT_USAGE;
  }
  if (master_drop_privileges(cfg) != 0)
    return EXIT_USAGE;
  if (cfg->access_log != NULL) {
    /* the workers write it; a wrong path is said once, before starting */
    struct access_log probe;
    if (access_open(&probe, NULL, cfg->access_log, 0, err, sizeof err) != 0) {
      fprintf(stderr,
              "mchost: %s (check the directory exists and is "
              "writable)\n",
              err);
      return EXIT_RUNTIME;
    }
    access_close(&probe);
  }

  master_board_create(&m);
  uv_loop_init(&m.loop);
  uv_timer_init(&m.loop, &m.respawn_timer);
  m.respawn_timer.data = &m;
  for (size_t i = 0; i < MASTER_NSIGNALS; i++) {
    uv_signal_init(&m.loop, &m.sig[i]);
    m.sig[i].data = &m;
    uv_signal_start(&m.sig[i], master_on_signal, master_signals[i]);
  }
  if (reload_init(&m, err, sizeof err) != 0) {
    fprintf(stderr, "mchost: %s\n", err);
    reload_cleanup(&m);
    return EXIT_PLUGIN;
  }
  log_info("listening on http://%s with %u worker%s (plugin %s%s)", where,
           m.wanted, m.wanted == 1 ? "" : "s", cfg->plugin,
           m.watching ? ", reloading on changes" : "");
  master_reconcile(&m);
  uv_run(&m.loop, UV_RUN_DEFAULT);

  uv_walk(&m.loop, close_walk_cb, NULL);
  uv_run(&m.loop, UV_RUN_DEFAULT);
  uv_loop_close(&m.loop);
  reload_cleanup(&m);
  if (m.listen_fd >= 0)
    close(m.listen_fd);
  if (m.exit_code == EXIT_OK)
    log_info("stopped");
  return m.exit_code;
}
