/* test_config.c - option values as a user types them, and what they mean. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fdlimit.h"
#include "settings.h"

Test(config, sizes_take_k_m_g_suffixes) {
  uint64_t v = 0;
  cr_assert_eq(config_parse_size("512", &v), 0);
  cr_expect_eq(v, 512);
  cr_assert_eq(config_parse_size("64K", &v), 0);
  cr_expect_eq(v, 64 * 1024);
  cr_assert_eq(config_parse_size("1m", &v), 0);
  cr_expect_eq(v, 1024 * 1024);
  cr_assert_eq(config_parse_size("2GB", &v), 0);
  cr_expect_eq(v, 2ull * 1024 * 1024 * 1024);
}

Test(config, bad_sizes_are_refused) {
  uint64_t v = 7;
  cr_expect_eq(config_parse_size("12Q", &v), -EINVAL);
  cr_expect_eq(config_parse_size("", &v), -EINVAL);
  cr_expect_eq(config_parse_size("-1K", &v), -EINVAL);
  cr_expect_eq(config_parse_size("1KK", &v), -EINVAL);
  cr_expect_eq(config_parse_size("99999999999999999999", &v), -ERANGE);
  cr_expect_eq(config_parse_size("20000000000000G", &v), -ERANGE);
  cr_expect_eq(v, 7, "a refused value must not be stored");
}

Test(config, durations_are_seconds_with_optional_unit) {
  uint64_t ms = 0;
  cr_assert_eq(config_parse_duration("30", &ms), 0);
  cr_expect_eq(ms, 30000);
  cr_assert_eq(config_parse_duration("0.5", &ms), 0);
  cr_expect_eq(ms, 500);
  cr_assert_eq(config_parse_duration("250ms", &ms), 0);
  cr_expect_eq(ms, 250);
  cr_assert_eq(config_parse_duration("2s", &ms), 0);
  cr_expect_eq(ms, 2000);
  cr_expect_eq(config_parse_duration("soon", &ms), -EINVAL);
  cr_expect_eq(config_parse_duration("5m", &ms), -EINVAL);
}

Test(config, ports_and_counts_have_ranges) {
  uint64_t v;
  cr_expect_eq(config_parse_uint("0", 0, 65535, &v), 0);
  cr_expect_eq(config_parse_uint("65535", 0, 65535, &v), 0);
  cr_expect_eq(config_parse_uint("65536", 0, 65535, &v), -ERANGE);
  cr_expect_eq(config_parse_uint("0", 1, 1024, &v), -ERANGE);
  cr_expect_eq(config_parse_uint("4x", 1, 1024, &v), -EINVAL);
  cr_expect_eq(config_parse_uint(" 4", 1, 1024, &v), -EINVAL);
}

Test(config, admin_addresses_are_addr_colon_port) {
  struct sockaddr_storage ss;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  cr_assert_eq(config_parse_addr("127.0.0.1:9100", &ss), 0);
  cr_expect_eq(ss.ss_family, AF_INET);
  cr_expect_eq(ntohs(v4->sin_port), 9100);
  cr_expect_eq(ntohl(v4->sin_addr.s_addr), 0x7f000001);
  cr_assert_eq(config_parse_addr("[::1]:0", &ss), 0);
  cr_expect_eq(ss.ss_family, AF_INET6);
  cr_expect_eq(ntohs(v6->sin6_port), 0);
  cr_expect(IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr));
  cr_expect_eq(config_parse_addr("127.0.0.1:65536", &ss), -ERANGE);
  cr_expect_eq(config_parse_addr("127.0.0.1", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr(":9100", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr("127.0.0.1:", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr("localhost:9100", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr("::1:9100", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr("[::1]9100", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr("[127.0.0.1]:9100", &ss), -EINVAL);
  cr_expect_eq(config_parse_addr("1.2.3.4:80x", &ss), -EINVAL);
}

static int load(struct config *cfg, char *err, size_t errlen, int argc,
                char **argv) {
  return config_load(cfg, argc, argv, 1, err, errlen);
}

Test(config, defaults_match_the_design) {
  struct config cfg;
  char err[256];
  char *argv[] = {"mchost", "--plugin", "x.so"};
  unsetenv("MCHOST_ENV");
  cr_assert_eq(load(&cfg, err, sizeof err, 3, argv), 0, "%s", err);
  cr_expect_str_eq(cfg.host, "0.0.0.0");
  cr_expect_eq(cfg.port, 3000);
  cr_expect_eq(cfg.kill_timeout_ms, 30000);
  cr_expect_eq(cfg.request_timeout_ms, 30000);
  cr_expect_eq(cfg.header_timeout_ms, 10000);
  cr_expect_eq(cfg.keepalive_timeout_ms, 65000);
  cr_expect_eq(cfg.admin, NULL);
  cr_expect_eq(cfg.drain_delay_ms, 0);
  cr_expect_eq(cfg.max_body, 1024 * 1024);
  cr_expect_eq(cfg.max_header_size, 8 * 1024);
  cr_expect_eq(cfg.max_connections, 0); /* sized from the fd limit */
  cr_expect_eq(cfg.cooldown_ms, 100);
  cr_expect_str_eq(cfg.ext, "c,h");
  cr_expect_eq(cfg.reload_on, 0);
}

