/* Fixture for crash reports, bundles and replay (test_devloop.c), built
 * twice with debug information: devloop.so crashes on GET /boom in boom(),
 * on the line marked below; devloop_fixed.so (-DFIXED) is the same plugin
 * with the bug fixed, and answers 200 "fixed\n". Anything else: 200
 * "ok\n", the harness's readiness probe. */
#include <mchost.h>

#include <string.h>

MC_PLUGIN();

static int *volatile null_ptr;

/* Not inlined, so that the backtrace has a frame of its own for it. */
__attribute__((noinline)) static void boom(mc_response *res) {
#ifndef FIXED
  *null_ptr = 1; /* the crash line */
#endif
  mc_response_send(res, 200, "fixed\n", 6);
}

void mc_run(mc_request *req, mc_response *res) {
  if (strcmp(mc_request_path(req), "/boom") == 0) {
    boom(res);
    return;
  }
  mc_response_send(res, 200, "ok\n", 3);
}
