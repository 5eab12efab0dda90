/*
 * test_devloop.c - the plugin developer's loop (docs/debugging.md): a
 * crash report names function (file.c:LINE) from the plugin's debug
 * information; --crash-dir keeps a bundle per crash (secrets redacted,
 * size capped) that `mchost replay` runs again to the same crash, or to a
 * 200 against the fixed build.
 *
 * Fixtures: devloop.so crashes on GET /boom in boom(), on the line of
 * tests/plugins/devloop.c marked "the crash line"; devloop_fixed.so is
 * the same source built with the bug fixed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define DEVLOOP TEST_PLUGINS_DIR "/devloop.so"
#define DEVLOOP_FIXED TEST_PLUGINS_DIR "/devloop_fixed.so"
#define RUN_FMT                                                                \
  "\n----- stdout -----\n%s\n----- stderr -----\n%s\n------------------"

static struct srv S;
static struct run_result R;
static char dir[96]; /* the crash directory, inside a scratch directory */
static char scratch[64];

static void devloop_init(void) {
  snprintf(scratch, sizeof scratch, "/tmp/mchost-devloop-XXXXXX");
  cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
  snprintf(dir, sizeof dir, "%s/crashes", scratch);
}

static void devloop_fini(void) {
  srv_stop(&S);
  run_result_free(&R);
  rm_tree(scratch);
}

TestSuite(devloop, .init = devloop_init, .fini = devloop_fini, .timeout = 40);

/* "boom (devloop.c:N)" with N the line of the fixture's crash line. */
static void crash_site(char *out, size_t len) {
  char *src = read_file(DEVLOOP_SOURCE, NULL), *mark;
  int line = 1;
  cr_assert_not_null(src, "cannot read %s", DEVLOOP_SOURCE);
  mark = strstr(src, "/* the crash line */");
  cr_assert_not_null(mark);
  for (char *p = src; p < mark; p++)
    line += *p == '\n';
  snprintf(out, len, "boom (devloop.c:%d)", line);
  free(src);
}

static void start(const char *const *more) {
  const char *args[16] = {"--plugin", DEVLOOP, "--workers", "1"};
  int n = 4, err;
  for (int i = 0; more != NULL && more[i] != NULL && n < 15; i++)
    args[n++] = more[i];
  args[n] = NULL;
  err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
}

/* Sends `request` on its own connection and reads the answer. */
static void send_raw(const char *request, struct http_resp *r) {
  struct http_client c;
  int err = http_open(&c, S.port, 2000);
  cr_assert_eq(err, 0, "connect: %s", strerror(-err));
  err = http_send_str(&c, request);
  cr_assert_eq(err, 0, "send: %s", strerror(-err));
  err = http_read(&c, r, 0, 5000);
  http_close(&c);
  cr_assert_eq(err, 0, "no response: %s" SRV_LOG_FMT, http_strerror(err),
               srv_log_tail(&S));
}

/* The path of the n-th "crash bundle: PATH " line of the log (n from 1). */
static void bundle_path(int n, char *out, size_t len) {
  cr_assert_eq(srv_bundle_path(&S, n, out, len, 5000), 0,
               "fewer than %d bundle lines" SRV_LOG_FMT, n, srv_log_tail(&S));
}

static void replay(const char *const *args) {
  int err = run_mchost_sync(args, NULL, &R, 20000);
  cr_assert_eq(err, 0, "could not run mchost replay: %s", strerror(-err));
  cr_assert_eq(R.timed_out, 0, "mchost replay hung" RUN_FMT, R.out, R.err);
}

Test(devloop, crash_report_names_function_and_line) {
  char site[64], line[512];
  struct http_resp r;
  crash_site(site, sizeof site);
  start(NULL);
  send_raw("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n", &r);
  cr_expect_eq(r.status, 500);
  cr_assert(wait_log(&S, site, 5000), "no frame '%s' in the log" SRV_LOG_FMT,
            site, srv_log_tail(&S));
  char *log = srv_log_read(&S);
  cr_assert_not_null(
      find_line(log, "plugin crashed: SIGSEGV", line, sizeof line));
  cr_expect(strstr(line, "generation 1") != NULL,
            "the crash line does not say its generation: [%s]", line);
  free(log);
}

