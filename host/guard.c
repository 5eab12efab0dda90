/*
 * guard.c - the crash guard.
 *
 * libuv documents that handling SIGSEGV, SIGBUS, SIGFPE and SIGILL through
 * uv_signal_t is undefined, and a faulting plugin cannot wait for the loop
 * anyway: the handlers here run on an alternate stack (the fault may be a
 * stack overflow), record the fault with plain stores and siglongjmp() back
 * to guard_call(). The state is a process-wide global because a signal
 * handler has no other way to find it; it is the one global of the host.
 */
#define _GNU_SOURCE
#include "guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static struct {
  sigjmp_buf *volatile env; /* innermost guard_call(), NULL outside */
  volatile sig_atomic_t result;
  timer_t timer;
  int have_timer;
  struct guard_report report;
} guard;

static void guard_on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (guard.env == NULL) {
    /* A fault in host code: not ours to hide. Die by the same signal so
     * that the master reports it, after one line that says so. */
    static const char msg[] =
        "mchost worker: fault outside plugin code: this is an mchost bug\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  guard.report.sig = sig;
  guard.report.code = si->si_code;
  guard.report.addr = si->si_addr;
  /* backtrace() was warmed up in guard_install(): it no longer loads
   * libgcc or allocates, which makes it usable here in practice. */
  guard.report.nframes = backtrace(guard.report.frames, 48);
  guard.result = sig;
  siglongjmp(*guard.env, 1);
}

static void guard_on_alarm(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  if (guard.env == NULL)
    return; /* fired just after the handler returned: nothing to stop */
  guard.report.sig = 0;
  guard.report.addr = NULL;
  guard.report.nframes = backtrace(guard.report.frames, 48);
  guard.result = GUARD_TIMEOUT;
  siglongjmp(*guard.env, 1);
}

int guard_install(void) {
  static char *altstack;
  stack_t ss;
  struct sigaction sa;
  struct sigevent sev;
  void *warm[2];

  backtrace(warm, 2);
  if (altstack == NULL && (altstack = malloc(1 << 16)) == NULL)
    return -ENOMEM;
  memset(&ss, 0, sizeof ss);
  ss.ss_sp = altstack;
  ss.ss_size = 1 << 16;
  if (sigaltstack(&ss, NULL) != 0)
    return -errno;

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = guard_on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
    if (sigaction(fault_signals[i], &sa, NULL) != 0)
      return -errno;

  sa.sa_sigaction = guard_on_alarm;
  if (sigaction(SIGALRM, &sa, NULL) != 0)
    return -errno;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGALRM;
  sev._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &sev, &guard.timer) != 0)
    return -errno;
  guard.have_timer = 1;
  return 0;
}

static void arm(uint64_t ms) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = (time_t)(ms / 1000);
  its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
  if (guard.have_timer)
    timer_settime(guard.timer, 0, &its, NULL);
}

int guard_call(void (*fn)(void *arg), void *arg, uint64_t timeout_ms) {
  sigjmp_buf env;
  sigjmp_buf *volatile outer = guard.env;
  volatile int result = 0;

  /* savemask = 1: the jump must unblock the signal that brought us here. */
  if (sigsetjmp(env, 1) == 0) {
    guard.env = &env;
    if (timeout_ms > 0 && outer == NULL)
      arm(timeout_ms);
    fn(arg);
  } else {
    result = guard.result;
  }
  if (outer == NULL)
    arm(0);
  guard.env = outer;
  return result;
}

const struct guard_report *guard_last(void) { return &guard.report; }

void guard_log_fault(int result, const char *context) {
  const struct guard_report *r = &guard.report;

  if (result == GUARD_TIMEOUT)
    log_error("handler timed out (--request-timeout) in %s; it was at:",
              context);
  else
    log_error("plugin crashed: SIG%s (%s) at address %p in %s",
              sigabbrev_np(r->sig), strsignal(r->sig), r->addr, context);
  /* Frame 0 and 1 are this file's handler and the kernel's trampoline. */
  for (int i = 2; i < r->nframes; i++) {
    Dl_info info;
    const char *module = "?", *slash;
    uintptr_t off = 0;
    if (dladdr(r->frames[i], &info) != 0 && info.dli_fname != NULL) {
      module = (slash = strrchr(info.dli_fname, '/')) ? slash + 1
                                                       : info.dli_fname;
      off = (uintptr_t)r->frames[i] - (uintptr_t)info.dli_fbase;
    }
    if (dladdr(r->frames[i], &info) != 0 && info.dli_sname != NULL)
      log_error("  #%-2d %s+0x%lx (%s+0x%lx)", i - 2, module,
                (unsigned long)off, info.dli_sname,
                (unsigned long)((uintptr_t)r->frames[i] -
                                (uintptr_t)info.dli_saddr));
    else
      log_error("  #%-2d %s+0x%lx", i - 2, module, (unsigned long)off);
    if (info.dli_sname != NULL && strcmp(info.dli_sname, "guard_call") == 0)
      break; /* below here is the host's own loop: not interesting */
  }
}
