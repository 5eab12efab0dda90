/*
 * app: the C counterpart of master-cluster's express example. A route
 * table, a middleware chain, route parameters, JSON, and a deferred
 * response. The machinery lives in router.c; this file is the part you
 * would edit.
 *
 *     mchost --plugin build/plugins/app.so --port 3000
 *     curl localhost:3000/users/42          ->  {"id":"42"}
 *     curl -d 'hi' localhost:3000/api/echo  ->  {"body":"hi"}
 */
#include "router.h"

#include <mchost.h>

#include <string.h>

MC_PLUGIN();

/* ---- middleware ---- */

/* Logs every request once its response is finished, so the status and the
 * duration are the real ones, deferred responses included. */
static void log_after(struct app_ctx *c) {
  mc_log(MC_LOG_INFO, "%s %s %d %.3f ms", c->method, c->path, c->status,
         app_elapsed_ms(c));
}

static void powered_by(struct app_ctx *c) {
  mc_response_header(c->res, "X-Powered-By", "mchost");
}

/* Logging first: it must see the requests that later middleware answers. */
static const struct app_middleware middleware[] = {
    {NULL, log_after},
    {powered_by, NULL},
};

/* ---- routes ---- */

static void home(struct app_ctx *c) {
  static const char text[] = "Hello from app\n";
  app_send(c, 200, "text/plain", text, sizeof text - 1);
}

static void api_hello(struct app_ctx *c) {
  app_send_json(c, 200, "hello", "world", strlen("world"));
}

static void user(struct app_ctx *c) {
  const char *id = app_param(c, "id");
  /* The id comes from the client: app_send_json() escapes it. */
  app_send_json(c, 200, "id", id, strlen(id));
}

static void api_echo(struct app_ctx *c) {
  size_t len;
  const void *body = mc_request_body(c->req, &len);
  app_send_json(c, 200, "body", body, len);
}

static void slow_done(struct app_ctx *c) {
  app_send_json(c, 200, "slow", "done", strlen("done"));
}

/* Answers 100 ms later without blocking the worker: its other connections
 * are served meanwhile. Real code would start I/O on mc_worker_self()->loop
 * here and answer from its callback. */
static void api_slow(struct app_ctx *c) { app_later(c, 100, slow_done); }

static const struct app_route routes[] = {
    {"GET", "/", home},
    {"GET", "/api/hello", api_hello},
    {"GET", "/users/:id", user},
    {"POST", "/api/echo", api_echo},
    {"GET", "/api/slow", api_slow},
};

static const struct app_router router = {
    .middleware = middleware,
    .nmiddleware = APP_COUNT(middleware),
    .routes = routes,
    .nroutes = APP_COUNT(routes),
};

/* ---- entry points ---- */

int mc_init(const mc_worker *w) {
  mc_log(MC_LOG_INFO, "app: worker %u of %u (pid %d), generation %u started",
         w->id, w->workers, w->pid, w->generation);
  return 0;
}

void mc_run(mc_request *req, mc_response *res) {
  app_router_run(&router, req, res);
}

void mc_shutdown(void) {
  const mc_worker *w = mc_worker_self();
  mc_log(MC_LOG_INFO, "app: worker %u, generation %u stopping", w->id,
         w->generation);
}
