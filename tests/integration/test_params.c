/*
 * test_params.c - the SDK's request helpers through real sockets and real
 * clients: curl's -G --data-urlencode, --data-urlencode, -b and -F, and
 * Python's urllib, against the params fixture, which echoes what the
 * helpers parsed. Then the hostile versions on a raw connection: truncated
 * multipart, no boundary, the boundary inside a part, too many parameters,
 * bad escapes and %00, each refused as a whole while the connection and
 * the worker go on serving.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mchost.h"
#include "project.h"

#define PARAMS TEST_PLUGINS_DIR "/params.so"

static struct srv S;
static struct http_client C;
static struct http_resp R;
static char scratch[96];

static void fini(void) {
  http_close(&C);
  srv_stop(&S);
  rm_tree(scratch);
}

static void start(void) {
  const char *args[] = {"--plugin", PARAMS, "--workers", "1", NULL};
  int err;

  C.fd = -1;
  err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
  cr_assert_eq(scratch_make(scratch, sizeof scratch, "params"), 0);
}

TestSuite(params, .init = start, .fini = fini, .timeout = 30);

/* The output of a client command (printf-formatted, run by /bin/sh),
 * which must exit 0. Caller frees. */
static char *client(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *client(const char *fmt, ...) {
  struct sh_result r;
  char cmd[4096];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert_eq(sh_run(&r, 15000, "%s", cmd), 0, "could not run %s", cmd);
  cr_assert_eq(r.status, 0, "%s exited %d:\n%s" SRV_LOG_FMT, cmd, r.status,
               r.out, srv_log_tail(&S));
  return r.out;
}

static void expect_output(char *out, const char *want) {
  cr_expect_str_eq(out, want, "got:\n%s\nwanted:\n%s" SRV_LOG_FMT, out, want,
                   srv_log_tail(&S));
  free(out);
}

Test(params, curl_query_with_data_urlencode) {
  expect_output(client("curl -sS -G --data-urlencode 'name=J\xc3\xbcrgen K' "
                       "--data-urlencode 'q=a&b=c' --data-urlencode 'q=2%%' "
                       "--data-urlencode 'plus=1+1' "
                       "'http://127.0.0.1:%d/query?first=1'",
                       S.port),
                "count 5\n[first]=[1]\n[name]=[J\xc3\xbcrgen K]\n"
                "[q]=[a&b=c]\n[q]=[2%]\n[plus]=[1+1]\n");
}

Test(params, curl_form_body) {
  expect_output(client("curl -sS --data-urlencode 'a=1 2' --data-urlencode "
                       "'b=x&y=z' --data 'c=%%41' http://127.0.0.1:%d/form",
                       S.port),
                "count 3\n[a]=[1 2]\n[b]=[x&y=z]\n[c]=[A]\n");
}

Test(params, python_urlencoded_form_and_query) {
  expect_output(
      client(
          "python3 -c '"
          "import sys, urllib.request as u, urllib.parse as p\n"
          "q = p.urlencode([(\"e\", \"\\u00e9 +\"), (\"e\", \"2\")])\n"
          "b = p.urlencode([(\"k\", \"v\"), (\"a b\", \"c;d\")]).encode()\n"
          "base = \"http://127.0.0.1:%d\"\n"
          "for path, data in ((\"/query?\" + q, None), (\"/form\", b)):\n"
          "  sys.stdout.write(u.urlopen(base + path, data).read().decode())\n"
          "'",
          S.port),
      "count 2\n[e]=[\xc3\xa9 +]\n[e]=[2]\ncount 2\n[k]=[v]\n[a b]=[c;d]\n");
}

Test(params, curl_cookies) {
  expect_output(client("curl -sS -b 'sid=abc123; theme=\"dark\"' "
                       "http://127.0.0.1:%d/cookie",
                       S.port),
                "count 2\n[sid]=[abc123]\n[theme]=[dark]\nsid=[abc123]\n");
  expect_output(client("curl -sS http://127.0.0.1:%d/cookie", S.port),
                "count 0\nsid=-\n");
}

static uint64_t fnv(const void *data, size_t len) {
  const unsigned char *d = data;
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < len; i++)
    h = (h ^ d[i]) * 1099511628211u;
  return h;
}

/* A file whose bytes hold what a multipart parser can trip on: CRLFs,
 * dashes, near-delimiters and NUL bytes. Returns its FNV-1a 64. */
