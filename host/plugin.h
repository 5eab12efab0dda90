/* plugin.h - loading a plugin shared object and checking its contract. */
#ifndef MCHOST_PLUGIN_H
#define MCHOST_PLUGIN_H

#include <stddef.h>

#include "mchost.h"

struct plugin {
  void *handle;
  int (*init)(const mc_worker *w);                  /* may be NULL */
  void (*run)(mc_request *req, mc_response *res);   /* never NULL once open */
  void (*shutdown)(void);                           /* may be NULL */
};

/*
 * Loads `path` with RTLD_NOW | RTLD_LOCAL and resolves the entry points.
 * Returns 0, or on failure a negative errno with one line in err saying
 * what is wrong and what to do:
 *   -ENOENT  the file is missing;
 *   -ENOEXEC dlopen failed (dlerror() text: not a shared object, missing
 *            symbol, ...);
 *   -EPROTO  no MC_PLUGIN() marker, or built for another ABI;
 *   -ENOSYS  no mc_run.
 */
int plugin_open(struct plugin *p, const char *path, char *err, size_t errlen);
void plugin_close(struct plugin *p);

#endif
