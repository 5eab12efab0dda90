/*
 * conn_fuzz.c - libFuzzer target for a connection (host/conn.c, parse.c,
 * response.c).
 *
 * The input goes through a real conn on a real loop over loopback TCP: the
 * bugs worth finding are where parsing, limits, pipelining, deferred
 * answers and partial reads and writes meet, not in llhttp alone. A stub
 * plugin checks each request against what the host promises a plugin
 * (sdk/mchost.h, and the MUSTs of RFC 9112 that make a request malformed),
 * then answers in the way the path asks for; the client side parses the
 * responses and checks that they stay framed and in order. A broken
 * promise aborts, and the fuzzer reports the input.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "fuzz.h"
#include "log.h"
#include "parse.h"
#include "worker.h"

/* Small limits, so that the fuzzer reaches them with small inputs. */
#define FUZZ_MAX_BODY 4096
#define FUZZ_MAX_HEADER_SIZE 1024
/* --header-timeout and --keepalive-timeout */
#define FUZZ_TIMEOUT_MS 30
/* A connection that is not released by then is stuck: a bug. */
#define FUZZ_DEADLINE_NS (10 * 1000000000ull)
/* Large enough for conn_output()'s direct write. */
#define FUZZ_BIG_BODY (CONN_DIRECT_WRITE_MIN + 4000)

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __LINE__))

static struct {
  struct worker w;
  struct config cfg;
  int listen_fd;
  struct sockaddr_in addr;
  char big[FUZZ_BIG_BODY];
  unsigned from;      /* the client's address, 127.1.0.0 + from */
  char from_addr[16]; /* as the plugin must see it */
  int from_port;
  unsigned seq;   /* requests handed to the stub on this connection */
  unsigned begun; /* requests llhttp began parsing on it */
  int (*parse_begin)(llhttp_t *p); /* parse.c's on_message_begin */
  unsigned open;                   /* of those, not answered yet */
  /* the client's view: a response parser and what it has seen */
  llhttp_t rp;
  llhttp_settings_t rs;
  unsigned next_seq;
  char field[16], value[16];
  size_t flen, vlen;
  unsigned r_seq;
  int r_head;
  int r_closed; /* a final response said the connection ends */
} fz;

static void fuzz_fail(const char *what, int line) {
  fprintf(stderr, "conn_fuzz.c:%d: broken promise: %s\n", line, what);
  abort();
}

static int fuzz_is_tchar(int ch) {
  return ch > 0x20 && ch < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", ch) == NULL;
}

static int fuzz_is_ows(int ch) { return ch == ' ' || ch == '\t'; }

/* The target is [absolute-form prefix] path ["?" query], without a byte
 * that a plugin or the next hop could take for a separator. */
static void fuzz_check_target(const mc_request *req) {
  const char *method = mc_request_method(req);
  const char *target = mc_request_target(req), *path = mc_request_path(req);
  const char *query = mc_request_query(req), *q;
  size_t before, plen;

  FUZZ_CHECK(target != NULL && path != NULL && query != NULL);
  FUZZ_CHECK(target[0] != '\0');
  for (const char *s = target; *s != '\0'; s++)
    FUZZ_CHECK((unsigned char)*s > 0x20 && *s != 0x7f);
  q = strchr(target, '?');
  FUZZ_CHECK(strcmp(query, q != NULL ? q + 1 : "") == 0);
  before = q != NULL ? (size_t)(q - target) : strlen(target);
  plen = strlen(path);
  /* An absolute-form target without a path has the path "/". */
  FUZZ_CHECK(
      (plen <= before && memcmp(target + before - plen, path, plen) == 0) ||
      (target[0] != '/' && strcmp(path, "/") == 0));
  if (target[0] == '/')
    FUZZ_CHECK(plen == before);
  /* Only OPTIONS has an asterisk-form and only CONNECT an authority-form;
   * an absolute-form target still has a path that starts with '/'. */
  if (strcmp(target, "*") == 0)
    FUZZ_CHECK(strcmp(method, "OPTIONS") == 0);
  else if (strcmp(method, "CONNECT") != 0)
    FUZZ_CHECK(path[0] == '/');
}

/* Keeps in *last the last non-empty element of a comma-separated list, so
 * that it ends up at the last one over all the fields of one name. */
