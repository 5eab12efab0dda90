/* Fixture for mc_fetch(): one server is both the plugin that fetches and
 * the upstream it fetches from (one worker is enough: both sides are
 * asynchronous on its loop).
 *   GET  /up/hello       200 "hello", X-Up: yes
 *   *    /up/echo        200 "<method> <body>"
 *   GET  /up/chunked     200 "abc", streamed (chunked framing)
 *   GET  /up/big?n=N     200, N bytes of 'x'
 *   GET  /fetch?url=U[&method=M][&body=B][&timeout=MS][&max=BYTES]
 *        fetches U and answers 200
 *        "status=S error=E x-up=H te=T body=BODY" (H and T "-" if absent);
 *        a refused mc_fetch() answers 400 "refused E"
 *   GET  /fetch-leave?url=U  the same, logging "fetch: started" when it
 *        starts and "fetch: cancelled aborted=A res=R" when told -ECANCELED
 *   GET  /fetch-crash?url=U  the callback writes through NULL
 *   anything else        200 "ok" (the harness's readiness probe) */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

static int *volatile null_ptr;

static void answer(mc_response *res, const mc_fetch_result *r, void *data) {
  char out[4096];
  const char *up = r->error == 0 ? mc_fetch_header(r, "X-Up") : NULL;
  const char *te =
      r->error == 0 ? mc_fetch_header(r, "Transfer-Encoding") : NULL;
  int n;

  if (data != NULL && r->error == -ECANCELED)
    mc_log(MC_LOG_INFO, "fetch: cancelled aborted=%d res=%s",
           res ? mc_response_aborted(res) : -1, res ? "yes" : "null");
  if (res == NULL)
    return;
  n = snprintf(out, sizeof out, "status=%d error=%d x-up=%s te=%s body=%.*s",
               r->status, r->error, up ? up : "-", te ? te : "-",
               (int)(r->body_len < 2000 ? r->body_len : 2000),
               r->error == 0 ? r->body : "");
  mc_response_send(res, 200, out, (size_t)n);
}

static void crash(mc_response *res, const mc_fetch_result *r, void *data) {
  (void)res;
  (void)r;
  (void)data;
  *null_ptr = 1;
}

static void do_fetch(mc_request *req, mc_response *res, mc_fetch_cb cb,
                     void *data) {
  mc_fetch_opts o = {0};
  const char *body = mc_request_query_get(req, "body");
  const char *s;
  char msg[64];
  int err;

  o.url = mc_request_query_get(req, "url");
  o.method = mc_request_query_get(req, "method");
  if (body != NULL) {
    o.body = body;
    o.body_len = strlen(body);
  }
  if ((s = mc_request_query_get(req, "timeout")) != NULL)
    o.timeout_ms = (unsigned)strtoul(s, NULL, 10);
  if ((s = mc_request_query_get(req, "max")) != NULL)
    o.max_size = strtoul(s, NULL, 10);
  if ((err = mc_fetch(res, &o, cb, data)) < 0) {
    int n = snprintf(msg, sizeof msg, "refused %d", err);
    mc_response_send(res, 400, msg, (size_t)n);
    return;
  }
  if (data != NULL)
    mc_log(MC_LOG_INFO, "fetch: started");
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  static char leave_tag;

  if (strcmp(path, "/up/hello") == 0) {
    mc_response_header(res, "X-Up", "yes");
    mc_response_send(res, 200, "hello", 5);
  } else if (strcmp(path, "/up/echo") == 0) {
    char out[2048];
    size_t len;
    const char *b = mc_request_body(req, &len);
    int n = snprintf(out, sizeof out, "%s %.*s", mc_request_method(req),
                     (int)(len < 1000 ? len : 1000), b);
    mc_response_send(res, 200, out, (size_t)n);
  } else if (strcmp(path, "/up/chunked") == 0) {
    mc_response_begin(res, 200);
    mc_response_write(res, "a", 1);
    mc_response_write(res, "b", 1);
    mc_response_write(res, "c", 1);
    mc_response_end(res);
  } else if (strcmp(path, "/up/big") == 0) {
    int64_t n = 0;
    char *big;
    mc_request_query_int(req, "n", &n);
    big = malloc((size_t)n + 1);
    memset(big, 'x', (size_t)n);
    mc_response_send(res, 200, big, (size_t)n);
    free(big);
  } else if (strcmp(path, "/fetch") == 0) {
    do_fetch(req, res, answer, NULL);
  } else if (strcmp(path, "/fetch-leave") == 0) {
    do_fetch(req, res, answer, &leave_tag);
  } else if (strcmp(path, "/fetch-crash") == 0) {
    do_fetch(req, res, crash, NULL);
  } else {
    mc_response_send(res, 200, "ok", 2);
  }
}