static uint64_t write_tricky_file(const char *path, size_t len) {
  static const char chunk[] = "\r\n--\r\n-\r------------------------\0x";
  unsigned char *buf = malloc(len);
  FILE *f = fopen(path, "wb");
  uint64_t h;

  cr_assert(buf != NULL && f != NULL);
  for (size_t i = 0; i < len; i++)
    buf[i] = i % 7 == 0 ? (unsigned char)chunk[(i / 7) % sizeof chunk]
                        : (unsigned char)((i * 31) >> 3);
  cr_assert_eq(fwrite(buf, 1, len, f), len);
  fclose(f);
  h = fnv(buf, len);
  free(buf);
  return h;
}

Test(params, curl_multipart_form) {
  char path[160], want[512];
  uint64_t h;

  snprintf(path, sizeof path, "%s/up load.bin", scratch);
  h = write_tricky_file(path, 300000);
  snprintf(want, sizeof want,
           "count 3\n[title] - - 5 %016" PRIx64 "\ndata=[Hello]\n"
           "[file] [up load.bin] [application/octet-stream] 300000 %016" PRIx64
           "\n[note] - [text/plain] 0 %016" PRIx64 "\ndata=[]\n",
           fnv("Hello", 5), h, fnv("", 0));
  expect_output(client("curl -sS -F title=Hello "
                       "-F 'file=@\"%s\";type=application/octet-stream' "
                       "-F 'note=;type=text/plain' http://127.0.0.1:%d/parts",
                       path, S.port),
                want);
}

/* Python writes the body by hand, as an HTTP library does: a quoted
 * boundary with RFC 2046's odd characters, a preamble, a file part, and
 * sends it with http.client. */
Test(params, python_multipart_by_hand) {
  char path[160], want[512];
  uint64_t h;

  snprintf(path, sizeof path, "%s/data.bin", scratch);
  h = write_tricky_file(path, 70000);
  snprintf(want, sizeof want,
           "count 2\n[field] - - 2 %016" PRIx64 "\n"
           "[upload] [data.bin] [image/png] 70000 %016" PRIx64 "\n",
           fnv("\xc3\xa9", 2), h);
  expect_output(
      client("python3 -c '"
             "import http.client, sys\n"
             "b = \"x(1)+_,-./:=? y\"\n"
             "data = open(sys.argv[1], \"rb\").read()\n"
             "body = (b\"preamble\\r\\n--\" + b.encode() + b\"\\r\\n\"\n"
             "  b\"Content-Disposition: form-data; "
             "name=\\\"field\\\"\\r\\n\\r\\n\"\n"
             "  + \"\\u00e9\".encode() + b\"\\r\\n--\" + b.encode() + "
             "b\"\\r\\n\"\n"
             "  b\"Content-Disposition: form-data; name=upload; \"\n"
             "  b\"filename=\\\"data.bin\\\"\\r\\nContent-Type: "
             "image/png\\r\\n\\r\\n\"\n"
             "  + data + b\"\\r\\n--\" + b.encode() + b\"--\\r\\n\")\n"
             "c = http.client.HTTPConnection(\"127.0.0.1\", int(sys.argv[2]))\n"
             "c.request(\"POST\", \"/parts\", body, {\"Content-Type\":\n"
             "  \"multipart/form-data; boundary=\\\"\" + b + \"\\\"\"})\n"
             "sys.stdout.write(c.getresponse().read().decode())\n"
             "' '%s' %d",
             path, S.port),
      want);
}

/* ---- hostile input, on one keep-alive connection ---- */

/* Sends `head` (with its own Content-Length when it has a body) and
 * `body`, and checks the fixture's answer. */
static void exchange_prefix(const char *head, const char *body, size_t len,
                            const char *want, int whole) {
  size_t size = strlen(head) + 64;
  char *msg = malloc(size);
  int err;

  if (C.fd < 0)
    cr_assert_eq(http_open(&C, S.port, 2000), 0);
  snprintf(msg, size, "%sHost: x\r\nContent-Length: %zu\r\n\r\n", head, len);
  cr_assert_eq(http_send_str(&C, msg), 0);
  free(msg);
  cr_assert_eq(http_send(&C, body, len), 0);
  err = http_read(&C, &R, 0, 10000);
  cr_assert_eq(err, 0, "%.80s: %s" SRV_LOG_FMT, head, http_strerror(err),
               srv_log_tail(&S));
  cr_expect_eq(R.status, 200);
  cr_expect(strncmp(R.body, want, strlen(want)) == 0 &&
                (!whole || R.body_len == strlen(want)),
            "%.80s: got %.200s, wanted %s", head, R.body, want);
}