static void fuzz_last_element(const char *v, const char **last, size_t *len) {
  while (*v != '\0') {
    size_t n = strcspn(v, ",");
    const char *s = v, *e = v + n;
    while (s < e && fuzz_is_ows(*s))
      s++;
    while (e > s && fuzz_is_ows(e[-1]))
      e--;
    if (e > s)
      *last = s, *len = (size_t)(e - s);
    v += n + (v[n] == ',');
  }
}

/* Field names are tokens and values hold no CTL but HTAB, without the
 * whitespace around them; mc_request_header() finds the first of a name. */
static void fuzz_check_field(const mc_request *req, const char *name,
                             const char *value) {
  size_t vlen = strlen(value), i;
  const char *first = NULL;

  FUZZ_CHECK(name[0] != '\0');
  for (const char *s = name; *s != '\0'; s++)
    FUZZ_CHECK(fuzz_is_tchar((unsigned char)*s));
  for (const char *s = value; *s != '\0'; s++)
    FUZZ_CHECK(*s == '\t' || ((unsigned char)*s >= 0x20 && *s != 0x7f));
  FUZZ_CHECK(vlen == 0 ||
             (!fuzz_is_ows(value[0]) && !fuzz_is_ows(value[vlen - 1])));
  for (i = 0; first == NULL; i++) {
    const char *n, *v;
    FUZZ_CHECK(mc_request_header_at(req, i, &n, &v) == 0);
    if (strcasecmp(n, name) == 0)
      first = v;
  }
  FUZZ_CHECK(mc_request_header(req, name) == first);
}

/* One Host, one framing, a body that matches it: RFC 9112 3.2 and 6. */
static void fuzz_check_request(const mc_request *req) {
  const char *method = mc_request_method(req), *name, *value;
  const char *cl = NULL, *coding = NULL, *expect;
  size_t n = mc_request_header_count(req), body_len, hosts = 0, cls = 0;
  size_t tes = 0, coding_len = 0;
  int version = mc_request_version(req);
  const char *body;

  FUZZ_CHECK(method != NULL && method[0] != '\0');
  for (const char *s = method; *s != '\0'; s++)
    FUZZ_CHECK(isupper((unsigned char)*s) || *s == '-');
  FUZZ_CHECK(version == 10 || version == 11);
  fuzz_check_target(req);
  FUZZ_CHECK(n <= CONN_MAX_HEADERS);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(mc_request_header_at(req, i, &name, &value) == 0);
    FUZZ_CHECK(name != NULL && value != NULL);
    fuzz_check_field(req, name, value);
    hosts += strcasecmp(name, "Host") == 0;
    if (strcasecmp(name, "Content-Length") == 0)
      cls++, cl = value;
    if (strcasecmp(name, "Transfer-Encoding") == 0) {
      tes++;
      fuzz_last_element(value, &coding, &coding_len);
    }
  }
  FUZZ_CHECK(mc_request_header_at(req, n, &name, &value) == -ERANGE);
  FUZZ_CHECK(hosts == 1 || (version == 10 && hosts == 0));
  /* Transfer-Encoding means chunked last, in HTTP/1.1 only, and no
   * Content-Length: anything else has no length every hop agrees on. */
  FUZZ_CHECK(cls <= 1 && (cls == 0 || tes == 0));
  FUZZ_CHECK(tes == 0 || (version == 11 && coding_len == 7 &&
                          strncasecmp(coding, "chunked", 7) == 0));
  body = mc_request_body(req, &body_len);
  FUZZ_CHECK(body != NULL && body[body_len] == '\0');
  FUZZ_CHECK(body_len <= FUZZ_MAX_BODY);
  /* A plugin that reads bodies itself is called before the body. */
  if (req->c->body.state == BODY_WAITING)
    FUZZ_CHECK(fz.w.plugin.reads_body && body_len == 0);
  else if (cl != NULL) {
    FUZZ_CHECK(cl[0] != '\0' && strspn(cl, "0123456789") == strlen(cl));
    FUZZ_CHECK(strtoull(cl, NULL, 10) == body_len);
  } else if (tes == 0) {
    FUZZ_CHECK(body_len == 0);
  }
  expect = mc_request_header(req, "Expect");
  FUZZ_CHECK(expect == NULL || strcasecmp(expect, "100-continue") == 0);
  FUZZ_CHECK(mc_request_keep_alive(req) == 0 ||
             mc_request_keep_alive(req) == 1);
  FUZZ_CHECK(strcmp(mc_request_remote_addr(req), fz.from_addr) == 0 &&
             mc_request_remote_port(req) == fz.from_port);
}