Test(devloop, bundle_replays_to_the_same_crash_and_the_fix_to_200) {
  const char *more[] = {"--crash-dir", dir, NULL};
  char path[512], site[64], frame[512];
  struct http_resp r;
  crash_site(site, sizeof site);
  start(more);
  send_raw("POST /boom?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
           "hello",
           &r);
  cr_expect_eq(r.status, 500);
  bundle_path(1, path, sizeof path);
  cr_assert(wait_log(&S, site, 5000), "no '%s' in the log" SRV_LOG_FMT, site,
            srv_log_tail(&S));
  char *log = srv_log_read(&S);
  cr_assert_not_null(find_line(log, site, frame, sizeof frame));
  free(log);

  const char *same[] = {"replay", path, NULL};
  replay(same);
  cr_expect_eq(R.exit_code, 3, "replay of a crash: exit %d" RUN_FMT,
               R.exit_code, R.out, R.err);
  cr_expect(strstr(R.err, "plugin crashed: SIGSEGV") != NULL &&
                strstr(R.err, "'POST /boom?x=1'") != NULL,
            "the replay did not crash the same way" RUN_FMT, R.out, R.err);
  /* the same frame, as the server's log printed it */
  cr_expect(strstr(R.err, strstr(frame, "  #")) != NULL,
            "the replay's backtrace lacks [%s]" RUN_FMT, strstr(frame, "  #"),
            R.out, R.err);
  cr_expect(strstr(R.out, "HTTP/1.1 500") != NULL, RUN_FMT, R.out, R.err);
  run_result_free(&R);

  const char *fixed[] = {"replay", path, "--plugin", DEVLOOP_FIXED, NULL};
  replay(fixed);
  cr_expect_eq(R.exit_code, 0, "replay against the fix: exit %d" RUN_FMT,
               R.exit_code, R.out, R.err);
  cr_expect(strstr(R.out, "HTTP/1.1 200 OK") != NULL &&
                strstr(R.out, "fixed\n") != NULL,
            "the fixed build did not answer 200" RUN_FMT, R.out, R.err);
}

Test(devloop, bundle_redacts_secrets) {
  const char *more[] = {"--crash-dir", dir, NULL};
  char path[512];
  struct http_resp r;
  struct stat st;
  start(more);
  send_raw("GET /boom HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret-a\r\n"
           "cookie: sid=s3cret-c\r\nX-Visible: plain-v\r\n\r\n",
           &r);
  bundle_path(1, path, sizeof path);
  char *text = read_file(path, NULL);
  cr_assert_not_null(text, "cannot read %s", path);
  cr_expect(strstr(text, "s3cret") == NULL, "a secret in the bundle:\n%s",
            text);
  cr_expect(strstr(text, "Authorization: [redacted]") != NULL &&
                strstr(text, "cookie: [redacted]") != NULL &&
                strstr(text, "X-Visible: plain-v") != NULL,
            "the bundle does not show what was redacted:\n%s", text);
  free(text);
  cr_expect(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
            "the crash directory is mode %o, want 0700",
            (unsigned)(st.st_mode & 0777));
  cr_expect(stat(path, &st) == 0 && (st.st_mode & 077) == 0,
            "a bundle is readable by others (mode %o)",
            (unsigned)(st.st_mode & 0777));
}

/* Total size and count of the bundles in dir. */
static long dir_size(int *count) {
  DIR *d = opendir(dir);
  struct dirent *e;
  long total = 0;
  char path[600];
  *count = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] != '.' && stat(path, &st) == 0) {
      total += (long)st.st_size;
      (*count)++;
    }
  }
  closedir(d);
  return total;
}

Test(devloop, crash_dir_stays_under_its_cap) {
  const char *more[] = {"--crash-dir", dir, "--crash-max", "3K", NULL};
  char request[1400], path[512], last[512];
  struct http_resp r;
  int count;
  start(more);
  /* each bundle ~1.5 KiB: a third one cannot fit */
  snprintf(request, sizeof request,
           "GET /boom HTTP/1.1\r\nHost: t\r\nX-Pad: %01000d\r\n\r\n", 0);
  for (int i = 1; i <= 5; i++) {
    send_raw(request, &r);
    cr_expect_eq(r.status, 500);
    bundle_path(i, path, sizeof path);
    cr_assert(srv_wait_ready(&S, 5000) == 0, "no replacement" SRV_LOG_FMT,
              srv_log_tail(&S));
  }
  snprintf(last, sizeof last, "%s", path);
  /* the last trim follows the last bundle line */
  int64_t deadline = deadline_in(3000);
  long total;
  while ((total = dir_size(&count)) > 3072 && now_ms() < deadline)
    sleep_ms(20);
  cr_expect(total <= 3072 && count >= 1,
            "%d bundles, %ld bytes, over --crash-max 3K", count, total);
  cr_expect(access(last, F_OK) == 0, "the newest bundle was removed");
}

/* ---- --dev: failures in the browser ---- */

static const char APP_C[] = "#include <mchost.h>\n"
                            "MC_PLUGIN();\n"
                            "void mc_run(mc_request *req, mc_response *res) {\n"
                            "  (void)req;\n"
                            "  mc_response_send(res, 200, \"%s\\n\", %d);\n"
                            "}\n";

static void write_app(const char *answer, int broken) {
  char path[128];
  FILE *f;
  snprintf(path, sizeof path, "%s/src/app.c", scratch);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  if (broken)
    fprintf(f, "int broken = undeclared_devloop_marker;\n");
  fprintf(f, APP_C, answer, (int)strlen(answer) + 1);
  fclose(f);
}

