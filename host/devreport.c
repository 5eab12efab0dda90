/*
 * devreport.c - the master's side of the --dev error page.
 *
 * The master owns the state: when a --build fails or a new generation will
 * not load, it writes the failure to DEVREPORT_ERROR_FILE in its private
 * snapshot directory and tells every worker (MSG_DEV_ERROR); a build that
 * succeeds, or a generation that serves, removes it. When a worker faults,
 * the master names the frames from the generation's DWARF, which the
 * faulted worker must not read, and leaves the report for it
 * (MSG_DEV_CRASH). What the workers do with these files is in devpage.c.
 */
#define _GNU_SOURCE
#include "devreport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "master.h"

int devreport_write(const char *path, const char *a, const char *b) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;
  if (fd < 0)
    return -errno;
  if (write(fd, a, strlen(a)) < 0 || write(fd, b, strlen(b)) < 0)
    rc = -errno;
  close(fd);
  return rc;
}

char *devreport_read(const char *path, size_t max) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  char *buf;
  ssize_t n;
  if (fd < 0)
    return NULL;
  if ((buf = malloc(max + 1)) == NULL) {
    close(fd);
    return NULL;
  }
  n = read(fd, buf, max);
  close(fd);
  if (n < 0) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

static void tell_workers(struct master *m) {
  for (struct wproc *p = m->procs; p != NULL; p = p->next)
    if (p->state != W_STOPPING)
      wproc_tell(p, MSG_DEV_ERROR);
}

void devreport_set(struct master *m, const char *title, const char *text) {
  char path[PATH_MAX + 32], head[512];
  if (!m->cfg->dev || m->snapdir[0] == '\0')
    return;
  snprintf(path, sizeof path, "%s/" DEVREPORT_ERROR_FILE, m->snapdir);
  snprintf(head, sizeof head, "%s\n", title);
  if (devreport_write(path, head, text) != 0)
    return;
  tell_workers(m);
}

void devreport_clear(struct master *m) {
  char path[PATH_MAX + 32];
  if (!m->cfg->dev || m->snapdir[0] == '\0')
    return;
  snprintf(path, sizeof path, "%s/" DEVREPORT_ERROR_FILE, m->snapdir);
  if (unlink(path) == 0)
    tell_workers(m);
}

void devreport_crash(struct master *m, struct wproc *p,
                     const struct fault_msg *f, const char *snapshot) {
  static char text[DEVREPORT_CRASH_MAX];
  char path[PATH_MAX + 32];
  if (!m->cfg->dev || m->snapdir[0] == '\0')
    return;
  fault_format(f, snapshot, m->cfg->plugin, 1, text, sizeof text);
  snprintf(path, sizeof path, "%s/" DEVREPORT_CRASH_FILE, m->snapdir,
           (int)p->pid);
  if (devreport_write(path, text, "") == 0)
    wproc_tell(p, MSG_DEV_CRASH);
}

void devreport_load_error(struct master *m, unsigned generation, char *out,
                          size_t len) {
  char path[PATH_MAX + 64];
  char *text;
  reload_snapshot_path(m, generation, path, sizeof path - 8);
  strcat(path, DEVREPORT_LOAD_ERROR_SUFFIX);
  out[0] = '\0';
  if ((text = devreport_read(path, len - 1)) != NULL) {
    snprintf(out, len, "%s", text);
    free(text);
    unlink(path);
  }
}