/* ---- the stub plugin: the first letter of the path picks the answer ---- */

static void fuzz_finish(int rc) {
  /* -EPIPE: the client went away meanwhile; the response is finished. */
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  FUZZ_CHECK(fz.open == 1);
  fz.open--;
}

static void fuzz_later_send(mc_response *res, void *data) {
  size_t len;
  const void *body = mc_request_body(mc_response_request(res), &len);
  (void)data;
  fuzz_finish(mc_response_send(res, 200, body, len));
}

/* A piece is taken, or the client is gone, or the queue is full (and only
 * then: backpressure). */
static void fuzz_check_write(const mc_response *res, int rc) {
  FUZZ_CHECK(rc == 0 || rc == -EPIPE ||
             (rc == -EAGAIN && mc_response_queued(res) >= MC_QUEUE_HIGH));
}

static void fuzz_later_end(mc_response *res, void *data) {
  int rc = mc_response_write(res, "end\n", 4);
  (void)data;
  fuzz_check_write(res, rc);
  fuzz_finish(mc_response_end(res));
}

static void fuzz_later_begin(mc_response *res, void *data) {
  size_t len;
  const void *body = mc_request_body(mc_response_request(res), &len);
  int rc = mc_response_begin(res, 200);
  (void)data;
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  rc = mc_response_write(res, body, len);
  fuzz_check_write(res, rc);
  FUZZ_CHECK(mc_response_later(res, 0, fuzz_later_end, NULL) == 0);
}

static void fuzz_stream(mc_response *res, const char *body, size_t len) {
  int rc = mc_response_begin(res, 200);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  FUZZ_CHECK(mc_response_begin(res, 200) == -EALREADY);
  rc = mc_response_write(res, body, len / 2);
  fuzz_check_write(res, rc);
  rc = mc_response_write(res, body + len / 2, len - len / 2);
  fuzz_check_write(res, rc);
  rc = mc_response_write(res, fz.big, sizeof fz.big);
  fuzz_check_write(res, rc);
  fuzz_finish(mc_response_end(res));
}

/* Echoes the request's fields under "X-E-<name>" (under their own names
 * they could repeat X-Seq): the response head may overflow (-ENOSPC), but a
 * field that reached the plugin is a valid one. */
static void fuzz_echo_fields(mc_request *req, mc_response *res) {
  char name[FUZZ_MAX_HEADER_SIZE + 8];
  const char *n, *v;
  int rc;

  for (size_t i = 0; mc_request_header_at(req, i, &n, &v) == 0; i++) {
    snprintf(name, sizeof name, "X-E-%s", n);
    rc = mc_response_header(res, name, v);
    FUZZ_CHECK(rc == 0 || rc == -ENOSPC);
  }
  FUZZ_CHECK(mc_response_header(res, "Content-Length", "0") == -EINVAL);
  FUZZ_CHECK(mc_response_header(res, "X-Split", "a\r\nb: c") == -EINVAL);
}

/* ---- bodies the stub reads itself (MC_PLUGIN_READS_BODY()) ----
 *
 * Half the inputs run as a plugin that reads bodies itself: a request with
 * a body reaches fuzz_run() at its head, and the path's letter says how
 * the body is taken (body_fuzz_take()). What sdk/mchost.h promises is
 * checked: pieces only while the body is read, never more than the limit,
 * one end, the whole body as its Content-Length says. */

#define FUZZ_LIMIT 2048

static struct {
  mc_response *res;
  void (*done)(int rc);
  int how, ended;
  uint64_t got, want; /* want: Content-Length, or UINT64_MAX */
} bf;

static void bf_resume(mc_response *res, void *data) {
  (void)data;
  FUZZ_CHECK(res == bf.res && !bf.ended);
  mc_request_resume(mc_response_request(res));
}

static void bf_data(mc_request *req, mc_response *res, const void *data,
                    size_t len, void *arg) {
  (void)data;
  FUZZ_CHECK(res == bf.res && arg == &bf && !bf.ended && len > 0);
  FUZZ_CHECK(mc_response_request(res) == req);
  bf.got += len;
  FUZZ_CHECK(bf.got <= FUZZ_LIMIT);
  if (bf.how == 'e') {
    int rc = mc_response_write(res, data, len);
    FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  } else if (bf.how == 'p') {
    mc_request_pause(req);
    FUZZ_CHECK(mc_response_later(res, 0, bf_resume, NULL) == 0);
  }
}

