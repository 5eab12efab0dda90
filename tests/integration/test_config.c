/*
 * test_config.c - the plugin's settings through a real server: --set and
 * --config FILE reach every worker as mc_config() values, the sources
 * take their documented precedence, a bad line is one usage error naming
 * FILE:LINE, and a reload re-reads the file's [plugin] section (or keeps
 * the serving generation when the file no longer parses).
 *
 * The fixture settings.so answers /get/KEY with "g<generation> <value>"
 * (404 "g<generation> unset") and /int/KEY with mc_config_int()'s return
 * code and value.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SETTINGS_SO TEST_PLUGINS_DIR "/settings.so"

static struct srv S;

static void srv_fini(void) { srv_stop(&S); }

/* GET target; asserts an answer with `status` and returns its body. */
static const char *get(const char *target, int status) {
  static struct http_resp r;
  int err = http_get(S.port, target, &r);
  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(r.status, status, "GET %s: %d %s", target, r.status, r.body);
  return r.body;
}

static void start(const char *const *args) {
  int err = srv_start(&S, args, 20000);
  cr_assert_eq(err, 0, "mchost did not start: %d" SRV_LOG_FMT, err,
               srv_log_tail(&S));
}

/* ---- --set ---- */

Test(config, set_values_reach_every_worker, .fini = srv_fini, .timeout = 60) {
  start((const char *const[]){
      "--plugin", SETTINGS_SO, "--workers", "2", "--set", "db=/var/lib/app.db",
      "--set", "pool=8", "--set", "empty=", "--set",
      "greeting=hello, world = ok", "--set", "pool=16", NULL});
  /* Each request on its own connection: both workers answer some. */
  for (int i = 0; i < 6; i++) {
    cr_expect_str_eq(get("/get/db", 200), "g1 /var/lib/app.db");
    cr_expect_str_eq(get("/get/greeting", 200), "g1 hello, world = ok");
    cr_expect_str_eq(get("/get/empty", 200), "g1 ", "set empty is \"\"");
    cr_expect_str_eq(get("/get/missing", 404), "g1 unset");
    cr_expect_str_eq(get("/int/pool", 200), "0 16", "the last --set wins");
    cr_expect_str_eq(get("/int/db", 200), "-22 -1", "-EINVAL, *out kept");
    cr_expect_str_eq(get("/int/missing", 200), "-2 -1", "-ENOENT");
  }
}

Test(config, bad_set_is_a_usage_error) {
  static const char *const bad[][2] = {
      {"novalue", "--set 'novalue'"},
      {"=x", "--set '=x'"},
      {"a b=c", "--set 'a b=c'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct run_result r;
    int err = run_mchost_sync((const char *const[]){"--plugin", SETTINGS_SO,
                                                    "--set", bad[i][0], NULL},
                              NULL, &r, 10000);
    cr_assert_eq(err, 0);
    cr_expect_eq(r.exit_code, 2, "--set %s: exit %d", bad[i][0], r.exit_code);
    cr_expect(strstr(r.err, bad[i][1]) != NULL &&
                  strstr(r.err, "KEY=VALUE") != NULL,
              "--set %s: %s", bad[i][0], r.err);
    run_result_free(&r);
  }
}
