/* Fixture: mc_init refuses to start with code 5 (as a plugin whose database
 * is unreachable would). mchost must print mc_init and the code, exit 3, and
 * not respawn the worker in a loop. */
#include <mchost.h>

MC_PLUGIN();

int mc_init(const mc_worker *w) {
  (void)w;
  return 5;
}

void mc_run(mc_request *req, mc_response *res) {
  (void)req;
  mc_response_send(res, 200, "unreachable\n", 12);
}
