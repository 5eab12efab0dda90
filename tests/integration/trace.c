/*
 * trace.c - what a worker does, seen from outside: its open descriptors
 * (/proc) and its system calls (strace), for tests that count them.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int proc_fd_count(pid_t pid) {
  char path[64];
  struct dirent *e;
  DIR *d;
  int n = 0;
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  if ((d = opendir(path)) == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

pid_t strace_attach(pid_t pid, const char *calls, const char *out,
                    const char *err) {
  char p[16], trace[256];
  int64_t until = deadline_in(10000);
  pid_t tracer;

  snprintf(p, sizeof p, "%d", (int)pid);
  snprintf(trace, sizeof trace, "trace=%s", calls);
  tracer = fork();
  if (tracer == 0) {
    int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, 2) < 0)
      _exit(127);
    execlp("strace", "strace", "-p", p, "-e", trace, "-o", out, (char *)NULL);
    _exit(127);
  }
  cr_assert_gt(tracer, 0);
  while (now_ms() < until) {
    char *log = read_file(err, NULL);
    int attached = log != NULL && strstr(log, "attached") != NULL;
    int status;
    free(log);
    if (attached)
      return tracer;
    if (waitpid(tracer, &status, WNOHANG) == tracer)
      cr_assert_fail(
          "strace could not attach to the worker (exit %d; the tests "
          "need strace: make test-deps)",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    sleep_ms(20);
  }
  kill(tracer, SIGKILL);
  waitpid(tracer, NULL, 0);
  cr_assert_fail("strace did not attach to the worker in 10 s");
  return -1;
}

int strace_calls(const char *text, const char *call, int worked) {
  int n = 0;
  size_t len = strlen(call);
  for (const char *l = text; l != NULL && *l != '\0';) {
    const char *end = strchr(l, '\n');
    const char *eq = strstr(l, ") = ");
    if (strncmp(l, call, len) == 0 && l[len] == '(' &&
        (!worked || (eq != NULL && (end == NULL || eq < end) && eq[4] != '-' &&
                     eq[4] != '?')))
      n++;
    l = end != NULL ? end + 1 : NULL;
  }
  return n;
}