static void bf_end(mc_request *req, mc_response *res, int error, void *arg) {
  size_t len;
  const char *body = mc_request_body(req, &len);

  FUZZ_CHECK(res == bf.res && arg == &bf && !bf.ended);
  bf.ended = 1;
  if (bf.how == 'v')
    bf.got = len;
  FUZZ_CHECK(body[len] == '\0');
  if (error == 0) {
    FUZZ_CHECK(bf.want == UINT64_MAX || bf.got == bf.want);
    FUZZ_CHECK(mc_request_keep_alive(req) == 0 ||
               mc_request_keep_alive(req) == 1);
  } else {
    FUZZ_CHECK(error == -EMSGSIZE || error == -ETIMEDOUT || error == -EPROTO ||
               error == -ECONNRESET);
  }
  if (bf.how == 'e') {
    bf.done(mc_response_end(res));
  } else if (error == 0) {
    bf.done(mc_response_send(res, 200, body, bf.how == 'v' ? len : 0));
  } else {
    bf.done(0); /* the host answers */
  }
}

static void bf_take_later(mc_response *res, void *data) {
  mc_request *req = mc_response_request(res);
  int rc = mc_request_read_body(req, FUZZ_LIMIT, bf_data, bf_end, data);
  FUZZ_CHECK(rc == 0 || rc == -EPIPE);
  if (rc == -EPIPE) {
    bf.ended = 1;
    bf.done(mc_response_send(res, 200, NULL, 0));
  }
}

static int body_fuzz_take(mc_request *req, mc_response *res, int how,
                          void (*done)(int rc)) {
  const char *cl = mc_request_header(req, "Content-Length");
  int rc;

  bf.res = res;
  bf.done = done;
  bf.how = how;
  bf.ended = 0;
  bf.got = 0;
  bf.want = cl != NULL ? strtoull(cl, NULL, 10) : UINT64_MAX;
  FUZZ_CHECK(mc_request_keep_alive(req) == 0);
  switch (how) {
  case 'e': /* echoed in a streamed response while it arrives */
    rc = mc_response_begin(res, 200);
    FUZZ_CHECK(rc == 0 || rc == -EPIPE);
    rc = mc_request_read_body(req, FUZZ_LIMIT, bf_data, bf_end, &bf);
    break;
  case 'u': /* streamed */
  case 'p': /* streamed, paused at every piece */
    rc = mc_request_read_body(req, FUZZ_LIMIT, bf_data, bf_end, &bf);
    break;
  case 'v': /* buffered with its own limit */
    rc = mc_request_buffer_body(req, FUZZ_LIMIT, bf_end, &bf);
    break;
  case 'w': /* taken from a later callback */
    return mc_response_later(res, 0, bf_take_later, &bf);
  default:
    return -ENOSYS;
  }
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(mc_request_read_body(req, 1, bf_data, bf_end, &bf) == -EALREADY);
  return 0;
}

static void fuzz_run(mc_request *req, mc_response *res) {
  const char *path, *body;
  char seq[16];
  size_t len;

  /* Pipelined requests are answered one at a time, in order, and each
   * request in the input reaches the plugin at most once. */
  FUZZ_CHECK(fz.open == 0);
  FUZZ_CHECK(fz.seq < fz.begun);
  fz.open++;
  /* No tunnels: CONNECT reaches only a plugin that opted in. */
  FUZZ_CHECK(strcmp(mc_request_method(req), "CONNECT") != 0);
  fuzz_check_request(req);
  FUZZ_CHECK(mc_response_request(res) == req && !mc_response_aborted(res));
  snprintf(seq, sizeof seq, "%u", ++fz.seq);
  FUZZ_CHECK(mc_response_header(res, "X-Seq", seq) == 0);
  if (strcmp(mc_request_method(req), "HEAD") == 0)
    FUZZ_CHECK(mc_response_header(res, "X-Method", "HEAD") == 0);
  path = mc_request_path(req);
  body = mc_request_body(req, &len);
  if (req->c->body.state == BODY_WAITING &&
      body_fuzz_take(req, res, path[0] != '\0' ? path[1] : '\0', fuzz_finish) ==
          0)
    return;
  switch (path[0] != '\0' ? path[1] : '\0') {
  case 'd': /* deferred, answered from the loop */
    mc_response_defer(res);
    FUZZ_CHECK(mc_response_later(res, 0, fuzz_later_send, NULL) == 0);
    break;
  case 'l': /* streamed from the loop, in two turns */
    FUZZ_CHECK(mc_response_later(res, 0, fuzz_later_begin, NULL) == 0);
    break;
  case 's':
    fuzz_stream(res, body, len);
    break;
  case 'b': /* written straight from the plugin's buffer */
    fuzz_finish(mc_response_send(res, 200, fz.big, sizeof fz.big));
    break;
  case 'n': /* no body allowed: the one given is not sent */
    fuzz_finish(
        mc_response_send(res, mc_request_query(req)[0] ? 304 : 204, body, len));
    break;
  case 'h':
    fuzz_echo_fields(req, res);
    fuzz_finish(mc_response_send(res, 200, NULL, 0));
    break;
  default:
    FUZZ_CHECK(mc_response_send(res, 99, NULL, 0) == -EINVAL);
    fuzz_finish(mc_response_send(res, 200, body, len));
  }
}

