/* Fixture for the plugin's settings (docs/configuration.md): answers what
 * mc_config() and mc_config_int() say, so that a test sees through a real
 * server which value a worker got.
 *   /get/KEY  200 "<generation> <value>", or 404 "<generation> unset"
 *   /int/KEY  200 "<return code> <value>" (the value -1 when unchanged)
 * The generation lets a reload test tell old workers from new ones. */
#include <mchost.h>

#include <stdio.h>
#include <string.h>

MC_PLUGIN();

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  unsigned gen = mc_worker_self()->generation;
  char body[MC_CONFIG_VALUE_MAX + 64];
  int n, status = 200;

  if (strncmp(path, "/get/", 5) == 0) {
    const char *v = mc_config(path + 5);
    if (v == NULL)
      status = 404;
    n = snprintf(body, sizeof body, "g%u %s", gen, v != NULL ? v : "unset");
  } else if (strncmp(path, "/int/", 5) == 0) {
    int64_t v = -1;
    int rc = mc_config_int(path + 5, &v);
    n = snprintf(body, sizeof body, "%d %lld", rc, (long long)v);
  } else {
    n = snprintf(body, sizeof body, "g%u settings fixture\n", gen);
  }
  mc_response_header(res, "Content-Type", "text/plain");
  mc_response_send(res, status, body, (size_t)n);
}