Test(config, flag_wins_over_environment) {
  struct config cfg;
  char err[256];
  char *argv[] = {"mchost", "--workers=3"};
  setenv("MCHOST_WORKERS", "5", 1);
  setenv("MCHOST_MAX_BODY", "2K", 1);
  cr_assert_eq(load(&cfg, err, sizeof err, 2, argv), 0, "%s", err);
  cr_expect_eq(cfg.workers, 3);
  cr_expect_eq(cfg.max_body, 2048);
  unsetenv("MCHOST_WORKERS");
  unsetenv("MCHOST_MAX_BODY");
}

Test(config, bad_environment_value_names_the_variable) {
  struct config cfg;
  char err[256];
  char *argv[] = {"mchost"};
  setenv("MCHOST_PORT", "http", 1);
  cr_expect_neq(load(&cfg, err, sizeof err, 1, argv), 0);
  cr_expect(strstr(err, "MCHOST_PORT='http'") != NULL, "message: %s", err);
  unsetenv("MCHOST_PORT");
}

Test(config, reload_follows_dev_env_and_no_reload_wins) {
  struct config cfg;
  char err[256];
  char *plain[] = {"mchost"};
  char *dev[] = {"mchost", "--dev"};
  char *both[] = {"mchost", "--dev", "--no-reload"};

  setenv("MCHOST_ENV", "development", 1);
  cr_assert_eq(load(&cfg, err, sizeof err, 1, plain), 0, "%s", err);
  cr_expect_eq(cfg.reload_on, 1, "MCHOST_ENV=development turns reload on");
  setenv("MCHOST_ENV", "production", 1);
  cr_assert_eq(load(&cfg, err, sizeof err, 1, plain), 0, "%s", err);
  cr_expect_eq(cfg.reload_on, 0);
  unsetenv("MCHOST_ENV");
  cr_assert_eq(load(&cfg, err, sizeof err, 2, dev), 0, "%s", err);
  cr_expect_eq(cfg.reload_on, 1);
  cr_expect_eq(cfg.log_level, 3, "--dev logs at debug level");
  cr_assert_eq(load(&cfg, err, sizeof err, 3, both), 0, "%s", err);
  cr_expect_eq(cfg.reload_on, 0, "--no-reload wins over --dev");
}

Test(config, yield_is_on_unless_no_yield) {
  struct config cfg;
  char err[256];
  char *plain[] = {"mchost"};
  char *off[] = {"mchost", "--no-yield"};

  cr_assert_eq(load(&cfg, err, sizeof err, 1, plain), 0, "%s", err);
  cr_expect_eq(cfg.no_yield, 0, "workers yield by default");
  cr_assert_eq(load(&cfg, err, sizeof err, 2, off), 0, "%s", err);
  cr_expect_eq(cfg.no_yield, 1);
  setenv("MCHOST_NO_YIELD", "1", 1);
  cr_assert_eq(load(&cfg, err, sizeof err, 1, plain), 0, "%s", err);
  cr_expect_eq(cfg.no_yield, 1, "MCHOST_NO_YIELD=1 turns it off too");
  unsetenv("MCHOST_NO_YIELD");
}

