/* Fixture for the master's stop and the streamed response:
 *   GET /slow?ms=N  200 "slow\n" after N ms, finished from a timer on the
 *                   worker's loop (mc_response_later), so the request is in
 *                   flight while the test signals the master;
 *   GET /stream     200, streamed in three pieces "a", "b", "c";
 *   POST /sum       200 "<body length> <FNV-1a 64 of the body, hex>\n": a
 *                   large body checked without echoing it;
 *   anything else   200 "ok\n" (the harness's readiness probe).
 * Before holding a slow request it logs "slow: holding N ms": the test waits
 * for that line, so it knows the request reached a worker before it sends
 * the signal. */
#include <mchost.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

static void slow_done(mc_response *res, void *data) {
  (void)data;
  mc_response_send(res, 200, "slow\n", 5);
}

static unsigned query_ms(const char *query) {
  const char *p = strstr(query, "ms=");
  return p ? (unsigned)strtoul(p + 3, NULL, 10) : 0;
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  if (strcmp(path, "/slow") == 0) {
    unsigned ms = query_ms(mc_request_query(req));
    mc_log(MC_LOG_INFO, "slow: holding %u ms", ms);
    if (mc_response_later(res, ms, slow_done, NULL) < 0)
      mc_response_send(res, 500, "later failed\n", 13);
    return;
  }
  if (strcmp(path, "/stream") == 0) {
    mc_response_header(res, "Content-Type", "text/plain");
    mc_response_begin(res, 200);
    mc_response_write(res, "a", 1);
    mc_response_write(res, "b", 1);
    mc_response_write(res, "c", 1);
    mc_response_end(res);
    return;
  }
  if (strcmp(path, "/sum") == 0) {
    size_t len, i;
    const unsigned char *body = mc_request_body(req, &len);
    uint64_t h = 14695981039346656037ULL;
    char out[64];
    for (i = 0; i < len; i++)
      h = (h ^ body[i]) * 1099511628211ULL;
    int n =
        snprintf(out, sizeof out, "%zu %016llx\n", len, (unsigned long long)h);
    mc_response_send(res, 200, out, (size_t)n);
    return;
  }
  mc_response_send(res, 200, "ok\n", 3);
}
