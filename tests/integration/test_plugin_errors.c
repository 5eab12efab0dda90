/*
 * test_plugin_errors.c - a plugin that cannot be used: mchost says exactly
 * what is wrong, once, and exits 3 instead of respawning workers that can
 * never serve (master-cluster and Kore respawn forever).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct srv S;
static char not_elf[64]; /* a file this test created, if any */

static void errors_fini(void) {
  srv_stop(&S);
  if (not_elf[0])
    unlink(not_elf);
}

TestSuite(plugin_errors, .fini = errors_fini, .timeout = 20);

/* Starts mchost on `plugin` with `workers` workers and checks that the
 * master gives up with exit code 3 within 5 s. Returns the log's line that
 * holds `key` (a static buffer), after checking that `key` occurs exactly
 * `want_count` times, or between 1 and `workers` times when want_count is
 * 0 (each worker may report its own failure, but nothing is retried). */
static const char *expect_refused(const char *plugin, const char *workers,
                                  const char *key, int want_count) {
  static char line[1024];
  srv_expect_refused_start(
      &S, (const char *const[]){"--plugin", plugin, "--workers", workers, NULL},
      5000);
  int n = log_count(&S, key);
  if (want_count > 0)
    cr_expect_eq(n, want_count,
                 "'%s' is on %d lines of the log, want %d" SRV_LOG_FMT, key, n,
                 want_count, srv_log_tail(&S));
  else
    cr_expect(n >= 1 && n <= atoi(workers),
              "'%s' is on %d lines of the log, want 1..%s" SRV_LOG_FMT, key, n,
              workers, srv_log_tail(&S));
  char *all = srv_log_read(&S);
  const char *found = find_line(all, key, line, sizeof line);
  free(all);
  cr_assert_not_null(found, "no '%s' in the log" SRV_LOG_FMT, key,
                     srv_log_tail(&S));
  return line;
}

Test(plugin_errors, file_that_is_not_elf_cannot_load) {
  static const char text[] = "this is a text file, not a shared object\n";
  snprintf(not_elf, sizeof not_elf, "/tmp/mchost-notelf-XXXXXX.so");
  int fd = mkstemps(not_elf, 3);
  cr_assert_geq(fd, 0, "mkstemps: %s", strerror(errno));
  cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  expect_refused(not_elf, "1", "cannot load plugin", 1);
}

Test(plugin_errors, missing_mc_run_is_named) {
  expect_refused(TEST_PLUGINS_DIR "/no_run.so", "1", "mc_run", 1);
}

Test(plugin_errors, missing_abi_symbol_names_mc_plugin) {
  expect_refused(TEST_PLUGINS_DIR "/no_abi.so", "1", "MC_PLUGIN", 1);
}

Test(plugin_errors, abi_mismatch_prints_both_versions) {
  const char *line =
      expect_refused(TEST_PLUGINS_DIR "/abi_mismatch.so", "1", "999", 1);
  cr_expect_not_null(strstr(line, "ABI 1"),
                     "the line with 999 does not say 'ABI 1': %s" SRV_LOG_FMT,
                     line, srv_log_tail(&S));
}

Test(plugin_errors, init_refusal_prints_its_code) {
  const char *line =
      expect_refused(TEST_PLUGINS_DIR "/init_refuse.so", "1", "mc_init", 1);
  /* "5" alone: a pid or a timestamp in the same line would contain it. */
  cr_expect(has_number_token(line, 5),
            "the line with mc_init does not give the code 5: %s" SRV_LOG_FMT,
            line, srv_log_tail(&S));
}

Test(plugin_errors, refusal_with_two_workers_is_not_retried) {
  /* Each worker may say it failed; a respawn loop would say it again and
   * again until the 5 s are up. */
  expect_refused(TEST_PLUGINS_DIR "/init_refuse.so", "2", "mc_init", 0);
}
