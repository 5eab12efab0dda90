/*
 * status.c - `mchost status [PID]`: workers, generations, pids, uptime,
 * connections, requests served and crashes of a running mchost.
 *
 * It reads the master's board (proto.h) through /proc/PID/fd: no socket, no
 * signal, nothing the running server must do or could get wrong, and the
 * same permission rules as /proc (the same user, or root).
 */
#include "status.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "board.h"
#include "config.h"
#include "proto.h"
#include "utc.h"

#define BOARD_LINK "/memfd:mchost-board"

/* Opens the board of master `pid`, or -1. */
static int open_board(long pid) {
  char dir[64], path[320], link[256];
  struct dirent *e;
  DIR *d;
  int fd = -1;

  snprintf(dir, sizeof dir, "/proc/%ld/fd", pid);
  if ((d = opendir(dir)) == NULL)
    return -1;
  while (fd < 0 && (e = readdir(d)) != NULL) {
    ssize_t n;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    n = readlink(path, link, sizeof link - 1);
    if (n <= 0)
      continue;
    link[n] = '\0';
    if (strncmp(link, BOARD_LINK, strlen(BOARD_LINK)) == 0)
      fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  closedir(d);
  return fd;
}

/* Without a PID: the one running master of this user, if there is one. */
static long find_master(int *count) {
  struct dirent *e;
  DIR *d = opendir("/proc");
  long found = -1;

  *count = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    int fd;
    if (!isdigit((unsigned char)e->d_name[0]))
      continue;
    if ((fd = open_board(atol(e->d_name))) < 0)
      continue;
    close(fd);
    found = atol(e->d_name);
    (*count)++;
  }
  closedir(d);
  return found;
}

static void duration(char *out, size_t len, uint64_t ms) {
  uint64_t s = ms / 1000;
  if (s < 60)
    snprintf(out, len, "%llus", (unsigned long long)s);
  else if (s < 3600)
    snprintf(out, len, "%llum%02llus", (unsigned long long)(s / 60),
             (unsigned long long)(s % 60));
  else
    snprintf(out, len, "%lluh%02llum", (unsigned long long)(s / 3600),
             (unsigned long long)(s / 60 % 60));
}

static const char *state_name(uint32_t state) {
  switch (state) {
  case SLOT_STARTING:
    return "starting";
  case SLOT_SERVING:
    return "serving";
  case SLOT_DRAINING:
    return "draining";
  }
  return "?";
}

/* What every worker counted, those already replaced included. */
static void print_totals(const struct board *b) {
  struct board_sum sum;
  uint64_t all = 0;

  board_sum(b, &sum);
  for (unsigned i = 0; i < BOARD_CLASSES; i++)
    all += sum.counts.responses[i];
  printf("%llu response%s (", (unsigned long long)all, all == 1 ? "" : "s");
  for (unsigned i = 0; i < BOARD_CLASSES; i++)
    printf("%s%uxx %llu", i > 0 ? ", " : "", i + 1,
           (unsigned long long)sum.counts.responses[i]);
  printf("), %llu in flight; connections: %llu open, %llu accepted, %llu "
         "idle ones shed, %llu slow ones shed; messages between workers: "
         "%llu relayed, %llu copies dropped\n\n",
         (unsigned long long)sum.inflight, (unsigned long long)sum.conns,
         (unsigned long long)sum.counts.accepted,
         (unsigned long long)sum.counts.shed,
         (unsigned long long)sum.counts.shed_slow,
         (unsigned long long)b->head.messages,
         (unsigned long long)b->head.messages_dropped);
}

/* The master's line, then one per worker, as `ps` would lay them out. */
static void print_board(const struct board *b) {
  uint64_t now = utc_now_ms();
  char up[32];

  duration(up, sizeof up, now - b->head.started_ms);
  printf("mchost master %d, up %s, plugin %.256s\n", (int)b->head.master_pid,
         up, b->head.plugin);
  printf("generation %u serving, %u worker%s wanted, %u crash%s, %u "
         "timeout%s, %u reload%s (%u failed)\n",
         b->head.generation, b->head.wanted, b->head.wanted == 1 ? "" : "s",
         b->head.crashes, b->head.crashes == 1 ? "" : "es", b->head.timeouts,
         b->head.timeouts == 1 ? "" : "s", b->head.reloads,
         b->head.reloads == 1 ? "" : "s", b->head.reload_failures);
  print_totals(b);
  printf("%-7s %-8s %-4s %-9s %-8s %6s %10s\n", "worker", "pid", "gen", "state",
         "uptime", "conns", "requests");
  for (unsigned i = 0; i < b->head.slots && i < BOARD_SLOTS; i++) {
    const struct board_slot *s = &b->slot[i];
    if (s->state == SLOT_FREE || s->pid <= 0)
      continue;
    duration(up, sizeof up, now - s->started_ms);
    printf("%-7u %-8d %-4u %-9s %-8s %6u %10llu\n", s->id, (int)s->pid,
           s->generation, state_name(s->state), up, s->conns,
           (unsigned long long)s->requests);
  }
}

int status_main(int argc, char **argv) {
  struct board *b; /* mapped read-only */
  long pid;
  int fd, count;

  if (argc > 2 || (argc == 2 && !isdigit((unsigned char)argv[1][0]))) {
    fprintf(stderr, "usage: mchost status [PID]   (PID: the master's)\n");
    return EXIT_USAGE;
  }
  if (argc == 2) {
    pid = atol(argv[1]);
  } else {
    pid = find_master(&count);
    if (count != 1) {
      fprintf(stderr,
              count == 0 ? "mchost status: no running mchost found (of yours: "
                           "run it as the same user, or as root)\n"
                         : "mchost status: %d mchost masters are running: "
                           "name one, e.g. mchost status %ld\n",
              count, pid);
      return EXIT_RUNTIME;
    }
  }
  if ((fd = open_board(pid)) < 0) {
    fprintf(stderr,
            "mchost status: %ld is not a running mchost master "
            "(or not yours to look at)\n",
            pid);
    return EXIT_RUNTIME;
  }
  b = mmap(NULL, sizeof *b, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (b == MAP_FAILED || b->head.magic != BOARD_MAGIC) {
    fprintf(stderr, "mchost status: cannot read master %ld's board\n", pid);
    return EXIT_RUNTIME;
  }
  print_board(b);
  munmap(b, sizeof *b);
  return EXIT_OK;
}
