/*
 * harness.c - see harness.h: processes, the log, workers. The HTTP client
 * is in http_client.c. Nothing here prints: callers put what went wrong in
 * their assertion messages.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "memcheck.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- time ---- */

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

int remaining_ms(int64_t deadline) {
  int64_t left = deadline - now_ms();
  return left > 0 ? (int)left : 0;
}

int64_t deadline_in(int ms) { return now_ms() + (int64_t)ms * time_scale(); }

int budget_ms(int64_t deadline) {
  int scale = time_scale();
  return (remaining_ms(deadline) + scale - 1) / scale;
}

/* ---- spawning ---- */

/* Everything the child needs is built before fork(): the test process may
 * have threads (Criterion's), so the child only makes system calls. */
struct launch {
  char **argv;
  char **envp;
  int out_fd, err_fd;
  pid_t parent;
  char vg_log[96]; /* valgrind's --log-file option */
};

static int has_option(const char *const *args, const char *name) {
  size_t n = strlen(name);
  for (; args && *args; args++)
    if (strncmp(*args, name, n) == 0 &&
        ((*args)[n] == '\0' || (*args)[n] == '='))
      return 1;
  return 0;
}

static size_t count_strv(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

/* `vg_dir`: run under valgrind, logging there (NULL: not). */
static int launch_build(struct launch *l, const char *const *args,
                        int add_defaults, const char *const *env,
                        const char *vg_dir) {
  size_t nargs = count_strv(args), nenv = count_strv(env), nbase = 0, i, k = 0;
  size_t nvg = vg_dir ? count_strv(memcheck_options) + 2 : 0;
  while (environ && environ[nbase])
    nbase++;
  l->argv = calloc(nvg + nargs + 6, sizeof *l->argv);
  l->envp = calloc(nbase + nenv + 1, sizeof *l->envp);
  if (!l->argv || !l->envp) {
    free(l->argv);
    free(l->envp);
    return -ENOMEM;
  }
  if (vg_dir) {
    l->argv[k++] = DECONST(char *, valgrind_path());
    for (i = 0; memcheck_options[i]; i++)
      l->argv[k++] = DECONST(char *, memcheck_options[i]);
    snprintf(l->vg_log, sizeof l->vg_log, "--log-file=%s/vg.%%p.log", vg_dir);
    l->argv[k++] = l->vg_log;
  }
  l->argv[k++] = DECONST(char *, MCHOST_BIN);
  /* Port 0: the kernel picks a free port, so tests can run in parallel. */
  if (add_defaults && !has_option(args, "--port")) {
    l->argv[k++] = DECONST(char *, "--port");
    l->argv[k++] = DECONST(char *, "0");
  }
  if (add_defaults && !has_option(args, "--host")) {
    l->argv[k++] = DECONST(char *, "--host");
    l->argv[k++] = DECONST(char *, "127.0.0.1");
  }
  for (i = 0; i < nargs; i++)
    l->argv[k++] = DECONST(char *, args[i]);
  /* MCHOST_* from the developer's shell would silently change what a test
   * checks: only the test's own `env` may set them. */
  k = 0;
  for (i = 0; i < nbase; i++)
    if (strncmp(environ[i], "MCHOST_", 7) != 0)
      l->envp[k++] = environ[i];
  for (i = 0; i < nenv; i++)
    l->envp[k++] = DECONST(char *, env[i]);
  l->parent = getpid();
  return 0;
}

static void launch_free(struct launch *l) {
  free(l->argv);
  free(l->envp);
}

static void child_exec(const struct launch *l) {
  struct sigaction dfl;
  sigset_t none;
  int sig;
  /* Own group: the whole server (master and workers) can be signalled as
   * one, and nothing outside it ever is. */
  setpgid(0, 0);
  /* If the test process dies (failed .init, Criterion timeout) so does the
   * master, and the workers follow when their pipe to it closes. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != l->parent)
    _exit(127); /* the parent died before prctl() */
  /* Blocked and ignored signals survive exec: start mchost clean. */
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (dup2(l->out_fd, STDOUT_FILENO) < 0 || dup2(l->err_fd, STDERR_FILENO) < 0)
    _exit(127);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0)
    dup2(devnull, STDIN_FILENO);
  /* The test's sockets and Criterion's pipes are none of mchost's business. */
  if (close_range(3, ~0U, 0) < 0)
    for (int fd = 3; fd < 1024; fd++)
      close(fd);
  execve(l->argv[0], l->argv, l->envp);
  static const char msg[] = "harness: cannot exec " MCHOST_BIN
                            " (or valgrind, MCHOST_TEST_VALGRIND)\n";
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(127);
}

