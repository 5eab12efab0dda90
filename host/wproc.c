/*
 * wproc.c - one worker process, as the master sees it: started with
 * uv_spawn() of this same executable (the socket, a control socketpair,
 * the board and a message socketpair inherited as fds 3 to 6), heard
 * through its control pipe,
 * stopped by message or signal, and mourned when it exits. Failures here
 * feed the backoff; every event ends in master_reconcile().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "bundle.h"
#include "deconst.h"
#include "devreport.h"
#include "log.h"
#include "master.h"
#include "wproc.h"

/* Every fd a worker inherits: stdio, the four of proto.h, the other
 * listeners. */
#define WORKER_FDS_MAX (WORKER_LISTEN_MORE_FD + LISTEN_MAX - 1)

/* ---- failures and backoff ---- */

static void note_failure(struct master *m) {
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
  p->handles += relay_close(p, wproc_on_close);
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

/* Writes one message without blocking. 0; UV_EAGAIN when the worker has
 * not read the pipe for so long that it is full (a message is shorter than
 * PIPE_BUF, so it goes whole or not at all); or another negative libuv
 * error when the pipe is gone, such as UV_EPIPE when the worker's end is
 * closed (SIGPIPE is ignored, so that is only an error). */
static int wproc_send(struct wproc *p, uint32_t type) {
  struct msg msg = {type, p->id, 0};
  uv_buf_t b = uv_buf_init((char *)&msg, sizeof msg);
  int n = uv_try_write((uv_stream_t *)&p->control, &b, 1);
  if (n == (int)sizeof msg)
    return 0;
  return n < 0 ? n : UV_EAGAIN;
}

/* Asks a worker to stop accepting, finish, and exit; killed if it overstays.
 * The worker has the same limit itself: the margin lets it exit cleanly. */
void wproc_stop(struct wproc *p) {
  if (p->exited || p->state == W_STOPPING)
    return;
  p->state = W_STOPPING;
  board_slot(p->m, p, SLOT_DRAINING);
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
  note_failure(m);
  board_note(m, BOARD_CRASH);
  wproc_stop(p);
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

void wproc_tell(struct wproc *p, uint32_t type) {
  int rc = p->exited ? 0 : wproc_send(p, type);
  /* A full pipe is a worker busy for a long time, not a lost one: its
   * request timeout deals with that. */
  if (rc == UV_EAGAIN)
    log_warn("worker %u (pid %d) is not reading its control pipe: a message "
             "was not delivered",
             p->id, p->pid);
  else if (rc != 0)
    wproc_on_pipe_closed(p);
}

static void wproc_on_ready(struct master *m, struct wproc *p) {
  p->state = W_READY;
  board_slot(m, p, SLOT_SERVING);
  if (p->generation != m->generation) {
    reload_on_worker_ready(m, p);
    return;
  }
  master_booted(m);
  master_announce(m);
}

/* A worker's fault record: logged with the frames named from the
 * generation's own snapshot, and --crash-dir kept within --crash-max. */
static void wproc_on_fault(struct wproc *p, struct fault_msg *f) {
  struct master *m = p->m;
  char snapshot[PATH_MAX + 32], who[64];

  if (fault_check(f) != 0 || f->generation != p->generation) {
    log_warn("worker %u (pid %d) sent a garbled fault report", p->id, p->pid);
    return;
  }
  reload_snapshot_path(m, p->generation, snapshot, sizeof snapshot);
  snprintf(who, sizeof who, "worker %u (pid %d): ", p->id, p->pid);
  fault_log(who, f, snapshot, m->cfg->plugin, m->cfg->crash_dir);
  devreport_crash(m, p, f, snapshot);
  if (f->bundle[0] != '\0' && m->cfg->crash_dir != NULL)
    bundle_dir_trim(m->cfg->crash_dir, m->cfg->crash_max);
}

static void wproc_apply(struct wproc *p, const struct msg *msg) {
  struct master *m = p->m;

  if (msg->worker_id != p->id) {
    wproc_kill(p, "garbled control message");
    return;
  }
  if (msg->type == MSG_FAULT) {
    struct fault_msg f;
    memcpy(&f, p->rbuf + sizeof *msg, sizeof f);
    wproc_on_fault(p, &f);
    return;
  }
  switch (msg->type) {
  case MSG_READY:
    if (p->state == W_STARTING)
      wproc_on_ready(m, p);
    break;
  case MSG_RETIRING:
  case MSG_TAINTED:
    if (!p->tainted) {
      /* replaced at once like a faulty worker; only faults count as
       * failures for the backoff */
      p->tainted = 1;
      board_slot(m, p, SLOT_DRAINING);
      if (msg->type == MSG_TAINTED) {
        note_failure(m);
        board_note(m,
                   msg->value == TAINT_TIMEOUT ? BOARD_TIMEOUT : BOARD_CRASH);
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
  size_t want = sizeof(struct msg);
  (void)hint;
  if (p->rlen >= sizeof(struct msg))
    want += sizeof(struct fault_msg); /* only a fault is longer */
  *buf = uv_buf_init(p->rbuf + p->rlen, (unsigned)(want - p->rlen));
}

/* Acts on the message in rbuf once it is whole: a struct msg, and after
 * MSG_FAULT a struct fault_msg. The reads are sized (wproc_on_alloc())
 * so that rbuf never holds more than one message. */
static void wproc_consume(struct wproc *p, size_t n) {
  struct msg msg;
  size_t want = sizeof msg;

  p->rlen += n;
  if (p->rlen < sizeof msg)
    return;
  memcpy(&msg, p->rbuf, sizeof msg);
  if (msg.type == MSG_FAULT)
    want += sizeof(struct fault_msg);
  if (p->rlen < want)
    return;
  p->rlen = 0;
  wproc_apply(p, &msg);
}

static void wproc_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct wproc *p = s->data;
  (void)buf;

  if (n < 0) {
    uv_read_stop(s);
    wproc_on_pipe_closed(p);
    return;
  }
  wproc_consume(p, (size_t)n);
}

/* A worker that reports a fault and exits (mc_init crashed) may be seen
 * exiting before its report is read: read what its pipe still holds. Only
 * fault reports count now; the rest is about a worker that is gone. */
static void wproc_drain(struct wproc *p) {
  uv_os_fd_t fd;

  if (uv_is_closing((uv_handle_t *)&p->control) ||
      uv_fileno((uv_handle_t *)&p->control, &fd) != 0)
    return;
  for (;;) {
    size_t want = sizeof(struct msg);
    struct msg msg;
    ssize_t n;

    if (p->rlen >= sizeof msg)
      want += sizeof(struct fault_msg);
    if ((n = read(fd, p->rbuf + p->rlen, want - p->rlen)) <= 0)
      return;
    p->rlen += (size_t)n;
    if (p->rlen < sizeof msg)
      continue;
    memcpy(&msg, p->rbuf, sizeof msg);
    if (msg.type != MSG_FAULT)
      p->rlen = 0;
    else if (p->rlen == sizeof msg + sizeof(struct fault_msg)) {
      p->rlen = 0;
      wproc_apply(p, &msg);
    }
  }
}

static void describe_exit(char *out, size_t len, int64_t status, int sig) {
  if (sig != 0)
    snprintf(out, len, "killed by SIG%s", sigabbrev_np(sig));
  else
    snprintf(out, len, "exit code %lld", (long long)status);
}

static void fatal_boot(struct master *m, int64_t status, int sig) {
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
    wproc_stop(q);
}

static void wproc_on_exit(uv_process_t *proc, int64_t status, int sig) {
  struct wproc *p = proc->data;
  struct master *m = p->m;
  char how[64];

  wproc_drain(p);
  p->exited = 1;
  wproc_unlink(m, p);
  board_retire(m, p);
  if (p->slot < BOARD_SLOTS)
    m->slot_used[p->slot] = 0;
  describe_exit(how, sizeof how, status, sig);
  if (p->generation != m->generation && p->state != W_STOPPING &&
      !m->stopping) {
    /* a worker of a generation that is still starting */
    reload_on_worker_exit(m, p, how);
  } else if (m->stopping || p->state == W_STOPPING || p->tainted) {
    log_debug("worker %u (pid %d) exited: %s", p->id, p->pid, how);
  } else if (!m->booted) {
    wproc_close(p);
    fatal_boot(m, status, sig);
    master_reconcile(m);
    return;
  } else if (p->state == W_STARTING) {
    log_error("worker %u (pid %d) failed to start: %s", p->id, p->pid, how);
    note_failure(m);
  } else {
    log_error("worker %u (pid %d) died: %s%s", p->id, p->pid, how,
              sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
                      sig == SIGFPE || sig == SIGILL
                  ? " (a fault outside guarded code: see its backtrace above)"
                  : "");
    note_failure(m);
    board_note(m, BOARD_CRASH);
  }
  wproc_close(p);
  reload_forget_generation(m, p->generation);
  master_reconcile(m);
}

static unsigned free_id(struct master *m, unsigned generation) {
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
static const char *exe_path(const struct master *m) {
  struct stat st;
  if (stat(m->exe, &st) == 0 && st.st_ino == m->exe_st.st_ino &&
      st.st_dev == m->exe_st.st_dev && st.st_mtime == m->exe_st.st_mtime)
    return m->exe;
  return "/proc/self/exe";
}

/* What a worker inherits (see WORKER_*_FD in proto.h): no stdin, the
 * master's stdout and stderr, the first listening socket, a fresh control
 * socketpair, the board, its end of the message socketpair (msg_fd), then
 * the other listening sockets. Returns how many fds that is. */
static int worker_stdio(const struct master *m, struct wproc *p, int msg_fd,
                        uv_stdio_container_t stdio[WORKER_FDS_MAX]) {
  memset(stdio, 0, WORKER_FDS_MAX * sizeof *stdio);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = STDOUT_FILENO;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = STDERR_FILENO;
  stdio[WORKER_LISTEN_FD].flags = UV_INHERIT_FD;
  stdio[WORKER_LISTEN_FD].data.fd = m->listen.v[0].fd;
  stdio[WORKER_CONTROL_FD].flags =
      UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
  stdio[WORKER_CONTROL_FD].data.stream = (uv_stream_t *)&p->control;
  stdio[WORKER_BOARD_FD].flags = m->board_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
  stdio[WORKER_BOARD_FD].data.fd = m->board_fd;
  stdio[WORKER_MESSAGE_FD].flags = msg_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
  stdio[WORKER_MESSAGE_FD].data.fd = msg_fd;
  for (unsigned i = 1; i < m->listen.n; i++) {
    stdio[WORKER_LISTEN_MORE_FD + i - 1].flags = UV_INHERIT_FD;
    stdio[WORKER_LISTEN_MORE_FD + i - 1].data.fd = m->listen.v[i].fd;
  }
  return WORKER_LISTEN_MORE_FD + (int)m->listen.n - 1;
}

/* The worker's command line: this executable, "__worker ID GENERATION
 * SLOT LISTENERS SNAPSHOT", then the master's own options, which the
 * worker parses the same way, then with --config the generation's copy of
 * the file (into conf, PATH_MAX + 32 bytes). The numbers are written into
 * num. */
static char **worker_args(const struct master *m, const struct wproc *p,
                          const char *so, char num[4][16], char *conf) {
  char **args = calloc((size_t)m->argc + 9, sizeof *args);
  int k = 0;

  if (args == NULL)
    return NULL;
  snprintf(num[0], sizeof num[0], "%u", p->id);
  snprintf(num[1], sizeof num[1], "%u", p->generation);
  snprintf(num[2], sizeof num[2], "%u", p->slot);
  snprintf(num[3], sizeof num[3], "%u", m->listen.n);
  args[k++] = DECONST(char *, m->exe);
  args[k++] = DECONST(char *, "__worker");
  args[k++] = num[0];
  args[k++] = num[1];
  args[k++] = num[2];
  args[k++] = num[3];
  args[k++] = DECONST(char *, so);
  for (int i = 1; i < m->argc; i++)
    args[k++] = m->argv[i];
  if (m->cfg->config != NULL) {
    /* last, so that it wins over the user's --config */
    reload_config_path(m, p->generation, conf, PATH_MAX + 32);
    args[k++] = DECONST(char *, "--config");
    args[k++] = conf;
  }
  args[k] = NULL;
  return args;
}

int wproc_spawn(struct master *m, unsigned generation, const char *so) {
  struct wproc *p = calloc(1, sizeof *p);
  uv_process_options_t opt;
  uv_stdio_container_t stdio[WORKER_FDS_MAX];
  char num[4][16], conf[PATH_MAX + 32];
  char **args = NULL;
  int err, msg_fd = -1;

  if (p != NULL) {
    p->m = m;
    p->id = free_id(m, generation);
    p->generation = generation;
    while (p->slot < BOARD_SLOTS && m->slot_used[p->slot])
      p->slot++;
    args = worker_args(m, p, so, num, conf);
  }
  if (args == NULL) {
    free(p);
    log_error("cannot start a worker: out of memory");
    return -ENOMEM;
  }
  if ((err = relay_open(p, &msg_fd)) != 0)
    log_warn("worker %u gets no messages: %s", p->id, strerror(-err));
  uv_pipe_init(&m->loop, &p->control, 0);
  memset(&opt, 0, sizeof opt);
  opt.stdio_count = worker_stdio(m, p, msg_fd, stdio);
  opt.file = exe_path(m);
  opt.args = args;
  opt.exit_cb = wproc_on_exit;
  opt.stdio = stdio;

  p->proc.data = p->control.data = p->kill_timer.data = p;
  err = uv_spawn(&m->loop, &p->proc, &opt);
  free(args);
  if (msg_fd >= 0)
    relay_spawned(p, msg_fd, err == 0);
  uv_timer_init(&m->loop, &p->kill_timer);
  p->kill_timer.data = p;
  p->handles = 3;
  if (err != 0) {
    log_error("cannot start a worker: %s", uv_strerror(err));
    p->exited = 1;
    wproc_close(p);
    note_failure(m);
    return err;
  }
  p->pid = p->proc.pid;
  p->state = W_STARTING;
  if (p->slot < BOARD_SLOTS)
    m->slot_used[p->slot] = 1;
  board_slot(m, p, SLOT_STARTING);
  board_note(m, BOARD_START);
  uv_read_start((uv_stream_t *)&p->control, wproc_on_alloc, wproc_on_read);
  p->next = m->procs;
  m->procs = p;
  log_debug("started worker %u (pid %d, generation %u)", p->id, p->pid,
            p->generation);
  return 0;
}
