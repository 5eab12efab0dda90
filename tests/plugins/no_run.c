/* Fixture: declares its ABI but has no mc_run. mchost must refuse it with a
 * message naming mc_run, and not respawn workers that can never serve. */
#include <mchost.h>

MC_PLUGIN();

int mc_init(const mc_worker *w) {
  (void)w;
  return 0;
}
