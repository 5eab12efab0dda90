/*
 * test_websocket.c - WebSocket (RFC 6455) through mchost, driven by real
 * clients: Debian's python3-websockets and Node's `ws` package
 * (ws_client.py and ws_client.js, run to completion by run_tool_sync()),
 * plus
 * raw sockets where a client must misbehave. The example plugin
 * (plugins/websocket, an echo at /ws) and the fixture wsfix.so (an echo
 * with commands: close, crash, flood, ...) serve them.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifndef PYTHON3
#error                                                                         \
    "PYTHON3, NODE, NODE_WS, WS_CLIENT_PY and WS_CLIENT_JS come from the build"
#endif

#define EXAMPLE PLUGINS_DIR "/websocket.so"
#define WSFIX TEST_PLUGINS_DIR "/wsfix.so"

static struct srv S;

static void start(const char *plugin, const char *const *more) {
  int err = srv_start_one(&S, plugin, more, 10000);
  cr_assert_eq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
}

static void stop(void) { srv_stop(&S); }

/* Runs a client to completion; its output goes to the test's log. */
static void run_client(const char *const *argv, int timeout_ms) {
  struct run_result r;
  int err = run_tool_sync(argv, &r, timeout_ms);
  cr_assert_eq(err, 0, "cannot run %s: %s", argv[0], strerror(-err));
  cr_log_info("%s %s:\n%s%s", argv[2], argv[3], r.out, r.err);
  cr_expect(r.exit_code == 0 && !r.timed_out,
            "%s %s: exit %d%s\n--- stdout\n%s--- stderr\n%s" SRV_LOG_FMT,
            argv[2], argv[3], r.exit_code, r.timed_out ? " (timed out)" : "",
            r.out, r.err, srv_log_tail(&S));
  run_result_free(&r);
}

/* ws_client.py SCENARIO PORT [a] [b] */
static void py(const char *scenario, const char *a, const char *b) {
  char port[16];
  snprintf(port, sizeof port, "%d", S.port);
  const char *argv[] = {PYTHON3, WS_CLIENT_PY, scenario, port, a, b, NULL};
  if (a == NULL)
    argv[4] = NULL;
  run_client(argv, 90000);
}

/* ws_client.py SCENARIO PORT a b c */
static void py3(const char *scenario, const char *a, const char *b,
                const char *c) {
  char port[16];
  snprintf(port, sizeof port, "%d", S.port);
  const char *argv[] = {PYTHON3, WS_CLIENT_PY, scenario, port, a, b, c, NULL};
  run_client(argv, 90000);
}

static void node(const char *scenario, const char *a) {
  char port[16];
  snprintf(port, sizeof port, "%d", S.port);
  const char *argv[] = {NODE, WS_CLIENT_JS, NODE_WS, scenario, port, a, NULL};
  if (access(NODE_WS "/package.json", R_OK) != 0 || NODE[0] == '\0')
    cr_skip_test("Node's ws package is not in the build (npm missing or "
                 "offline at build time): " NODE_WS);
  run_client(argv, 60000);
}

static pid_t the_worker(void) { return srv_the_worker(&S, 10000); }

/* ---- echo, with both clients ---- */

Test(websocket, python_echo_text_binary_fragmented_ping_and_close, .fini = stop,
     .timeout = 60) {
  start(EXAMPLE, NULL);
  py("echo", NULL, NULL);
}

Test(websocket, node_echo_text_binary_fragmented_ping_and_close, .fini = stop,
     .timeout = 60) {
  start(EXAMPLE, NULL);
  node("echo", NULL);
}

Test(websocket, oversized_message_is_refused_with_1009, .fini = stop,
     .timeout = 60) {
  start(EXAMPLE, (const char *[]){"--ws-max-message", "64K", NULL});
  py("too-big", "65536", NULL);
  node("too-big", "65536");
}

