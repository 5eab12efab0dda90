/*
 * test_notes.c - plugins/notes, the example app (README, docs/sdk.md): its
 * JSON API on SQLite and its live feed, through the clients its users
 * have: curl, Python (notes_client.py: urllib, http.client) and Node's
 * fetch (notes_client.js). Two workers, so that a note posted to one
 * reaches a feed served by the other; the database lives in the test's
 * scratch directory, set with --set db=..., and outlives a restart.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifndef NOTES_CLIENT_PY
#error "NOTES_CLIENT_PY, NOTES_CLIENT_JS and NODE come from the build"
#endif

#define NOTES PLUGINS_DIR "/notes.so"
#define RUN_FMT                                                                \
  "\n----- stdout -----\n%s\n----- stderr -----\n%s\n------------------"

static struct srv S;
static struct run_result R;
static char scratch[64], db[128], port[16];

static void notes_init(void) {
  snprintf(scratch, sizeof scratch, "/tmp/mchost-notes-XXXXXX");
  cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
  snprintf(db, sizeof db, "db=%s/notes.db", scratch);
}

static void notes_fini(void) {
  srv_stop(&S);
  run_result_free(&R);
  rm_tree(scratch);
}

TestSuite(notes, .init = notes_init, .fini = notes_fini, .timeout = 90);

/* Two workers on the scratch database; `max` is max_notes's setting, or
 * NULL. */
static void start(const char *max) {
  const char *args[] = {"--plugin", NOTES, "--workers",          "2",
                        "--set",    db,    max ? "--set" : NULL, max,
                        NULL};
  int err = srv_start(&S, args, 10000);
  cr_assert_eq(err, 0, "mchost did not serve notes.so: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
  snprintf(port, sizeof port, "%d", S.port);
}

/* Runs a client to completion; it must exit 0. */
static void client(const char *const *argv) {
  run_result_free(&R);
  int err = run_tool_sync(argv, &R, 40000);
  cr_assert_eq(err, 0, "cannot run %s: %s", argv[0], strerror(-err));
  cr_assert_eq(R.exit_code, 0, "%s %s %s failed (exit %d)" RUN_FMT SRV_LOG_FMT,
               argv[0], argv[1], argv[2], R.exit_code, R.out, R.err,
               srv_log_tail(&S));
}

/* curl: "STATUS\n" after the body, headers in R.out with -i. */
static void curl(const char *method, const char *path, const char *json) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", S.port, path);
  const char *argv[] = {"curl",
                        "-sS",
                        "-i",
                        "--max-time",
                        "20",
                        "-X",
                        method,
                        "-w",
                        "\n%{http_code}\n",
                        url,
                        json ? "-H" : NULL,
                        "Content-Type: application/json",
                        "-d",
                        json,
                        NULL};
  client(argv);
}

Test(notes, curl_creates_lists_gets_and_deletes) {
  start(NULL);
  curl("POST", "/notes", "{\"text\":\"buy milk\"}");
  cr_expect(strstr(R.out, "HTTP/1.1 201 Created\r\n") != NULL, RUN_FMT, R.out,
            R.err);
  cr_expect(strstr(R.out, "\r\nLocation: /notes/1\r\n") != NULL,
            "no Location: /notes/1" RUN_FMT, R.out, R.err);
  cr_expect(strstr(R.out, "Content-Type: application/json") != NULL, RUN_FMT,
            R.out, R.err);
  cr_expect(strstr(R.out, "{\"id\":1,\"text\":\"buy milk\",\"created\":\"") !=
                NULL,
            RUN_FMT, R.out, R.err);

  curl("GET", "/notes/1", NULL);
  cr_expect(strstr(R.out, "\n{\"id\":1,\"text\":\"buy milk\"") != NULL &&
                strstr(R.out, "\n200\n") != NULL,
            RUN_FMT, R.out, R.err);
  curl("POST", "/notes", "{\"text\":\"call \\\"Bob\\\" \\u00e9\"}");
  curl("GET", "/notes", NULL);
  cr_expect(
      strstr(R.out, "\n[{\"id\":1,\"text\":\"buy milk\"") != NULL &&
          strstr(R.out, "{\"id\":2,\"text\":\"call \\\"Bob\\\" \xc3\xa9\"") !=
              NULL,
      "GET /notes does not list both notes" RUN_FMT, R.out, R.err);

  curl("DELETE", "/notes/1", NULL);
  cr_expect(strstr(R.out, "HTTP/1.1 204 ") != NULL, RUN_FMT, R.out, R.err);
  curl("GET", "/notes/1", NULL);
  cr_expect(strstr(R.out, "HTTP/1.1 404 ") != NULL &&
                strstr(R.out, "{\"error\":\"no such note\"}") != NULL,
            RUN_FMT, R.out, R.err);
}

