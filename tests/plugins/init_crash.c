/* Fixture: mc_init dereferences NULL (as a plugin whose configuration
 * parser has a bug would). The worker cannot start: mchost must say so once,
 * naming the signal and mc_init, and the master exits 3 instead of
 * respawning it. Built without sanitizers (tests/guard.cmake). */
#include <mchost.h>

#include <stddef.h>

MC_PLUGIN();

/* Volatile: GCC would turn a visible NULL dereference into a trap (SIGILL). */
static int *volatile config;

int mc_init(const mc_worker *w) {
  (void)w;
  return *config;
}

void mc_run(mc_request *req, mc_response *res) {
  (void)req;
  mc_response_send(res, 200, "unreachable\n", 12);
}
