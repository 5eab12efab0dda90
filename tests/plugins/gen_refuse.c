/* Fixture for live reload: a plugin that loads fine but whose mc_init
 * refuses to start (returns 1). Put over a serving plugin, the new
 * generation must be discarded, the refusal logged once, and the old
 * generation must keep answering. */
#include <mchost.h>

MC_PLUGIN();

int mc_init(const mc_worker *w) {
  (void)w;
  return 1;
}

void mc_run(mc_request *req, mc_response *res) {
  (void)req;
  mc_response_send(res, 200, "refuse: unreachable\n", 20);
}