Test(config, watch_repeats_and_comes_from_a_colon_list) {
  struct config cfg;
  char err[256];
  char *argv[] = {"mchost", "--watch", "src", "--watch=include"};
  cr_assert_eq(load(&cfg, err, sizeof err, 4, argv), 0, "%s", err);
  cr_assert_eq(cfg.watch.n, 2);
  cr_expect_str_eq(cfg.watch.v[0], "src");
  cr_expect_str_eq(cfg.watch.v[1], "include");
  setenv("MCHOST_WATCH", "a:b:c", 1);
  cr_assert_eq(load(&cfg, err, sizeof err, 1, argv), 0, "%s", err);
  cr_expect_eq(cfg.watch.n, 3);
  unsetenv("MCHOST_WATCH");
}

Test(config, unknown_and_valueless_options_are_usage_errors) {
  struct config cfg;
  char err[256];
  char *unknown[] = {"mchost", "--bogus=1"};
  char *novalue[] = {"mchost", "--port"};
  cr_expect_neq(load(&cfg, err, sizeof err, 2, unknown), 0);
  cr_expect(strstr(err, "unknown option '--bogus'") != NULL, "%s", err);
  cr_expect_neq(load(&cfg, err, sizeof err, 2, novalue), 0);
  cr_expect(strstr(err, "--port") != NULL, "%s", err);
}

/* --max-connections 0 (the default) is what the open-file limit leaves
 * after the worker's reserve; a larger option is bounded by it. */
Test(config, max_connections_are_sized_from_the_fd_limit) {
  cr_expect_eq(fdlimit_connections(0, 20000), 20000 - FDLIMIT_RESERVE);
  cr_expect_eq(fdlimit_connections(500, 20000), 500);
  cr_expect_eq(fdlimit_connections(50000, 20000), 20000 - FDLIMIT_RESERVE);
  cr_expect_eq(fdlimit_connections(0, 100), 50);
  cr_expect_eq(fdlimit_connections(0, 1), 1);
}

/* ---- the plugin's settings: --set and the table behind mc_config() ---- */

Test(config, set_fills_the_table_mc_config_reads) {
  struct config cfg;
  char err[256];
  char *argv[] = {"mchost", "--set",  "db=/a.db", "--set=url=http://x/?a=b",
                  "--set",  "empty=", "--set",    "db=/b.db"};
  int64_t n = 7;

  cr_assert_eq(load(&cfg, err, sizeof err, 8, argv), 0, "%s", err);
  cr_expect_str_eq(mc_config("db"), "/b.db", "the last --set wins");
  cr_expect_str_eq(mc_config("url"), "http://x/?a=b", "split at the first =");
  cr_expect_str_eq(mc_config("empty"), "");
  cr_expect_null(mc_config("DB"), "keys are case-sensitive");
  cr_expect_null(mc_config(NULL));
  cr_expect_eq(mc_config_int("db", &n), -EINVAL);
  cr_expect_eq(mc_config_int("nope", &n), -ENOENT);
  cr_expect_eq(n, 7, "*out is left alone on error");
  /* config_load() starts from an empty table */
  cr_assert_eq(load(&cfg, err, sizeof err, 1, argv), 0, "%s", err);
  cr_expect_null(mc_config("db"));
}