/* ---- the client side: the responses must parse, in order ---- */

static int fuzz_on_res_begin(llhttp_t *p) {
  (void)p;
  fz.r_seq = 0;
  fz.r_head = 0;
  fz.flen = fz.vlen = 0;
  return 0;
}

static int fuzz_on_res_field(llhttp_t *p, const char *at, size_t len) {
  (void)p;
  for (size_t i = 0; i < len && fz.flen < sizeof fz.field - 1; i++)
    fz.field[fz.flen++] = at[i];
  return 0;
}

static int fuzz_on_res_value(llhttp_t *p, const char *at, size_t len) {
  (void)p;
  for (size_t i = 0; i < len && fz.vlen < sizeof fz.value - 1; i++)
    fz.value[fz.vlen++] = at[i];
  return 0;
}

static int fuzz_on_res_value_complete(llhttp_t *p) {
  (void)p;
  fz.field[fz.flen] = fz.value[fz.vlen] = '\0';
  if (strcasecmp(fz.field, "X-Seq") == 0)
    fz.r_seq = (unsigned)strtoul(fz.value, NULL, 10);
  else if (strcasecmp(fz.field, "X-Method") == 0)
    fz.r_head = strcmp(fz.value, "HEAD") == 0;
  fz.flen = fz.vlen = 0;
  return 0;
}

static int fuzz_on_res_head(llhttp_t *p) {
  if (p->status_code < 200) { /* the final response follows */
    FUZZ_CHECK(p->status_code == 100);
    return 0;
  }
  if (fz.r_seq == 0) { /* the host's own error response */
    FUZZ_CHECK(p->status_code >= 400);
    return 0;
  }
  FUZZ_CHECK(fz.r_seq == ++fz.next_seq);
  return fz.r_head; /* 1: a HEAD response has no body */
}

/* A response that ends the connection must be the last bytes sent. llhttp
 * does not check that (its loose mode skips whatever follows): it pauses
 * here, and fuzz_client_read() checks. */
static int fuzz_on_res_complete(llhttp_t *p) {
  if (p->status_code < 200 || llhttp_should_keep_alive(p))
    return 0;
  fz.r_closed = 1;
  return HPE_PAUSED;
}

/* Reads what the server sent, until it has nothing more for now. Returns
 * 1 once the server has closed its side. */
static int fuzz_client_read(int fd) {
  static char buf[65536];
  ssize_t n;

  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    llhttp_errno_t err;
    if (n < 0)
      continue;
    FUZZ_CHECK(!fz.r_closed); /* bytes after a Connection: close */
    err = llhttp_execute(&fz.rp, buf, (size_t)n);
    if (err == HPE_PAUSED) { /* it ended the connection: nothing follows */
      FUZZ_CHECK(llhttp_get_error_pos(&fz.rp) == buf + n);
      err = HPE_OK;
    }
    if (err != HPE_OK)
      fprintf(stderr, "response: %s\n", llhttp_get_error_reason(&fz.rp));
    FUZZ_CHECK(err == HPE_OK);
  }
  return n == 0 || errno != EAGAIN;
}

/* ---- the worker around it, set up once ---- */

static int fuzz_on_req_begin(llhttp_t *p) {
  fz.begun++;
  return fz.parse_begin(p);
}

