/*
 * hello: the smallest useful plugin, and the one the benchmarks load.
 *
 *     mchost --plugin build/plugins/hello.so --port 3000
 *     curl localhost:3000/          ->  Hello world
 *
 * It allocates nothing and reads nothing from the request, so what a
 * benchmark measures is mchost itself.
 */
#include <mchost.h>

MC_PLUGIN();

static const char hello[] = "Hello world\n";

void mc_run(mc_request *req, mc_response *res) {
  (void)req;
  /* Content-Length, Date and Connection are the host's job. */
  mc_response_header(res, "Content-Type", "text/plain");
  mc_response_send(res, MC_STATUS_OK, hello, sizeof hello - 1);
}