static int launch_start(struct launch *l, pid_t *pid) {
  pid_t p = fork();
  if (p < 0)
    return -errno;
  if (p == 0)
    child_exec(l);
  /* Also from the parent, so the group exists before we might signal it. */
  setpgid(p, p);
  *pid = p;
  return 0;
}

static int open_log(char *path, size_t size, const char *tmpl) {
  snprintf(path, size, "%s", tmpl);
  int fd = mkstemp(path);
  if (fd < 0)
    return -errno;
  close(fd);
  /* O_APPEND: master and workers write through different descriptors in
   * the end (stdout, stderr); appending keeps their lines whole. */
  fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    unlink(path);
    return err;
  }
  return fd;
}

int spawn_mchost_env(const char *const *extra_args, const char *const *env,
                     struct srv *out) {
  struct launch l;
  int fd, err;
  memset(out, 0, sizeof *out);
  out->pid = -1;
  fd = open_log(out->log_path, sizeof out->log_path, "/tmp/mchost-test-XXXXXX");
  if (fd < 0)
    return fd;
  if (under_valgrind()) {
    snprintf(out->vg_dir, sizeof out->vg_dir, "/tmp/mchost-vg-XXXXXX");
    if (mkdtemp(out->vg_dir) == NULL) {
      err = -errno;
      out->vg_dir[0] = '\0';
      close(fd);
      return err;
    }
  }
  if ((err = launch_build(&l, extra_args, 1, env,
                          out->vg_dir[0] ? out->vg_dir : NULL)) < 0) {
    close(fd);
    return err;
  }
  l.out_fd = l.err_fd = fd;
  err = launch_start(&l, &out->pid);
  launch_free(&l);
  close(fd);
  if (err < 0)
    out->pid = -1;
  return err;
}

int spawn_mchost(const char *const *extra_args, struct srv *out) {
  return spawn_mchost_env(extra_args, NULL, out);
}

/* ---- the master's life ---- */

int srv_alive(struct srv *s) {
  int st;
  pid_t r;
  if (s->pid <= 0 || s->reaped)
    return 0;
  do
    r = waitpid(s->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return 1;
  if (r == s->pid) {
    s->reaped = 1;
    s->status = st;
  } else {
    s->reaped = 1; /* ECHILD: not ours to wait for any more */
    s->status = 0;
  }
  return 0;
}

static int decode_status(int st) {
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return -EPROTO;
}

int srv_wait_exit(struct srv *s, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  if (s->pid <= 0)
    return -ECHILD;
  while (srv_alive(s)) {
    if (now_ms() >= deadline)
      return -ETIMEDOUT;
    sleep_ms(5);
  }
  return decode_status(s->status);
}

void reap_group(pid_t pid, int ms) {
  int64_t deadline = deadline_in(ms);
  int st;
  pid_t r;
  if (pid <= 1)
    return; /* kill(-0) or kill(-1) would hit far more than our server */
  kill(-pid, SIGTERM);
  for (;;) {
    r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR))
      break;
    if (now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    sleep_ms(5);
  }
  /* Workers that outlived their master (a bug, but not the next test's). */
  kill(-pid, SIGKILL);
}

