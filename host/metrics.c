/*
 * metrics.c - the /metrics page of the admin listener (admin.c), in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Everything comes from the master's own state and the board (proto.h),
 * read when scraped: the workers count per request into their slots with
 * plain stores (metrics.h), the master adds up the live slots and the
 * counts it kept of the workers it reaped (board.c), so that no counter
 * goes backwards when a worker is replaced. Each worker's resident memory
 * is read from /proc/PID/statm now.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "master.h"
#include "mchost.h"

struct page {
  char **out;
  size_t *len, *cap;
  int err;
};

static void put(struct page *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct page *p, const char *fmt, ...) {
  va_list ap;
  int n;

  if (p->err != 0)
    return;
  for (;;) {
    size_t room = *p->cap - *p->len;
    va_start(ap, fmt);
    n = vsnprintf(*p->out + *p->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
      p->err = -EINVAL;
      return;
    }
    if ((size_t)n < room) {
      *p->len += (size_t)n;
      return;
    }
    size_t cap = *p->cap ? *p->cap : 4096;
    while (cap - *p->len <= (size_t)n)
      cap *= 2;
    char *grown = realloc(*p->out, cap);
    if (grown == NULL) {
      p->err = -ENOMEM;
      return;
    }
    *p->out = grown;
    *p->cap = cap;
  }
}

static void head(struct page *p, const char *name, const char *type,
                 const char *help) {
  put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct page *p, const char *name, const char *type,
                const char *help, unsigned long long value) {
  head(p, name, type, help);
  put(p, "%s %llu\n", name, value);
}

/* Responses by generation and status class: the reaped workers' counts
 * (m->gens) plus those of the live slots, one table sorted by generation. */
static int by_generation(const void *a, const void *b) {
  const struct gen_count *x = a, *y = b;
  return x->generation < y->generation ? -1 : x->generation > y->generation;
}

static void put_requests(struct page *p, struct master *m) {
  struct gen_count *t = calloc(m->ngens + BOARD_SLOTS, sizeof *t);
  unsigned n = m->ngens;

  if (t == NULL) {
    p->err = -ENOMEM;
    return;
  }
  if (n > 0)
    memcpy(t, m->gens, n * sizeof *t);
  for (unsigned i = 0;
       m->board != NULL && i < m->board->head.slots && i < BOARD_SLOTS; i++) {
    const struct board_slot *s = &m->board->slot[i];
    unsigned k = 0;
    if (s->state == SLOT_FREE)
      continue;
    while (k < n && t[k].generation != s->generation)
      k++;
    if (k == n)
      t[n++].generation = s->generation;
    for (unsigned c = 0; c < BOARD_CLASSES; c++)
      t[k].responses[c] +=
          __atomic_load_n(&s->counts.responses[c], __ATOMIC_RELAXED);
  }
  qsort(t, n, sizeof *t, by_generation);
  head(p, "mchost_requests_total", "counter",
       "Responses sent, by status class and by the generation of the worker "
       "that sent them (host errors such as 400 and 408 included).");
  for (unsigned k = 0; k < n; k++)
    for (unsigned c = 0; c < BOARD_CLASSES; c++)
      put(p, "mchost_requests_total{generation=\"%u\",code=\"%uxx\"} %llu\n",
          t[k].generation, c + 1, (unsigned long long)t[k].responses[c]);
  free(t);
}

static void put_duration(struct page *p, const struct board_counts *k) {
  static const uint32_t bound[BOARD_BUCKETS - 1] = {BOARD_BUCKET_BOUNDS_US};
  const char *name = "mchost_request_duration_seconds";
  uint64_t cumulative = 0;

  head(p, name, "histogram",
       "Time from a request's dispatch to the plugin (or from the error that "
       "answers it) to the end of its response.");
  for (unsigned b = 0; b < BOARD_BUCKETS; b++) {
    cumulative += k->duration[b];
    if (b < BOARD_BUCKETS - 1)
      put(p, "%s_bucket{le=\"%g\"} %llu\n", name, bound[b] / 1e6,
          (unsigned long long)cumulative);
    else
      put(p, "%s_bucket{le=\"+Inf\"} %llu\n", name,
          (unsigned long long)cumulative);
  }
  put(p, "%s_sum %.6f\n%s_count %llu\n", name, k->duration_us / 1e6, name,
      (unsigned long long)cumulative);
}

