/*
 * devpage.c - failures in the browser, in --dev only: the workers' side.
 *
 * The master writes the failure to show, and the named report of a crash,
 * into files next to the worker's snapshot (devreport.c). Workers read the
 * failure when told and at start (a replacement started meanwhile), and
 * while they hold one they answer every request with it instead of calling
 * the plugin: the old generation's answers would hide that the change never
 * arrived. The HTML page reloads itself every 2 s, so the browser shows
 * the application again as soon as a build succeeds.
 */
#define _GNU_SOURCE
#include "devpage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devreport.h"
#include "fault.h"
#include "worker.h"

/* how long a crash's 500 waits for the master to name its frames */
#define CRASH_NAMES_WAIT_MS 1000
/* a crash page must fit the conn's preallocated output buffer: the worker
 * that faulted may not allocate (OUT_START in exchange.c) */
#define CRASH_PAGE_MAX (2 * DEVREPORT_CRASH_MAX)
#define PAGE_MAX 32768

/* The file next to the worker's snapshot, in the master's directory. */
static void file_next_to(const struct worker *w, const char *name, char *out,
                         size_t len) {
  const char *slash = strrchr(w->plugin_path, '/');
  int dirlen = slash ? (int)(slash - w->plugin_path) : 1;
  snprintf(out, len, "%.*s/%s", dirlen, slash ? w->plugin_path : ".", name);
}

void devpage_reload(struct worker *w) {
  char path[PATH_MAX + 32];
  if (!w->cfg->dev || w->replay)
    return;
  file_next_to(w, DEVREPORT_ERROR_FILE, path, sizeof path);
  free(w->dev_error);
  w->dev_error = devreport_read(path, PAGE_MAX / 2);
}

void devpage_note_load_error(struct worker *w, const char *msg) {
  char path[PATH_MAX + 32];
  if (!w->cfg->dev || w->replay)
    return;
  snprintf(path, sizeof path, "%s" DEVREPORT_LOAD_ERROR_SUFFIX, w->plugin_path);
  devreport_write(path, msg, "\n");
}

/* Appends s[0..len) to out (n used of cap), HTML-escaped or not. */
static size_t put(char *out, size_t n, size_t cap, const char *s, size_t len,
                  int html) {
  for (size_t i = 0; i < len && n + 7 < cap; i++) {
    const char *esc = NULL;
    if (html && s[i] == '<')
      esc = "&lt;";
    else if (html && s[i] == '>')
      esc = "&gt;";
    else if (html && s[i] == '&')
      esc = "&amp;";
    if (esc != NULL) {
      memcpy(out + n, esc, strlen(esc));
      n += strlen(esc);
    } else {
      out[n++] = s[i];
    }
  }
  out[n] = '\0';
  return n;
}

static size_t put_str(char *out, size_t n, size_t cap, const char *s,
                      int html) {
  return put(out, n, cap, s, strlen(s), html);
}

static int wants_html(struct conn *c) {
  const char *accept = mc_request_header(c->req, "Accept");
  return accept != NULL && strstr(accept, "text/html") != NULL;
}

/* The page: title, then text in a <pre>; no allocation (a static buffer,
 * the worker has one loop thread). */