/* Every bad request gets its 4xx with a JSON error, and nothing is
 * stored. */
Test(notes, python_bad_requests_get_json_errors) {
  start(NULL);
  const char *argv[] = {"python3", NOTES_CLIENT_PY, "errors", port, NULL};
  client(argv);
  static const char *const want[] = {
      "not-json 400 json",
      "no-text 400 json",
      "text-not-string 400 json",
      "empty-text 400 json",
      "too-long 400 json",
      "array 400 json",
      "form 415 json",
      "bad-id 404 json",
      "missing 404 json",
      "delete-missing 404 json",
      "put 405 json allow=GET,POST",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_expect(strstr(R.out, want[i]) != NULL, "want [%s]" RUN_FMT, want[i],
              R.out, R.err);
  const char *list[] = {"curl", "-sS", "--max-time", "20", NULL, NULL};
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/notes", S.port);
  list[4] = url;
  client(list);
  cr_expect_str_eq(R.out, "[]", "a bad request stored something");
}

Test(notes, node_fetch_round_trip) {
  start(NULL);
  const char *argv[] = {NODE, NOTES_CLIENT_JS, "crud", port, "from node", NULL};
  client(argv);
  cr_expect(strstr(R.out, "POST /notes 201 {\"id\":1,\"text\":\"from node\"") !=
                NULL,
            RUN_FMT, R.out, R.err);
  cr_expect(strstr(R.out, "GET /notes/1 200 {\"id\":1") != NULL, RUN_FMT, R.out,
            R.err);
  cr_expect(strstr(R.out, "GET /notes 200 [{\"id\":1") != NULL, RUN_FMT, R.out,
            R.err);
  cr_expect(strstr(R.out, "DELETE /notes/1 204\n") != NULL, RUN_FMT, R.out,
            R.err);
  cr_expect(strstr(R.out, "GET /notes/1 404 {\"error\"") != NULL, RUN_FMT,
            R.out, R.err);
}

/* A feed client (Python's http.client, then Node's fetch) gets the note
 * that another client (curl, or a second fetch) posts while it listens,
 * whichever of the two workers each lands on. */
Test(notes, sse_clients_receive_a_note_posted_by_another_client) {
  start(NULL);
  const char *py[] = {"python3", NOTES_CLIENT_PY,  "sse",
                      port,      "seen by python", NULL};
  client(py);
  cr_expect(strstr(R.out, "event 1 {\"id\":1,\"text\":\"seen by python\"") !=
                NULL,
            RUN_FMT, R.out, R.err);
  const char *node[] = {NODE, NOTES_CLIENT_JS, "sse",
                        port, "seen by node",  NULL};
  client(node);
  cr_expect(strstr(R.out, "event 2 {\"id\":2,\"text\":\"seen by node\"") !=
                NULL,
            RUN_FMT, R.out, R.err);
  cr_expect(strstr(R.out, "posted 201 /notes/2") != NULL, RUN_FMT, R.out,
            R.err);
}

/* A note posted while feeds wait reaches them at once, whichever worker
 * holds each, through the message its POST publishes: with a poll of 10
 * minutes, the feed hears of it within the client's 20 s or never. */
Test(notes, a_posted_note_reaches_the_feeds_before_their_poll) {
  start("poll_ms=600000");
  for (int i = 0; i < 3; i++) {
    char text[32];
    snprintf(text, sizeof text, "told %d", i);
    const char *py[] = {"python3", NOTES_CLIENT_PY, "sse", port, text, NULL};
    client(py);
    cr_expect(strstr(R.out, text) != NULL, RUN_FMT, R.out, R.err);
  }
}

/* A row that another program writes into the database publishes nothing,
 * as a message that was lost: the feeds find it by their own poll (every
 * 5 s by default). */
Test(notes, a_row_written_behind_its_back_reaches_the_feed_by_the_poll) {
  start(NULL);
  const char *py[] = {"python3",          NOTES_CLIENT_PY, "behind", port,
                      db + strlen("db="), "from sqlite3",  NULL};
  client(py);
  cr_expect(strstr(R.out, "{\"id\":1,\"text\":\"from sqlite3\"") != NULL,
            RUN_FMT, R.out, R.err);
}

/* A feed whose client left ends at once, not at its next look: with a
 * poll of 10 minutes, a graceful stop still ends well before
 * --kill-timeout (30 s). */
Test(notes, a_feed_whose_client_left_does_not_hold_a_stop) {
  char url[64];
  int code;

  start("poll_ms=600000");
  snprintf(url, sizeof url, "http://127.0.0.1:%d/events", S.port);
  const char *argv[] = {"curl", "-sSN", "--max-time", "1", url, NULL};
  run_result_free(&R);
  cr_assert_eq(run_tool_sync(argv, &R, 20000), 0);
  cr_assert(strstr(R.out, "retry: 1000") != NULL, "no feed" RUN_FMT, R.out,
            R.err);
  kill(S.pid, SIGTERM);
  code = srv_wait_exit(&S, 10000);
  cr_expect_eq(code, 0, "the stop took more than 10 s (%d)" SRV_LOG_FMT, code,
               srv_log_tail(&S));
}

/* A reload with a feed open (read as an EventSource reads it, by Python's
 * http.client): the feed asks its client to come back in 250 ms and ends
 * cleanly at once, rather than at --kill-timeout (30 s here); the old
 * workers exit; the client comes back with Last-Event-ID to the new
 * generation and gets the next note. */
Test(notes, reload_ends_the_feed_and_its_client_comes_back) {
  const char *args[] = {"--plugin",       NOTES, "--workers", "2", "--set", db,
                        "--kill-timeout", "30",  NULL};
  char master[16];
  pid_t old[2];
  int err = srv_start(&S, args, 10000);
  cr_assert_eq(err, 0, "mchost did not serve notes.so: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
  snprintf(port, sizeof port, "%d", S.port);
  snprintf(master, sizeof master, "%d", (int)S.pid);
  /* The first worker starts alone (master.c): the second may not be up. */
  cr_assert_eq(wait_workers(S.pid, 2, 10000, 0), 2, SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_assert_eq(worker_pids(S.pid, old, 2), 2);
  const char *py[] = {"python3", NOTES_CLIENT_PY, "reload", port,
                      master,    "after reload",  NULL};
  client(py);
  long ms = -1;
  const char *end = strstr(R.out, "ended clean retry 250 after ");
  if (end != NULL)
    ms = atol(end + strlen("ended clean retry 250 after "));
  cr_expect(ms >= 0 && ms < 10000,
            "the feed did not end cleanly with retry 250 soon after the "
            "reload" RUN_FMT SRV_LOG_FMT,
            R.out, R.err, srv_log_tail(&S));
  cr_expect(
      strstr(R.out, "event 2 {\"id\":2,\"text\":\"after reload\"") != NULL,
      "the client did not come back for the next note" RUN_FMT, R.out, R.err);
  for (int i = 0; i < 2; i++)
    cr_expect(wait_pid_gone(old[i], 10000),
              "an old worker still runs with --kill-timeout 30" SRV_LOG_FMT,
              srv_log_tail(&S));
}

/* 200 POSTs from 16 threads at once on two workers (two processes writing
 * one SQLite file): every one is stored, under its own id; max_notes 150
 * then refuses the rest with 409. */
Test(notes, concurrent_posts_are_all_stored) {
  start(NULL);
  const char *argv[] = {"python3", NOTES_CLIENT_PY, "concurrent",
                        port,      "200",           NULL};
  client(argv);
  cr_expect(
      strstr(R.out, "created 200 distinct 200 listed 200 statuses [201]") !=
          NULL,
      RUN_FMT SRV_LOG_FMT, R.out, R.err, srv_log_tail(&S));
}

Test(notes, max_notes_refuses_with_409) {
  start("max_notes=150");
  const char *argv[] = {"python3", NOTES_CLIENT_PY, "concurrent",
                        port,      "200",           NULL};
  client(argv);
  cr_expect(strstr(R.out, "created 150 distinct 150 listed 150 statuses "
                          "[201, 409]") != NULL,
            RUN_FMT SRV_LOG_FMT, R.out, R.err, srv_log_tail(&S));
}

/* The rows are in the database file: a new server on it lists them, and
 * never gives a deleted note's id to a new one (a feed's cursor relies on
 * it). */
Test(notes, restarted_app_keeps_its_rows) {
  start(NULL);
  curl("POST", "/notes", "{\"text\":\"one\"}");
  curl("POST", "/notes", "{\"text\":\"two\"}");
  curl("DELETE", "/notes/2", NULL);
  srv_stop(&S);
  start(NULL);
  curl("GET", "/notes", NULL);
  cr_expect(strstr(R.out, "\n[{\"id\":1,\"text\":\"one\"") != NULL &&
                strstr(R.out, "\"two\"") == NULL,
            "after a restart: " RUN_FMT, R.out, R.err);
  curl("POST", "/notes", "{\"text\":\"three\"}");
  cr_expect(strstr(R.out, "Location: /notes/3\r\n") != NULL,
            "an id was used twice" RUN_FMT, R.out, R.err);
}