/* Resident set size of `pid` in bytes, from /proc/PID/statm; -1 if gone. */
static long long rss_bytes(int pid) {
  char path[64], buf[128];
  unsigned long long size, resident;
  ssize_t n;
  int fd;

  snprintf(path, sizeof path, "/proc/%d/statm", pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return -1;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
    return -1;
  return (long long)(resident * (unsigned long long)sysconf(_SC_PAGESIZE));
}

static void put_workers(struct page *p, struct master *m) {
  one(p, "mchost_generation", "gauge",
      "The generation of workers serving: 1 at start, one more per reload.",
      m->generation);
  one(p, "mchost_workers_wanted", "gauge",
      "Workers wanted (--workers, changed by TTIN and TTOU).", m->wanted);
  one(p, "mchost_workers_serving", "gauge",
      "Workers of the serving generation that are ready and not retiring.",
      master_serving(m));
  head(p, "mchost_worker_resident_memory_bytes", "gauge",
       "Resident memory of each worker process, read from /proc when "
       "scraped.");
  for (struct wproc *q = m->procs; q != NULL; q = q->next) {
    long long rss = q->exited ? -1 : rss_bytes(q->pid);
    if (rss >= 0)
      put(p,
          "mchost_worker_resident_memory_bytes{worker=\"%u\",generation=\"%u\","
          "pid=\"%d\"} %lld\n",
          q->id, q->generation, q->pid, rss);
  }
}

int metrics_write(struct master *m, char **out, size_t *len, size_t *cap) {
  struct page p = {out, len, cap, 0};
  const struct board_head *h = m->board != NULL ? &m->board->head : NULL;
  struct board_sum sum;
  char why[128];

  memset(&sum, 0, sizeof sum);
  if (m->board != NULL)
    board_sum(m->board, &sum);
  head(&p, "mchost_build_info", "gauge",
       "Always 1: the version of mchost and its plugin ABI, as labels.");
  put(&p, "mchost_build_info{version=\"%s\",abi=\"%d\"} 1\n",
      MCHOST_VERSION_STRING, MC_ABI_VERSION);
  if (h != NULL) {
    head(&p, "mchost_start_time_seconds", "gauge",
         "When the master started, in seconds since the epoch.");
    put(&p, "mchost_start_time_seconds %.3f\n", h->started_ms / 1e3);
  }
  one(&p, "mchost_ready", "gauge",
      "1 while /readyz answers 200 (serving, not draining, not "
      "crash-looping).",
      (unsigned long long)admin_ready(m, why, sizeof why));
  put_workers(&p, m);
  put_requests(&p, m);
  put_duration(&p, &sum.counts);
  one(&p, "mchost_requests_in_flight", "gauge",
      "Requests handed to the plugin and not answered yet.", sum.inflight);
  one(&p, "mchost_connections_open", "gauge",
      "Client connections open in the workers.", sum.conns);
  one(&p, "mchost_connections_accepted_total", "counter",
      "Client connections accepted.", sum.counts.accepted);
  head(&p, "mchost_connections_shed_total", "counter",
       "Connections closed at --max-connections to make room for a new "
       "client: idle keep-alive ones first, then the slowest still sending "
       "a request.");
  put(&p, "mchost_connections_shed_total{reason=\"idle\"} %llu\n",
      (unsigned long long)sum.counts.shed);
  put(&p, "mchost_connections_shed_total{reason=\"slow\"} %llu\n",
      (unsigned long long)sum.counts.shed_slow);
  one(&p, "mchost_worker_crashes_total", "counter",
      "Plugin faults, and workers that died or lost their control pipe.",
      h != NULL ? h->crashes : 0);
  one(&p, "mchost_request_timeouts_total", "counter",
      "Handlers (or deferred responses) that ran over --request-timeout; "
      "each retires its worker.",
      h != NULL ? h->timeouts : 0);
  one(&p, "mchost_worker_starts_total", "counter",
      "Worker processes started (at start, after crashes, reloads, "
      "--max-requests).",
      h != NULL ? h->starts : 0);
  one(&p, "mchost_messages_total", "counter",
      "Messages between workers (mc_publish()) the master relayed.",
      h != NULL ? h->messages : 0);
  one(&p, "mchost_messages_dropped_total", "counter",
      "Copies of relayed messages a worker did not get: it fell behind by "
      "more than MC_MESSAGE_BACKLOG bytes.",
      h != NULL ? h->messages_dropped : 0);
  head(&p, "mchost_reloads_total", "counter",
       "Reloads that swapped a new generation in (succeeded), or left the "
       "old one serving (failed: build, load or start error).");
  put(&p, "mchost_reloads_total{result=\"succeeded\"} %u\n",
      h != NULL ? h->reloads : 0);
  put(&p, "mchost_reloads_total{result=\"failed\"} %u\n",
      h != NULL ? h->reload_failures : 0);
  return p.err;
}
