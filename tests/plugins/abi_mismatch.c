/* Fixture: claims ABI 999, as a plugin built against a future header would.
 * mchost must refuse it and print both numbers (999 and its own, 1). */
#include <mchost.h>

/* Spelled out instead of MC_PLUGIN() to export another number. */
MC_EXTERN extern const uint32_t mc_plugin_abi;
const uint32_t mc_plugin_abi = 999;

void mc_run(mc_request *req, mc_response *res) {
  (void)req;
  mc_response_send(res, 200, "wrong abi\n", 10);
}
