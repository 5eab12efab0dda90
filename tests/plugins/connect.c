/* Fixture for CONNECT (RFC 9110, 9.3.6): a plugin that opts in with
 * MC_PLUGIN_ACCEPTS_CONNECT(), so that CONNECT requests reach it.
 *   CONNECT        tries to answer 200 (which would claim an open tunnel),
 *                  then answers 403 "200 refused: <rc>\n" with the return
 *                  code of that first try;
 *   anything else  200 "ok\n" (the harness's readiness probe). */
#include <mchost.h>

#include <stdio.h>
#include <string.h>

MC_PLUGIN();
MC_PLUGIN_ACCEPTS_CONNECT();

void mc_run(mc_request *req, mc_response *res) {
  char body[64];
  int rc, n;

  if (strcmp(mc_request_method(req), "CONNECT") != 0) {
    mc_response_send(res, 200, "ok\n", 3);
    return;
  }
  rc = mc_response_send(res, 200, "tunnel open\n", 12);
  n = snprintf(body, sizeof body, "200 refused: %d\n", rc);
  mc_response_send(res, 403, body, (size_t)n);
}
