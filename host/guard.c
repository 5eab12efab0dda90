/*
 * guard.c - the crash guard.
 *
 * libuv documents that handling SIGSEGV, SIGBUS, SIGFPE and SIGILL through
 * uv_signal_t is undefined, and a faulting plugin cannot wait for the loop
 * anyway: the handlers here run on an alternate stack (the fault may be a
 * stack overflow), record the fault with plain stores and siglongjmp() back
 * to guard_call().
 *
 * A signal handler has no argument to find its state by, so the state is
 * global, in two parts. What a guarded call needs is per thread: a fault
 * is delivered to the thread that faulted, and only that thread may jump
 * back into its own guard_call(). A fault on a thread that has no guarded
 * call running (a libuv pool thread, a plugin's own thread) is never taken
 * for a fault of the request that runs on the loop thread at that moment:
 * it is a fault outside guarded code. The timeout is process-wide: one
 * timer bounds the handlers of the loop thread, watched by a thread of its
 * own (guard_watchdog()) that interrupts the loop thread only when its call
 * is over time.
 */
#define _GNU_SOURCE
#include "guard.h"

#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

/* Per thread: the executable's own TLS (initial-exec), which a signal
 * handler may read without allocating. */
static __thread struct {
  sigjmp_buf *volatile env; /* innermost guard_call(), NULL outside */
  volatile sig_atomic_t result;
  int ready;      /* guard_thread_init() ran on this thread */
  int loop;       /* the thread guard_install() ran on: timeouts apply */
  sigset_t mask;  /* this thread's signal mask, restored after a fault */
  char *altstack; /* this thread's alternate signal stack */
  struct guard_report report;
} thread;

static struct {
  uint64_t deadline_ms; /* of the loop thread's outermost call; 0 = none */
  int armed;            /* the timer will fire */
  timer_t timer;        /* delivers SIGALRM to the watchdog thread */
  int have_timer;
  pid_t loop_tid; /* the thread whose calls have a deadline */
  sem_t started;  /* the watchdog thread has its timer, or failed */
  int start_err;
} guard;

#define ALTSTACK_SIZE (1 << 16)

/* clock_gettime() is async-signal-safe, and the coarse clock is read from
 * the vDSO without a system call: cheap enough for every request. */
static uint64_t coarse_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The unwinder is libgcc's, linked statically (-static-libgcc, see
 * host/CMakeLists.txt). glibc's backtrace() would dlopen() libgcc_s on its
 * first call, which allocates: unsafe in a handler after heap corruption,
 * and warming it up at start would cost every idle worker the pages of
 * libgcc_s and of the unwind tables it reads. This one reads the tables
 * through dl_iterate_phdr() and a static cache, and never allocates. */
struct unwind_state {
  void **frames;
  int n, max;
};

static _Unwind_Reason_Code unwind_one(struct _Unwind_Context *ctx, void *arg) {
  struct unwind_state *st = arg;
  void *ip = (void *)_Unwind_GetIP(ctx);
  /* _start's caller: a 0 return address ends every stack. */
  if (st->n == st->max || ip == NULL)
    return _URC_END_OF_STACK;
  st->frames[st->n++] = ip;
  return _URC_NO_REASON;
}

static int guard_backtrace(void **frames, int max) {
  struct unwind_state st = {frames, 0, max};
  _Unwind_Backtrace(unwind_one, &st);
  return st.n;
}

/* One-shot timer, armed for a whole timeout: see guard_call(). */
static void arm_timer(uint64_t ms) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = (time_t)(ms / 1000);
  its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
  if (ms == 0)
    its.it_value.tv_nsec = 1000000; /* 0 would disarm it */
  timer_settime(guard.timer, 0, &its, NULL);
}

