/*
 * bundle.c - crash bundles on disk.
 *
 * A bundle is a text head, one "key: value" per line, then a line
 * "request:" and the request's bytes as received, to the end of the file:
 *
 *   mchost crash bundle 1
 *   time: 2026-12-06T06:40:00.123Z
 *   generation: 2
 *   plugin: build/app.so
 *   snapshot: /run/user/1000/mchost-123-AbCdEf/gen-2.so
 *   build-id: 5f0c...
 *   signal: 11 SIGSEGV            (or "signal: timeout")
 *   code: 1
 *   address: 0x0
 *   context: 'GET /crash' from 127.0.0.1
 *   module: 0 /run/user/1000/mchost-123-AbCdEf/gen-2.so
 *   plugin-module: 0
 *   frame: 0 0x1139               (module index, or "-" and an address)
 *   request:
 *   GET /crash HTTP/1.1 ...
 *
 * The worker writes it right after the fault, with write() calls of bytes
 * it has (a stack buffer for the head): no allocation. The master keeps
 * the directory within --crash-max; `mchost replay` reads it back.
 */
#define _GNU_SOURCE
#include "bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "utc.h"

#define MAGIC "mchost crash bundle 1\n"
#define HEAD_MAX 16384

/* ---- writing (in a worker that has just faulted) ---- */

struct head {
  char buf[HEAD_MAX];
  size_t n;
};

static void put(struct head *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct head *h, const char *fmt, ...) {
  va_list ap;
  int k;
  if (h->n >= sizeof h->buf)
    return;
  va_start(ap, fmt);
  k = vsnprintf(h->buf + h->n, sizeof h->buf - h->n, fmt, ap);
  va_end(ap);
  if (k > 0)
    h->n += (size_t)k < sizeof h->buf - h->n ? (size_t)k : sizeof h->buf - h->n;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t k = write(fd, p, len);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -errno;
    p += k;
    len -= (size_t)k;
  }
  return 0;
}

static int secret_field(const char *line, size_t len) {
  static const char *const names[] = {"authorization", "proxy-authorization",
                                      "cookie"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t k = strlen(names[i]);
    if (len > k && line[k] == ':' && strncasecmp(line, names[i], k) == 0)
      return (int)k + 1;
  }
  return 0;
}

/* The request, with the values of secret header fields replaced in its
 * head (up to the first empty line); the body is written as it came. */
static int write_request(int fd, const char *raw, size_t len, int keep) {
  size_t pos = 0;
  while (!keep && pos < len) {
    const char *eol = memchr(raw + pos, '\n', len - pos);
    size_t end = eol ? (size_t)(eol - raw) + 1 : len;
    size_t line = end - pos;
    int name = secret_field(raw + pos, line);
    int rc;

    if (line <= 2 && (raw[pos] == '\r' || raw[pos] == '\n') && pos > 0)
      break; /* the empty line: the body follows */
    if (name > 0)
      rc = write_all(fd, raw + pos, (size_t)name) ?:
           write_all(fd, " [redacted]", 11) ?:
           write_all(fd, raw[end - 2] == '\r' ? "\r\n" : "\n",
                     raw[end - 2] == '\r' ? 2 : 1);
    else
      rc = write_all(fd, raw + pos, line);
    if (rc != 0)
      return rc;
    pos = end;
  }
  return write_all(fd, raw + pos, len - pos);
}

static void bundle_head(struct head *h, const struct bundle_site *site,
                        const struct fault_msg *f, const char *stamp) {
  put(h, MAGIC "time: %s\ngeneration: %u\nplugin: %s\nsnapshot: %s\n", stamp,
      f->generation, site->plugin, site->snapshot);
  put(h, "build-id: %s\n", f->build_id);
  if (f->result == GUARD_TIMEOUT)
    put(h, "signal: timeout\n");
  else if (f->result == FAULT_DEADLINE)
    put(h, "signal: deadline\n");
  else
    put(h, "signal: %d SIG%s\ncode: %d\naddress: 0x%" PRIx64 "\n", f->result,
        sigabbrev_np(f->result) ? sigabbrev_np(f->result) : "?", f->code,
        f->addr);
  put(h, "context: %s\n", f->context);
  for (uint32_t i = 0; i < f->nmodules; i++)
    put(h, "module: %u %s\n", i, f->modules[i]);
  if (f->plugin != FAULT_NO_MODULE)
    put(h, "plugin-module: %u\n", f->plugin);
  for (uint32_t i = 0; i < f->nframes; i++) {
    if (f->frames[i].module == FAULT_NO_MODULE)
      put(h, "frame: - 0x%" PRIx64 "\n", f->frames[i].offset);
    else
      put(h, "frame: %u 0x%" PRIx64 "\n", f->frames[i].module,
          f->frames[i].offset);
  }
  put(h, "request:\n");
}

