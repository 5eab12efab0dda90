/*
 * test_cli.c - the command line as a user meets it: --help, --version,
 * usage errors (exit 2), a plugin that cannot be used (exit 3), a runtime
 * failure (exit 1), and options taken from MCHOST_* variables.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define HELLO PLUGINS_DIR "/hello.so"
#define RUN_FMT                                                                \
  "\n----- stdout -----\n%s\n----- stderr -----\n%s\n------------------"

static struct run_result R; /* the run this test made, freed in .fini */
static struct srv S;        /* the server this test started, if any */
static int busy_fd = -1;    /* the socket that holds a port, if any */

static void cli_fini(void) {
  srv_stop(&S);
  run_result_free(&R);
  if (busy_fd >= 0)
    close(busy_fd);
}

TestSuite(cli, .fini = cli_fini, .timeout = 20);

/* Runs mchost to completion with `args`; a usage error or a refused plugin
 * must not take more than a few seconds. */
static void run(const char *const *args) {
  int err = run_mchost_sync(args, NULL, &R, 5000);
  cr_assert_eq(err, 0, "could not run %s: %s", MCHOST_BIN, strerror(-err));
  cr_assert_eq(R.timed_out, 0,
               "mchost still running after 5 s (killed)" RUN_FMT, R.out, R.err);
  cr_assert_eq(R.term_signal, 0, "mchost died of signal %d" RUN_FMT,
               R.term_signal, R.out, R.err);
}

Test(cli, help_lists_every_option_on_stdout) {
  static const char *const options[] = {"--plugin",
                                        "--host",
                                        "--port",
                                        "--workers",
                                        "--kill-timeout",
                                        "--request-timeout",
                                        "--header-timeout",
                                        "--keepalive-timeout",
                                        "--max-body",
                                        "--max-header-size",
                                        "--max-connections",
                                        "--log-level",
                                        "--help",
                                        "--version"};
  run((const char *const[]){"--help", NULL});
  cr_assert_eq(R.exit_code, 0, "exit code %d, want 0" RUN_FMT, R.exit_code,
               R.out, R.err);
  for (size_t i = 0; i < sizeof options / sizeof *options; i++)
    cr_expect_not_null(strstr(R.out, options[i]),
                       "--help does not mention %s on stdout" RUN_FMT,
                       options[i], R.out, R.err);
}

