/*
 * chat - one chat room over WebSocket, across every worker.
 *
 *   GET /               a page that joins the room and shows its lines
 *   GET /ws?name=NAME   a WebSocket into the room. NAME is 1 to 32 letters,
 *                       digits, '-', '_' or '.' (else 400). The client
 *                       first gets "* NAME on worker W generation G", then
 *                       every line of the room from now on: "NAME joined",
 *                       "NAME: text" for each text message a member sends
 *                       (its own included), "NAME left". A message is at
 *                       most 1000 bytes of UTF-8 without control
 *                       characters: a longer one closes the WebSocket with
 *                       1009 (mchost's limit, set per socket), one with a
 *                       control character or a binary one gets the line
 *                       "* not sent: ..." back, seen by its sender only
 *   GET /who            {"worker":W,"generation":G,"members":N}: the worker
 *                       that answers, and how many members it holds (one
 *                       worker's share of the room, not the room)
 *
 *   mchost --plugin build/plugins/chat.so --port 3000
 *   then open http://localhost:3000/ in two browsers.
 *
 * The workers are processes: each holds only its own sockets, and the
 * members of one room are spread over all of them. So a member's line is
 * not sent to the sockets at hand: it is published on the channel "chat"
 * (mc_publish()), the master relays it to every worker, the sender's
 * included, and each worker's subscription sends it to the sockets that
 * worker holds. Every member sees the lines in the same order, the
 * master's. A member whose client does not read (MC_QUEUE_HIGH of lines
 * waiting for it) is closed with 1008 "too slow": a room does not wait for
 * its slowest member, and its client may come back. When the worker stops
 * (a reload, a stop), each member gets "* server restarting: reconnect",
 * then the close 1001; the page reconnects to the next generation. Lines
 * are not kept: a member sees those published while it is in the room
 * (messages are at most once; docs/messages.md).
 */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

#define CHANNEL "chat"
#define NAME_MAX_LEN 32
#define TEXT_MAX 1000
#define LINE_MAX_LEN (NAME_MAX_LEN + 2 + TEXT_MAX)

static const char page[] =
    "<!doctype html>\n"
    "<meta charset=utf-8><title>mchost chat</title>\n"
    "<form id=f><input id=n size=12 placeholder=name pattern='[A-Za-z0-9._-]"
    "{1,32}' required> <input id=m size=40 placeholder='say something' "
    "maxlength=1000> <button>send</button></form>\n"
    "<pre id=log></pre>\n"
    "<script>\n"
    "const $ = (id) => document.getElementById(id);\n"
    "const log = (s) => $('log').textContent += s + '\\n';\n"
    "let ws = null;\n"
    "function join(name) {\n"
    "  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : "
    "'ws://') + location.host + '/ws?name=' + encodeURIComponent(name));\n"
    "  ws.onmessage = (e) => log(e.data);\n"
    "  ws.onclose = (e) => {\n"
    "    log('* closed ' + e.code + ' ' + e.reason);\n"
    "    ws = null;\n"
    "    if (e.code === 1001) setTimeout(() => join(name), 500);\n"
    "  };\n"
    "}\n"
    "$('f').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  if (ws === null) { $('n').disabled = true; join($('n').value); }\n"
    "  else if ($('m').value !== '') { ws.send($('m').value); "
    "$('m').value = ''; }\n"
    "};\n"
    "</script>\n";

/* One socket in the room, held by this worker. */
struct member {
  mc_ws *ws;
  struct member *prev, *next;
  char name[NAME_MAX_LEN + 1];
};

static struct member *members; /* this worker's, newest first */
static unsigned member_count;

static void tell(mc_ws *ws, const char *line) {
  mc_ws_send(ws, MC_WS_TEXT, line, strlen(line));
}

/* Publishes a line to the whole room; says so to `from` when it cannot. */
static void publish(mc_ws *from, const char *line, size_t len) {
  char why[96];
  int rc = mc_publish(CHANNEL, line, len);

  if (rc == 0)
    return;
  /* -ENOBUFS: a flood of lines waits for the master; the sender is told */
  mc_log(rc == -ENOBUFS ? MC_LOG_DEBUG : MC_LOG_WARN, "chat: mc_publish: %s",
         strerror(-rc));
  snprintf(why, sizeof why, "* not sent: %s", strerror(-rc));
  if (from != NULL)
    tell(from, why);
}

/* Every line of the room, from any worker: to each socket this worker
 * holds. */