Test(websocket, server_closes_and_the_plugin_hears_the_answer, .fini = stop,
     .timeout = 60) {
  start(WSFIX, NULL);
  py("server-close", NULL, NULL);
  node("server-close", NULL);
  cr_expect(wait_log(&S, "wsfix: on_close 4001 server says bye", 5000),
            "the plugin was not told the client's answer" SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(wait_log(&S, "wsfix: on_close 1000 normal end", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

Test(websocket, accepted_later_and_sending_at_once, .fini = stop,
     .timeout = 60) {
  start(WSFIX, NULL);
  py("later", NULL, NULL);
}

/* ---- misbehaving clients ---- */

Test(websocket, protocol_errors_close_with_their_codes, .fini = stop,
     .timeout = 60) {
  start(WSFIX, NULL);
  py("protocol-errors", NULL, NULL);
  py("frames-in-handshake", NULL, NULL);
}

Test(websocket, a_client_that_never_reads_is_bounded_and_ended, .fini = stop,
     .timeout = 90) {
  char pid[16];
  start(EXAMPLE, (const char *[]){"--send-timeout", "2", NULL});
  snprintf(pid, sizeof pid, "%d", (int)the_worker());
  py("never-reads", pid, "2");
}

/* The plugin closes (1008) a client that reads nothing once its queue is
 * full. Neither the data nor the close frame behind it can reach that
 * client: the close timeout (5 s) lets it go, and the plugin hears
 * on_close, long before --send-timeout (60 s here) would. */
Test(websocket, a_close_behind_output_nobody_reads_ends_at_the_close_timeout,
     .fini = stop, .timeout = 60) {
  static const char handshake[] =
      "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  static const char cmd[] = "flood-close:400:65536";
  /* a masked text frame (mask 0: the payload as it is) */
  char frame[2 + 4 + sizeof cmd] = {(char)0x81,
                                    (char)(0x80 | (sizeof cmd - 1))};
  struct http_client c;
  struct http_resp r;

  start(WSFIX, (const char *[]){"--send-timeout", "60", NULL});
  memcpy(frame + 6, cmd, sizeof cmd - 1);
  cr_assert_eq(http_open(&c, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&c, handshake), 0);
  cr_assert_eq(http_read(&c, &r, 0, 5000), 0);
  cr_assert_eq(r.status, 101);
  cr_assert_eq(http_send(&c, frame, 6 + sizeof cmd - 1), 0);
  /* and never read again */
  cr_expect(wait_log(&S, "wsfix: on_close", 20000),
            "the plugin was not told within 20 s" SRV_LOG_FMT,
            srv_log_tail(&S));
  http_close(&c);
}

Test(websocket, idle_clients_are_pinged_and_silent_ones_closed, .fini = stop,
     .timeout = 60) {
  start(WSFIX, (const char *[]){"--ws-idle-timeout", "1", NULL});
  py("idle-dead", NULL, NULL);
  py("idle-alive", "3", NULL);
}

Test(websocket, sends_wait_for_the_client_through_on_drain, .fini = stop,
     .timeout = 60) {
  start(WSFIX, NULL);
  /* large messages, written by conn_output() as they come, to a slow
   * reader; small ones, queued and written at once, to a fast reader: the
   * queue may empty without a write callback */
  py3("flood", "200", "65536", "slow");
  py3("flood", "4000", "1000", "fast");
}

Test(websocket, a_thousand_connections_at_once, .fini = stop, .timeout = 120) {
  start(EXAMPLE, (const char *[]){"--max-connections", "1024", NULL});
  py("many", "1000", NULL);
}

/* ---- the worker's life ---- */

Test(websocket, reload_tells_the_plugin_then_closes_with_1001, .fini = stop,
     .timeout = 90) {
  char master[16];
  pid_t old;
  start(EXAMPLE, NULL);
  old = the_worker();
  snprintf(master, sizeof master, "%d", (int)S.pid);
  py("reload", master, "5");
  cr_expect(wait_pid_gone(old, 10000),
            "the old worker did not exit" SRV_LOG_FMT, srv_log_tail(&S));
}

Test(websocket, crash_in_a_handler_closes_1011_and_replaces_the_worker,
     .fini = stop, .timeout = 90) {
  pid_t old;
  start(WSFIX, NULL);
  old = the_worker();
  py("crash", NULL, NULL);
  cr_expect(wait_log(&S, "the plugin crashed", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(wait_log(&S, "on_message()", 5000),
            "the fault's log names the handler" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect(wait_log(&S, "wsfix: on_close 1011", 5000),
            "the plugin was not told" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect(wait_pid_gone(old, 10000),
            "the crashed worker did not exit" SRV_LOG_FMT, srv_log_tail(&S));
}

/* ---- the handshake ---- */

struct handshake {
  const char *name, *request;
  int status;
};

#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPGRADE "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define V13 "Sec-WebSocket-Version: 13\r\n"

static const struct handshake handshakes[] = {
    {"valid", "GET /ws HTTP/1.1\r\nHost: x\r\n" UPGRADE KEY V13 "\r\n", 101},
    {"tokens in lists, any case",
     "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: foo, WebSocket\r\n"
     "Connection: keep-alive, upgrade\r\n" KEY V13 "\r\n",
     101},
    {"refused by the plugin",
     "GET /refuse HTTP/1.1\r\nHost: x\r\n" UPGRADE KEY V13 "\r\n", 403},
    {"POST",
     "POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" UPGRADE KEY V13
     "\r\n",
     400},
    {"HTTP/1.0", "GET /ws HTTP/1.0\r\nHost: x\r\n" UPGRADE KEY V13 "\r\n", 400},
    {"no Connection: Upgrade",
     "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" KEY V13 "\r\n",
     400},
    {"no key", "GET /ws HTTP/1.1\r\nHost: x\r\n" UPGRADE V13 "\r\n", 400},
    {"short key",
     "GET /ws HTTP/1.1\r\nHost: x\r\n" UPGRADE
     "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n" V13 "\r\n",
     400},
    {"two keys", "GET /ws HTTP/1.1\r\nHost: x\r\n" UPGRADE KEY KEY V13 "\r\n",
     400},
    {"version 8",
     "GET /ws HTTP/1.1\r\nHost: x\r\n" UPGRADE KEY
     "Sec-WebSocket-Version: 8\r\n\r\n",
     426},
    {"no version", "GET /ws HTTP/1.1\r\nHost: x\r\n" UPGRADE KEY "\r\n", 426},
};

Test(websocket, handshakes_are_checked, .fini = stop, .timeout = 60) {
  start(WSFIX, NULL);
  for (size_t i = 0; i < sizeof handshakes / sizeof handshakes[0]; i++) {
    const struct handshake *h = &handshakes[i];
    struct http_client c;
    struct http_resp *r = malloc(sizeof *r);
    int err;

    cr_assert_eq(http_open(&c, S.port, 5000), 0);
    cr_assert_eq(http_send_str(&c, h->request), 0);
    err = http_read(&c, r, 0, 5000);
    cr_expect_eq(err, 0, "%s: %s", h->name, http_strerror(err));
    cr_expect_eq(r->status, h->status, "%s: got %d, want %d", h->name,
                 r->status, h->status);
    if (err == 0 && h->status == 101) {
      const char *accept = http_header(r, "Sec-WebSocket-Accept");
      cr_expect(accept && strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
                "%s: Sec-WebSocket-Accept %s", h->name, accept);
      cr_expect_str_eq(http_header(r, "Upgrade"), "websocket");
      cr_expect_str_eq(http_header(r, "Connection"), "Upgrade");
    }
    if (err == 0 && h->status == 426)
      cr_expect(http_header(r, "Sec-WebSocket-Version") &&
                    strcmp(http_header(r, "Sec-WebSocket-Version"), "13") == 0,
                "%s: 426 without Sec-WebSocket-Version: 13", h->name);
    /* the host refused: frames may follow, never read as HTTP */
    if (err == 0 && (h->status == 400 || h->status == 426))
      cr_expect_eq(http_wait_close(&c, 3000), 0, "%s: not closed", h->name);
    http_close(&c);
    free(r);
  }
}
