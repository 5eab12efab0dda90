/* devpage.h - in --dev, failures shown where the developer looks: the
 * browser. While the last --build or the last load of the plugin has
 * failed, every response of the generation still serving is that failure
 * (HTML for a browser, text otherwise, status 500); a crash answers its
 * 500 with the report and the replay command. Never outside --dev. */
#ifndef MCHOST_DEVPAGE_H
#define MCHOST_DEVPAGE_H

#include <stddef.h>

struct master;
struct worker;
struct conn;
struct fault_msg;
struct wproc;

/* ---- master (reload.c) ---- */

/* The failure to show: `title` (one line) and `text` (compiler output, a
 * load error), written where the workers read it, and every worker told.
 * A no-op without --dev. */
void devpage_set(struct master *m, const char *title, const char *text);
/* A build succeeded, or a new generation serves: no failure to show. */
void devpage_clear(struct master *m);
/* Why a worker of `generation` would not load, as it wrote it (see
 * devpage_note_load_error()), into out; "" if it wrote nothing. */
void devpage_load_error(struct master *m, unsigned generation, char *out,
                        size_t len);

/* Worker p faulted (record f, from `snapshot`): in --dev, the report with
 * named frames goes into a file for p, which is told (MSG_DEV_CRASH). */
void devpage_crash_report(struct master *m, struct wproc *p,
                          const struct fault_msg *f, const char *snapshot);

/* ---- worker ---- */

/* (Re)reads the failure the master set, if any (at start, and on
 * MSG_DEV_ERROR). */
void devpage_reload(struct worker *w);
/* A worker that cannot load its plugin leaves the reason for the master.
 * --dev only. */
void devpage_note_load_error(struct worker *w, const char *msg);
/* Answers c with the failure when there is one; returns 1 then, else 0. */
int devpage_answer(struct worker *w, struct conn *c);
/* The 500 of a crash in --dev: the report and the command that replays
 * it. The worker that faulted must not read DWARF, so the master names the
 * frames (devpage_crash_report()) and the 500 waits for them, up to a
 * second; without them it shows module+offset frames. */
void devpage_crash(struct worker *w, struct conn *c, const struct fault_msg *f);
/* MSG_DEV_CRASH: the named report is there; answers the waiting 500. */
void devpage_crash_named(struct worker *w);

#endif
