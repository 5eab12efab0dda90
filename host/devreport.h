/* devreport.h - in --dev, the master's side of the error page: the files
 * by which it tells the workers what failed. The master writes them in
 * its private snapshot directory, next to each generation's snapshot, and
 * tells the workers (MSG_DEV_ERROR, MSG_DEV_CRASH); the workers read them
 * and answer with them (devpage.h). Never outside --dev. */
#ifndef MCHOST_DEVREPORT_H
#define MCHOST_DEVREPORT_H

#include <stddef.h>

struct master;
struct fault_msg;
struct wproc;

/* The failure every worker shows: its title on the first line, then the
 * text. */
#define DEVREPORT_ERROR_FILE "dev-error"
/* The report of worker PID's fault with its frames named. */
#define DEVREPORT_CRASH_FILE "dev-crash-%d"
/* The most of a crash report either side writes or reads: half of the
 * crash page (CRASH_PAGE_MAX in devpage.c), the rest is its markup and
 * footer. */
#define DEVREPORT_CRASH_MAX 1800
/* Appended to a generation's snapshot path: why a worker of that
 * generation would not load, as it wrote it. */
#define DEVREPORT_LOAD_ERROR_SUFFIX ".err"

/* The failure to show: `title` (one line) and `text` (compiler output, a
 * load error), written where the workers read it, and every worker told.
 * A no-op without --dev. */
void devreport_set(struct master *m, const char *title, const char *text);
/* A build succeeded, or a new generation serves: no failure to show. */
void devreport_clear(struct master *m);
/* Why a worker of `generation` would not load, as it wrote it (see
 * devpage_note_load_error()), into out; "" if it wrote nothing. */
void devreport_load_error(struct master *m, unsigned generation, char *out,
                          size_t len);
/* Worker p faulted (record f, from `snapshot`): in --dev, the report with
 * named frames goes into a file for p, which is told (MSG_DEV_CRASH). */
void devreport_crash(struct master *m, struct wproc *p,
                     const struct fault_msg *f, const char *snapshot);

/* Writes a then b to path (created 0600, truncated): 0 or -errno. */
int devreport_write(const char *path, const char *a, const char *b);
/* The first `max` bytes of path, NUL-terminated, in malloc()ed memory the
 * caller frees; NULL if it cannot be read. */
char *devreport_read(const char *path, size_t max);

#endif
