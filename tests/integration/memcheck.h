/*
 * memcheck.h - between harness.c and memcheck.c: how a server is started
 * under valgrind, and judged when it is stopped. Tests see only what
 * harness.h says (under_valgrind(), deadline_in()).
 */
#ifndef MCHOST_TEST_MEMCHECK_H
#define MCHOST_TEST_MEMCHECK_H

#include "harness.h"

/* The valgrind executable (MCHOST_TEST_VALGRIND), or NULL: not under
 * valgrind. */
const char *valgrind_path(void);

/* How many times longer every wait is: 1, or more under valgrind. */
int time_scale(void);

/* valgrind's options before --log-file and the mchost command line,
 * NULL-terminated. */
extern const char *const memcheck_options[];

/* Reads the valgrind logs in s->vg_dir once every process of s is gone,
 * and fails the running test (Criterion) for each process with an error or
 * a definite or indirect leak, and for a master that valgrind could not
 * finish checking. Returns how many there were. */
int memcheck_verdict(const struct srv *s);

#endif
