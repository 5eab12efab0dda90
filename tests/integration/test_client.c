/*
 * test_client.c - the real client behind a proxy, through real sockets:
 * PROXY protocol v1 from curl --haproxy-protocol and v2 from a Python
 * proxy (proxy_client.py), hostile PROXY headers, X-Forwarded-For and
 * Forwarded from trusted and untrusted peers, the request ID, and the
 * access and crash log lines that name them. The fixture (client.so)
 * answers "<addr> <port> <scheme> <id> <x-forwarded-for>" and logs each
 * call, so that a refused connection is seen never to reach it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CLIENT TEST_PLUGINS_DIR "/client.so"
#define CALLED "client: called for "

static struct srv S;
static char T[64]; /* scratch directory for the access log */
static struct http_client C;
static struct http_resp R;

static void fini(void) {
  http_close(&C);
  srv_stop(&S);
  rm_tree(T);
}

TestSuite(proxy, .fini = fini, .timeout = 30);
TestSuite(forwarded, .fini = fini, .timeout = 30);

/* One worker serving `plugin` with `more` options and an access log in
 * T/a.log. Ready once the master says so: with --proxy-protocol, a plain
 * GET / (the harness's probe) is refused. */
static void start_with(const char *plugin, const char *const *more) {
  const char *args[32] = {"--plugin", plugin, "--workers", "1", "--access-log"};
  static char log[96];
  size_t n = 5;
  snprintf(T, sizeof T, "/tmp/mchost-client-XXXXXX");
  cr_assert_not_null(mkdtemp(T));
  snprintf(log, sizeof log, "%s/a.log", T);
  args[n++] = log;
  for (; more && *more && n < 31; more++)
    args[n++] = *more;
  args[n] = NULL;
  srv_spawn_ready(&S, args, 10000);
  C.fd = -1;
}

static void start(const char *const *more) { start_with(CLIENT, more); }

/* Sends `raw` on the open connection C (opening it first if needed) and
 * reads one response into R. */
static void ask(const char *raw) {
  if (C.fd < 0)
    cr_assert_eq(http_open(&C, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&C, raw), 0);
  int err = http_read(&C, &R, 0, 5000);
  cr_assert_eq(err, 0, "no response to [%s]: %s" SRV_LOG_FMT, raw,
               http_strerror(err), srv_log_tail(&S));
  cr_assert_eq(R.status, 200, "[%s]: %s", raw, R.head);
}

/* Runs `cmd` through the shell; its stdout into out. Returns its exit
 * status. */
