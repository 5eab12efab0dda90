/* plugin.c - dlopen, ABI check, entry points. Workers only: the master
 * never maps plugin code, so a plugin bug can never take the master down. */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    MC_PRINTF(4, 5);

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

int plugin_open(struct plugin *p, const char *path, char *err, size_t errlen) {
  char local[4096];
  const uint32_t *abi;
  struct stat st;

  memset(p, 0, sizeof *p);
  if (stat(path, &st) != 0)
    return fail(err, errlen, -ENOENT, "cannot load plugin '%s': %s", path,
                strerror(errno));
  /* Without a slash dlopen() searches the library path, not the current
   * directory: `--plugin app.so` must mean ./app.so. */
  if (strchr(path, '/') == NULL) {
    snprintf(local, sizeof local, "./%s", path);
    path = local;
  }
  /* RTLD_NOW: an unresolved symbol is reported here, once, not as a crash
   * in the middle of a request. RTLD_LOCAL: two generations of a plugin
   * never resolve each other's symbols. */
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p->handle == NULL)
    return fail(err, errlen, -ENOEXEC, "cannot load plugin '%s': %s", path,
                dlerror());

  abi = dlsym(p->handle, "mc_plugin_abi");
  if (abi == NULL) {
    plugin_close(p);
    return fail(err, errlen, -EPROTO,
                "plugin '%s' has no MC_PLUGIN() marker: add the line "
                "'MC_PLUGIN();' to one of its source files and rebuild",
                path);
  }
  if (*abi != MC_ABI_VERSION) {
    unsigned got = *abi;
    plugin_close(p);
    return fail(err, errlen, -EPROTO,
                "plugin '%s' was built for plugin ABI %u, this mchost speaks "
                "ABI %u: rebuild it against this mchost's <mchost.h>",
                path, got, (unsigned)MC_ABI_VERSION);
  }

  *(void **)&p->run = dlsym(p->handle, "mc_run");
  *(void **)&p->init = dlsym(p->handle, "mc_init");
  *(void **)&p->shutdown = dlsym(p->handle, "mc_shutdown");
  if (p->run == NULL) {
    plugin_close(p);
    return fail(err, errlen, -ENOSYS,
                "plugin '%s' has no mc_run() function: every plugin must "
                "define void mc_run(mc_request *req, mc_response *res)",
                path);
  }
  return 0;
}

void plugin_close(struct plugin *p) {
  if (p->handle != NULL)
    dlclose(p->handle);
  memset(p, 0, sizeof *p);
}