static void fuzz_setup(void) {
  struct worker *w = &fz.w;
  char err[256];
  socklen_t alen = sizeof fz.addr;

  signal(SIGPIPE, SIG_IGN); /* as a worker does */
  log_init(MC_LOG_ERROR, "fuzz", 0);
  FUZZ_CHECK(config_load(&fz.cfg, 0, NULL, 0, err, sizeof err) == 0);
  fz.cfg.max_body = FUZZ_MAX_BODY;
  fz.cfg.max_header_size = FUZZ_MAX_HEADER_SIZE;
  /* Short enough for the inputs that wait for them (LLVMFuzzerTestOneInput()).
   */
  fz.cfg.header_timeout_ms = fz.cfg.keepalive_timeout_ms = FUZZ_TIMEOUT_MS;
  /* No watchdog: the guard is not installed, so that a fault reaches the
   * fuzzer's handlers, and guard_call() then only calls. */
  fz.cfg.request_timeout_ms = 0;
  /* A body slower than 1 MB/s after 30 ms is cut: the inputs that wait
   * reach the rate quickly. */
  fz.cfg.min_rate = 1 << 20;
  fz.cfg.min_rate_grace_ms = FUZZ_TIMEOUT_MS;
  w->cfg = &fz.cfg;
  FUZZ_CHECK(uv_loop_init(&w->loop) == 0);
  parse_settings_init(&w->settings);
  fz.parse_begin = w->settings.on_message_begin;
  w->settings.on_message_begin = fuzz_on_req_begin;
  w->plugin.run = fuzz_run;
  w->nlisteners = 0;
  /* There is no accept path to resume when a conn is released. */
  w->accepting = 1;
  /* JSON, so that the targets go through the escaping. */
  FUZZ_CHECK(access_open(&w->access, NULL, "/dev/null", 1, err, sizeof err) ==
             0);
  memset(fz.big, 'x', sizeof fz.big);

  fz.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  fz.addr.sin_family = AF_INET;
  fz.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(fz.listen_fd >= 0 &&
             bind(fz.listen_fd, (struct sockaddr *)&fz.addr, alen) == 0 &&
             listen(fz.listen_fd, 64) == 0 &&
             getsockname(fz.listen_fd, (struct sockaddr *)&fz.addr, &alen) ==
                 0);

  llhttp_settings_init(&fz.rs);
  fz.rs.on_message_begin = fuzz_on_res_begin;
  fz.rs.on_header_field = fuzz_on_res_field;
  fz.rs.on_header_value = fuzz_on_res_value;
  fz.rs.on_header_value_complete = fuzz_on_res_value_complete;
  fz.rs.on_headers_complete = fuzz_on_res_head;
  fz.rs.on_message_complete = fuzz_on_res_complete;
}

/* A connect() that a signal interrupted (the fuzzer's timer) may still have
 * queued its connection: only the one from `from` is this input's. */
static int fuzz_accept(const struct sockaddr_in *from) {
  for (;;) {
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int fd = accept(fz.listen_fd, (struct sockaddr *)&peer, &plen);
    FUZZ_CHECK(fd >= 0 || errno == EINTR || errno == ECONNABORTED);
    if (fd >= 0 && peer.sin_addr.s_addr == from->sin_addr.s_addr &&
        peer.sin_port == from->sin_port)
      return fd;
    if (fd >= 0)
      close(fd);
  }
}

/* Returns the client's end of a new connection whose server end is a conn
 * on the worker. */
