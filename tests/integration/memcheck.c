/*
 * memcheck.c - a test's servers under valgrind's memcheck (harness.h,
 * "valgrind"): the options they run with, the time scale their slowness
 * needs, and the verdict read from valgrind's logs once a server is stopped.
 */
#define _GNU_SOURCE
#include "memcheck.h"

#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* memcheck makes mchost's own work 20-50 times slower, but the tests mostly
 * wait for processes to start, answer and stop, which it slows far less:
 * 10 leaves every wait ample room, and a test that fails still fails within
 * minutes. */
#define VALGRIND_TIME_SCALE 10

/* What fails a server: every error, and leaks of memory nothing points to
 * any more (definite, and what only they pointed to: indirect). Memory
 * still reachable at exit (a worker's plugin stays loaded, with its dlopen()
 * records, and so does the guard's signal stack) is not a leak. The
 * children followed are mchost's workers, which the master starts by its
 * own path (host/wproc.c, exe_path()); a --build command (/bin/sh) is
 * not ours. After fork() and before exec() a child is a copy of its parent:
 * silent. No --suppressions: glibc and libuv need none here (valgrind 3.19,
 * Debian 12), and one for mchost's code would hide what this is for. No
 * --error-exitcode either: the logs are the verdict, and the master's exit
 * code is what some tests check. */
const char *const memcheck_options[] = {
    "--tool=memcheck",
    "--trace-children=yes",
    "--trace-children-skip=/bin/*,/usr/bin/*,/sbin/*,/usr/sbin/*",
    "--child-silent-after-fork=yes",
    "--leak-check=full",
    "--show-leak-kinds=definite,indirect",
    "--errors-for-leak-kinds=definite,indirect",
    "--num-callers=30",
    NULL};

const char *valgrind_path(void) {
  const char *v = getenv("MCHOST_TEST_VALGRIND");
  return v != NULL && v[0] != '\0' ? v : NULL;
}

int under_valgrind(void) { return valgrind_path() != NULL; }

int time_scale(void) { return under_valgrind() ? VALGRIND_TIME_SCALE : 1; }

/* Criterion's .timeout of each test and suite, stretched like every wait
 * of the harness. Runs in Criterion's runner, before the first test. */
ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  if (time_scale() == 1)
    return;
  FOREACH_SET(struct criterion_suite_set * suite, set->suites) {
    if (suite->suite.data != NULL)
      suite->suite.data->timeout *= time_scale();
    FOREACH_SET(struct criterion_test * test, suite->tests) {
      if (test->data != NULL)
        test->data->timeout *= time_scale();
    }
  }
}

/* The N of the last "ERROR SUMMARY: N errors" in a valgrind log, or -1
 * when there is none: the process was killed before valgrind could finish
 * (SIGKILL), so it was not checked. */
static long error_summary(const char *log) {
  static const char key[] = "ERROR SUMMARY: ";
  const char *hit = NULL;
  for (const char *p = log; (p = strstr(p, key)) != NULL; p++)
    hit = p;
  return hit ? strtol(hit + sizeof key - 1, NULL, 10) : -1;
}

/* One process's log: 1 (and the test's failure, quoting the log's start,
 * where the first error is, for a CI machine whose /tmp is gone after the
 * run) or 0. A worker without a summary was SIGKILLed, on purpose or at
 * --kill-timeout; the master must always finish its own. */
static int judge_log(const struct srv *s, const char *path, int pid) {
  const char *who = pid == s->pid ? "the master" : "a worker";
  char *log = read_file(path, NULL);
  long errors = log ? error_summary(log) : -1;
  int bad = errors > 0 || (errors < 0 && pid == s->pid);

  if (errors > 0)
    cr_expect_fail("valgrind memcheck failed: %ld error(s) in %s (pid %d); "
                   "valgrind log %s, mchost log %s\n%.6000s",
                   errors, who, pid, path, s->log_path, log);
  else if (bad)
    cr_expect_fail("valgrind memcheck failed: no ERROR SUMMARY from %s (pid "
                   "%d), killed before valgrind could check it; valgrind log "
                   "%s, mchost log %s",
                   who, pid, path, s->log_path);
  free(log);
  return bad;
}

int memcheck_verdict(const struct srv *s) {
  DIR *d = opendir(s->vg_dir);
  struct dirent *e;
  int bad = 0, master_seen = 0;

  while (d != NULL && (e = readdir(d)) != NULL) {
    char path[sizeof s->vg_dir + 280];
    int pid;
    if (sscanf(e->d_name, "vg.%d.log", &pid) != 1)
      continue;
    snprintf(path, sizeof path, "%s/%s", s->vg_dir, e->d_name);
    master_seen |= pid == s->pid;
    bad += judge_log(s, path, pid);
  }
  if (d != NULL)
    closedir(d);
  if (!master_seen) {
    cr_expect_fail("valgrind memcheck failed: no valgrind log for the master "
                   "(pid %d) in %s; mchost log %s",
                   (int)s->pid, s->vg_dir, s->log_path);
    bad++;
  }
  return bad;
}