static void exchange(const char *head, const char *body, size_t len,
                     const char *want) {
  exchange_prefix(head, body, len, want, 1);
}

static void post_parts(const char *type, const char *body, const char *want) {
  char head[256];
  snprintf(head, sizeof head, "POST /parts HTTP/1.1\r\nContent-Type: %s\r\n",
           type);
  exchange(head, body, strlen(body), want);
}

Test(params, hostile_multipart_is_refused_whole) {
  const char *ct = "multipart/form-data; boundary=XyZ";
  char want[64];

  snprintf(want, sizeof want, "count %d\n", -EBADMSG);
  post_parts(ct,
             "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n"
             "cut short",
             want);
  post_parts(ct,
             "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n"
             "x\r\n--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n"
             "y\r\n--XyZ-",
             want);
  post_parts(ct,
             "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n"
             "x\r\n--XyZ junk\r\n"
             "Content-Disposition: form-data; name=b\r\n\r\ny\r\n--XyZ--",
             want);
  post_parts(ct, "", want);
  post_parts(ct,
             "--XyZ\nContent-Disposition: form-data; name=a\n\nbare LF\n"
             "--XyZ--",
             want);
  snprintf(want, sizeof want, "count %d\n", -EINVAL);
  post_parts("multipart/form-data",
             "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
             "--XyZ--",
             want);
  post_parts("multipart/form-data; boundary=\"a\"b\"", "--a--", want);
  snprintf(want, sizeof want, "count %d\n", -ENOTSUP);
  post_parts("text/plain", "--XyZ--", want);
  snprintf(want, sizeof want,
           "count 1\n[a] - - 4 %016" PRIx64 "\ndata=[fine]\n", fnv("fine", 4));
  post_parts(ct,
             "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n"
             "fine\r\n--XyZ--",
             want);
}

Test(params, bad_escapes_and_nul_are_refused) {
  const char *targets[] = {"/query?a=%zz",     "/query?a=1&b=%0",
                           "/query?a=%00.png", "/query?%=1",
                           "/query?a=%G1",     NULL};
  char want[64], head[128];

  snprintf(want, sizeof want, "count %d\n", -EBADMSG);
  for (const char **t = targets; *t != NULL; t++) {
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\n", *t);
    exchange(head, "", 0, want);
  }
  exchange("POST /form HTTP/1.1\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\n",
           "a=1&b=x\0y", 9, want);
  snprintf(want, sizeof want, "%d 0 -\n", -EBADMSG);
  exchange("GET /decode?a%00b HTTP/1.1\r\n", "", 0, want);
  exchange("GET /decode?a%2Bb+c HTTP/1.1\r\n", "", 0, "0 5 [a+b c]\n");
  exchange("GET /int?n=-42 HTTP/1.1\r\n", "", 0, "0 -42\n");
  snprintf(want, sizeof want, "%d 0\n", -EINVAL);
  exchange("GET /int?n=4x2 HTTP/1.1\r\n", "", 0, want);
  /* The next request on the connection parses its own query. */
  exchange("GET /query?fresh=1 HTTP/1.1\r\n", "", 0, "count 1\n[fresh]=[1]\n");
}

Test(params, too_many_params_are_refused_whole) {
  size_t n = 300000, len = 2 * n;
  char *body = malloc(len + 1), *target = malloc(8192), *p = target;
  char want[64], *head = malloc(8300);
  int64_t t0;

  for (size_t i = 0; i < len; i += 2)
    memcpy(body + i, "a&", 2);
  snprintf(want, sizeof want, "count %d\n", -E2BIG);
  t0 = now_ms();
  exchange("POST /form HTTP/1.1\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\n",
           body, len, want);
  cr_expect_lt(now_ms() - t0, 5000, "300,000 pairs took %lld ms",
               (long long)(now_ms() - t0));
  p += sprintf(p, "GET /query?");
  for (int i = 0; i <= MC_PARAMS_MAX; i++)
    p += sprintf(p, "%s%d", i ? "&" : "", i % 10);
  snprintf(head, 8300, "%s HTTP/1.1\r\n", target);
  exchange(head, "", 0, want);
  /* MC_PARAMS_MAX itself is fine. */
  *strrchr(target, '&') = '\0';
  snprintf(head, 8300, "%s HTTP/1.1\r\n", target);
  snprintf(want, sizeof want, "count %d\n[0]=[]\n", MC_PARAMS_MAX);
  exchange_prefix(head, "", 0, want, 0);
  free(body);
  free(target);
  free(head);
}
