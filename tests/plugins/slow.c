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

#include "slow_request.h"

MC_PLUGIN();

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  if (strcmp(path, "/slow") == 0) {
    slow_request(req, res, "slow");
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
