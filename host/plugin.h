/* plugin.h - loading a plugin shared object and checking its contract. */
#ifndef MCHOST_PLUGIN_H
#define MCHOST_PLUGIN_H

#include <stddef.h>
#include <sys/stat.h>

#include "mchost.h"

struct plugin {
  void *handle;
  int (*init)(const mc_worker *w);                /* may be NULL */
  void (*run)(mc_request *req, mc_response *res); /* never NULL once open */
  void (*shutdown)(void);                         /* may be NULL */
  int connect;    /* MC_PLUGIN_ACCEPTS_CONNECT(): CONNECT reaches mc_run */
  int reads_body; /* MC_PLUGIN_READS_BODY(): mc_run at the head (body.c) */
};

/*
 * Loads `path` (named `display` in messages: the user's --plugin, not the
 * snapshot) with RTLD_NOW | RTLD_LOCAL and resolves the entry points.
 * Returns 0, or on failure a negative errno with one line in err saying
 * what is wrong and what to do:
 *   -ENOENT  the file is missing;
 *   -ENOEXEC dlopen failed (dlerror() text: not a shared object, missing
 *            symbol, ...);
 *   -EPROTO  no MC_PLUGIN() marker, or built for another ABI;
 *   -ENOSYS  no mc_run.
 */
int plugin_open(struct plugin *p, const char *path, const char *display,
                char *err, size_t errlen);
void plugin_close(struct plugin *p);

/*
 * Copies the plugin file `src` to `dst` (through a temporary name and a
 * rename, so `dst` is never seen half-written) for one generation to load.
 * The master calls this; it reads bytes and never maps plugin code.
 * Returns 0 and the source's stat in *st, or:
 *   -EAGAIN  `src` is an ELF file whose headers point past its end: the
 *            linker is still writing it, try again after a cooldown;
 *   another negative errno (message in err).
 */
int plugin_snapshot(const char *src, const char *dst, struct stat *st,
                    char *err, size_t errlen);

#endif