void srv_stop(struct srv *s) {
  int keep = getenv("MCHOST_TEST_KEEP_LOGS") != NULL;
  if (s->pid > 0) {
    if (!s->reaped)
      reap_group(s->pid, 3000);
    else
      kill(-s->pid, SIGKILL);
    s->reaped = 1;
  }
  if (s->vg_dir[0]) {
    if (s->pid > 0 && memcheck_verdict(s) > 0)
      keep = 1;
    if (!keep)
      rm_tree(s->vg_dir);
    s->vg_dir[0] = '\0';
  }
  s->pid = -1;
  if (s->log_path[0] && !keep)
    unlink(s->log_path);
}

/* ---- the log ---- */

char *read_file(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  size_t cap = 4096, len = 0;
  char *buf;
  if (fd < 0)
    return NULL;
  buf = malloc(cap);
  while (buf) {
    if (len + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  if (buf) {
    buf[len] = '\0';
    if (len_out)
      *len_out = len;
  }
  return buf;
}

char *srv_log_read(const struct srv *s) {
  return s->log_path[0] ? read_file(s->log_path, NULL) : NULL;
}

const char *srv_log_tail(const struct srv *s) {
  static char tail[6144];
  size_t len = 0;
  char *all = s->log_path[0] ? read_file(s->log_path, &len) : NULL;
  if (!all) {
    snprintf(tail, sizeof tail, "(no log: %s)", s->log_path);
    return tail;
  }
  if (len < sizeof tail) {
    memcpy(tail, all, len + 1);
  } else {
    memcpy(tail, "[...]", 5);
    memcpy(tail + 5, all + len - (sizeof tail - 6), sizeof tail - 6);
    tail[sizeof tail - 1] = '\0';
  }
  free(all);
  return tail;
}

int log_count(const struct srv *s, const char *needle) {
  char *all = srv_log_read(s);
  int n = 0;
  if (!all || !*needle) {
    free(all);
    return 0;
  }
  /* Lines, not occurrences: one message may name a symbol twice ("no
   * MC_PLUGIN() marker: add 'MC_PLUGIN();'") and is still one message. */
  for (char *line = all, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (strstr(line, needle))
      n++;
  }
  free(all);
  return n;
}

int wait_log(const struct srv *s, const char *needle, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  for (;;) {
    if (log_count(s, needle) > 0)
      return 1;
    if (now_ms() >= deadline)
      return 0;
    sleep_ms(10);
  }
}

int log_stays(const struct srv *s, const char *needle, int count, int ms) {
  int64_t deadline = deadline_in(ms);
  for (;;) {
    if (log_count(s, needle) != count)
      return 0;
    if (now_ms() >= deadline)
      return 1;
    sleep_ms(10);
  }
}

char *find_line(const char *text, const char *needle, char *buf, size_t size) {
  const char *hit = text ? strstr(text, needle) : NULL, *start, *end;
  size_t n;
  if (!hit || size == 0)
    return NULL;
  for (start = hit; start > text && start[-1] != '\n'; start--) {
  }
  end = strchr(hit, '\n');
  n = end ? (size_t)(end - start) : strlen(start);
  if (n >= size)
    n = size - 1;
  memcpy(buf, start, n);
  buf[n] = '\0';
  return buf;
}

int has_number_token(const char *text, long number) {
  char want[32];
  size_t wl = (size_t)snprintf(want, sizeof want, "%ld", number);
  for (const char *p = text; p && (p = strstr(p, want)); p++) {
    /* Not inside a longer number, nor a word: "a5b" in a temp name is no
     * exit code. */
    int left_ok = p == text || !isalnum((unsigned char)p[-1]);
    int right_ok = !isalnum((unsigned char)p[wl]);
    if (left_ok && right_ok)
      return 1;
  }
  return 0;
}

/* Polls the log for `marker` followed by a port number: the port, or
 * -errno as srv_wait_port(). */
static int wait_port_after(struct srv *s, const char *marker, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  for (;;) {
    char *all = srv_log_read(s);
    const char *hit = all ? strstr(all, marker) : NULL;
    if (hit) {
      long port = strtol(hit + strlen(marker), NULL, 10);
      free(all);
      return port <= 0 || port > 65535 ? -EPROTO : (int)port;
    }
    free(all);
    if (!srv_alive(s))
      return -ECHILD;
    if (now_ms() >= deadline)
      return -ETIMEDOUT;
    sleep_ms(10);
  }
}

int srv_wait_port(struct srv *s, int timeout_ms) {
  int port = wait_port_after(s, "listening on http://127.0.0.1:", timeout_ms);
  if (port > 0)
    s->port = port;
  return port;
}

int srv_admin_port(struct srv *s, int timeout_ms) {
  return wait_port_after(s, "admin on http://127.0.0.1:", timeout_ms);
}

int srv_wait_ready(struct srv *s, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  struct http_resp *r = malloc(sizeof *r);
  if (!r)
    return -ENOMEM;
  for (;;) {
    /* The socket is bound before any worker is ready, so a connection
     * simply waits in the backlog: one GET with the time left is the
     * poll, and a failed one is retried until the deadline. */
    int left = budget_ms(deadline);
    int err = http_get_timeout(s->port, "/", r, left > 0 ? left : 1);
    if (err == 0 && r->status == 200) {
      free(r);
      return 0;
    }
    if (!srv_alive(s)) {
      free(r);
      return -ECHILD;
    }
    if (now_ms() >= deadline) {
      free(r);
      return -ETIMEDOUT;
    }
    sleep_ms(20);
  }
}

int srv_start(struct srv *s, const char *const *extra_args, int timeout_ms) {
  return srv_start_env(s, extra_args, NULL, timeout_ms);
}

int srv_start_one(struct srv *s, const char *plugin, const char *const *more,
                  int timeout_ms) {
  const char *args[32] = {"--plugin", plugin, "--workers", "1"};
  size_t n = 4;
  for (; more != NULL && *more != NULL && n < 31; more++)
    args[n++] = *more;
  args[n] = NULL;
  return srv_start(s, args, timeout_ms);
}

int srv_start_env(struct srv *s, const char *const *extra_args,
                  const char *const *env, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  int err = spawn_mchost_env(extra_args, env, s);
  if (err < 0)
    return err;
  err = srv_wait_port(s, timeout_ms);
  if (err > 0)
    err = srv_wait_ready(s, budget_ms(deadline));
  if (err < 0) {
    /* Stop it now, keep the log for the caller's message. */
    if (!s->reaped)
      reap_group(s->pid, 1000);
    s->reaped = 1;
    return err;
  }
  return 0;
}

/* ---- workers ---- */

int pid_alive(pid_t pid) {
  char path[64], *stat, *paren;
  int alive;
  if (pid <= 0)
    return 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  stat = read_file(path, NULL);
  if (!stat)
    return 0;
  /* The state follows the last ')': the command name may hold spaces. */
  paren = strrchr(stat, ')');
  alive = paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
  free(stat);
  return alive;
}

int wait_pid_gone(pid_t pid, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  while (pid_alive(pid)) {
    if (now_ms() >= deadline)
      return 0;
    sleep_ms(5);
  }
  return 1;
}

int worker_pids(pid_t master, pid_t *pids, int max) {
  char path[64];
  DIR *d;
  struct dirent *e;
  int n = 0;
  if (master <= 0)
    return -ESRCH;
  snprintf(path, sizeof path, "/proc/%d/task", (int)master);
  if (!(d = opendir(path)))
    return -errno;
  while ((e = readdir(d))) {
    char cpath[300], *list, *p, *end;
    if (e->d_name[0] == '.')
      continue;
    snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)master,
             e->d_name);
    if (!(list = read_file(cpath, NULL)))
      continue;
    for (p = list;; p = end) {
      long v = strtol(p, &end, 10);
      if (end == p)
        break;
      /* A reaped-late zombie is not a worker any more. */
      if (v > 0 && pid_alive((pid_t)v)) {
        if (n < max)
          pids[n] = (pid_t)v;
        n++;
      }
    }
    free(list);
  }
  closedir(d);
  return n;
}

