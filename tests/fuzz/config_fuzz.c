/*
 * config_fuzz.c - libFuzzer target for the options (host/config.c): the
 * input is an argv, its arguments separated by NUL bytes. config_load()
 * must take any of them without a crash or a leak, and give either a
 * config within the documented ranges or one message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "mchost.h"

#define CONFIG_FUZZ_ARGS 64

extern char **environ;

/* The environment is the user's, not the input: MCHOST_* variables would
 * make every input mean something else (and lists in them are strdup()ed
 * for the life of the process). */
static void config_fuzz_clean_env(void) {
  char name[128];
  for (size_t i = 0; environ[i] != NULL;) {
    size_t n = strcspn(environ[i], "=");
    if (strncmp(environ[i], "MCHOST_", 7) == 0 && n < sizeof name) {
      memcpy(name, environ[i], n);
      name[n] = '\0';
      unsetenv(name);
      i = 0; /* unsetenv() moved the entries */
    } else {
      i++;
    }
  }
}

static void config_fuzz_fail(const char *what) {
  fprintf(stderr, "config_fuzz.c: broken promise: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  static int env_clean;
  char *copy = malloc(len + 1), *argv[CONFIG_FUZZ_ARGS + 1], err[512];
  struct config cfg;
  int argc = 1, rc;

  if (copy == NULL)
    return 0;
  if (!env_clean) {
    config_fuzz_clean_env();
    env_clean = 1;
  }
  memcpy(copy, data, len);
  copy[len] = '\0';
  argv[0] = (char *)"mchost";
  for (size_t i = 0; i < len && argc < CONFIG_FUZZ_ARGS; i++) {
    argv[argc++] = copy + i;
    i += strlen(copy + i);
  }
  argv[argc] = NULL;
  err[0] = '\0';
  rc = config_load(&cfg, argc, argv, 1, err, sizeof err);
  if (rc != 0) {
    if (rc != -EINVAL || err[0] == '\0')
      config_fuzz_fail("an error without its one message");
  } else if (cfg.port > 65535 || cfg.workers < 1 || cfg.workers > 1024 ||
             cfg.max_connections > UINT32_MAX || cfg.log_level > MC_LOG_DEBUG ||
             cfg.log_format > 1 || cfg.watch.n > CONFIG_LIST_MAX ||
             cfg.max_requests > UINT32_MAX ||
             cfg.trusted_proxies.n > FORWARDED_TRUST_MAX ||
             cfg.client_header > FORWARDED_REAL_IP || cfg.host == NULL ||
             cfg.ext == NULL) {
    config_fuzz_fail("a value outside its documented range");
  }
  free(copy);
  return 0;
}
