/* body.h - a request body read by the plugin itself: streamed piece by
 * piece or buffered with its own limit (MC_PLUGIN_READS_BODY(), body.c),
 * and the minimum data rate of heads and bodies (rate.c). */
#ifndef MCHOST_BODY_H
#define MCHOST_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "llhttp.h"
#include "mchost.h"

struct conn;
struct worker;

enum body_state {
  BODY_NONE,    /* buffered before mc_run() (parse.c), or no body */
  BODY_WAITING, /* mc_run() ran at the head; nothing of the body is read */
  BODY_STREAM,  /* read piece by piece: on_data */
  BODY_BUFFER,  /* buffered with the plugin's limit, on_end at the end */
  BODY_DUE,     /* ended (whole, or cut: `error`); on_end not called yet */
  BODY_ENDED    /* on_end called, or the response finished first */
};

struct body {
  enum body_state state;
  unsigned paused : 1;   /* mc_request_pause() */
  unsigned expect : 1;   /* a 100 Continue is owed once the body is taken */
  unsigned buffered : 1; /* the body was buffered before mc_run() */
  unsigned kick : 1;     /* a piece was delivered: run the parser again,
                            even on no new input (llhttp owes the end) */
  int error;             /* of BODY_DUE: 0 or -EMSGSIZE, -ETIMEDOUT... */
  int status;            /* ...and the host's answer if the plugin has none */
  uint64_t limit;
  uint64_t received; /* decoded bytes handed over or buffered */
  uint64_t paused_at;
  const char *piece; /* from on_body, in the conn's input buffer */
  size_t piece_len;
  mc_body_data_fn *on_data;
  mc_body_end_fn *on_end;
  void *arg;
};

/* ---- body.c: called by parse.c and conn.c ---- */

/* on_headers_complete of a request with a body, in a plugin that reads
 * bodies itself: mc_run() is called now, before the body. Returns
 * HPE_PAUSED (llhttp stops, conn.c dispatches). */
int body_head_complete(struct conn *c);

/* on_body of such a request: a piece to hand over (returns HPE_PAUSED),
 * bytes to buffer, or the limit passed. Returns 0, HPE_PAUSED or -1. */
int body_on_piece(struct conn *c, const char *at, size_t len);

/* on_message_complete of such a request. Returns HPE_PAUSED. */
int body_message_complete(struct conn *c);

/* llhttp paused for this body (a piece, or its end): hands it over. */
void body_on_pause(struct conn *c);

/* The conn's TIMER_RESUME fired: delivers an end that is due, or arms
 * the rate of a body taken or resumed by the plugin. Returns 1 when the
 * body had something to do (then conn.c parses), else 0. */
int body_on_resume(struct conn *c);

/* 1 while the body is being read for the plugin (not paused, not done):
 * the parser runs for it, even beside the response, and its rate applies
 * instead of --request-timeout. */
int body_reading(const struct conn *c);

/* The body is cut short (status 400, 408, 413; 0 if the client went
 * away): on_end is called with the matching error, and the host answers
 * with that status unless the plugin does. Returns 1 if the body was being
 * read for the plugin, else 0 (the caller answers as usual). */
int body_fail(struct conn *c, int status);

/* The connection is closing; an unfinished body ends with -ECONNRESET,
 * delivered from body_on_closed() (no plugin call from inside conn_close(),
 * which a plugin's own call may reach). */
void body_on_close(struct conn *c);
void body_on_closed(struct conn *c);

/* The response is finished: a body still arriving is dropped (the
 * connection closes after the response). */
void body_on_response_done(struct conn *c);

/* Appends to the request's body buffer, growing it. Returns 0 or
 * -ENOMEM. */
int body_append(mc_request *req, const char *at, size_t len);

/* Makes room for a body of `len` bytes (and its NUL) at once, not by
 * doubling as it arrives. Returns 0 or -ENOMEM. */
int body_reserve(mc_request *req, uint64_t len);

/* Logs a 413: what the client sent or announced, and the limit it passed. */
void body_log_too_large(const struct conn *c, uint64_t size, uint64_t limit,
                        const char *which);

/* ---- rate.c ---- */

/* A head begins (its --header-timeout from now; conn_start() and
 * on_message_begin), or a body begins to be read: arms the conn's timer
 * for the phase's first check. The head's rate counts from
 * c->phase_start, its first byte. */
void rate_begin_head(struct conn *c);
void rate_begin_body(struct conn *c);

/* Arms the conn's timer for a body being read, at its deadline as of now
 * (after the plugin took the body from a later callback, or resumed it). */
void rate_arm_body(struct conn *c);

/* The conn's timer fired for its head (TIMER_HEADER) or body (TIMER_BODY)
 * phase. Returns 0 after re-arming it when the phase may go on (what has
 * arrived keeps up with --min-rate, within --header-timeout for a head),
 * or 1, logged, when it must be cut. */
int rate_expired(struct conn *c, int kind, uint64_t now);

/* The connection of w that sends its request's head or body the slowest
 * (the fewest bytes per second since that began, past --min-rate-grace),
 * or NULL: what a full worker sheds after its idle connections. */
struct conn *rate_slowest(struct worker *w);

#endif
