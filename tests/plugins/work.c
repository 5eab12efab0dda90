/* Fixture for mc_work():
 *   GET /work?until=FILE  work() waits on a pool thread until FILE exists
 *                         (20 s at most), then done() answers 200
 *                         "worked\n"
 *   GET /work-crash       SIGSEGV inside work(), on the pool thread
 *   GET /done-crash       work() returns, then SIGSEGV inside done()
 *   GET /work-hang?timeout=MS&until=FILE  mc_response_timeout(MS), then as
 *                         /work
 *   anything else         200 "ok\n" (the harness's readiness probe)
 * done() logs "work: done aborted A" (A: mc_response_aborted()), so a
 * test sees when it ran. Built without sanitizers (the NULL writes are the
 * point), see tests/stream.cmake. */
#include <mchost.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wait_until.h"

MC_PLUGIN();

static int *volatile null_ptr;

struct job {
  char until[256];
  int crash_in_work, crash_in_done;
};

static void job_work(void *data) {
  struct job *j = data;
  wait_until(j->until);
  if (j->crash_in_work)
    *null_ptr = 1;
}

static void job_done(mc_response *res, void *data) {
  struct job *j = data;
  if (j->crash_in_done)
    *null_ptr = 1;
  mc_log(MC_LOG_INFO, "work: done aborted %d", mc_response_aborted(res));
  mc_response_send(res, 200, "worked\n", 7);
  free(j);
}

/* The value of `key` ("until=") in the query, up to '&', into out. */
static void query_get(const mc_request *req, const char *key, char *out,
                      size_t len) {
  const char *p = strstr(mc_request_query(req), key);
  out[0] = '\0';
  if (p != NULL) {
    p += strlen(key);
    snprintf(out, len, "%.*s", (int)strcspn(p, "&"), p);
  }
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  char timeout[16];
  struct job *j;

  if (strncmp(path, "/work", 5) != 0 && strcmp(path, "/done-crash") != 0) {
    mc_response_send(res, 200, "ok\n", 3);
    return;
  }
  if ((j = calloc(1, sizeof *j)) == NULL) {
    mc_response_send(res, 500, "oom\n", 4);
    return;
  }
  query_get(req, "until=", j->until, sizeof j->until);
  j->crash_in_work = strcmp(path, "/work-crash") == 0;
  j->crash_in_done = strcmp(path, "/done-crash") == 0;
  if (strcmp(path, "/work-hang") == 0) {
    query_get(req, "timeout=", timeout, sizeof timeout);
    mc_response_timeout(res, (unsigned)atoi(timeout));
  }
  if (mc_work(res, job_work, job_done, j) != 0) {
    free(j);
    mc_response_send(res, 500, "mc_work failed\n", 15);
  }
}
