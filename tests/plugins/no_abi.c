/* Fixture: a handler without MC_PLUGIN(), so no mc_plugin_abi symbol. mchost
 * cannot know which header it was built against and must say to add
 * MC_PLUGIN(). */
#include <mchost.h>

void mc_run(mc_request *req, mc_response *res) {
  (void)req;
  mc_response_send(res, 200, "no abi\n", 7);
}