static void respond(struct conn *c, const char *title, const char *text,
                    const char *footer, size_t cap, int refresh) {
  static char page[PAGE_MAX];
  int html = wants_html(c);
  size_t n = 0;

  if (cap > sizeof page)
    cap = sizeof page;
  if (html) {
    n = put_str(page, n, cap,
                "<!doctype html><html><head><meta charset=\"utf-8\">", 0);
    if (refresh)
      n = put_str(page, n, cap, "<meta http-equiv=\"refresh\" content=\"2\">",
                  0);
    n = put_str(page, n, cap,
                "<title>mchost</title><style>body{font:14px/1.4 "
                "monospace;margin:2em}h1{color:#b00;font-size:16px}pre{"
                "background:#f4f4f4;padding:1em;overflow:auto}</style>"
                "</head><body><h1>",
                0);
  } else {
    n = put_str(page, n, cap, "mchost --dev: ", 0);
  }
  /* title, text and footer, and what separates them in each form */
  n = put_str(page, n, cap, title, html);
  n = put_str(page, n, cap, html ? "</h1><pre>" : "\n\n", 0);
  n = put_str(page, n, cap, text, html);
  n = put_str(page, n, cap, html ? "</pre><p>" : "\n", 0);
  n = put_str(page, n, cap, footer, html);
  n = put_str(page, n, cap, html ? "</p></body></html>\n" : "\n", 0);
  response_reset(c->res, c);
  mc_response_header(c->res, "Content-Type",
                     html ? "text/html; charset=utf-8"
                          : "text/plain; charset=utf-8");
  mc_response_header(c->res, "Cache-Control", "no-store");
  mc_response_send(c->res, MC_STATUS_INTERNAL_SERVER_ERROR, page, n);
}

int devpage_answer(struct worker *w, struct conn *c) {
  const char *text, *nl;
  char title[512];
  if (w->dev_error == NULL)
    return 0;
  nl = strchr(w->dev_error, '\n');
  text = nl ? nl + 1 : "";
  snprintf(title, sizeof title, "%.*s",
           (int)(nl ? nl - w->dev_error : (long)strlen(w->dev_error)),
           w->dev_error);
  respond(c, title, text,
          "The previous build keeps running, unchanged, until a build "
          "succeeds; this page reloads itself.",
          PAGE_MAX, 1);
  return 1;
}

/* Answers the crash's 500 with `report`. Allocates nothing: the page and
 * the report are static, the conn's output buffer preallocated. */
static void crash_answer(struct worker *w, struct conn *c, const char *report) {
  static char footer[FAULT_PATH + PATH_MAX];
  const struct fault_msg *f = &w->fault;
  if (f->bundle[0] != '\0')
    snprintf(footer, sizeof footer, "Replay it: mchost replay %s/%s",
             w->crash.dir, f->bundle);
  else
    snprintf(footer, sizeof footer,
             "Keep a bundle of each crash to replay it: --crash-dir DIR.");
  if (w->dev_crash == c) {
    w->dev_crash = NULL;
    uv_timer_stop(&c->x->later);
  }
  c->req->keep_alive = 0;
  respond(c, "the plugin crashed", report, footer, CRASH_PAGE_MAX, 0);
  c->close_after = 1;
}

/* The master did not name the frames in time: module+offset it is. */
static void crash_unnamed(uv_timer_t *t) {
  static char report[DEVREPORT_CRASH_MAX];
  struct conn *c = t->data;
  struct worker *w = c->w;
  fault_format(&w->fault, w->plugin_path, w->cfg->plugin, 0, report,
               sizeof report);
  crash_answer(w, c, report);
}

void devpage_crash(struct worker *w, struct conn *c,
                   const struct fault_msg *f) {
  (void)f;
  if (w->dev_crash != NULL || w->replay) {
    /* one named report at a time: a second crash gets the bare frames */
    crash_unnamed(&c->x->later);
    return;
  }
  w->dev_crash = c;
  uv_timer_start(&c->x->later, crash_unnamed, CRASH_NAMES_WAIT_MS, 0);
}

void devpage_crash_named(struct worker *w) {
  static char report[DEVREPORT_CRASH_MAX];
  char path[PATH_MAX + 32], name[32];
  ssize_t n;
  int fd;
  if (w->dev_crash == NULL)
    return;
  snprintf(name, sizeof name, DEVREPORT_CRASH_FILE, (int)getpid());
  file_next_to(w, name, path, sizeof path);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return;
  n = read(fd, report, sizeof report - 1);
  close(fd);
  unlink(path);
  if (n <= 0)
    return;
  report[n] = '\0';
  crash_answer(w, w->dev_crash, report);
}
