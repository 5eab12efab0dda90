/*
 * websocket: an echo over WebSocket.
 *
 *     GET /ws   a WebSocket: every text or binary message comes back as it
 *               was sent; on a reload or a stop the client gets a last
 *               text message, "bye", before the close frame (1001)
 *     GET /     a small page that connects to /ws and echoes what you type
 *
 *     mchost --plugin build/plugins/websocket.so --port 3000
 *     then open http://localhost:3000/ in a browser.
 */
#include <mchost.h>

#include <errno.h>
#include <string.h>

MC_PLUGIN();

static const char page[] =
    "<!doctype html>\n"
    "<meta charset=utf-8><title>mchost WebSocket echo</title>\n"
    "<form id=f><input id=m autofocus size=40 placeholder='say something'>"
    "<button>send</button></form>\n"
    "<pre id=log></pre>\n"
    "<script>\n"
    "const log = (s) => document.getElementById('log').textContent += s + "
    "'\\n';\n"
    "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : "
    "'ws://') + location.host + '/ws');\n"
    "ws.onopen = () => log('open');\n"
    "ws.onmessage = (e) => log('< ' + e.data);\n"
    "ws.onclose = (e) => log('closed ' + e.code + ' ' + e.reason);\n"
    "document.getElementById('f').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  const m = document.getElementById('m');\n"
    "  ws.send(m.value); log('> ' + m.value); m.value = '';\n"
    "};\n"
    "</script>\n";

static void on_message(mc_ws *ws, int type, const void *msg, size_t len,
                       void *data) {
  (void)data;
  /* mchost stops reading a client that does not read its echoes, so the
   * queue stays under MC_QUEUE_HIGH; if it is full all the same, the
   * client gets "try again later". */
  if (mc_ws_send(ws, type, msg, len) == -EAGAIN)
    mc_ws_close(ws, 1013, "too much queued");
}

static void on_shutdown(mc_ws *ws, void *data) {
  (void)data;
  mc_ws_send(ws, MC_WS_TEXT, "bye", 3);
}

static void on_close(mc_ws *ws, int code, const char *reason, void *data) {
  (void)data;
  mc_log(MC_LOG_DEBUG, "websocket from %s closed: %d %s",
         mc_request_remote_addr(mc_ws_request(ws)), code, reason);
}

static const struct mc_ws_handlers echo = {
    .on_message = on_message,
    .on_shutdown = on_shutdown,
    .on_close = on_close,
};

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);

  if (strcmp(path, "/ws") == 0) {
    if (mc_request_is_websocket(req))
      mc_websocket_accept(res, &echo, NULL);
    else if (mc_response_header(res, "Upgrade", "websocket") == 0)
      mc_response_send(res, 426, "a WebSocket endpoint\n", 21);
  } else if (strcmp(path, "/") == 0) {
    mc_response_header(res, "Content-Type", "text/html; charset=utf-8");
    mc_response_send(res, 200, page, sizeof page - 1);
  } else {
    mc_response_send(res, 404, "not found\n", 10);
  }
}