static int run(const char *cmd, char *out, size_t size) {
  FILE *p = popen(cmd, "r");
  size_t n = 0;
  cr_assert_not_null(p, "popen %s", cmd);
  while (n + 1 < size && !feof(p)) {
    size_t got = fread(out + n, 1, size - 1 - n, p);
    if (got == 0)
      break;
    n += got;
  }
  out[n] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs proxy_client.py for the cases; results[i] is what it printed for
 * cases[i]: the first line of a 200's body, "STATUS n" or "CLOSED". */
static void proxy_client(const char *const *cases, size_t n,
                         const char **results) {
  static char out[16384];
  char cmd[2048];
  size_t len =
      (size_t)snprintf(cmd, sizeof cmd, "python3 %s %d", PROXY_CLIENT, S.port);
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(cmd + len, sizeof cmd - len, " %s", cases[i]);
  cr_assert_eq(run(cmd, out, sizeof out), 0, "%s: %s", cmd, out);
  char *line = out;
  for (size_t i = 0; i < n; i++) {
    char *end = strchr(line, '\n'), *tab = strchr(line, '\t');
    cr_assert(end != NULL && tab != NULL && tab < end &&
                  strncmp(line, cases[i], strlen(cases[i])) == 0,
              "%s: %s", cmd, out);
    *end = '\0';
    results[i] = tab + 1;
    line = end + 1;
  }
}

/* The plugin was called once more after a last good request: its line is
 * in the log, and no call came between. */
static void expect_calls(int want) {
  cr_assert(wait_log(&S, CALLED "/last", 5000), "%s", srv_log_tail(&S));
  cr_expect_eq(log_count(&S, CALLED), want, "plugin calls" SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* The access log after a graceful stop (which flushes it). */
static char *access_log(void) {
  char path[96];
  srv_stop(&S);
  snprintf(path, sizeof path, "%s/a.log", T);
  char *text = read_file(path, NULL);
  cr_assert_not_null(text, "no access log at %s", path);
  return text;
}

/* The request ID in the fixture's answer (its fourth field). */
static const char *answer_id(const char *body) {
  static char id[256];
  if (sscanf(body, "%*s %*d %*s %255s", id) != 1)
    return "";
  return id;
}

static int is_hex_id(const char *id) {
  return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

/* ---- PROXY protocol ---- */

Test(proxy, curl_haproxy_protocol_v1_names_the_client) {
  char out[512];
  start((const char *const[]){"--proxy-protocol", NULL});
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "curl -s --max-time 5 --haproxy-protocol http://127.0.0.1:%d/curl",
           S.port);
  cr_assert_eq(run(cmd, out, sizeof out), 0, "curl: %s" SRV_LOG_FMT, out,
               srv_log_tail(&S));
  cr_expect_eq(strncmp(out, "127.0.0.1 ", 10), 0, "%s", out);
  cr_expect_not_null(strstr(out, " http "), "%s", out);

  ask("PROXY TCP4 198.51.100.23 127.0.0.1 40000 80\r\n"
      "GET /v1 HTTP/1.1\r\nHost: t\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "198.51.100.23 40000 http ", 25), 0, "%s",
               R.body);
  /* the header comes once per connection: the next request is plain */
  ask("GET /v1-again HTTP/1.1\r\nHost: t\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "198.51.100.23 40000 http ", 25), 0, "%s",
               R.body);

  char *log = access_log();
  cr_expect_not_null(strstr(log, "198.51.100.23 - - ["), "%s", log);
  cr_expect_not_null(strstr(log, "\"GET /v1 HTTP/1.1\" 200 "), "%s", log);
  free(log);
}

Test(proxy, v2_from_a_python_proxy_names_the_client) {
  static const char *const cases[] = {"v2-tcp4",   "v2-tcp6",  "v2-ssl",
                                      "v2-pieces", "v2-local", "v2-unix"};
  static const char *const want[] = {
      "192.0.2.7 5555 http ",
      "2001:db8::7 4711 http ",
      "192.0.2.7 5555 https ",
      "192.0.2.7 5555 http ",
      "127.0.0.1 ", /* LOCAL: the proxy's own health check */
      "127.0.0.1 "};
  const char *got[6];
  start((const char *const[]){"--proxy-protocol", NULL});
  proxy_client(cases, 6, got);
  for (size_t i = 0; i < 6; i++)
    cr_expect_eq(strncmp(got[i], want[i], strlen(want[i])), 0,
                 "%s: [%s], want [%s...]", cases[i], got[i], want[i]);
}

Test(proxy, hostile_headers_are_refused_and_never_reach_the_plugin) {
  static const char *const cases[] = {"v2-family-mismatch",
                                      "v2-tlv-overrun",
                                      "v2-huge",
                                      "v2-bad-version",
                                      "v2-bad-command",
                                      "v1-family-mismatch",
                                      "v1-bad-port",
                                      "v1-too-long",
                                      "v1-lf-only",
                                      "http"};
  size_t n = sizeof cases / sizeof cases[0];
  const char *got[sizeof cases / sizeof cases[0]];
  start((const char *const[]){"--proxy-protocol", NULL});
  proxy_client(cases, n, got);
  for (size_t i = 0; i < n; i++)
    cr_expect_str_eq(got[i], "CLOSED", "%s", cases[i]);
  cr_expect_eq(log_count(&S, "bad PROXY protocol header"), (int)n, SRV_LOG_FMT,
               srv_log_tail(&S));
  ask("PROXY UNKNOWN\r\nGET /last HTTP/1.1\r\nHost: t\r\n\r\n");
  expect_calls(1);
}

Test(proxy, a_peer_outside_trusted_proxies_is_refused) {
  start((const char *const[]){"--proxy-protocol", "--trusted-proxies",
                              "10.0.0.0/8,::1", NULL});
  const char *kase = "v2-tcp4", *got;
  proxy_client(&kase, 1, &got);
  cr_expect_str_eq(got, "CLOSED");
  cr_expect(wait_log(&S, "refusing a connection from 127.0.0.1", 5000),
            SRV_LOG_FMT, srv_log_tail(&S));
  srv_stop(&S);
  rm_tree(T);
  start((const char *const[]){"--proxy-protocol", "--trusted-proxies",
                              "10.0.0.0/8, 127.0.0.1", NULL});
  proxy_client(&kase, 1, &got);
  cr_expect_eq(strncmp(got, "192.0.2.7 5555 ", 15), 0, "%s", got);
  ask("PROXY UNKNOWN\r\nGET /last HTTP/1.1\r\nHost: t\r\n\r\n");
  expect_calls(2);
}

Test(proxy, a_silent_connection_is_closed_at_the_header_timeout) {
  start((const char *const[]){"--proxy-protocol", "--header-timeout", "0.3",
                              NULL});
  cr_assert_eq(http_open(&C, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&C, "PROXY TCP4 192.0.2.1"), 0);
  cr_expect_eq(http_wait_close(&C, 5000), 0, "still open" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect(wait_log(&S, "no PROXY protocol header within", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect_eq(log_count(&S, CALLED), 0);
}

Test(proxy, the_declared_source_decides_whether_forwarded_headers_count) {
  start((const char *const[]){"--proxy-protocol", "--trusted-proxies",
                              "127.0.0.1,10.0.0.0/8", NULL});
  /* a proxy inside the list forwards for its client */
  ask("PROXY TCP4 10.0.0.5 127.0.0.1 1234 80\r\n"
      "GET /a HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "198.51.100.1 0 http ", 20), 0, "%s", R.body);
  http_close(&C);
  /* a client's own X-Forwarded-For is not believed */
  ask("PROXY TCP4 203.0.113.5 127.0.0.1 1234 80\r\n"
      "GET /b HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "203.0.113.5 1234 http ", 22), 0, "%s", R.body);
  cr_expect_not_null(strstr(R.body, " 198.51.100.1\n"),
                     "the header reaches the plugin as it came: %s", R.body);
}

/* ---- X-Forwarded-For, Forwarded, request IDs ---- */

Test(forwarded, a_trusted_peer_names_the_client_scheme_and_id) {
  start((const char *const[]){"--trusted-proxies", "127.0.0.1", NULL});
  ask("GET /a HTTP/1.1\r\nHost: t\r\n"
      "X-Forwarded-For: 6.6.6.6, 198.51.100.77\r\n"
      "X-Forwarded-Proto: https\r\nX-Request-Id: req-abc-123\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "198.51.100.77 0 https req-abc-123 ", 34), 0,
               "%s", R.body);
  /* the next request on the connection is the proxy's own again */
  ask("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "127.0.0.1 ", 10), 0, "%s", R.body);
  char id[256];
  snprintf(id, sizeof id, "%s", answer_id(R.body));
  cr_expect(is_hex_id(id), "not a generated ID: %s", R.body);
  ask("GET /b2 HTTP/1.1\r\nHost: t\r\n\r\n");
  cr_expect(is_hex_id(answer_id(R.body)), "%s", R.body);
  cr_expect_str_neq(answer_id(R.body), id, "two requests, one ID");
  ask("GET /c HTTP/1.1\r\nHost: t\r\nX-Request-Id: two words\r\n\r\n");
  cr_expect_null(strstr(R.body, "two"), "an invalid ID is taken: %s", R.body);

  char *log = access_log();
  cr_expect_not_null(strstr(log, "198.51.100.77 - - ["), "%s", log);
  cr_expect_not_null(strstr(log, " 200 "), "%s", log);
  cr_expect_not_null(strstr(log, "\"req-abc-123\"\n"), "%s", log);
  free(log);
}

Test(forwarded, an_untrusted_peers_headers_are_left_to_the_plugin) {
  start(
      (const char *const[]){"--trusted-proxies", "10.0.0.0/8,fd00::/8", NULL});
  ask("GET /a HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.77\r\n"
      "X-Forwarded-Proto: https\r\nX-Request-Id: req-x\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "127.0.0.1 ", 10), 0, "%s", R.body);
  cr_expect_null(strstr(R.body, "https"), "%s", R.body);
  cr_expect_null(strstr(R.body, "req-x"), "%s", R.body);
  cr_expect_not_null(strstr(R.body, " 198.51.100.77\n"), "%s", R.body);
  char *log = access_log();
  cr_expect_null(strstr(log, "198.51.100.77"), "%s", log);
  cr_expect_not_null(strstr(log, "127.0.0.1 - - ["), "%s", log);
  free(log);
}

Test(forwarded, without_options_no_header_is_believed) {
  start(NULL);
  ask("GET /a HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.77\r\n"
      "Forwarded: for=198.51.100.78\r\nX-Request-Id: req-x\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "127.0.0.1 ", 10), 0, "%s", R.body);
  cr_expect_null(strstr(R.body, "req-x"), "%s", R.body);
}

Test(forwarded, forwarded_header_when_chosen) {
  start((const char *const[]){"--trusted-proxies", "127.0.0.1",
                              "--client-header", "forwarded", NULL});
  ask("GET /a HTTP/1.1\r\nHost: t\r\n"
      "Forwarded: for=6.6.6.6, For=\"[2001:db8::5]:4711\";proto=https\r\n"
      "X-Forwarded-For: 198.51.100.1\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "2001:db8::5 4711 https ", 23), 0, "%s", R.body);
  ask("GET /b HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.1\r\n"
      "X-Forwarded-Proto: https\r\n\r\n");
  cr_expect_eq(strncmp(R.body, "127.0.0.1 ", 10), 0,
               "X-Forwarded-For counts only when chosen: %s", R.body);
  cr_expect_null(strstr(R.body, "https"), "%s", R.body);
}

Test(forwarded, crash_and_timeout_lines_name_the_request_id) {
  start_with(TEST_PLUGINS_DIR "/crash.so",
             (const char *const[]){"--trusted-proxies", "127.0.0.1",
                                   "--request-timeout", "0.5", NULL});
  cr_assert_eq(http_open(&C, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&C, "GET /segv HTTP/1.1\r\nHost: t\r\n"
                                 "X-Request-Id: crash-id-42\r\n\r\n"),
               0);
  cr_assert_eq(http_read(&C, &R, 0, 5000), 0);
  cr_expect_eq(R.status, 500);
  cr_expect(wait_log(&S, "(request crash-id-42)", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  http_close(&C);
  /* the replacement worker: a hang, answered 503 at --request-timeout */
  cr_assert(wait_log(&S, "ready: 1 worker", 10000));
  cr_assert_eq(http_open(&C, S.port, 5000), 0);
  cr_assert_eq(http_send_str(&C, "GET /hang HTTP/1.1\r\nHost: t\r\n"
                                 "X-Request-Id: hang-id-43\r\n\r\n"),
               0);
  cr_assert_eq(http_read(&C, &R, 0, 10000), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(R.status, 503);
  cr_expect(wait_log(&S, "(request hang-id-43)", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

Test(forwarded, bad_values_are_usage_errors) {
  static const char *const bad[][2] = {
      {"--trusted-proxies", "10.0.0.0/33"},
      {"--trusted-proxies", "10.0.0.1,,10.0.0.2"},
      {"--trusted-proxies", "example.com"},
      {"--client-header", "X-Client-IP"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct run_result r;
    int err =
        run_mchost_sync((const char *const[]){"--plugin", CLIENT, "--port", "0",
                                              bad[i][0], bad[i][1], NULL},
                        NULL, &r, 5000);
    cr_assert_eq(err, 0);
    cr_expect_eq(r.exit_code, 2, "%s %s: exit %d", bad[i][0], bad[i][1],
                 r.exit_code);
    cr_expect_not_null(strstr(r.err, bad[i][1]), "%s %s: [%s]", bad[i][0],
                       bad[i][1], r.err);
    run_result_free(&r);
  }
}