Test(config, set_int_values) {
  struct settings *s = settings_current();
  int64_t v = 0;
  settings_clear(s, SETTINGS_ALL);
  cr_assert_eq(settings_put_arg(s, "a=-12", SETTINGS_FLAG), 0);
  cr_assert_eq(settings_put_arg(s, "b=+9223372036854775807", SETTINGS_FLAG), 0);
  cr_assert_eq(settings_put_arg(s, "c=-9223372036854775809", SETTINGS_FLAG), 0);
  cr_assert_eq(settings_put_arg(s, "d= 4", SETTINGS_FLAG), 0);
  cr_expect_eq(mc_config_int("a", &v), 0);
  cr_expect_eq(v, -12);
  cr_expect_eq(mc_config_int("b", &v), 0);
  cr_expect_eq(v, INT64_MAX);
  cr_expect_eq(mc_config_int("c", &v), -ERANGE);
  cr_expect_eq(mc_config_int("d", &v), -EINVAL);
  settings_clear(s, SETTINGS_ALL);
}

Test(config, settings_limits) {
  struct settings *s = settings_current();
  char key[MC_CONFIG_KEY_MAX + 2], value[MC_CONFIG_VALUE_MAX + 2];

  settings_clear(s, SETTINGS_ALL);
  memset(key, 'k', sizeof key);
  memset(value, 'v', sizeof value);
  cr_expect_eq(settings_put(s, key, MC_CONFIG_KEY_MAX, "", 0, SETTINGS_FLAG),
               0);
  cr_expect_eq(
      settings_put(s, key, MC_CONFIG_KEY_MAX + 1, "", 0, SETTINGS_FLAG),
      -EINVAL);
  cr_expect_eq(
      settings_put(s, "v", 1, value, MC_CONFIG_VALUE_MAX, SETTINGS_FLAG), 0);
  cr_expect_eq(
      settings_put(s, "w", 1, value, MC_CONFIG_VALUE_MAX + 1, SETTINGS_FLAG),
      -E2BIG);
  cr_expect_eq(settings_put(s, "a/b", 3, "x", 1, SETTINGS_FLAG), -EINVAL);
  cr_expect_eq(settings_put(s, "", 0, "x", 1, SETTINGS_FLAG), -EINVAL);
  cr_expect_eq(settings_put(s, "nul", 3, "a\0b", 3, SETTINGS_FLAG), -EINVAL);
  cr_expect_eq(settings_put(s, "A.b_c-9", 7, "x", 1, SETTINGS_FLAG), 0);
  settings_clear(s, SETTINGS_ALL);
  for (int i = 0; i < MC_CONFIG_MAX; i++) {
    char k[16];
    snprintf(k, sizeof k, "k%d", i);
    cr_assert_eq(settings_put(s, k, strlen(k), "1", 1, SETTINGS_FILE), 0);
  }
  cr_expect_eq(settings_put(s, "one-more", 8, "1", 1, SETTINGS_FILE), -ENOSPC);
  cr_expect_eq(settings_put(s, "k3", 2, "2", 1, SETTINGS_FILE), 0,
               "a key already there is replaced, even when full");
  cr_expect_str_eq(mc_config("k3"), "2");
  settings_clear(s, SETTINGS_ALL);
}

Test(config, a_flag_setting_wins_over_the_file) {
  struct settings *s = settings_current(), next = {.n = 0};

  settings_clear(s, SETTINGS_ALL);
  cr_assert_eq(settings_put_arg(s, "db=flag", SETTINGS_FLAG), 0);
  cr_assert_eq(settings_put_arg(s, "db=file", SETTINGS_FILE), 0);
  cr_assert_eq(settings_put_arg(s, "pool=4", SETTINGS_FILE), 0);
  cr_expect_str_eq(mc_config("db"), "flag");
  /* a reload: the flags copied, the file read again, then swapped in */
  cr_assert_eq(settings_copy(&next, s, SETTINGS_FLAG), 0);
  cr_assert_eq(settings_put_arg(&next, "db=file2", SETTINGS_FILE), 0);
  cr_assert_eq(settings_put_arg(&next, "new=1", SETTINGS_FILE), 0);
  settings_move(s, &next);
  cr_expect_eq(next.n, 0);
  cr_expect_str_eq(mc_config("db"), "flag");
  cr_expect_null(mc_config("pool"), "gone from the file: gone");
  cr_expect_str_eq(mc_config("new"), "1");
  settings_clear(s, SETTINGS_ALL);
}
