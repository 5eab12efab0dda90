/* slow_request.h - GET /slow?ms=N, for the fixtures that hold a request in
 * flight: 200 "slow\n" after N ms, finished from a timer on the worker's
 * loop (mc_response_later). Before holding it, the fixture logs
 * "<who>: holding N ms": the line the harness waits for (srv_hold_slow()),
 * so that a test knows the request reached a worker. */
#ifndef MCHOST_TEST_SLOW_REQUEST_H
#define MCHOST_TEST_SLOW_REQUEST_H

#include <mchost.h>
#include <stdlib.h>
#include <string.h>

/* N of "ms=N" in a query string, 0 without one. */
static unsigned query_ms(const char *query) {
  const char *p = strstr(query, "ms=");
  return p ? (unsigned)strtoul(p + 3, NULL, 10) : 0;
}

static void slow_done(mc_response *res, void *data) {
  (void)data;
  mc_response_send(res, 200, "slow\n", 5);
}

static void slow_request(mc_request *req, mc_response *res, const char *who) {
  unsigned ms = query_ms(mc_request_query(req));
  mc_log(MC_LOG_INFO, "%s: holding %u ms", who, ms);
  if (mc_response_later(res, ms, slow_done, NULL) < 0)
    mc_response_send(res, 500, "later failed\n", 13);
}

#endif