static void on_line(const mc_message *msg, void *arg) {
  (void)arg;
  for (struct member *m = members, *next; m != NULL; m = next) {
    int rc;
    next = m->next;
    rc = mc_ws_send(m->ws, MC_WS_TEXT, msg->data, msg->len);
    if (rc == -EAGAIN) {
      mc_ws_close(m->ws, 1008, "too slow");
    } else if (rc == -EINVAL) {
      mc_log(MC_LOG_WARN,
             "chat: a message on \"" CHANNEL "\" from worker %u "
             "is not UTF-8 text: dropped",
             msg->from_worker);
      return;
    }
  }
}

static int control_free(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] == 0x7f)
      return 0;
  return 1;
}

static void on_message(mc_ws *ws, int type, const void *msg, size_t len,
                       void *data) {
  struct member *m = data;
  char line[LINE_MAX_LEN + 1];
  int n;

  /* mchost closed a longer one (1009) and checked the UTF-8 of text */
  if (type != MC_WS_TEXT) {
    tell(ws, "* not sent: send text");
    return;
  }
  if (!control_free(msg, len)) {
    tell(ws, "* not sent: a line holds no control characters");
    return;
  }
  n = snprintf(line, sizeof line, "%s: %.*s", m->name, (int)len,
               (const char *)msg);
  publish(ws, line, (size_t)n);
}

static void on_shutdown(mc_ws *ws, void *data) {
  (void)data;
  tell(ws, "* server restarting: reconnect");
}

static void on_close(mc_ws *ws, int code, const char *reason, void *data) {
  struct member *m = data;
  char line[NAME_MAX_LEN + 8];
  int n;

  (void)ws;
  mc_log(MC_LOG_DEBUG, "chat: %s left: %d %s", m->name, code, reason);
  if (m->prev != NULL)
    m->prev->next = m->next;
  else
    members = m->next;
  if (m->next != NULL)
    m->next->prev = m->prev;
  member_count--;
  n = snprintf(line, sizeof line, "%s left", m->name);
  publish(NULL, line, (size_t)n);
  free(m);
}

static const struct mc_ws_handlers member_handlers = {
    .on_message = on_message,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
};

static const char bad_name[] =
    "?name= wants 1 to 32 letters, digits, '-', '_' or '.'\n";

static int valid_name(const char *name) {
  size_t len = name != NULL ? strlen(name) : 0;
  return len >= 1 && len <= NAME_MAX_LEN &&
         strspn(name, "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len;
}

static void join(mc_request *req, mc_response *res) {
  const char *name = mc_request_query_get(req, "name");
  const mc_worker *w = mc_worker_self();
  char line[NAME_MAX_LEN + 64];
  struct member *m;
  int n;

  if (!valid_name(name)) {
    mc_response_send(res, 400, bad_name, sizeof bad_name - 1);
    return;
  }
  if ((m = calloc(1, sizeof *m)) == NULL) {
    mc_response_send(res, 503, "out of memory\n", 14);
    return;
  }
  memcpy(m->name, name, strlen(name) + 1);
  if ((m->ws = mc_websocket_accept(res, &member_handlers, m)) == NULL) {
    free(m);
    return;
  }
  mc_ws_set_max_message(m->ws, TEXT_MAX);
  m->next = members;
  if (members != NULL)
    members->prev = m;
  members = m;
  member_count++;
  snprintf(line, sizeof line, "* %s on worker %u generation %u", m->name, w->id,
           w->generation);
  tell(m->ws, line);
  n = snprintf(line, sizeof line, "%s joined", m->name);
  publish(m->ws, line, (size_t)n);
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);

  if (strcmp(path, "/ws") == 0) {
    if (mc_request_is_websocket(req))
      join(req, res);
    else if (mc_response_header(res, "Upgrade", "websocket") == 0)
      mc_response_send(res, 426, "a WebSocket endpoint\n", 21);
  } else if (strcmp(path, "/who") == 0) {
    const mc_worker *w = mc_worker_self();
    char json[96];
    int n = snprintf(json, sizeof json,
                     "{\"worker\":%u,\"generation\":%u,\"members\":%u}\n",
                     w->id, w->generation, member_count);
    mc_response_header(res, "Content-Type", "application/json");
    mc_response_header(res, "Cache-Control", "no-store");
    mc_response_send(res, 200, json, (size_t)n);
  } else if (strcmp(path, "/") == 0) {
    mc_response_header(res, "Content-Type", "text/html; charset=utf-8");
    mc_response_send(res, 200, page, sizeof page - 1);
  } else {
    mc_response_send(res, 404, "not found\n", 10);
  }
}

int mc_init(const mc_worker *w) {
  int rc = mc_subscribe(CHANNEL, on_line, NULL);
  (void)w;
  if (rc != 0)
    mc_log(MC_LOG_ERROR, "chat: mc_subscribe: %s", strerror(-rc));
  return rc != 0;
}

void mc_shutdown(void) { mc_unsubscribe(CHANNEL, on_line, NULL); }
