/* Fixture for the client address, scheme and request ID:
 *   any request  200 "<addr> <port> <scheme> <id> <xff>\n", from
 *                mc_request_remote_addr(), mc_request_remote_port(),
 *                mc_request_scheme(), mc_request_id() and the
 *                X-Forwarded-For header as the plugin sees it ("-": none);
 * and one log line "client: called for <target>" per call, so that a test
 * can tell that a refused connection never reached the plugin. */
#include <mchost.h>

#include <stdio.h>

MC_PLUGIN();

void mc_run(mc_request *req, mc_response *res) {
  const char *xff = mc_request_header(req, "X-Forwarded-For");
  char body[1024];
  int n = snprintf(body, sizeof body, "%s %d %s %s %.500s\n",
                   mc_request_remote_addr(req), mc_request_remote_port(req),
                   mc_request_scheme(req), mc_request_id(req),
                   xff != NULL ? xff : "-");
  mc_log(MC_LOG_INFO, "client: called for %s", mc_request_target(req));
  mc_response_header(res, "Content-Type", "text/plain");
  mc_response_send(res, 200, body, (size_t)n);
}
