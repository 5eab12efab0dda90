/*
 * router.h - a tiny Express-style router for mchost plugins.
 *
 * An app is two tables: middleware, run in order on every request before
 * routing, and routes {method, pattern, handler}, where a pattern segment
 * ":name" captures that path segment (percent-decoded) as a parameter.
 *
 * Every response goes through app_send() or app_send_json(), so the router
 * knows each response's status and the moment it is finished: that is what
 * lets middleware act after the response too (Express's res.on('finish')),
 * deferred responses included.
 */
#ifndef APP_ROUTER_H
#define APP_ROUTER_H

#include <mchost.h>

#include <stddef.h>
#include <stdint.h>

#define APP_MAX_PARAMS 4
#define APP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct app_ctx;
typedef void (*app_handler)(struct app_ctx *c);

struct app_route {
  const char *method;  /* a GET route also answers HEAD */
  const char *pattern; /* "/users/:id" */
  app_handler handler;
};

struct app_middleware {
  /* Before routing, in table order. Answering here (app_send) ends the
   * chain: later middleware and the route are skipped. Must not defer.
   * May be NULL. */
  app_handler before;
  /* Once the response is finished, in reverse order, for every middleware
   * whose `before` ran. c->req and c->res are NULL by then (mchost owns
   * them only until the response is finished): use c->method, c->path and
   * c->status. May be NULL. */
  app_handler after;
};

struct app_router {
  const struct app_middleware *middleware;
  size_t nmiddleware;
  const struct app_route *routes;
  size_t nroutes;
};

/* One request's state. Lives from app_router_run() until its response is
 * finished, so it outlives mc_run() when the response is deferred. */
struct app_ctx {
  const struct app_router *router;
  mc_request *req;    /* NULL once the response is finished */
  mc_response *res;   /* NULL once the response is finished */
  const char *method; /* copies that stay valid for the ctx's whole life */
  const char *path;
  uint64_t start_ns; /* CLOCK_MONOTONIC, when the request reached the app */
  int status;        /* 0 until answered */
  int deferred;      /* app_later() is pending */
  size_t nmiddleware_run;
  app_handler later;
  size_t nparams;
  struct {
    const char *name; /* points into the route's pattern, not terminated */
    size_t name_len;
    const char *value; /* decoded, NUL-terminated, in `mem` */
  } params[APP_MAX_PARAMS];
  char mem[]; /* decoded parameters, then method and path */
};

/* The plugin's mc_run() calls this. */
void app_router_run(const struct app_router *r, mc_request *req,
                    mc_response *res);

/* The value of the route parameter `name`, or NULL. */
const char *app_param(const struct app_ctx *c, const char *name);

/* Answers with `len` bytes of `body` and the given Content-Type. */
void app_send(struct app_ctx *c, int status, const char *content_type,
              const void *body, size_t len);

/* Answers with the JSON object {"key":"value"}, value escaped. */
void app_send_json(struct app_ctx *c, int status, const char *key,
                   const void *value, size_t len);

/* Finishes the response later: calls fn(c) after `ms` milliseconds, on the
 * worker's loop. The handler calling this must not answer itself; fn must
 * answer or call app_later() again. */
void app_later(struct app_ctx *c, unsigned ms, app_handler fn);

/* Milliseconds since the request reached the app. */
double app_elapsed_ms(const struct app_ctx *c);

#endif /* APP_ROUTER_H */
