/* Fixture for the WebSocket tests: an echo at /ws whose text messages can
 * also be commands:
 *   "close:CODE:REASON"  mc_ws_close(CODE, REASON)
 *   "crash"              SIGSEGV in on_message
 *   "hang"               never returns (for --request-timeout)
 *   "flood:N:SIZE"       N binary messages of SIZE bytes (at most 64 KiB),
 *                        sent as fast as mc_ws_send() takes them, the rest
 *                        from on_drain; then a text message "flood done
 *                        EAGAINS"
 *   "flood-close:N:SIZE" the same, but at the first -EAGAIN:
 *                        mc_ws_close(1008, "too slow"), as a server does
 *                        with a client that does not keep up
 *   "max:N"              mc_ws_set_max_message(N), answers "max N"
 *   "idle:MS"            mc_ws_set_idle_timeout(MS), answers "idle MS"
 * GET /later accepts from a mc_response_later() callback, GET /refuse
 * answers 403 (a refused WebSocket), GET /send-first sends "hello" right
 * after accepting. Logs "wsfix: on_shutdown" and "wsfix: on_close CODE
 * REASON", so that a test sees what the plugin was told.
 *
 * Built without sanitizers, like crash.so (tests/guard.cmake). */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

static int *volatile null_ptr;
static volatile int spin = 1;
static char chunk[65536];

struct flood {
  mc_ws *ws;
  int left, eagain;
  int close_when_full; /* "flood-close": close instead of waiting */
  size_t size;
};
static struct flood floods[64];

static struct flood *flood_of(mc_ws *ws) {
  for (int i = 0; i < 64; i++)
    if (floods[i].ws == ws)
      return &floods[i];
  return NULL;
}

static void flood_go(struct flood *f) {
  char done[64];
  while (f->left > 0) {
    int rc = mc_ws_send(f->ws, MC_WS_BINARY, chunk, f->size);
    if (rc == -EAGAIN && f->close_when_full) {
      mc_ws_close(f->ws, 1008, "too slow");
      f->ws = NULL;
      return;
    }
    if (rc == -EAGAIN) {
      f->eagain++;
      return; /* on_drain goes on */
    }
    if (rc != 0)
      break;
    f->left--;
  }
  snprintf(done, sizeof done, "flood done %d", f->eagain);
  mc_ws_send(f->ws, MC_WS_TEXT, done, strlen(done));
  f->ws = NULL;
}

static void on_drain(mc_ws *ws, void *data) {
  struct flood *f = flood_of(ws);
  (void)data;
  if (f != NULL)
    flood_go(f);
}

/* "WORD V" */
static void reply(mc_ws *ws, const char *word, long v) {
  char out[64];
  snprintf(out, sizeof out, "%s %ld", word, v);
  mc_ws_send(ws, MC_WS_TEXT, out, strlen(out));
}

static void on_message(mc_ws *ws, int type, const void *msg, size_t len,
                       void *data) {
  char cmd[160];
  (void)data;
  if (type != MC_WS_TEXT || len >= sizeof cmd) {
    mc_ws_send(ws, type, msg, len);
    return;
  }
  memcpy(cmd, msg, len);
  cmd[len] = '\0';
  if (strncmp(cmd, "close:", 6) == 0) {
    char *reason = strchr(cmd + 6, ':');
    int rc = mc_ws_close(ws, atoi(cmd + 6), reason ? reason + 1 : NULL);
    if (rc != 0)
      reply(ws, "close refused", rc);
  } else if (strcmp(cmd, "crash") == 0) {
    *null_ptr = 1;
  } else if (strcmp(cmd, "hang") == 0) {
    while (spin) {
    }
  } else if (strncmp(cmd, "flood:", 6) == 0 ||
             strncmp(cmd, "flood-close:", 12) == 0) {
    struct flood *f = flood_of(NULL);
    const char *args = strchr(cmd, ':') + 1;
    if (f == NULL)
      return;
    f->ws = ws;
    f->close_when_full = cmd[5] == '-';
    f->left = atoi(args);
    f->size =
        strchr(args, ':') ? (size_t)atol(strchr(args, ':') + 1) : sizeof chunk;
    if (f->size > sizeof chunk)
      f->size = sizeof chunk;
    f->eagain = 0;
    flood_go(f);
  } else if (strncmp(cmd, "max:", 4) == 0) {
    mc_ws_set_max_message(ws, (size_t)atol(cmd + 4));
    reply(ws, "max", atol(cmd + 4));
  } else if (strncmp(cmd, "idle:", 5) == 0) {
    mc_ws_set_idle_timeout(ws, (unsigned)atol(cmd + 5));
    reply(ws, "idle", atol(cmd + 5));
  } else {
    mc_ws_send(ws, type, msg, len);
  }
}

static void on_shutdown(mc_ws *ws, void *data) {
  (void)data;
  mc_log(MC_LOG_INFO, "wsfix: on_shutdown");
  mc_ws_send(ws, MC_WS_TEXT, "bye", 3);
}

static void on_close(mc_ws *ws, int code, const char *reason, void *data) {
  struct flood *f = flood_of(ws);
  (void)data;
  if (f != NULL)
    f->ws = NULL;
  mc_log(MC_LOG_INFO, "wsfix: on_close %d %s", code, reason);
}

static const struct mc_ws_handlers handlers = {
    .on_message = on_message,
    .on_drain = on_drain,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
};

static void accept_later(mc_response *res, void *data) {
  (void)data;
  mc_websocket_accept(res, &handlers, NULL);
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  mc_ws *ws;

  if (strcmp(path, "/ws") == 0) {
    mc_websocket_accept(res, &handlers, NULL);
  } else if (strcmp(path, "/later") == 0) {
    mc_response_later(res, 10, accept_later, NULL);
  } else if (strcmp(path, "/send-first") == 0) {
    if ((ws = mc_websocket_accept(res, &handlers, NULL)) != NULL)
      mc_ws_send(ws, MC_WS_TEXT, "hello", 5);
  } else if (strcmp(path, "/refuse") == 0) {
    mc_response_send(res, 403, "no\n", 3);
  } else {
    mc_response_send(res, 200, "ok\n", 3);
  }
}