static void guard_on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (thread.env == NULL) {
    /* A fault in host code: not ours to hide. Die by the same signal so
     * that the master reports it, after one line that says so. */
    /* Only async-signal-safe calls here: no log_*(). */
    static const char loop_msg[] =
        "mchost worker: fault outside guarded code (in mchost, or in plugin "
        "code run from the plugin's own libuv callbacks, which no guard "
        "covers); the worker dies and is replaced. Backtrace:\n";
    static const char thread_msg[] =
        "mchost worker: fault outside guarded code, on a thread other than "
        "the loop's (a libuv pool thread or a plugin's own thread, outside "
        "any guarded call); no request is blamed; the worker dies and is "
        "replaced. "
        "Backtrace:\n";
    const char *msg = thread.loop ? loop_msg : thread_msg;
    size_t len = thread.loop ? sizeof loop_msg - 1 : sizeof thread_msg - 1;
    void *frames[32];
    int n = guard_backtrace(frames, 32);
    ssize_t ignored = write(STDERR_FILENO, msg, len);
    (void)ignored;
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  thread.report.sig = sig;
  thread.report.code = si->si_code;
  thread.report.addr = si->si_addr;
  thread.report.nframes = guard_backtrace(thread.report.frames, 48);
  thread.result = sig;
  siglongjmp(*thread.env, 1);
}

/* The watchdog thread found the loop thread's call past its deadline and
 * sent it SIGALRM. The call may have ended meanwhile, and another begun:
 * only a call that is still past its own deadline is cut short. */
static void guard_on_alarm(int sig, siginfo_t *si, void *uc) {
  uint64_t deadline = __atomic_load_n(&guard.deadline_ms, __ATOMIC_SEQ_CST);
  (void)sig;
  (void)si;
  (void)uc;
  if (!thread.loop || thread.env == NULL || deadline == 0 ||
      coarse_ms() < deadline)
    return;
  thread.report.sig = 0;
  thread.report.addr = NULL;
  thread.report.nframes = guard_backtrace(thread.report.frames, 48);
  thread.result = GUARD_TIMEOUT;
  siglongjmp(*thread.env, 1);
}

/* Arms the timer unless it is armed already; the one who flips `armed`
 * arms it, so that it is never armed twice nor left off by a race between
 * the loop thread and the watchdog. */
static void arm_once(uint64_t ms) {
  int off = 0;
  if (__atomic_compare_exchange_n(&guard.armed, &off, 1, 0, __ATOMIC_SEQ_CST,
                                  __ATOMIC_SEQ_CST))
    arm_timer(ms);
}

/* The watchdog: the timer's signal comes here, never to the loop thread.
 * It is armed once for a whole timeout by the first call that finds it off
 * (no system call per request), so it usually fires while a later call,
 * still within its own time, is running. Delivered to the loop thread, it
 * would cut that call's blocking system calls short (EINTR: nanosleep,
 * poll, read of a socket), whatever the handler then decided. So this
 * thread looks at the deadline and signals the loop thread only when its
 * call is over time; otherwise it arms the timer for the rest, or leaves
 * it off when no call runs. */
static void *guard_watchdog(void *arg) {
  struct sigevent sev;
  sigset_t alarm;
  (void)arg;

  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGALRM;
  sev._sigev_un._tid = gettid();
  guard.start_err =
      timer_create(CLOCK_MONOTONIC, &sev, &guard.timer) != 0 ? -errno : 0;
  sem_post(&guard.started);
  if (guard.start_err != 0)
    return NULL;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  for (;;) {
    uint64_t deadline, now;
    if (sigwaitinfo(&alarm, NULL) != SIGALRM)
      continue;
    deadline = __atomic_load_n(&guard.deadline_ms, __ATOMIC_SEQ_CST);
    now = coarse_ms();
    if (deadline != 0 && now < deadline) {
      arm_timer(deadline - now);
      continue;
    }
    __atomic_store_n(&guard.armed, 0, __ATOMIC_SEQ_CST);
    if (deadline != 0) {
      syscall(SYS_tgkill, getpid(), guard.loop_tid, SIGALRM);
      continue;
    }
    /* A call that set its deadline after the load above found the timer
     * still armed and left it: arm it for that call now. */
    deadline = __atomic_load_n(&guard.deadline_ms, __ATOMIC_SEQ_CST);
    now = coarse_ms();
    if (deadline != 0)
      arm_once(deadline > now ? deadline - now : 0);
  }
  return NULL;
}