/* app.so built from src/app.c, served with --build; `mode` is "--dev" or
 * "--reload". */
static void start_app(const char *mode) {
  char src[96], build[1024], app[96];
  snprintf(src, sizeof src, "%s/src", scratch);
  snprintf(app, sizeof app, "%s/app.so", scratch);
  cr_assert_eq(mkdir(src, 0755), 0);
  write_app("v1", 0);
  snprintf(build, sizeof build,
           "%s -shared -fPIC -I'%s' -o '%s' '%s/app.c' 2>&1", TEST_CC, SDK_DIR,
           app, src);
  cr_assert_eq(system(build), 0, "the first build failed: %s", build);
  const char *args[] = {
      "--plugin", app,   "--workers",  "1",  mode,          "--watch", src,
      "--build",  build, "--cooldown", "50", "--crash-dir", "off",     NULL};
  int err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start: %s" SRV_LOG_FMT, strerror(-err),
               srv_log_tail(&S));
}

/* Polls GET / until its body is `body` (5 s). */
static void wait_body(const char *body, struct http_resp *r) {
  int64_t deadline = deadline_in(8000);
  do {
    send_raw("GET / HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\n\r\n", r);
    if (strcmp(r->body, body) == 0)
      return;
    sleep_ms(50);
  } while (now_ms() < deadline);
  cr_assert_str_eq(r->body, body, "no '%s' from GET /" SRV_LOG_FMT, body,
                   srv_log_tail(&S));
}

/* Serves v1 with `mode`, then saves a source that does not compile and
 * waits until its build has failed. */
static void break_the_build(const char *mode, struct http_resp *r) {
  start_app(mode);
  wait_body("v1\n", r);
  write_app("v2", 1);
  cr_assert(wait_log(&S, "build failed", 10000), "no failed build" SRV_LOG_FMT,
            srv_log_tail(&S));
}

Test(devloop, dev_failed_build_shown_until_a_build_succeeds) {
  struct http_resp r;
  int64_t deadline;
  break_the_build("--dev", &r);
  /* The master logs the failure, then tells the workers: a request just
   * after the log line may still be served by v1. */
  for (deadline = deadline_in(5000);; sleep_ms(20)) {
    send_raw("GET / HTTP/1.1\r\nHost: t\r\nAccept: text/html,*/*\r\n\r\n", &r);
    if (r.status == 500 || now_ms() >= deadline)
      break;
  }
  cr_expect_eq(r.status, 500);
  cr_expect(strstr(r.body, "undeclared_devloop_marker") != NULL &&
                strstr(r.body, "<pre>") != NULL &&
                strstr(r.body, "http-equiv=\"refresh\"") != NULL,
            "the browser is not shown the compiler's error:\n%s", r.body);
  cr_expect(strstr(http_header(&r, "Content-Type"), "text/html") != NULL);
  send_raw("GET /api HTTP/1.1\r\nHost: t\r\n\r\n", &r);
  cr_expect_eq(r.status, 500);
  cr_expect(
      strstr(r.body, "undeclared_devloop_marker") != NULL &&
          strstr(r.body, "<pre>") == NULL,
      "a client that is not a browser does not get the error as text:\n%s",
      r.body);
  cr_expect(strstr(http_header(&r, "Content-Type"), "text/plain") != NULL);
  write_app("v2", 0);
  wait_body("v2\n", &r);
  cr_expect_eq(r.status, 200);
}

Test(devloop, without_dev_a_failed_build_and_a_crash_say_nothing) {
  struct http_resp r;
  break_the_build("--reload", &r);
  send_raw("GET / HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\n\r\n", &r);
  cr_expect_eq(r.status, 200);
  cr_expect_str_eq(r.body, "v1\n", "without --dev the old build answers");
  srv_stop(&S);
  const char *more[] = {"--crash-dir", dir, NULL};
  start(more);
  send_raw("GET /boom HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\n\r\n", &r);
  cr_expect_eq(r.status, 500);
  cr_expect_str_eq(r.body, "500 Internal Server Error\n",
                   "a 500 outside --dev tells about the plugin");
}

/* The page names the frames as the master's log does: function and
 * file:line, read from the generation's snapshot. */
Test(devloop, dev_crash_answers_with_report_and_replay_command) {
  const char *more[] = {"--dev", "--crash-dir", dir, NULL};
  struct http_resp r;
  char site[64];
  crash_site(site, sizeof site);
  start(more);
  send_raw("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n", &r);
  cr_expect_eq(r.status, 500);
  cr_expect(strstr(r.body, "plugin crashed: SIGSEGV") != NULL &&
                strstr(r.body, "devloop.so+0x") != NULL &&
                strstr(r.body, "mchost replay ") != NULL &&
                strstr(r.body, ".bundle") != NULL,
            "the crash page lacks the report or the replay command:\n%s",
            r.body);
  cr_expect(strstr(r.body, site) != NULL,
            "the crash page does not name '%s':\n%s", site, r.body);
}
