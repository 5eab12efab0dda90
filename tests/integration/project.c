/* project.c - see project.h. */
#define _GNU_SOURCE
#include "project.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int scratch_make(char *dir, size_t size, const char *tag) {
  if (snprintf(dir, size, "/tmp/mchost-%s-XXXXXX", tag) >= (int)size)
    return -ENAMETOOLONG;
  return mkdtemp(dir) != NULL ? 0 : -errno;
}

int file_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  int err = 0;

  if (f == NULL)
    return -errno;
  if (fputs(text, f) == EOF)
    err = -errno;
  if (fclose(f) != 0 && err == 0)
    err = -errno;
  return err;
}

char *file_read(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf = NULL;
  size_t len = 0, cap = 0, n;

  if (f == NULL)
    return NULL;
  do {
    if (cap - len < 4096) {
      char *grown = realloc(buf, cap + 65536);
      if (grown == NULL) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = grown;
      cap += 65536;
    }
    n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
  } while (n > 0);
  fclose(f);
  buf[len] = '\0';
  return buf;
}

static void sh_child(const char *cmd, int out_fd, pid_t parent) {
  /* Own group, so a timeout kills make and the compilers too. */
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(127);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
      dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
    _exit(127);
  if (close_range(3, ~0U, 0) < 0)
    for (int fd = 3; fd < 1024; fd++)
      close(fd);
  /* Under `make test`, MAKEFLAGS names the outer make's jobserver fds,
   * which are closed (or something else) here: the plugin's own make
   * would warn about them, or use them. */
  unsetenv("MAKEFLAGS");
  unsetenv("MFLAGS");
  unsetenv("MAKELEVEL");
  execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
  _exit(127);
}

int sh_run(struct sh_result *r, int timeout_ms, const char *fmt, ...) {
  char cmd[8192], out_path[64];
  int64_t deadline = now_ms() + timeout_ms;
  va_list ap;
  int out_fd, st = 0, n;
  pid_t pid, parent = getpid();

  r->status = -1;
  r->out = NULL;
  va_start(ap, fmt);
  n = vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof cmd)
    return -ENAMETOOLONG;
  snprintf(out_path, sizeof out_path, "/tmp/mchost-sh-XXXXXX");
  if ((out_fd = mkstemp(out_path)) < 0)
    return -errno;
  if ((pid = fork()) < 0) {
    int e = errno;
    close(out_fd);
    unlink(out_path);
    return -e;
  }
  if (pid == 0)
    sh_child(cmd, out_fd, parent);
  setpgid(pid, pid);
  close(out_fd);
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR) {
      st = -1;
      break;
    }
    if (now_ms() >= deadline) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      st = -1;
      break;
    }
    sleep_ms(10);
  }
  /* Nothing it started may outlive it. */
  kill(-pid, SIGKILL);
  if (st != -1)
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r->out = file_read(out_path);
  if (r->out == NULL)
    r->out = strdup("");
  unlink(out_path);
  return 0;
}

void sh_result_free(struct sh_result *r) {
  free(r->out);
  r->out = NULL;
}
