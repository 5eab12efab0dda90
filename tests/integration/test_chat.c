/*
 * test_chat.c - plugins/chat, a room over WebSocket on messages between
 * workers (docs/messages.md), driven by Debian's python3-websockets
 * (chat_client.py). Two workers: a line sent to one reaches the members
 * the other holds and its own sender, every member sees the lines of two
 * concurrent senders in one order, the room still works across the
 * workers of the next generation after a reload, and the admin /metrics
 * counts what the master relayed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef PYTHON3
#error "PYTHON3 and CHAT_CLIENT_PY come from the build"
#endif

#define CHAT PLUGINS_DIR "/chat.so"

static struct srv S;

static void fini(void) { srv_stop(&S); }

TestSuite(chat, .fini = fini, .timeout = 120);

/* Two workers on chat.so, with one more option and its value (or NULL). */
static void start(const char *option, const char *value) {
  const char *args[] = {"--plugin", CHAT,  "--workers", "2",
                        option,     value, NULL};
  int err = srv_start(&S, args, 10000);
  cr_assert_eq(err, 0, "mchost did not serve chat.so: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
  cr_assert_eq(wait_workers(S.pid, 2, 10000, 200), 2,
               "two workers did not start" SRV_LOG_FMT, srv_log_tail(&S));
}

/* chat_client.py SCENARIO PORT [arg]: it must exit 0. */
static void client(const char *scenario, const char *arg) {
  char port[16];
  struct run_result r;
  int err;

  snprintf(port, sizeof port, "%d", S.port);
  const char *argv[] = {PYTHON3, CHAT_CLIENT_PY, scenario, port, arg, NULL};
  err = run_tool_sync(argv, &r, 100000);
  cr_assert_eq(err, 0, "cannot run %s: %s", PYTHON3, strerror(-err));
  cr_log_info("chat_client.py %s:\n%s%s", scenario, r.out, r.err);
  cr_expect(
      r.exit_code == 0 && !r.timed_out,
      "chat_client.py %s: exit %d%s\n--- stdout\n%s--- stderr\n%s" SRV_LOG_FMT,
      scenario, r.exit_code, r.timed_out ? " (timed out)" : "", r.out, r.err,
      srv_log_tail(&S));
  run_result_free(&r);
}

Test(chat, lines_reach_every_worker_and_the_sender_in_one_order) {
  start(NULL, NULL);
  client("cross", NULL);
}

Test(chat, names_lengths_and_types_of_messages_are_checked) {
  start(NULL, NULL);
  client("rules", NULL);
}

Test(chat, the_room_works_across_the_next_generation_after_a_reload) {
  char master[16];
  start(NULL, NULL);
  snprintf(master, sizeof master, "%d", (int)S.pid);
  client("reload", master);
}

Test(chat, admin_metrics_count_the_relayed_messages) {
  char admin[16];
  int port;

  start("--admin", "127.0.0.1:0");
  port = srv_admin_port(&S, 5000);
  cr_assert_gt(port, 0, "no admin line: %s" SRV_LOG_FMT, strerror(-port),
               srv_log_tail(&S));
  snprintf(admin, sizeof admin, "%d", port);
  client("cross", admin);
}

/* A member whose client reads nothing is closed with 1008 "too slow" once
 * MC_QUEUE_HIGH of lines wait for it, and the room does not wait for it:
 * the sender gets every line meanwhile. When the client reads at last, it
 * finds a prefix of the lines, in order, then the close. */
Test(chat, a_member_that_does_not_read_is_closed_not_waited_for) {
  start(NULL, NULL);
  client("slow", NULL);
}
