/* devpage.h - in --dev, failures shown where the developer looks: the
 * browser. While the last --build or the last load of the plugin has
 * failed, every response of the generation still serving is that failure
 * (HTML for a browser, text otherwise, status 500); a crash answers its
 * 500 with the report and the replay command. Never outside --dev. */
#ifndef MCHOST_DEVPAGE_H
#define MCHOST_DEVPAGE_H

struct worker;
struct conn;
struct fault_msg;

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
 * frames (devreport_crash()) and the 500 waits for them, up to a
 * second; without them it shows module+offset frames. */
void devpage_crash(struct worker *w, struct conn *c, const struct fault_msg *f);
/* MSG_DEV_CRASH: the named report is there; answers the waiting 500. */
void devpage_crash_named(struct worker *w);

#endif
