/* Fixture for the cluster test (tests/cluster/cluster.py): built twice
 * from this one source, as cluster_v1.so (-DVERSION="v1") and
 * cluster_v2.so (-DVERSION="v2"), the two versions of an application
 * rolled out host by host:
 *   GET /crash   a NULL write: SIGSEGV (the guard answers 500 and the
 *                worker retires)
 *   anything     200 "<VERSION>\n"
 * Built without sanitizers, like crash.so (guard.cmake says why). */
#include <mchost.h>

#include <string.h>

#ifndef VERSION
#error "build with -DVERSION=\"v1\" (or another short answer)"
#endif

MC_PLUGIN();

/* volatile: the compiler may not prove the write undefined and drop it. */
static int *volatile null_ptr;

void mc_run(mc_request *req, mc_response *res) {
  if (strcmp(mc_request_path(req), "/crash") == 0)
    *null_ptr = 1;
  mc_response_header(res, "Content-Type", "text/plain");
  mc_response_send(res, 200, VERSION "\n", strlen(VERSION) + 1);
}
