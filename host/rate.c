/*
 * rate.c - how slow a request's head and body may arrive (--min-rate).
 *
 * A phase (the head, from its first byte; the body, from when it is read)
 * may fall at most --min-rate-grace behind a steady --min-rate: it is cut
 * at  start + grace + bytes / rate,  where bytes is what has arrived so
 * far. So a client above the rate is never cut, one below it is cut once
 * its deficit passes grace * rate bytes, and a client that sends a byte
 * every few seconds is cut after about the grace period. The head keeps
 * --header-timeout as its total deadline on top of that. mod_reqtimeout's
 * MinRate extends a deadline the same way; Kestrel's MinRequestBodyDataRate
 * has the same defaults (240 bytes/s, 5 s grace), and its clock stops, as
 * here, while the application does not read (mc_request_pause()).
 *
 * Nothing is done per read: the conn's one timer fires at the earliest
 * time the phase could be cut, and this file then computes the real
 * deadline from the bytes counted by the parser, and re-arms.
 */
#include <stdio.h>

#include "body.h"
#include "conn.h"
#include "log.h"
#include "worker.h"

/* The body bytes that have arrived: counted by parse.c when buffered for
 * mc_run(), by body.c when the plugin reads the body itself. */
static uint64_t body_bytes(const struct conn *c) {
  return c->body.state == BODY_NONE ? c->req->body_len : c->body.received;
}

/* The first check of a phase that begins now, at most total_ms away
 * (0: no total): ms from now, 0 for none. */
static uint64_t first_check(const struct conn *c, uint64_t total_ms) {
  uint64_t grace = c->w->cfg->min_rate_grace_ms;
  if (c->w->cfg->min_rate == 0)
    return total_ms;
  if (grace == 0)
    grace = 1; /* 0 ms would mean no timer at all */
  return total_ms == 0 || grace < total_ms ? grace : total_ms;
}

void rate_begin_head(struct conn *c) {
  uint64_t ms = c->w->cfg->header_timeout_ms;
  c->head_until = ms > 0 ? uv_now(&c->w->loop) + ms : NO_DEADLINE;
  conn_set_timer(c, TIMER_HEADER, first_check(c, ms));
}

void rate_begin_body(struct conn *c) {
  uint64_t ms = c->w->cfg->header_timeout_ms;
  c->phase_start = c->rate_seen_at = uv_now(&c->w->loop);
  c->rate_seen = 0;
  conn_set_timer(c, TIMER_BODY, first_check(c, c->w->cfg->min_rate ? 0 : ms));
}

/* The time (uv_now() ms) at which the phase is cut, given what has
 * arrived by now. */
static uint64_t deadline(struct conn *c, int kind, uint64_t now,
                         uint64_t *bytes) {
  const struct config *cfg = c->w->cfg;
  uint64_t total = NO_DEADLINE, by_rate;

  if (kind == TIMER_HEADER) {
    total = c->head_until;
    *bytes = c->hlen;
    /* Before the first byte, only --header-timeout applies. */
    if (cfg->min_rate == 0 || c->phase_start == NO_DEADLINE)
      return total;
  } else {
    *bytes = body_bytes(c);
    if (cfg->min_rate == 0 && cfg->header_timeout_ms == 0)
      return NO_DEADLINE;
    if (cfg->min_rate == 0) {
      /* No rate: --header-timeout is the longest silence in a body. */
      if (*bytes != c->rate_seen) {
        c->rate_seen = *bytes;
        c->rate_seen_at = now;
      }
      return c->rate_seen_at + cfg->header_timeout_ms;
    }
  }
  by_rate =
      c->phase_start + cfg->min_rate_grace_ms + *bytes * 1000 / cfg->min_rate;
  return by_rate < total ? by_rate : total;
}

void rate_arm_body(struct conn *c) {
  uint64_t bytes, now = uv_now(&c->w->loop);
  uint64_t d = deadline(c, TIMER_BODY, now, &bytes);
  conn_set_timer(c, TIMER_BODY, d == NO_DEADLINE ? 0 : d > now ? d - now : 1);
}

int rate_expired(struct conn *c, int kind, uint64_t now) {
  uint64_t bytes, d = deadline(c, kind, now, &bytes);

  if (d > now) {
    conn_set_timer(c, kind, d == NO_DEADLINE ? 0 : d - now);
    return 0;
  }
  if (c->phase_start != NO_DEADLINE && c->phase_start < now)
    log_debug("closing a connection from %s: %s too slow (%llu bytes in "
              "%llu ms; --min-rate %llu, --header-timeout %llu ms)",
              c->peer_addr, kind == TIMER_HEADER ? "head" : "body",
              (unsigned long long)bytes,
              (unsigned long long)(now - c->phase_start),
              (unsigned long long)c->w->cfg->min_rate,
              (unsigned long long)c->w->cfg->header_timeout_ms);
  else
    log_debug("closing a connection from %s: request not received in time",
              c->peer_addr);
  return 1;
}

/* How fast c sends the head or body it is receiving, in bytes/s since
 * that began (a head with no byte yet: since the connection began to wait
 * for it), or UINT64_MAX when it is not sending one or is still within
 * --min-rate-grace of its start. */
static uint64_t sending_rate(const struct conn *c, uint64_t now) {
  const struct config *cfg = c->w->cfg;
  uint64_t start = c->phase_start, bytes;

  if (c->closing || c->close_after)
    return UINT64_MAX;
  if (c->timer_kind == TIMER_HEADER) {
    bytes = c->hlen;
    if (start == NO_DEADLINE && c->head_until != NO_DEADLINE)
      start = c->head_until - cfg->header_timeout_ms;
  } else if (c->timer_kind == TIMER_BODY && !c->body.paused) {
    bytes = body_bytes(c);
  } else {
    return UINT64_MAX;
  }
  if (start == NO_DEADLINE || now < start + cfg->min_rate_grace_ms)
    return UINT64_MAX;
  return bytes * 1000 / (now - start + 1);
}

struct conn *rate_slowest(struct worker *w) {
  uint64_t now = uv_now(&w->loop), best = UINT64_MAX;
  struct conn *slowest = NULL;

  for (struct conn *c = w->active; c != NULL; c = c->next) {
    uint64_t r = sending_rate(c, now);
    if (r < best) {
      best = r;
      slowest = c;
    }
  }
  return slowest;
}
