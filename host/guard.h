/* guard.h - runs plugin code so that a fault or a hang costs one request. */
#ifndef MCHOST_GUARD_H
#define MCHOST_GUARD_H

#include <stdint.h>

/* guard_call() results besides 0 (returned normally) and a signal number. */
#define GUARD_TIMEOUT (-1)

/* What the last fault of this thread looked like; valid until the thread's
 * next guard_call(). */
struct guard_report {
  int sig;
  int code;
  void *addr;
  int nframes;
  void *frames[48];
};

/* Installs the fault handlers on an alternate stack. Once per process, on
 * the loop thread, before any plugin code runs: the request timeout applies
 * to that thread's calls. Returns 0 or a negative errno. */
int guard_install(void);

/* Gives the calling thread its own alternate signal stack, so that a
 * guard_call() on it (a libuv pool thread) survives a stack overflow. Once
 * per thread, before its first guard_call(); cheap after the first time.
 * Returns 0 or a negative errno. */
int guard_thread_init(void);

/* Calls fn(arg). Returns 0 when it returned, the signal number when it
 * faulted on this thread (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), or
 * GUARD_TIMEOUT when it ran longer than timeout_ms (0 = no limit; only on
 * the loop thread). A fault on another thread never returns here. After a
 * non-zero result the process is suspect: the caller must retire it. */
int guard_call(void (*fn)(void *arg), void *arg, uint64_t timeout_ms);

const struct guard_report *guard_last(void);

/* The report is named and logged by fault.c. */

#endif
