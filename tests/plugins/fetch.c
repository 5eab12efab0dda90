/* Fixture for mc_fetch(): one server is both the plugin that fetches and
 * the upstream it fetches from (one worker is enough: both sides are
 * asynchronous on its loop).
 *   GET  /up/hello       200 "hello", X-Up: yes
 *   GET  /up/ows         200 "ows", X-A: "v \t ", X-E: "  ", X-B: "w"
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
 *   GET  /fetch-crash-after?url=U  the same, but the plugin answers 200
 *        "answered" at once: the callback comes for a finished response
 *   GET  /fetch-names?url=U&names=N1,N2,...  fetches U and answers 200
 *        "N1=[V1] N2=[V2] ..." with mc_fetch_header()'s values, looked up
 *        in that order ("N=-" when NULL)
 *   GET  /both?url=U[&until=FILE][&timeout=MS][&end=done][&deadline=MS]
 *        fetches U and runs a mc_work() whose work() waits until FILE
 *        exists (20 s at most; no wait without until); the last of the
 *        two callbacks answers 200 "order=O fetch=F" (O: "fetch,done" or
 *        "done,fetch", F: "STATUS:BODY" or "errorE"). With end=done,
 *        done() answers 200 "done alone" when the fetch has not come yet;
 *        deadline=MS sets mc_response_timeout(MS).
 *        Logs "both: done order=O" and
 *        "both: fetch res=R aborted=A F order=O" (R "yes" or "null")
 *   anything else        200 "ok" (the harness's readiness probe) */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wait_until.h"

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

/* /fetch-names: data is the comma-separated names, owned here. */
static void lookup(mc_response *res, const mc_fetch_result *r, void *data) {
  char out[1024], *save = NULL;
  size_t len = 0;

  if (res != NULL && r->error != 0)
    len = (size_t)snprintf(out, sizeof out, "error=%d", r->error);
  for (char *n = strtok_r(data, ",", &save);
       res != NULL && r->error == 0 && n != NULL && len < sizeof out;
       n = strtok_r(NULL, ",", &save)) {
    const char *v = mc_fetch_header(r, n);
    len += (size_t)snprintf(out + len, sizeof out - len, "%s%s%s%s%s",
                            len ? " " : "", n, v ? "=[" : "=-", v ? v : "",
                            v ? "]" : "");
  }
  free(data);
  if (res != NULL)
    mc_response_send(res, 200, out, len < sizeof out ? len : sizeof out - 1);
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
    int n;
    if (cb == lookup)
      free(data);
    n = snprintf(msg, sizeof msg, "refused %d", err);
    mc_response_send(res, 400, msg, (size_t)n);
    return;
  }
  if (cb == answer && data != NULL)
    mc_log(MC_LOG_INFO, "fetch: started");
}

/* /both: a fetch and a mc_work() for one response, merged by whichever
 * callback comes last. */
struct both {
  int pending; /* callbacks still to come: the fetch's and done() */
  int end_in_done;
  char until[256];
  char order[32];
  char fetched[128];
};

static void both_note(struct both *b, const char *what) {
  size_t len = strlen(b->order);
  snprintf(b->order + len, sizeof b->order - len, "%s%s", len ? "," : "", what);
}

static void both_reply(mc_response *res, struct both *b) {
  char out[256];
  int n = snprintf(out, sizeof out, "order=%s fetch=%s", b->order, b->fetched);
  mc_response_send(res, 200, out, (size_t)n);
}

static void both_work(void *data) {
  struct both *b = data;
  wait_until(b->until);
}

static void both_done(mc_response *res, void *data) {
  struct both *b = data;
  both_note(b, "done");
  mc_log(MC_LOG_INFO, "both: done order=%s", b->order);
  if (b->end_in_done && b->pending == 2)
    mc_response_send(res, 200, "done alone", 10);
  if (--b->pending > 0)
    return;
  both_reply(res, b);
  free(b);
}

static void both_fetched(mc_response *res, const mc_fetch_result *r,
                         void *data) {
  struct both *b = data;
  both_note(b, "fetch");
  if (r->error == 0)
    snprintf(b->fetched, sizeof b->fetched, "%d:%.*s", r->status,
             (int)(r->body_len < 64 ? r->body_len : 64), r->body);
  else
    snprintf(b->fetched, sizeof b->fetched, "error%d", r->error);
  mc_log(MC_LOG_INFO, "both: fetch res=%s aborted=%d %s order=%s",
         res ? "yes" : "null", res ? mc_response_aborted(res) : -1, b->fetched,
         b->order);
  if (--b->pending > 0)
    return;
  if (res != NULL)
    both_reply(res, b);
  free(b);
}

static void both(mc_request *req, mc_response *res) {
  mc_fetch_opts o = {0};
  struct both *b = calloc(1, sizeof *b);
  const char *s;
  int err;

  if (b == NULL) {
    mc_response_send(res, 500, "oom", 3);
    return;
  }
  b->pending = 2;
  if ((s = mc_request_query_get(req, "until")) != NULL)
    snprintf(b->until, sizeof b->until, "%s", s);
  s = mc_request_query_get(req, "end");
  b->end_in_done = s != NULL && strcmp(s, "done") == 0;
  if ((s = mc_request_query_get(req, "deadline")) != NULL)
    mc_response_timeout(res, (unsigned)strtoul(s, NULL, 10));
  o.url = mc_request_query_get(req, "url");
  if ((s = mc_request_query_get(req, "timeout")) != NULL)
    o.timeout_ms = (unsigned)strtoul(s, NULL, 10);
  if ((err = mc_fetch(res, &o, both_fetched, b)) < 0) {
    free(b);
    mc_response_send(res, 400, "refused", 7);
    return;
  }
  if (mc_work(res, both_work, both_done, b) < 0) {
    b->pending = 1; /* the fetch's callback, cancelled, frees b */
    mc_response_send(res, 500, "mc_work failed", 14);
  }
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  static char leave_tag;

  if (strcmp(path, "/up/hello") == 0) {
    mc_response_header(res, "X-Up", "yes");
    mc_response_send(res, 200, "hello", 5);
  } else if (strcmp(path, "/up/ows") == 0) {
    mc_response_header(res, "X-A", "v \t ");
    mc_response_header(res, "X-E", "  ");
    mc_response_header(res, "X-B", "w");
    mc_response_send(res, 200, "ows", 3);
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
  } else if (strcmp(path, "/fetch-names") == 0) {
    const char *q = mc_request_query_get(req, "names");
    char *names = strdup(q != NULL ? q : "");
    if (names != NULL)
      do_fetch(req, res, lookup, names);
    else
      mc_response_send(res, 500, "oom", 3);
  } else if (strcmp(path, "/fetch-crash") == 0) {
    do_fetch(req, res, crash, NULL);
  } else if (strcmp(path, "/fetch-crash-after") == 0) {
    do_fetch(req, res, crash, NULL);
    mc_response_send(res, 200, "answered", 8);
  } else if (strcmp(path, "/both") == 0) {
    both(req, res);
  } else {
    mc_response_send(res, 200, "ok", 2);
  }
}
