/*
 * test_conformance.c - the grammar of RFC 9112 where a request's meaning
 * depends on it: what must be accepted is, and what must be rejected never
 * reaches the plugin. One server answers a whole table, each case on a
 * connection of its own (a rejected request ends its connection).
 *
 * The echo plugin answers "METHOD TARGET\n..." and, for a body, the decoded
 * body last: a 200 shows what reached the plugin.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct srv S;

static void stop(void) { srv_stop(&S); }

TestSuite(conformance, .fini = stop, .timeout = 30);

static void start_echo(void) {
  const char *args[] = {"--plugin", PLUGINS_DIR "/echo.so", "--workers", "1",
                        NULL};
  cr_assert_eq(srv_start(&S, args, 5000), 0, "mchost did not start" SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* Sends one request on a fresh connection; returns the status (0 when no
 * response came) and leaves the response in *r. */
static int exchange(const char *request, struct http_resp *r) {
  struct http_client c;
  int err;

  c.fd = -1;
  if (http_open(&c, S.port, 2000) != 0 || http_send_str(&c, request) != 0) {
    http_close(&c);
    return 0;
  }
  err = http_read(&c, r, 0, 3000);
  http_close(&c);
  return err == 0 ? r->status : 0;
}

struct target_case {
  const char *target;
  const char *path; /* what the plugin sees as the path; NULL: 400 */
};

/* absolute-form (RFC 9112 3.2.2): an http or https URI whose authority is
 * host [":" port] (RFC 3986 3.2), with a host (RFC 9110 4.2.1) and no
 * userinfo (RFC 9110 4.2.4). */
Test(conformance, absolute_form_targets_follow_the_uri_grammar) {
  static const struct target_case cases[] = {
      {"http://example.com/a?b=1", "/a"},
      {"HTTPS://Example.COM:443/a", "/a"},
      {"http://example.com", "/"},
      {"http://example.com?q", "/"},
      {"http://[::1]:8080/x", "/x"},
      {"http://[2001:db8::7]/x", "/x"},
      {"http://[v1.fe80::a+en1]/x", "/x"},
      {"http://192.0.2.1:80/x", "/x"},
      {"http://ex%41mple.com/x", "/x"},
      {"http://a-b_c.d~e!$&'()*+,;=/x", "/x"},
      {"http://example.com:/x", "/x"}, /* an empty port is the default */
      {"http://[::1/x", NULL},         /* unclosed IP-literal */
      {"http://[::1]x/y", NULL},       /* bytes after the IP-literal */
      {"http://[:::1]/x", NULL},       /* not an IPv6 address */
      {"http://[]/x", NULL},
      {"http://[v.x]/x", NULL}, /* IPvFuture without a version */
      {"http:///x", NULL},      /* no host */
      {"http://:80/x", NULL},
      {"http://user@example.com/x", NULL}, /* userinfo */
      {"http://example.com:99999/x", NULL},
      {"http://example.com:8a/x", NULL},
      {"http://ex%zzample.com/x", NULL},
      {"http://exa\"mple.com/x", NULL},
      {"ftp://example.com/x", NULL}, /* not an http URI */
      {"http:/example.com/x", NULL},
      {"example.com/x", NULL},
  };
  char request[512];
  struct http_resp r;

  start_echo();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct target_case *k = &cases[i];
    int status;
    snprintf(request, sizeof request,
             "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             k->target);
    status = exchange(request, &r);
    cr_expect_eq(status, k->path ? 200 : 400, "GET %s: status %d, want %d",
                 k->target, status, k->path ? 200 : 400);
    if (k->path == NULL)
      cr_expect(strstr(r.body, "GET ") == NULL, "GET %s reached the plugin",
                k->target);
  }
}

struct chunk_case {
  const char *line; /* the first chunk-size line, without CRLF */
  int ok;
};

/* chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS
 * chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1), with a
 * token or quoted-string value. Accepted lines deliver the body whole. */
Test(conformance, chunk_extensions_follow_the_rfc_grammar) {
  static const struct chunk_case cases[] = {
      {"5", 1},
      {"5;a=b", 1},
      {"5 ;a=b", 1},
      {"5; a=b", 1},
      {"5\t;\ta=b", 1},
      {"5;a = b", 1},
      {"5 ; a = b", 1},
      {"5;a", 1},
      {"5 ;a", 1},
      {"5;a=b;c", 1},
      {"5;a=b ; c=\"d e\";f", 1},
      {"5;a=\"q\\\"v\"", 1},
      {"0005;a=b", 1},
      {"5 ", 0},          /* BWS only before ";" */
      {"5;a=b ", 0},      /* nor after a value */
      {"5;", 0},          /* no name */
      {"5;=b", 0},        /* no name */
      {"5;a=", 0},        /* no value after "=" */
      {"5;a=b c", 0},     /* two tokens */
      {"5;a=\"b", 0},     /* unclosed quoted-string */
      {"5;a@b=c", 0},     /* not a token */
      {"5;a=b,c", 0},     /* not a token */
      {"5 5;a=b", 0},     /* whitespace inside the size */
      {";a=b", 0},        /* no size */
      {"5;a=\"\001\"", 0} /* a control byte in a quoted-string */
  };
  char request[512];
  struct http_resp r;

  start_echo();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct chunk_case *k = &cases[i];
    int status;
    snprintf(request, sizeof request,
             "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n%s\r\nhello\r\n6;last=1\r\n world\r\n"
             "0 ; end\r\n\r\n",
             k->line);
    status = exchange(request, &r);
    cr_expect_eq(status, k->ok ? 200 : 400, "chunk line [%s]: status %d",
                 k->line, status);
    if (k->ok && status == 200) {
      const char *body = strstr(r.body, "\n\n");
      cr_expect(body != NULL && strcmp(body + 2, "hello world") == 0,
                "chunk line [%s]: body [%s]", k->line, body ? body + 2 : "");
    }
  }
}
