/* Fixture for the crash guard: every way a handler can fault or hang.
 *   GET /segv          NULL write: SIGSEGV
 *   GET /abort         abort(): SIGABRT
 *   GET /fpe           integer division by zero: SIGFPE (x86 traps on it)
 *   GET /ill           __builtin_trap(): SIGILL (ud2 on x86)
 *   GET /bus           read of a mapped page whose file was truncated: SIGBUS
 *   GET /slow?ms=N     200 "slow\n" after N ms (mc_response_later); logs
 *                      "crash: holding N ms" first, so a test knows the
 *                      request is in flight on a worker
 *   GET /stream-crash  head and one chunk sent, then SIGSEGV
 *   GET /later-crash   SIGSEGV inside a mc_response_later() callback
 *   GET /hang          never returns (for --request-timeout)
 *   GET /unguarded     200, then SIGSEGV from the plugin's own uv timer on
 *                      the worker's loop: plugin code that no guard covers
 *   GET /pool-crash    200 "queued\n", then SIGSEGV 200 ms later on a libuv
 *                      pool thread (uv_queue_work), outside every guard,
 *                      while the loop thread may be running another request
 *   GET /stack         unbounded recursion: SIGSEGV on the guard page, which
 *                      only a handler on an alternate stack can catch
 *   GET /double-free   glibc detects a double free and calls abort()
 *   GET /double-free-mt the same after starting (and joining) a thread: in
 *                      a multi-threaded process, glibc's free() holds the
 *                      arena lock when it aborts, and the jump back to the
 *                      guard leaves it locked (as a plugin using libuv's
 *                      threadpool, or its own threads, would have it)
 *   GET /bad-arg       passes a wild pointer to mc_response_header(): the
 *                      fault is in mchost's code, called from the plugin
 *   GET /sleep?ms=N    blocks in one nanosleep() of N ms inside mc_run, then
 *                      200 "slept\n", or "interrupted\n" if a signal cut it
 *                      short (EINTR), as it would a plugin's blocking call
 *   GET /fork?ms=N     forks a child that holds the worker's descriptors for
 *                      N ms without exec (then _exit), 200 "forked\n"
 *   anything else      200 "ok\n" (the harness's readiness probe), with
 *                      "X-Pid: <worker pid>" so a test knows who answered
 * mc_init logs "crash: mc_init pid N" and mc_shutdown logs
 * "crash: mc_shutdown pid N", so a test can see that they ran.
 *
 * Built without sanitizers (tests/guard.cmake): UBSan would report the
 * division by zero and the NULL write itself and abort, and the point here
 * is the signal the hardware raises. */
#define _GNU_SOURCE
#include <mchost.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "slow_request.h"

MC_PLUGIN();

/* Volatile, so that the compiler can neither fold the fault away nor
 * replace it with a trap of its own (GCC turns a known NULL dereference
 * into ud2, which would be SIGILL). */
static int *volatile null_ptr;
static volatile int one = 1, zero;
static volatile uintptr_t wild_ptr = 8;
static volatile int sink;

static void do_segv(void) { *null_ptr = 1; }

/* Both operands unknown: with a constant 1 as numerator, GCC computes 1 / x
 * with a compare instead of a division, and nothing traps. */
static void do_fpe(void) { sink = one / zero; }

static void do_bus(void) {
  char path[] = "/tmp/mchost-crash-bus-XXXXXX";
  long page = sysconf(_SC_PAGESIZE);
  int fd = mkstemp(path);
  volatile char *p;

  if (fd < 0)
    return;
  unlink(path);
  if (ftruncate(fd, page) != 0) {
    close(fd);
    return;
  }
  p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return;
  }
  /* The page is mapped, but no longer backed by the file: reading it is
   * SIGBUS (BUS_ADRERR), the fault a plugin .so rewritten in place gives. */
  if (ftruncate(fd, 0) == 0)
    sink = p[0];
  close(fd);
}

/* Volatile limit and work after the call: neither -Winfinite-recursion nor
 * tail-call optimisation turns this into something else than a deep stack. */
static volatile int depth_limit = 1 << 30;

static int recurse(int depth) {
  volatile char frame[256];
  frame[0] = (char)depth;
  if (depth < depth_limit)
    frame[1] = (char)recurse(depth + 1);
  return frame[0] + frame[1];
}

static void *volatile chunk, *volatile guard_chunk;

