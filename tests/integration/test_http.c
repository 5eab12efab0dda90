/*
 * test_http.c - HTTP/1.1 as a client on the wire sees it: framing,
 * keep-alive, pipelining, HEAD, HTTP/1.0, request bodies, 100-continue, and
 * the status and closed connection that bad input gets.
 *
 * The hello plugin answers every request with 200 "Hello world\n"; echo
 * answers "METHOD TARGET\n", one "name: value\n" per request header, "\n",
 * then the raw body, which shows exactly what reached the plugin.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define HELLO PLUGINS_DIR "/hello.so"
#define ECHO PLUGINS_DIR "/echo.so"
#define SLOW TEST_PLUGINS_DIR "/slow.so"

static struct srv S;
static struct http_client C;
static struct http_resp R1, R2, R3;

static void http_init(void) { C.fd = -1; }

static void http_fini(void) {
  http_close(&C);
  srv_stop(&S);
}

TestSuite(http, .init = http_init, .fini = http_fini, .timeout = 15);

/* Starts mchost with one worker (these tests are about one connection)
 * on `plugin` plus `more` options, waits until it serves, and connects. */
static void start(const char *plugin, const char *const *more) {
  srv_start_one_connected(&S, &C, plugin, more);
}

static void send_str(const char *s) { srv_send_str(&S, &C, s); }

/* Reads the next response on C; it must be there and have status `want`. */
static void read_status(struct http_resp *r, int flags, int want) {
  srv_read_status(&S, &C, r, flags, want, 3000);
}

static void expect_body(const struct http_resp *r, const char *want) {
  cr_expect_str_eq(r->body, want, "body:\n[%s]\nwant:\n[%s]", r->body, want);
}

/* Bad input must end the connection: after a parse error the server cannot
 * know where the next request would start. */
static void expect_closed(const char *after) {
  int err = http_wait_close(&C, 2000);
  cr_expect(err == 0 || err == -ECONNRESET,
            "connection not closed after %s: %s" SRV_LOG_FMT, after,
            http_strerror(err), srv_log_tail(&S));
}