int wait_workers(pid_t master, int n, int timeout_ms, int stable_ms) {
  int64_t deadline = deadline_in(timeout_ms), since = -1;
  int64_t stable = deadline_in(stable_ms) - now_ms();
  pid_t pids[256];
  for (;;) {
    int count = worker_pids(master, pids, 256);
    if (count < 0)
      return count;
    if (count != n)
      since = -1;
    else if (since < 0)
      since = now_ms();
    if (since >= 0 && now_ms() - since >= stable)
      return n;
    /* A count reached just before the deadline still gets its window. */
    if (now_ms() >= deadline + (since >= 0 ? stable : 0))
      return count;
    sleep_ms(10);
  }
}

pid_t only_worker(pid_t master, int timeout_ms) {
  pid_t pids[4];
  int n = wait_workers(master, 1, timeout_ms, 100);
  if (n < 0)
    return n;
  if (n != 1 || worker_pids(master, pids, 4) != 1)
    return -ESRCH;
  return pids[0];
}

long rss_kib(pid_t pid) {
  char path[64], line[256];
  long kib = -ENOENT;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -errno;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmRSS:", 6) == 0)
      kib = atol(line + 6);
  fclose(f);
  return kib;
}

int cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path); /* FTW_DEPTH: a directory comes after what it holds */
  return 0;
}

