/* Fixture for live reload: built several times from this one source, as
 * gen_v1.so (-DANSWER="v1") and gen_v2.so (-DANSWER="v2"), so that a test
 * can put one over the other and tell from every response which build
 * answered, and in which generation:
 *   any request  200 "<ANSWER> g<generation>\n", e.g. "v1 g1\n".
 * The generation is the worker's (mc_worker_self()->generation), so a test
 * also sees that each generation runs the file it was started from.
 * gen_slow.so (-DANSWER="slow" -DINIT_MS=400) takes that long in mc_init,
 * so a test can change the plugin while a new generation is starting. */
#include <mchost.h>

#include <stdio.h>
#include <time.h>

#ifndef ANSWER
#error "build with -DANSWER=\"v1\" (or another short answer)"
#endif

MC_PLUGIN();

#ifdef INIT_MS
int mc_init(const mc_worker *w) {
  struct timespec ts = {INIT_MS / 1000, (INIT_MS % 1000) * 1000000L};
  (void)w;
  while (nanosleep(&ts, &ts) != 0) {
  }
  return 0;
}
#endif

void mc_run(mc_request *req, mc_response *res) {
  char body[64];
  int n = snprintf(body, sizeof body, "%s g%u\n", ANSWER,
                   mc_worker_self()->generation);
  (void)req;
  mc_response_header(res, "Content-Type", "text/plain");
  mc_response_send(res, 200, body, (size_t)n);
}