Test(http, get_root_answers_hello_with_host_headers) {
  start(HELLO, NULL);
  send_str("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_status(&R1, 0, 200);
  expect_body(&R1, "Hello world\n");
  cr_expect_not_null(http_header(&R1, "Date"), "no Date" RESP_FMT, R1.head, "");
  cr_expect_not_null(http_header(&R1, "Server"), "no Server" RESP_FMT, R1.head,
                     "");
  const char *cl = http_header(&R1, "Content-Length");
  cr_expect(cl && strcmp(cl, "12") == 0, "Content-Length %s, want 12" RESP_FMT,
            cl ? cl : "(none)", R1.head, "");
}

Test(http, keep_alive_serves_three_requests_on_one_connection) {
  start(HELLO, NULL);
  for (int i = 0; i < 3; i++) {
    send_str("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    read_status(&R1, 0, 200);
    expect_body(&R1, "Hello world\n");
    const char *conn = http_header(&R1, "Connection");
    cr_expect(!conn || strcasecmp(conn, "close") != 0,
              "response %d says Connection: close" RESP_FMT, i + 1, R1.head,
              "");
  }
  cr_expect(
      http_still_open(&C, 200),
      "the server closed a keep-alive connection after 3 requests" SRV_LOG_FMT,
      srv_log_tail(&S));
}

Test(http, pipelined_requests_answer_in_order) {
  start(ECHO, NULL);
  /* One write: the three requests arrive in one read on the server. */
  send_str("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
           "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"
           "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
  read_status(&R1, 0, 200);
  read_status(&R2, 0, 200);
  read_status(&R3, 0, 200);
  expect_body(&R1, "GET /a\nHost: t\n\n");
  expect_body(&R2, "GET /b\nHost: t\n\n");
  expect_body(&R3, "GET /c\nHost: t\n\n");
}

Test(http, head_has_content_length_but_no_body) {
  start(HELLO, NULL);
  /* If the server wrongly sent the 12 body bytes after the HEAD response,
   * the GET's response would not start with a status line. */
  send_str("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
           "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_status(&R1, HTTP_RESP_TO_HEAD, 200);
  const char *cl = http_header(&R1, "Content-Length");
  cr_expect(cl && strcmp(cl, "12") == 0,
            "HEAD: Content-Length %s, want 12" RESP_FMT, cl ? cl : "(none)",
            R1.head, "");
  int err = http_read(&C, &R2, 0, 3000);
  cr_assert_eq(err, 0,
               "the GET after HEAD did not parse (%s): body bytes after HEAD?\n"
               "unread: [%.*s]" SRV_LOG_FMT,
               http_strerror(err), (int)(C.len - C.off), C.buf + C.off,
               srv_log_tail(&S));
  cr_expect_eq(R2.status, 200, "GET after HEAD: status %d" RESP_FMT, R2.status,
               R2.head, R2.body);
  expect_body(&R2, "Hello world\n");
}

Test(http, http10_without_keep_alive_is_closed) {
  start(HELLO, NULL);
  send_str("GET / HTTP/1.0\r\nHost: t\r\n\r\n");
  read_status(&R1, 0, 200);
  expect_body(&R1, "Hello world\n");
  const char *conn = http_header(&R1, "Connection");
  cr_expect(conn && strcasecmp(conn, "close") == 0,
            "Connection: %s, want close" RESP_FMT, conn ? conn : "(none)",
            R1.head, "");
  expect_closed("an HTTP/1.0 response");
}

/* The inode of the server's end of C in /proc/net/tcp: > 0 while a process
 * holds it, 0 once the server has closed it (the kernel finishes the TCP
 * close alone), -1 when the kernel has forgotten it too. */
static long server_end_inode(void) {
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  char line[512];
  long inode = -1;
  FILE *f;

  cr_assert_eq(getsockname(C.fd, (struct sockaddr *)&me, &len), 0);
  f = fopen("/proc/net/tcp", "r");
  cr_assert_not_null(f, "/proc/net/tcp: %s", strerror(errno));
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned lport, rport;
    long ino;
    if (sscanf(line, " %*d: %*x:%x %*x:%x %*x %*x:%*x %*x:%*x %*x %*u %*u %ld",
               &lport, &rport, &ino) == 3 &&
        (int)lport == S.port && rport == ntohs(me.sin_port))
      inode = ino;
  }
  fclose(f);
  return inode;
}

/* A client that says Connection: close sends nothing more: the server
 * closes its end at once instead of half-closing and waiting (up to 2 s)
 * for the client's FIN, which would hold the connection in the worker. */
Test(http, connection_close_request_is_closed_at_once) {
  int64_t deadline;

  start(HELLO, NULL);
  send_str("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  read_status(&R1, 0, 200);
  expect_body(&R1, "Hello world\n");
  expect_closed("a Connection: close response");
  /* The client keeps its end open: the server must not wait for it. */
  deadline = deadline_in(1000);
  while (server_end_inode() > 0 && remaining_ms(deadline) > 0)
    sleep_ms(10);
  cr_expect_leq(server_end_inode(), 0,
                "the worker still holds the connection 1 s after answering "
                "a Connection: close request" SRV_LOG_FMT,
                srv_log_tail(&S));
}

/* A client that may still be sending (here: a body the server refused
 * from its headers) gets a half-close, and the worker reads and drops
 * until the client closes. Closing at once with the body unread makes the
 * kernel send a reset instead of a FIN (RFC 9112, 9.6), which can destroy
 * the response before the client has read it. */
Test(http, refused_body_still_arriving_gets_no_reset) {
  static char body[256 * 1024];
  int err;

  start(ECHO, (const char *const[]){"--max-body", "1K", NULL});
  memset(body, 'x', sizeof body);
  send_str("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n");
  /* More than the server reads at once: some of it is still in the
   * server's socket when it has answered. The send fails if the server
   * reset the connection, which the end below reports. */
  (void)http_send(&C, body, sizeof body);
  read_status(&R1, 0, 413);
  err = http_wait_close(&C, 2000);
  cr_expect_eq(err, 0,
               "after the 413, the connection ended with: %s (want a clean "
               "end)" SRV_LOG_FMT,
               http_strerror(err), srv_log_tail(&S));
}

Test(http, http10_with_keep_alive_stays_open) {
  start(HELLO, NULL);
  send_str("GET / HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n");
  read_status(&R1, 0, 200);
  const char *conn = http_header(&R1, "Connection");
  cr_expect(conn && strcasecmp(conn, "keep-alive") == 0,
            "Connection: %s, want keep-alive" RESP_FMT, conn ? conn : "(none)",
            R1.head, "");
  send_str("GET / HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n");
  read_status(&R2, 0, 200);
  expect_body(&R2, "Hello world\n");
}

Test(http, post_body_with_content_length_reaches_plugin) {
  start(ECHO, NULL);
  send_str("POST /p?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  read_status(&R1, 0, 200);
  expect_body(&R1, "POST /p?x=1\nHost: t\nContent-Length: 5\n\nhello");
}

/* A body larger than a read, arriving in pieces after its headers (the
 * worker reads it straight into the request's buffer), with the next
 * request in the same packet as its last bytes: the plugin sees exactly the
 * body, and the next request is answered. */
Test(http, large_body_in_pieces_then_a_pipelined_request) {
  static char body[300000];
  char head[128], want[64];
  uint64_t h = 14695981039346656037ULL;
  size_t last = sizeof body - 10;

  for (size_t i = 0; i < sizeof body; i++) {
    body[i] = (char)('a' + i % 23);
    h = (h ^ (unsigned char)body[i]) * 1099511628211ULL;
  }
  start(SLOW, (const char *const[]){"--max-body", "1M", NULL});
  snprintf(head, sizeof head,
           "POST /sum HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
           sizeof body);
  send_str(head);
  sleep_ms(20);
  cr_assert_eq(http_send(&C, body, 1000), 0);
  sleep_ms(20);
  cr_assert_eq(http_send(&C, body + 1000, last - 1000), 0);
  sleep_ms(20);
  {
    char tail[64];
    memcpy(tail, body + last, 10);
    strcpy(tail + 10, "GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    send_str(tail);
  }
  read_status(&R1, 0, 200);
  snprintf(want, sizeof want, "%zu %016llx\n", sizeof body,
           (unsigned long long)h);
  expect_body(&R1, want);
  read_status(&R2, 0, 200);
  expect_body(&R2, "ok\n");
}

Test(http, chunked_body_is_decoded) {
  start(ECHO, NULL);
  /* Separate writes, so the chunks may reach the parser in pieces. */
  send_str("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  send_str("5\r\nhello\r\n");
  send_str("1;ext=1\r\n \r\n");
  send_str("5\r\nworld\r\n");
  send_str("0\r\n\r\n");
  read_status(&R1, 0, 200);
  expect_body(&R1,
              "POST /c\nHost: t\nTransfer-Encoding: chunked\n\nhello world");
}

Test(http, expect_100_continue_before_body) {
  start(ECHO, NULL);
  send_str("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
           "Expect: 100-continue\r\n\r\n");
  /* Nothing of the body is sent until the server asks for it. */
  read_status(&R1, 0, 100);
  cr_expect_str_eq(R1.status_line, "HTTP/1.1 100 Continue",
                   "interim status line [%s]", R1.status_line);
  send_str("hello");
  read_status(&R2, 0, 200);
  expect_body(&R2, "POST /e\nHost: t\nContent-Length: 5\n"
                   "Expect: 100-continue\n\nhello");
}

Test(http, malformed_request_line_gets_400_and_close) {
  start(HELLO, NULL);
  send_str("GARBAGE\r\n\r\n");
  read_status(&R1, 0, 400);
  expect_closed("400");
}

Test(http, content_length_with_transfer_encoding_is_rejected) {
  start(ECHO, NULL);
  /* Two framings for one body is how requests are smuggled past proxies:
   * refuse it before the plugin sees anything. */
  send_str("POST /smuggle HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  read_status(&R1, 0, 400);
  cr_expect_null(strstr(R1.body, "/smuggle"),
                 "the 400 body is an echo: the plugin saw the request\n%s",
                 R1.body);
  expect_closed("400");
}

Test(http, content_length_over_max_body_gets_413_before_body) {
  start(ECHO, (const char *const[]){"--max-body", "1K", NULL});
  /* The body is never sent: the 413 must come from the headers alone. */
  send_str("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n");
  read_status(&R1, 0, 413);
  expect_closed("413");
}

Test(http, chunked_body_over_max_body_gets_413) {
  char chunk[600];
  start(ECHO, (const char *const[]){"--max-body", "1K", NULL});
  send_str(
      "POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  /* 512-byte chunks until the server answers (it may stop reading once
   * past 1 KiB) or 4 KiB went out. */
  snprintf(chunk, sizeof chunk, "200\r\n%0512d\r\n", 0);
  for (int i = 0; i < 8; i++) {
    struct pollfd pfd = {C.fd, POLLIN, 0};
    if (http_send_str(&C, chunk) < 0 || poll(&pfd, 1, 20) > 0)
      break;
  }
  (void)http_send_str(&C, "0\r\n\r\n"); /* may fail: the server may be gone */
  read_status(&R1, 0, 413);
  expect_closed("413");
}

Test(http, request_target_over_max_header_size_gets_414) {
  char req[2200];
  start(HELLO, (const char *const[]){"--max-header-size", "1K", NULL});
  int n = snprintf(req, sizeof req, "GET /");
  memset(req + n, 'a', 1999); /* a 2000-byte target */
  snprintf(req + n + 1999, sizeof req - (size_t)n - 1999,
           " HTTP/1.1\r\nHost: t\r\n\r\n");
  send_str(req);
  read_status(&R1, 0, 414);
  expect_closed("414");
}

Test(http, headers_over_max_header_size_get_431) {
  char req[4096];
  size_t n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: t\r\n");
  /* 40 header lines of 50 bytes: 13 of name, 35 of value, CRLF. */
  for (int i = 0; i < 40; i++)
    n += (size_t)snprintf(req + n, sizeof req - n, "X-Header-%02d: %035d\r\n",
                          i, i);
  snprintf(req + n, sizeof req - n, "\r\n");
  start(HELLO, (const char *const[]){"--max-header-size", "1K", NULL});
  send_str(req);
  read_status(&R1, 0, 431);
  expect_closed("431");
}

Test(http, unknown_transfer_coding_gets_501) {
  start(ECHO, NULL);
  send_str("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n");
  read_status(&R1, 0, 501);
  expect_closed("501");
}

Test(http, stalled_headers_get_408_after_header_timeout) {
  start(HELLO, (const char *const[]){"--header-timeout", "1", NULL});
  int64_t t0 = now_ms();
  send_str("GET / HTTP/1.1\r\nHost: x\r\n"); /* and never the empty line */
  read_status(&R1, 0, 408);
  int64_t took = now_ms() - t0;
  /* Not before the timeout (that would be a parse error), not much after. */
  cr_expect(took >= 700 && took <= 2500,
            "408 after %lld ms, want about 1000" SRV_LOG_FMT, (long long)took,
            srv_log_tail(&S));
  expect_closed("408");
}

Test(http, idle_keep_alive_connection_closed_after_keepalive_timeout) {
  start(HELLO, (const char *const[]){"--keepalive-timeout", "1", NULL});
  send_str("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_status(&R1, 0, 200);
  int64_t t0 = now_ms();
  int err = http_wait_close(&C, 4000);
  int64_t took = now_ms() - t0;
  cr_expect_eq(err, 0, "idle connection: %s, want a clean close" SRV_LOG_FMT,
               http_strerror(err), srv_log_tail(&S));
  cr_expect(took >= 700 && took <= 2500,
            "closed after %lld ms idle, want about 1000" SRV_LOG_FMT,
            (long long)took, srv_log_tail(&S));
}

/* A request that starts while the connection is idle trades the
 * keep-alive timeout for the longer header timeout: the connection must
 * outlive the first, and get its 408 at the second. (The conn's timer is
 * moved lazily, so this is where an early or a lost timeout would show.) */
Test(http, request_started_on_idle_connection_gets_the_header_timeout) {
  start(HELLO, (const char *const[]){"--keepalive-timeout", "1",
                                     "--header-timeout", "3", NULL});
  send_str("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  read_status(&R1, 0, 200);
  sleep_ms(500);
  int64_t t0 = now_ms();
  send_str("GET / HTTP/1.1\r\nHost: t\r\n"); /* and never the empty line */
  cr_expect(http_still_open(&C, 1500),
            "closed at the keep-alive timeout while a request was "
            "arriving" SRV_LOG_FMT,
            srv_log_tail(&S));
  read_status(&R1, 0, 408);
  int64_t took = now_ms() - t0;
  cr_expect(took >= 2500 && took <= 4500,
            "408 after %lld ms, want about 3000" SRV_LOG_FMT, (long long)took,
            srv_log_tail(&S));
}

Test(http, streamed_response_is_chunked) {
  start(SLOW, NULL);
  send_str("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  read_status(&R1, 0, 200);
  const char *te = http_header(&R1, "Transfer-Encoding");
  cr_expect(te && strcasecmp(te, "chunked") == 0,
            "Transfer-Encoding: %s, want chunked" RESP_FMT, te ? te : "(none)",
            R1.head, "");
  cr_expect_null(http_header(&R1, "Content-Length"),
                 "a streamed response has Content-Length" RESP_FMT, R1.head,
                 "");
  expect_body(&R1, "abc");
}

/* ---- Upgrade and CONNECT ---- */

/* A plugin that answers an upgrade request as a plain request declines the
 * upgrade (RFC 9110, 7.8): the request reaches it once, and the bytes that
 * follow on the connection are HTTP/1.1 again. */
Test(http, upgrade_request_reaches_plugin_once_then_next_request_is_http) {
  start(ECHO, NULL);
  send_str("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
           "Upgrade: websocket\r\n\r\n"
           "GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  read_status(&R1, 0, 200);
  cr_expect(strncmp(R1.body, "GET /ws\n", 8) == 0, "first answer: [%s]",
            R1.body);
  read_status(&R2, 0, 200);
  cr_expect(strncmp(R2.body, "GET /second\n", 12) == 0,
            "second answer: [%s], want GET /second" SRV_LOG_FMT, R2.body,
            srv_log_tail(&S));
  cr_expect(http_still_open(&C, 200), "a third answer, or the connection "
                                      "closed, after two requests");
}

/* The same with a body: the upgrade request is dispatched after its body,
 * once, and what follows it is the next request. */
Test(http, upgrade_request_with_body_reaches_plugin_once) {
  start(ECHO, NULL);
  send_str("POST /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
           "Upgrade: websocket\r\nContent-Length: 5\r\n\r\nhello"
           "GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  read_status(&R1, 0, 200);
  cr_expect(strncmp(R1.body, "POST /ws\n", 9) == 0, "first answer: [%s]",
            R1.body);
  read_status(&R2, 0, 200);
  cr_expect(strncmp(R2.body, "GET /second\n", 12) == 0,
            "second answer: [%s], want GET /second" SRV_LOG_FMT, R2.body,
            srv_log_tail(&S));
}

/* CONNECT asks for a tunnel: without the plugin's opt-in the host refuses
 * it, and no catch-all handler tells the client its tunnel is open. */
Test(http, connect_is_refused_unless_the_plugin_opts_in) {
  start(ECHO, NULL);
  send_str("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  read_status(&R1, 0, 501);
  cr_expect(strstr(R1.body, "CONNECT") == NULL,
            "the plugin saw the CONNECT request: [%s]", R1.body);
  expect_closed("a refused CONNECT");
}

/* A plugin that opts in sees CONNECT, but cannot answer it 2xx: mchost
 * opens no tunnel. The connection ends after the answer. */
Test(http, connect_reaches_an_opted_in_plugin_which_cannot_answer_2xx) {
  start(TEST_PLUGINS_DIR "/connect.so", NULL);
  send_str("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  read_status(&R1, 0, 403);
  expect_body(&R1, "200 refused: -22\n");
  expect_closed("an answered CONNECT");
}