int bundle_write(struct bundle_site *site, struct fault_msg *f, const char *raw,
                 size_t len) {
  struct head h;
  struct timespec ts;
  char stamp[UTC_ISO_MS_LEN + 1], name[sizeof f->bundle], path[PATH_MAX];
  int fd = -1, rc;

  clock_gettime(CLOCK_REALTIME, &ts);
  utc_iso_ms(stamp, &ts);
  /* crash-20261206T064000.123Z-PID-N.bundle: sorted by name is sorted by
   * time, which is how the master finds the oldest */
  for (int tries = 0; fd < 0 && tries < 100; tries++) {
    char compact[UTC_ISO_MS_LEN + 1];
    size_t k = 0;
    for (const char *s = stamp; *s != '\0'; s++)
      if (*s != '-' && *s != ':')
        compact[k++] = *s;
    compact[k] = '\0';
    snprintf(name, sizeof name, "crash-%s-%d-%u.bundle", compact, (int)getpid(),
             ++site->seq);
    snprintf(path, sizeof path, "%s/%s", site->dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
      return -errno;
  }
  if (fd < 0)
    return -EEXIST;
  h.n = 0;
  bundle_head(&h, site, f, stamp);
  rc = write_all(fd, h.buf, h.n);
  if (rc == 0 && len > 0)
    rc = write_request(fd, raw, len, site->keep_secrets);
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc != 0) {
    unlink(path);
    return rc;
  }
  snprintf(f->bundle, sizeof f->bundle, "%s", name);
  return 0;
}

/* ---- reading (mchost replay) ---- */

static int bad(char *err, size_t errlen, const char *what, unsigned line) {
  snprintf(err, errlen, "not a valid crash bundle: %s (line %u)", what, line);
  return -EINVAL;
}

/* 0, or -1 when v does not fit */
static int set_str(char *dst, size_t size, const char *v) {
  size_t n = strlen(v);
  if (n >= size)
    return -1;
  memcpy(dst, v, n + 1);
  return 0;
}

static int parse_line(struct bundle *b, const char *key, const char *v) {
  struct fault_msg *f = &b->fault;
  unsigned idx;
  char mod[8];
  uint64_t off;

  if (strcmp(key, "generation") == 0)
    return sscanf(v, "%u", &f->generation) == 1 ? 0 : -1;
  if (strcmp(key, "plugin") == 0)
    return set_str(b->plugin, sizeof b->plugin, v);
  if (strcmp(key, "snapshot") == 0)
    return set_str(b->snapshot, sizeof b->snapshot, v);
  if (strcmp(key, "build-id") == 0)
    return set_str(f->build_id, sizeof f->build_id, v);
  if (strcmp(key, "signal") == 0) {
    if (strcmp(v, "timeout") == 0)
      return f->result = GUARD_TIMEOUT, 0;
    if (strcmp(v, "deadline") == 0)
      return f->result = FAULT_DEADLINE, 0;
    return sscanf(v, "%d", &f->result) == 1 && f->result > 0 && f->result < 65
               ? 0
               : -1;
  }
  if (strcmp(key, "code") == 0)
    return sscanf(v, "%d", &f->code) == 1 ? 0 : -1;
  if (strcmp(key, "address") == 0)
    return sscanf(v, "%" SCNx64, &f->addr) == 1 ? 0 : -1;
  if (strcmp(key, "context") == 0)
    return set_str(f->context, sizeof f->context, v);
  if (strcmp(key, "module") == 0) {
    int at = 0;
    if (sscanf(v, "%u %n", &idx, &at) != 1 || at == 0 || idx != f->nmodules ||
        idx >= FAULT_MODULES)
      return -1;
    return set_str(f->modules[f->nmodules++], FAULT_PATH, v + at);
  }
  if (strcmp(key, "plugin-module") == 0)
    return sscanf(v, "%u", &f->plugin) == 1 && f->plugin < f->nmodules ? 0 : -1;
  if (strcmp(key, "frame") == 0) {
    struct fault_frame *fr = &f->frames[f->nframes];
    if (f->nframes == FAULT_FRAMES ||
        sscanf(v, "%7s 0x%" SCNx64, mod, &off) != 2)
      return -1;
    fr->module = FAULT_NO_MODULE;
    if (strcmp(mod, "-") != 0 &&
        (sscanf(mod, "%u", &fr->module) != 1 || fr->module >= f->nmodules))
      return -1;
    fr->offset = off;
    f->nframes++;
    return 0;
  }
  return 0; /* time, and keys of later versions */
}