static int fuzz_connect(int small_window) {
  struct sockaddr_in from;
  socklen_t alen = sizeof from;
  int client = -1, fd, one = 1, rcvbuf = 2048;

  /* A connection leaves its address pair in TIME_WAIT for a minute: one
   * client address would run out of ports at a few thousand a second, so
   * each connection comes from the next of 127.1.0.1 to 127.1.255.254. */
  for (int tries = 0; client < 0 && tries < 100; tries++) {
    memset(&from, 0, sizeof from);
    from.sin_family = AF_INET;
    fz.from = fz.from % 0xfffe + 1;
    from.sin_addr.s_addr = htonl(0x7f010000u | fz.from);
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(client >= 0);
    /* A client that takes little at a time: large responses then go out
     * in pieces, through uv_write(), and the pipeline behind them waits. */
    if (small_window)
      setsockopt(client, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(client, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(client, (struct sockaddr *)&fz.addr, sizeof fz.addr) != 0) {
      close(client);
      client = -1;
    }
  }
  FUZZ_CHECK(client >= 0);
  FUZZ_CHECK(getsockname(client, (struct sockaddr *)&from, &alen) == 0);
  uv_ip4_name(&from, fz.from_addr, sizeof fz.from_addr);
  fz.from_port = ntohs(from.sin_port);
  /* Each piece goes out at once, not held back by Nagle until an ACK. */
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  FUZZ_CHECK(fcntl(client, F_SETFL, O_NONBLOCK) == 0);
  fd = fuzz_accept(&from);
  /* ...and a server side that holds little: uv_try_write() then takes
   * only part of a large response. */
  if (small_window)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
  FUZZ_CHECK(conn_start(worker_conn_get(&fz.w), &fz.w, fd,
                        (const struct sockaddr *)&from) == 0);
  return client;
}

/* The client reads nothing for a while, as a slow one does: the server's
 * timeouts fire while its responses wait to be written. */
static void fuzz_pause(uint64_t ms) {
  uint64_t until = uv_hrtime() + ms * 1000000;
  while (uv_hrtime() < until) {
    uv_run(&fz.w.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

/* One turn of the server's loop, then the client reads. */
static int fuzz_turn(int client, uint64_t deadline) {
  int closed;
  uv_run(&fz.w.loop, UV_RUN_NOWAIT);
  closed = fuzz_client_read(client);
  /* A conn that outlives this is stuck: its timeouts are far shorter. */
  if (uv_hrtime() >= deadline && fz.w.active != NULL) {
    struct conn *c = fz.w.active;
    fprintf(stderr,
            "stuck conn: timer %d closing %u close_after %u reading %u "
            "writing %u res.state %d rpos %zu rlen %zu handles %u out %zu\n",
            (int)c->timer_kind, c->closing, c->close_after, c->reading,
            c->writing, (int)c->res->state, c->rpos, c->rlen, c->handles_open,
            c->out.len);
  }
  FUZZ_CHECK(uv_hrtime() < deadline);
  return closed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  static int ready;
  uint64_t deadline = uv_hrtime() + FUZZ_DEADLINE_NS;
  uint32_t h = 2166136261u; /* FNV-1a: how this input is sent */
  size_t cut[3], off = 0;
  int client, reset = 0, hold, pause;

  if (!ready) {
    fuzz_setup();
    ready = 1;
  }
  for (size_t i = 0; i < len; i++)
    h = (h ^ data[i]) * 16777619u;
  cut[0] = h % (len + 1);
  cut[1] = cut[0] + (h >> 16) % (len - cut[0] + 1);
  cut[2] = len;
  /* One input in 64 keeps its side open, so that the server's timeouts
   * end the connection; the client closes once the server has. */
  hold = (h >> 26) == 0;
  pause = !hold && (h >> 16 & 0xff) == 0x5a; /* one in 256 */
  fz.seq = fz.begun = fz.open = fz.next_seq = 0;
  fz.r_closed = 0;
  /* Half the inputs are read by a plugin that reads bodies itself. */
  fz.w.plugin.reads_body = h >> 8 & 1;
  llhttp_init(&fz.rp, HTTP_RESPONSE, &fz.rs);
  client = fuzz_connect((h >> 24 & 3) == 0);

  /* Three writes, each read by the server on its own: requests, lines and
   * chunks are split where the hash says. */
  for (int piece = 0; piece < 3 && !reset; piece++) {
    while (off < cut[piece] && !reset) {
      ssize_t n = send(client, data + off, cut[piece] - off, MSG_NOSIGNAL);
      if (n > 0)
        off += (size_t)n;
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        reset = 1; /* the server closed, and nothing more can be sent */
      else
        fuzz_turn(client, deadline);
    }
    fuzz_turn(client, deadline);
  }
  if (pause) {
    fuzz_pause(2 * FUZZ_TIMEOUT_MS);
    /* ...then takes all there is before it closes its side. */
    while (fz.w.active != NULL &&
           (fz.w.active->writing || fz.w.active->out.len > 0))
      fuzz_turn(client, deadline);
  }
  if (!hold)
    shutdown(client, SHUT_WR);
  while (fz.w.nconns > 0) {
    if (fuzz_turn(client, deadline) && hold) {
      shutdown(client, SHUT_WR);
      hold = 0;
    }
  }
  close(client);
  /* Every request handed to the plugin was answered, and the conn went
   * back to the pool. */
  FUZZ_CHECK(fz.open == 0);
  FUZZ_CHECK(fz.w.active == NULL);
  return 0;
}