Test(cli, version_prints_version_and_abi) {
  char line[512];
  run((const char *const[]){"--version", NULL});
  cr_assert_eq(R.exit_code, 0, "exit code %d, want 0" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_assert_not_null(find_line(R.out, "mchost 0.1.0", line, sizeof line),
                     "no 'mchost 0.1.0' on stdout" RUN_FMT, R.out, R.err);
  cr_expect_not_null(strstr(line, "ABI 1"),
                     "the version line '%s' does not say 'ABI 1'", line);
}

Test(cli, unknown_option_is_a_usage_error) {
  run((const char *const[]){"--plugin", HELLO, "--bogus", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.err, "unknown option '--bogus'"),
                     "stderr lacks \"unknown option '--bogus'\"" RUN_FMT, R.out,
                     R.err);
}

Test(cli, workers_not_a_number_is_a_usage_error) {
  run((const char *const[]){"--plugin", HELLO, "--workers", "abc", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect(strstr(R.err, "--workers") && strstr(R.err, "abc"),
            "stderr should name the option and the value" RUN_FMT, R.out,
            R.err);
}

Test(cli, port_out_of_range_is_a_usage_error) {
  run((const char *const[]){"--plugin", HELLO, "--port", "70000", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.err, "--port"),
                     "stderr should name --port" RUN_FMT, R.out, R.err);
}

Test(cli, size_with_unknown_suffix_is_a_usage_error) {
  run((const char *const[]){"--plugin", HELLO, "--max-body", "12Q", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.err, "--max-body"),
                     "stderr should name --max-body" RUN_FMT, R.out, R.err);
}

Test(cli, option_without_value_is_a_usage_error) {
  /* --port is the last argument: its value is missing, not "". */
  run((const char *const[]){"--plugin", HELLO, "--port", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.err, "--port"),
                     "stderr should name --port" RUN_FMT, R.out, R.err);
}

Test(cli, host_that_is_no_address_is_a_usage_error) {
  run((const char *const[]){"--plugin", HELLO, "--host", "999.1.1.1", "--port",
                            "0", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect(strstr(R.err, "--host") && strstr(R.err, "999.1.1.1"),
            "stderr should name --host and its value" RUN_FMT, R.out, R.err);
}

Test(cli, plugin_is_required) {
  run((const char *const[]){"--port", "0", "--host", "127.0.0.1", NULL});
  cr_expect_eq(R.exit_code, 2, "exit code %d, want 2" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.err, "--plugin"),
                     "stderr should name --plugin" RUN_FMT, R.out, R.err);
}

Test(cli, missing_plugin_file_exits_3_and_says_why) {
  run((const char *const[]){"--plugin", "/nonexistent.so", "--port", "0",
                            "--host", "127.0.0.1", "--workers", "1", NULL});
  cr_expect_eq(R.exit_code, 3, "exit code %d, want 3" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.err, "/nonexistent.so"),
                     "stderr should name the file" RUN_FMT, R.out, R.err);
  /* strerror() and uv_strerror() capitalize differently: either will do. */
  cr_expect_not_null(strcasestr(R.err, "No such file"),
                     "stderr should say 'No such file'" RUN_FMT, R.out, R.err);
}

Test(cli, port_in_use_exits_1) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof sa;
  char port[16];
  /* Hold a port ourselves, in LISTEN state, so bind() must fail. */
  busy_fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(busy_fd, 0, "socket: %s", strerror(errno));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(busy_fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind: %s",
               strerror(errno));
  cr_assert_eq(listen(busy_fd, 1), 0, "listen: %s", strerror(errno));
  cr_assert_eq(getsockname(busy_fd, (struct sockaddr *)&sa, &len), 0);
  snprintf(port, sizeof port, "%d", ntohs(sa.sin_port));

  run((const char *const[]){"--plugin", HELLO, "--host", "127.0.0.1", "--port",
                            port, "--workers", "1", NULL});
  cr_expect_eq(R.exit_code, 1, "exit code %d, want 1" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strcasestr(R.err, "address already in use"),
                     "stderr should say 'address already in use'" RUN_FMT,
                     R.out, R.err);
}

/* A worker count the default (one per CPU) would not give, so the test
 * shows where the number came from. */
static int not_default(int want) {
  return want == cpu_count() ? want + 1 : want;
}

static void start_with_env(const char *const *args, const char *const *env) {
  int err = spawn_mchost_env(args, env, &S);
  cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
  err = srv_wait_port(&S, 5000);
  cr_assert_gt(err, 0, "no 'listening on' line: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
  err = srv_wait_ready(&S, 5000);
  cr_assert_eq(err, 0, "GET / never answered 200: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
}

Test(cli, workers_from_environment) {
  char env_workers[32];
  int n = not_default(1);
  snprintf(env_workers, sizeof env_workers, "MCHOST_WORKERS=%d", n);
  start_with_env((const char *const[]){"--plugin", HELLO, NULL},
                 (const char *const[]){env_workers, NULL});
  int got = wait_workers(S.pid, n, 3000, 300);
  cr_expect_eq(got, n, "%s: want %d workers, saw %d" SRV_LOG_FMT, env_workers,
               n, got, srv_log_tail(&S));
}

Test(cli, flag_wins_over_environment) {
  int n = not_default(2);
  char flag[16];
  snprintf(flag, sizeof flag, "%d", n);
  start_with_env(
      (const char *const[]){"--plugin", HELLO, "--workers", flag, NULL},
      (const char *const[]){"MCHOST_WORKERS=1", NULL});
  int got = wait_workers(S.pid, n, 3000, 300);
  cr_expect_eq(
      got, n,
      "--workers %d with MCHOST_WORKERS=1: want %d workers, saw %d" SRV_LOG_FMT,
      n, n, got, srv_log_tail(&S));
}
