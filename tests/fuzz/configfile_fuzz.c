/*
 * configfile_fuzz.c - libFuzzer target for the --config file
 * (host/conffile.c): the bytes are the file. conffile_apply() must take
 * any of them without a crash or a leak and give either a config whose
 * [plugin] settings keep the SDK's limits, or one "fuzz:LINE: ..."
 * message. An accepted file, written as a generation's workers read it
 * (conffile_write()) and read back, must give the same options and
 * settings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "config.h"
#include "fuzz.h"
#include "mchost.h"
#include "settings.h"

static void configfile_fuzz_fail(const char *what) {
  fprintf(stderr, "configfile_fuzz.c: broken promise: %s\n", what);
  abort();
}

/* A fresh config with no file and no settings. */
static void fresh(struct config *cfg) {
  char *argv[] = {(char *)"mchost"}, err[512];
  if (config_load(cfg, 1, argv, 1, err, sizeof err) != 0)
    configfile_fuzz_fail("a config without options fails");
}

/* The settings and the own options' values as one string. */
static char *picture(void) {
  const struct settings *s = settings_current();
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (f == NULL)
    return NULL;
  for (int i = 0; i < CONFIG_NOPTIONS; i++)
    fprintf(f, "%d=%s\n", i, conffile_values(i) ? conffile_values(i) : "-");
  for (size_t i = 0; i < s->n; i++) {
    if (strlen(s->v[i].key) > MC_CONFIG_KEY_MAX ||
        strlen(s->v[i].value) > MC_CONFIG_VALUE_MAX ||
        strchr(s->v[i].value, '\n') != NULL)
      configfile_fuzz_fail("a setting outside the SDK's limits");
    fprintf(f, "[%s]=[%s]\n", s->v[i].key, s->v[i].value);
  }
  fclose(f);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct config cfg;
  char err[512], *text = malloc(len + 1), *copy = NULL, *before, *after;
  size_t copy_len = 0;
  FILE *f;
  int rc;

  if (text == NULL)
    return 0;
  memcpy(text, data, len);
  fresh(&cfg);
  err[0] = '\0';
  rc = conffile_apply(&cfg, text, len, "fuzz", err, sizeof err);
  if (rc != 0) {
    if (rc != -EINVAL || strncmp(err, "fuzz:", 5) != 0)
      configfile_fuzz_fail("an error without its FILE:LINE message");
    return 0;
  }
  before = picture();
  f = open_memstream(&copy, &copy_len);
  if (before == NULL || f == NULL || conffile_write(f, "fuzz") != 0)
    configfile_fuzz_fail("the workers' copy cannot be written");
  fclose(f);
  fresh(&cfg);
  if (conffile_apply(&cfg, copy, copy_len, "copy", err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    configfile_fuzz_fail("the workers' copy does not read back");
  }
  after = picture();
  if (after == NULL || strcmp(before, after) != 0)
    configfile_fuzz_fail("the workers' copy reads back otherwise");
  free(before);
  free(after);
  return 0;
}
