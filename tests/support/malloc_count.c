/*
 * malloc_count.c - an LD_PRELOAD shim that counts heap allocations.
 *
 *   LD_PRELOAD=build/tests/support/malloc_count.so \
 *   MCHOST_MALLOC_COUNT_DIR=/tmp/counts build/mchost --plugin ...
 *
 * Every call to malloc, calloc, realloc, posix_memalign, aligned_alloc and
 * memalign in the process is counted and passed on to the next definition
 * (glibc's). At exit, if MCHOST_MALLOC_COUNT_DIR is set, the process writes
 * "<pid> <count>\n" to the file <dir>/<pid>. glibc calls malloc through the
 * PLT from inside libc too (that is how a replacement malloc works), so
 * strdup(), fopen() and friends are counted as well.
 *
 * test_ops.c runs the same server for 200 and for 2000 requests: if the
 * counts differ by more than a constant, the request path allocates.
 *
 * Not usable with AddressSanitizer: ASan must be the first malloc in the
 * process and refuses to start under another interposer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Visible to the dynamic linker whatever the build's default visibility. */
#define SHIM_EXPORT __attribute__((visibility("default")))

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static unsigned long allocations;

/* dlsym() may itself call calloc (for its error state) before the real one
 * is known: those few requests are served from here and never freed. */
static _Alignas(16) char boot[16384];
static size_t boot_used;
static int resolving;

static int in_boot(const void *p) {
  return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t size) {
  size_t start = (boot_used + 15) & ~(size_t)15;
  if (size > sizeof boot - start)
    return NULL;
  boot_used = start + size;
  return boot + start;
}

static void count(void) {
  __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
}

/* Called first from the constructor, while the process is single-threaded
 * (the shim is loaded before anything else runs); later calls find the
 * pointers set. */
static void resolve(void) {
  if (real_free != NULL || resolving)
    return;
  resolving = 1;
  real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  real_posix_memalign =
      (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc =
      (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
  real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
  real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
  resolving = 0;
}

SHIM_EXPORT void *malloc(size_t size) {
  resolve();
  if (real_malloc == NULL)
    return boot_alloc(size);
  count();
  return real_malloc(size);
}

SHIM_EXPORT void *calloc(size_t n, size_t size) {
  resolve();
  if (real_calloc == NULL) {
    if (size != 0 && n > SIZE_MAX / size)
      return NULL;
    return boot_alloc(n * size); /* static storage: already zero */
  }
  count();
  return real_calloc(n, size);
}

SHIM_EXPORT void *realloc(void *p, size_t size) {
  resolve();
  if (in_boot(p)) {
    /* Its old size is unknown: copy what can have been there. */
    void *q = malloc(size);
    size_t avail = (size_t)(boot + sizeof boot - (char *)p);
    if (q != NULL)
      memcpy(q, p, size < avail ? size : avail);
    return q;
  }
  if (real_realloc == NULL)
    return boot_alloc(size);
  count();
  return real_realloc(p, size);
}

SHIM_EXPORT void free(void *p) {
  if (p == NULL || in_boot(p))
    return;
  resolve();
  if (real_free != NULL)
    real_free(p);
}

SHIM_EXPORT int posix_memalign(void **out, size_t align, size_t size) {
  resolve();
  count();
  return real_posix_memalign(out, align, size);
}

SHIM_EXPORT void *aligned_alloc(size_t align, size_t size) {
  resolve();
  count();
  return real_aligned_alloc(align, size);
}

SHIM_EXPORT void *memalign(size_t align, size_t size) {
  resolve();
  count();
  return real_memalign(align, size);
}

__attribute__((constructor)) static void malloc_count_start(void) { resolve(); }

/* At exit (return from main or exit()), not on _exit() or a signal. */
__attribute__((destructor)) static void malloc_count_report(void) {
  const char *dir = getenv("MCHOST_MALLOC_COUNT_DIR");
  char path[4096], line[64];
  int fd, n;

  if (dir == NULL || dir[0] == '\0')
    return;
  snprintf(path, sizeof path, "%s/%d", dir, (int)getpid());
  n = snprintf(line, sizeof line, "%d %lu\n", (int)getpid(),
               __atomic_load_n(&allocations, __ATOMIC_RELAXED));
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  (void)!write(fd, line, (size_t)n);
  close(fd);
}