int bundle_parse(struct bundle *b, const char *data, size_t len, char *err,
                 size_t errlen) {
  size_t pos = sizeof MAGIC - 1;
  unsigned lineno = 1;

  memset(b, 0, sizeof *b);
  b->fault.plugin = FAULT_NO_MODULE;
  if (len < pos || memcmp(data, MAGIC, pos) != 0) {
    /* a bare request */
    pos = 0;
  } else {
    for (;;) {
      const char *eol = memchr(data + pos, '\n', len - pos), *colon;
      char key[32], value[1024];
      size_t n;

      lineno++;
      if (eol == NULL)
        return bad(err, errlen, "no 'request:' line", lineno);
      n = (size_t)(eol - (data + pos));
      if (n == 8 && memcmp(data + pos, "request:", 8) == 0) {
        pos += n + 1;
        break;
      }
      colon = memchr(data + pos, ':', n);
      if (colon == NULL || (size_t)(colon - (data + pos)) >= sizeof key ||
          n - (size_t)(colon - (data + pos)) >= sizeof value + 1 ||
          colon[1] != ' ')
        return bad(err, errlen, "a line is not 'key: value'", lineno);
      memcpy(key, data + pos, (size_t)(colon - (data + pos)));
      key[colon - (data + pos)] = '\0';
      n -= (size_t)(colon - (data + pos)) + 2;
      memcpy(value, colon + 2, n);
      value[n] = '\0';
      if (memchr(value, '\0', n) != NULL || parse_line(b, key, value) != 0)
        return bad(err, errlen, "a value makes no sense", lineno);
      pos = (size_t)(eol - data) + 1;
    }
  }
  b->request_len = len - pos;
  if ((b->request = malloc(b->request_len + 1)) == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  memcpy(b->request, data + pos, b->request_len);
  b->request[b->request_len] = '\0';
  return 0;
}

void bundle_free(struct bundle *b) {
  free(b->request);
  b->request = NULL;
}

/* ---- the directory (master) ---- */

int bundle_dir_prepare(const char *dir, char *err, size_t errlen) {
  struct stat st;

  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    int e = errno;
    snprintf(err, errlen, "--crash-dir '%s': %s", dir, strerror(e));
    return -e;
  }
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
    snprintf(err, errlen,
             "--crash-dir '%s' is not a directory of this user's: crash "
             "bundles hold requests and their secrets",
             dir);
    return -EPERM;
  }
  if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0) {
    int e = errno;
    snprintf(err, errlen, "--crash-dir '%s': chmod 0700: %s", dir, strerror(e));
    return -e;
  }
  return 0;
}

struct entry {
  char name[FAULT_PATH];
  uint64_t size;
};

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct entry *)a)->name,
                ((const struct entry *)b)->name);
}

void bundle_dir_trim(const char *dir, uint64_t max) {
  DIR *d = opendir(dir);
  struct dirent *e;
  struct entry *list = NULL;
  size_t n = 0, cap = 0;
  uint64_t total = 0;
  char path[PATH_MAX + FAULT_PATH];

  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    size_t k = strlen(e->d_name);
    if (strncmp(e->d_name, "crash-", 6) != 0 || k < 7 || k >= FAULT_PATH ||
        strcmp(e->d_name + k - 7, ".bundle") != 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (n == cap) {
      struct entry *grown =
          realloc(list, (cap = cap ? 2 * cap : 64) * sizeof *list);
      if (grown == NULL)
        break;
      list = grown;
    }
    memcpy(list[n].name, e->d_name, k + 1);
    list[n++].size = (uint64_t)st.st_size;
    total += (uint64_t)st.st_size;
  }
  closedir(d);
  if (n > 0)
    qsort(list, n, sizeof *list, by_name);
  for (size_t i = 0; i + 1 < n && total > max; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, list[i].name);
    if (unlink(path) == 0)
      total -= list[i].size;
  }
  free(list);
}
