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
static char CONF[64]; /* this test's --config file, if any */

static void srv_fini(void) {
  srv_stop(&S);
  if (CONF[0] != '\0')
    unlink(CONF);
}

/* Writes this test's --config file (made on the first call). */
static void conf_write(const char *text) {
  FILE *f;
  if (CONF[0] == '\0') {
    int fd;
    snprintf(CONF, sizeof CONF, "/tmp/mchost-test-config-XXXXXX");
    fd = mkstemp(CONF);
    cr_assert(fd >= 0);
    close(fd);
  }
  f = fopen(CONF, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* Polls GET target until its body is `want`, up to timeout_ms; returns 1
 * then, else 0 (the last body in last). */
static int wait_body(const char *target, const char *want, int timeout_ms,
                     char *last, size_t lastlen) {
  int64_t deadline = deadline_in(timeout_ms);
  static struct http_resp r;
  for (;;) {
    if (http_get(S.port, target, &r) == 0) {
      snprintf(last, lastlen, "%.200s", r.body);
      if (strcmp(r.body, want) == 0)
        return 1;
    }
    if (remaining_ms(deadline) == 0)
      return 0;
    sleep_ms(50);
  }
}

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

/* ---- --config FILE ---- */

Test(config, file_options_and_plugin_settings_reach_workers, .fini = srv_fini,
     .timeout = 60) {
  conf_write("# the app\n"
             "workers = 2\n"
             "kill-timeout = 5\n"
             "\n"
             "[plugin]\n"
             "db = /var/lib/app.db   \n"
             "pool = 4\n");
  start((const char *const[]){"--plugin", SETTINGS_SO, "--config", CONF, NULL});
  cr_expect_eq(wait_workers(S.pid, 2, 10000, 200), 2,
               "workers = 2 in the file" SRV_LOG_FMT, srv_log_tail(&S));
  for (int i = 0; i < 4; i++) {
    cr_expect_str_eq(get("/get/db", 200), "g1 /var/lib/app.db");
    cr_expect_str_eq(get("/int/pool", 200), "0 4");
  }
}

Test(config, flags_then_variables_then_file, .fini = srv_fini, .timeout = 60) {
  int err;
  conf_write("workers = 3\n[plugin]\ndb = file\npool = 4\n");
  err = srv_start_env(&S,
                      (const char *const[]){"--plugin", SETTINGS_SO, "--config",
                                            CONF, "--set", "db=flag", NULL},
                      (const char *const[]){"MCHOST_WORKERS=2", NULL}, 20000);
  cr_assert_eq(err, 0, "mchost did not start: %d" SRV_LOG_FMT, err,
               srv_log_tail(&S));
  cr_expect_eq(wait_workers(S.pid, 2, 10000, 200), 2,
               "MCHOST_WORKERS wins over the file" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_str_eq(get("/get/db", 200), "g1 flag", "--set wins over [plugin]");
  cr_expect_str_eq(get("/get/pool", 200), "g1 4");
}

Test(config, a_bad_line_is_a_usage_error_naming_file_and_line) {
  static const char *const lines[][2] = {
      {"workers = 2\nwokers = 4\n",
       "2: unknown option 'wokers' (did you mean 'workers'?)"},
      {"[plugin]\ndb /x\n", "2: 'db /x' is not NAME = VALUE"},
      {"[app]\n", "1: unknown section '[app]'"},
      {"\n\nmax-body = 8X\n", "3: max-body = '8X': not a size"},
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    struct run_result r;
    char want[160];
    conf_write(lines[i][0]);
    cr_assert_eq(run_mchost_sync((const char *const[]){"--plugin", SETTINGS_SO,
                                                       "--config", CONF, NULL},
                                 NULL, &r, 10000),
                 0);
    snprintf(want, sizeof want, "mchost: %s:%s", CONF, lines[i][1]);
    cr_expect_eq(r.exit_code, 2, "%s: exit %d", lines[i][0], r.exit_code);
    cr_expect(strstr(r.err, want) != NULL, "want: %s\ngot: %s", want, r.err);
    run_result_free(&r);
  }
  unlink(CONF);
}

/* ---- reload ---- */

Test(config, reload_reads_plugin_again_and_set_stays, .fini = srv_fini,
     .timeout = 90) {
  char last[256];
  conf_write("workers = 1\n[plugin]\ndb = one\nkept = file\n");
  start((const char *const[]){"--plugin", SETTINGS_SO, "--config", CONF,
                              "--set", "kept=flag", NULL});
  cr_expect_str_eq(get("/get/db", 200), "g1 one");
  conf_write("workers = 2\n[plugin]\ndb = two\nkept = file2\n");
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_assert(wait_body("/get/db", "g2 two", 30000, last, sizeof last),
            "after SIGHUP: %s" SRV_LOG_FMT, last, srv_log_tail(&S));
  cr_expect_str_eq(get("/get/kept", 200), "g2 flag", "--set stays");
  cr_expect(wait_log(&S,
                     ": workers changed: mchost's own options take "
                     "effect at the next restart",
                     5000),
            SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(wait_workers(S.pid, 1, 10000, 300), 1,
               "workers = 2 waits for a restart" SRV_LOG_FMT, srv_log_tail(&S));
}

Test(config, a_broken_file_on_reload_keeps_the_old_generation, .fini = srv_fini,
     .timeout = 90) {
  char last[256], want[160];
  conf_write("workers = 1\n[plugin]\ndb = one\n");
  start((const char *const[]){"--plugin", SETTINGS_SO, "--config", CONF, NULL});
  conf_write("workers = 1\n[plugin]\ndb = two\nbroken line\n");
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  snprintf(want, sizeof want,
           "reload to generation 2 failed: %s:4: 'broken line' is not "
           "NAME = VALUE; generation 1 keeps serving",
           CONF);
  cr_assert(wait_log(&S, want, 20000), "want: %s" SRV_LOG_FMT, want,
            srv_log_tail(&S));
  cr_expect_str_eq(get("/get/db", 200), "g1 one");
  cr_expect(srv_alive(&S));
  /* fixed, the next reload goes through */
  conf_write("workers = 1\n[plugin]\ndb = three\n");
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_expect(wait_body("/get/db", "g2 three", 30000, last, sizeof last),
            "after the fix: %s" SRV_LOG_FMT, last, srv_log_tail(&S));
}

/* A worker started later (a crash, TTIN) reads what its generation read,
 * not the file as it is now. */
Test(config, a_replaced_worker_gets_its_generations_settings, .fini = srv_fini,
     .timeout = 60) {
  char last[256];
  pid_t first;
  conf_write("workers = 1\n[plugin]\ndb = one\n");
  start((const char *const[]){"--plugin", SETTINGS_SO, "--config", CONF, NULL});
  first = only_worker(S.pid, 10000);
  cr_assert(first > 0);
  conf_write("workers = 1\n[plugin]\ndb = two\n");
  cr_assert_eq(kill(first, SIGKILL), 0);
  cr_assert(wait_pid_gone(first, 10000));
  cr_assert(wait_body("/get/db", "g1 one", 20000, last, sizeof last),
            "the replacement: %s" SRV_LOG_FMT, last, srv_log_tail(&S));
}

/* ---- MCHOST_* variables and flags that mean nothing ---- */

Test(config, unknown_variables_are_warned_about_once, .fini = srv_fini,
     .timeout = 60) {
  int err = srv_start_env(
      &S,
      (const char *const[]){"--plugin", SETTINGS_SO, "--workers", "2", NULL},
      (const char *const[]){"MCHOST_MAXBODY=8M", "MCHOST_WORKERZ=3",
                            "MCHOST_ENV=production", NULL},
      20000);
  cr_assert_eq(err, 0, "mchost did not start: %d" SRV_LOG_FMT, err,
               srv_log_tail(&S));
  cr_expect_eq(wait_workers(S.pid, 2, 10000, 200), 2);
  cr_expect_eq(log_count(&S, "MCHOST_MAXBODY is not an mchost variable (did "
                             "you mean MCHOST_MAX_BODY?)"),
               1, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "MCHOST_WORKERZ is not an mchost variable (did "
                             "you mean MCHOST_WORKERS?)"),
               1, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "MCHOST_ENV"), 0, "MCHOST_ENV is ours");
}

Test(config, an_unknown_flag_names_the_closest) {
  struct run_result r;
  cr_assert_eq(run_mchost_sync((const char *const[]){"--prot", "3000", NULL},
                               NULL, &r, 10000),
               0);
  cr_expect_eq(r.exit_code, 2);
  cr_expect(strstr(r.err, "unknown option '--prot' (did you mean --port?)") !=
                NULL,
            "%s", r.err);
  run_result_free(&r);
}