/* Starts the watchdog thread with every signal blocked (it waits for
 * SIGALRM with sigwaitinfo(), and must take no signal meant for the
 * process); the caller's mask is left as it was. */
static int guard_start_watchdog(void) {
  sigset_t all, old;
  pthread_t t;
  int err;

  if (sem_init(&guard.started, 0, 0) != 0)
    return -errno;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&t, NULL, guard_watchdog, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0)
    return -err;
  pthread_detach(t);
  while (sem_wait(&guard.started) != 0 && errno == EINTR)
    ;
  return guard.start_err;
}

int guard_thread_init(void) {
  stack_t ss;

  if (thread.ready)
    return 0;
  /* Kept for the thread's life: the kernel may still be using it when a
   * thread that faulted is unwound. Mapped, not malloc'd: a sanitizer
   * unmaps the alternate stack of every thread that exits (a libuv pool
   * thread at exit), and munmap() of malloc'd memory fails and aborts. */
  if (thread.altstack == NULL) {
    void *p = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
      return -errno;
    thread.altstack = p;
  }
  memset(&ss, 0, sizeof ss);
  ss.ss_sp = thread.altstack;
  ss.ss_size = ALTSTACK_SIZE;
  if (sigaltstack(&ss, NULL) != 0)
    return -errno;
  pthread_sigmask(SIG_SETMASK, NULL, &thread.mask);
  thread.ready = 1;
  return 0;
}

int guard_install(void) {
  struct sigaction sa;
  int err;

  if ((err = guard_thread_init()) != 0)
    return err;
  thread.loop = 1;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = guard_on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof fault_signals / sizeof fault_signals[0]; i++)
    if (sigaction(fault_signals[i], &sa, NULL) != 0)
      return -errno;

  sa.sa_sigaction = guard_on_alarm;
  sa.sa_flags |= SA_RESTART;
  if (sigaction(SIGALRM, &sa, NULL) != 0)
    return -errno;
  if (guard.have_timer)
    return 0;
  guard.loop_tid = gettid();
  if ((err = guard_start_watchdog()) != 0)
    return err;
  guard.have_timer = 1;
  return 0;
}

int guard_call(void (*fn)(void *arg), void *arg, uint64_t timeout_ms) {
  sigjmp_buf env;
  sigjmp_buf *volatile outer = thread.env;
  volatile int result = 0;

  /* savemask = 0: saving the mask is a system call per request. The
   * handlers run with SA_NODEFER, so a jump leaves no signal blocked; the
   * mask is restored by hand on the rare fault instead. */
  if (sigsetjmp(env, 0) == 0) {
    /* env and deadline before `armed` is read: a watchdog that stops the
     * timer in between sees this call and arms it again. */
    thread.env = &env;
    if (timeout_ms > 0 && outer == NULL && thread.loop && guard.have_timer) {
      __atomic_store_n(&guard.deadline_ms, coarse_ms() + timeout_ms,
                       __ATOMIC_SEQ_CST);
      /* Armed once for a whole timeout, not per call: under load the timer
       * fires once per timeout and costs no system call per request. */
      if (!__atomic_load_n(&guard.armed, __ATOMIC_SEQ_CST))
        arm_once(timeout_ms);
    }
    fn(arg);
  } else {
    result = thread.result;
    pthread_sigmask(SIG_SETMASK, &thread.mask, NULL);
  }
  if (outer == NULL && thread.loop)
    __atomic_store_n(&guard.deadline_ms, 0, __ATOMIC_SEQ_CST);
  thread.env = outer;
  return result;
}

const struct guard_report *guard_last(void) { return &thread.report; }