int wait_file(const char *path, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  for (;;) {
    if (access(path, F_OK) == 0)
      return 1;
    if (now_ms() >= deadline)
      return 0;
    sleep_ms(10);
  }
}

void rm_tree(const char *path) {
  if (path != NULL && path[0] != '\0')
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- run to completion ---- */

/* Runs what `l` describes until it exits or timeout_ms pass; frees l. */
static int run_launch_sync(struct launch *l, int err, struct run_result *r,
                           int timeout_ms) {
  char out_path[64], err_path[64];
  int out_fd, err_fd, st = 0;
  pid_t pid = -1;
  int64_t deadline = deadline_in(timeout_ms);

  memset(r, 0, sizeof *r);
  r->exit_code = -1;
  if ((out_fd = open_log(out_path, sizeof out_path, "/tmp/mchost-out-XXXXXX")) <
      0) {
    if (err == 0)
      launch_free(l);
    return out_fd;
  }
  if ((err_fd = open_log(err_path, sizeof err_path, "/tmp/mchost-err-XXXXXX")) <
      0) {
    if (err == 0)
      launch_free(l);
    close(out_fd);
    unlink(out_path);
    return err_fd;
  }
  if (err == 0) {
    l->out_fd = out_fd;
    l->err_fd = err_fd;
    err = launch_start(l, &pid);
    launch_free(l);
  }
  close(out_fd);
  close(err_fd);
  if (err == 0) {
    for (;;) {
      pid_t w = waitpid(pid, &st, WNOHANG);
      if (w == pid)
        break;
      if (w < 0 && errno != EINTR) {
        st = 0;
        break;
      }
      if (now_ms() >= deadline) {
        r->timed_out = 1;
        kill(-pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      sleep_ms(5);
    }
    /* A started worker must not outlive the run. */
    kill(-pid, SIGKILL);
    if (WIFEXITED(st))
      r->exit_code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
      r->term_signal = WTERMSIG(st);
  }
  r->out = read_file(out_path, NULL);
  r->err = read_file(err_path, NULL);
  if (!r->out)
    r->out = strdup("");
  if (!r->err)
    r->err = strdup("");
  unlink(out_path);
  unlink(err_path);
  return err;
}

int run_mchost_sync(const char *const *args, const char *const *env,
                    struct run_result *r, int timeout_ms) {
  struct launch l;
  int err = launch_build(&l, args, 0, env, NULL);
  return run_launch_sync(&l, err, r, timeout_ms);
}

/* argv[0] found in $PATH, as execvp() would, into path. */
static int find_in_path(const char *name, char *path, size_t size) {
  const char *dirs = getenv("PATH");
  if (strchr(name, '/') != NULL) {
    snprintf(path, size, "%s", name);
    return access(path, X_OK) == 0 ? 0 : -ENOENT;
  }
  for (const char *d = dirs ? dirs : "/usr/bin:/bin"; *d != '\0';) {
    size_t n = strcspn(d, ":");
    snprintf(path, size, "%.*s/%s", (int)n, d, name);
    if (n > 0 && access(path, X_OK) == 0)
      return 0;
    d += n + (d[n] == ':');
  }
  return -ENOENT;
}

int run_tool_sync(const char *const *argv, struct run_result *r,
                  int timeout_ms) {
  static const char *const none[] = {NULL};
  char path[512];
  struct launch l;
  int err;

  memset(r, 0, sizeof *r);
  r->exit_code = -1;
  if ((err = find_in_path(argv[0], path, sizeof path)) != 0)
    return err;
  /* Built as for mchost, then argv[0] (MCHOST_BIN) becomes the tool. */
  if ((err = launch_build(&l, argv + 1, 0, none, NULL)) == 0)
    l.argv[0] = path;
  return run_launch_sync(&l, err, r, timeout_ms);
}

void srv_curl(const struct srv *s, const char *const *args,
              struct run_result *r) {
  const char *argv[32] = {"curl", "-sS", "--max-time", "20"};
  char urls[4][128];
  size_t n = 4, u = 0;

  run_result_free(r);
  for (; *args != NULL && n < 31; args++) {
    if ((*args)[0] == ':' && u < 4) {
      snprintf(urls[u], sizeof urls[u], "http://127.0.0.1:%d%s", s->port,
               *args + 1);
      argv[n++] = urls[u++];
    } else {
      argv[n++] = *args;
    }
  }
  argv[n] = NULL;
  cr_assert_eq(run_tool_sync(argv, r, 40000), 0, "curl did not run");
}

void run_result_free(struct run_result *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

int run_status(pid_t master, struct run_result *r) {
  char pid[16];
  const char *args[] = {"status", pid, NULL};
  snprintf(pid, sizeof pid, "%d", (int)master);
  return run_mchost_sync(args, NULL, r, 5000);
}

/* ---- in a test body ---- */

void srv_start_one_connected(struct srv *s, struct http_client *c,
                             const char *plugin, const char *const *more) {
  int err = srv_start_one(s, plugin, more, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(s));
  err = http_open(c, s->port, 2000);
  cr_assert_eq(err, 0, "connect to port %d: %s", s->port, strerror(-err));
}

void srv_send_str(const struct srv *s, struct http_client *c, const char *str) {
  int err = http_send_str(c, str);
  cr_assert_eq(err, 0, "send: %s" SRV_LOG_FMT, strerror(-err), srv_log_tail(s));
}

void srv_read_status(const struct srv *s, struct http_client *c,
                     struct http_resp *r, int flags, int want, int timeout_ms) {
  int err = http_read(c, r, flags, timeout_ms);
  cr_assert_eq(err, 0, "reading a response (want %d): %s" SRV_LOG_FMT, want,
               http_strerror(err), srv_log_tail(s));
  cr_assert_eq(r->status, want, "status %d, want %d" RESP_FMT SRV_LOG_FMT,
               r->status, want, r->head, r->body, srv_log_tail(s));
}

void srv_hold_slow(const struct srv *s, struct http_client *c, const char *who,
                   unsigned ms) {
  char request[128], mark[64];
  snprintf(request, sizeof request,
           "GET /slow?ms=%u HTTP/1.1\r\nHost: t\r\n\r\n", ms);
  snprintf(mark, sizeof mark, "%s: holding %u ms", who, ms);
  int err = http_open(c, s->port, 2000);
  cr_assert_eq(err, 0, "connect: %s", strerror(-err));
  srv_send_str(s, c, request);
  cr_assert(wait_log(s, mark, 3000),
            "the slow request never reached a worker" SRV_LOG_FMT,
            srv_log_tail(s));
}

void srv_read_slow(const struct srv *s, struct http_client *c,
                   struct http_resp *r) {
  int err = http_read(c, r, 0, 5000);
  cr_expect_eq(err, 0, "in-flight request: %s" SRV_LOG_FMT, http_strerror(err),
               srv_log_tail(s));
  cr_expect_eq(r->status, 200, "in-flight request: status %d\n%s%s" SRV_LOG_FMT,
               r->status, r->head, r->body, srv_log_tail(s));
  cr_expect_str_eq(r->body, "slow\n", "in-flight request: body [%s]", r->body);
}

void srv_expect_replaced(const struct srv *s, pid_t old, int timeout_ms) {
  struct http_resp *r = malloc(sizeof *r);
  cr_assert_not_null(r);
  cr_expect(wait_log(s, "retiring this worker", 3000),
            "the worker did not retire" SRV_LOG_FMT, srv_log_tail(s));
  cr_expect(wait_pid_gone(old, timeout_ms), "the faulted worker %d still runs",
            (int)old);
  cr_expect_eq(http_get(s->port, "/", r), 0);
  cr_expect_eq(r->status, 200, "GET / after the fault: %d", r->status);
  free(r);
}

void srv_spawn_ready(struct srv *s, const char *const *args, int timeout_ms) {
  int err = spawn_mchost(args, s);
  cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
  cr_assert_gt(srv_wait_port(s, timeout_ms), 0, "no port" SRV_LOG_FMT,
               srv_log_tail(s));
  cr_assert(wait_log(s, "ready:", timeout_ms), "not ready" SRV_LOG_FMT,
            srv_log_tail(s));
}

pid_t srv_the_worker(const struct srv *s, int timeout_ms) {
  pid_t pid = only_worker(s->pid, timeout_ms);
  cr_assert_gt(pid, 0, "want 1 worker: %s" SRV_LOG_FMT, strerror((int)-pid),
               srv_log_tail(s));
  return pid;
}

void srv_expect_refused_start(struct srv *s, const char *const *args,
                              int timeout_ms) {
  int err = spawn_mchost(args, s);
  cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
  int code = srv_wait_exit(s, timeout_ms);
  cr_assert_neq(code, -ETIMEDOUT,
                "master still running %d ms after start" SRV_LOG_FMT,
                timeout_ms, srv_log_tail(s));
  cr_expect_eq(code, 3, "master exit code %d, want 3" SRV_LOG_FMT, code,
               srv_log_tail(s));
  cr_expect_eq(log_count(s, "listening on"), 0,
               "it said 'listening on' and then exited" SRV_LOG_FMT,
               srv_log_tail(s));
}

int srv_bundle_path(const struct srv *s, int n, char *out, size_t len,
                    int timeout_ms) {
  static const char mark[] = "crash bundle: ";
  int64_t deadline = deadline_in(timeout_ms);
  char *log, *p;
  while (log_count(s, mark) < n && now_ms() < deadline)
    sleep_ms(10);
  if ((log = srv_log_read(s)) == NULL)
    return -ETIMEDOUT;
  p = log;
  for (int i = 0; i < n && p != NULL; i++)
    if ((p = strstr(p, mark)) != NULL && i + 1 < n)
      p++;
  if (p != NULL) {
    p += strlen(mark);
    snprintf(out, len, "%.*s", (int)strcspn(p, " \n"), p);
  }
  free(log);
  return p != NULL ? 0 : -ETIMEDOUT;
}

int srv_normal_amid(const struct srv *s, struct http_client *held, int n,
                    struct http_resp *r) {
  int err = http_get(s->port, "/normal", r), open = 0;
  if (err != 0)
    return err;
  for (int i = 0; i < n; i++)
    open += http_still_open(&held[i], 0);
  return open;
}