/* Through volatile pointers: GCC removes a malloc/free pair it can see. */
static void do_double_free(void) {
  chunk = malloc(4000); /* larger than a tcache bin: a regular chunk */
  guard_chunk = malloc(16);
  free(chunk);
  free(chunk); /* "double free or corruption", then abort() */
}

static void *thread_main(void *arg) { return arg; }

static void do_double_free_mt(void) {
  pthread_t t;
  /* Once a thread has existed, glibc locks its arenas for good. */
  if (pthread_create(&t, NULL, thread_main, NULL) == 0)
    pthread_join(t, NULL);
  do_double_free();
}

static void later_crash(mc_response *res, void *data) {
  (void)res;
  (void)data;
  do_segv();
}

static uv_timer_t unguarded_timer;

static void unguarded_crash(uv_timer_t *t) {
  (void)t;
  do_segv();
}

static uv_work_t pool_work;

static void pool_crash(uv_work_t *req) {
  struct timespec ts = {0, 200 * 1000000L};
  (void)req;
  nanosleep(&ts, NULL);
  do_segv();
}

static void pool_done(uv_work_t *req, int status) {
  (void)req;
  (void)status;
}

int mc_init(const mc_worker *w) {
  mc_log(MC_LOG_INFO, "crash: mc_init pid %d", w->pid);
  return 0;
}

void mc_shutdown(void) {
  mc_log(MC_LOG_INFO, "crash: mc_shutdown pid %d", (int)getpid());
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);

  if (strcmp(path, "/slow") == 0) {
    slow_request(req, res, "crash");
    return;
  }
  if (strcmp(path, "/later-crash") == 0) {
    if (mc_response_later(res, 10, later_crash, NULL) < 0)
      mc_response_send(res, 500, "later failed\n", 13);
    return;
  }
  if (strcmp(path, "/unguarded") == 0) {
    uv_timer_init(mc_worker_self()->loop, &unguarded_timer);
    uv_timer_start(&unguarded_timer, unguarded_crash, 50, 0);
    mc_response_send(res, 200, "armed\n", 6);
    return;
  }
  if (strcmp(path, "/pool-crash") == 0) {
    if (uv_queue_work(mc_worker_self()->loop, &pool_work, pool_crash,
                      pool_done) != 0)
      mc_response_send(res, 500, "queue failed\n", 13);
    else
      mc_response_send(res, 200, "queued\n", 7);
    return;
  }
  if (strcmp(path, "/fork") == 0) {
    unsigned ms = query_ms(mc_request_query(req));
    pid_t pid = fork();
    if (pid == 0) {
      struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
      _exit(0);
    }
    if (pid < 0)
      mc_response_send(res, 500, "fork failed\n", 12);
    else
      mc_response_send(res, 200, "forked\n", 7);
    return;
  }
  if (strcmp(path, "/sleep") == 0) {
    unsigned ms = query_ms(mc_request_query(req));
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
      mc_response_send(res, 200, "interrupted\n", 12);
    else
      mc_response_send(res, 200, "slept\n", 6);
    return;
  }
  if (strcmp(path, "/segv") == 0) {
    do_segv();
  } else if (strcmp(path, "/bad-arg") == 0) {
    mc_response_header(res, "X-Bad", (const char *)wild_ptr);
  } else if (strcmp(path, "/stack") == 0) {
    sink = recurse(0);
  } else if (strcmp(path, "/double-free") == 0) {
    do_double_free();
  } else if (strcmp(path, "/double-free-mt") == 0) {
    do_double_free_mt();
  } else if (strcmp(path, "/abort") == 0) {
    abort();
  } else if (strcmp(path, "/fpe") == 0) {
    do_fpe();
  } else if (strcmp(path, "/ill") == 0) {
    __builtin_trap();
  } else if (strcmp(path, "/bus") == 0) {
    do_bus();
  } else if (strcmp(path, "/stream-crash") == 0) {
    mc_response_begin(res, 200);
    mc_response_write(res, "partial", 7);
    do_segv();
  } else if (strcmp(path, "/hang") == 0) {
    for (;;)
      sink++;
  } else {
    char pid[16];
    snprintf(pid, sizeof pid, "%d", mc_worker_self()->pid);
    mc_response_header(res, "X-Pid", pid);
    mc_response_send(res, 200, "ok\n", 3);
    return;
  }
  /* Only when the fault above did not happen: a test then sees this body
   * instead of the 500 it expects, and says so. */
  if (strcmp(path, "/stream-crash") == 0) {
    mc_response_end(res);
    return;
  }
  mc_response_send(res, 200, "no fault\n", 9);
}
