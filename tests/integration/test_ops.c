/*
 * test_ops.c - what an operator sees: the access log (Common Log Format or
 * JSON, to a file or stdout, reopened on SIGUSR1 after logrotate moved it,
 * also set by MCHOST_ACCESS_LOG), the JSON error log, --max-requests
 * replacing workers without a client noticing, and --user.
 *
 * Access log lines are buffered by each worker and written once a second
 * and when it stops, so most tests stop the server gracefully before they
 * read the file. With --workers 1 the lines are in the order the requests
 * were made; the readiness probe of srv_start() (GET /) comes first.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define HELLO PLUGINS_DIR "/hello.so"
#define APP PLUGINS_DIR "/app.so"

extern char **environ;

static struct srv S;
static struct http_client C;
static struct http_resp R;
static char T[64];         /* this test's scratch directory, "" if none */
static char out_path[128]; /* stdout of a spawn_split() server */

static void ops_init(void) {
  S.pid = -1;
  C.fd = -1;
}

static void ops_fini(void) {
  http_close(&C);
  srv_stop(&S);
  rm_tree(T);
  T[0] = '\0';
}

/* One timeout for every suite: when they differ, Criterion 2.4's runner
 * leaks a 48-byte timeout record that LeakSanitizer reports in the ASan
 * build, failing the run. */
TestSuite(access_log, .init = ops_init, .fini = ops_fini, .timeout = 20);
TestSuite(log_format, .init = ops_init, .fini = ops_fini, .timeout = 20);
TestSuite(max_requests, .init = ops_init, .fini = ops_fini, .timeout = 20);
TestSuite(user, .init = ops_init, .fini = ops_fini, .timeout = 20);

/* ---- scratch files ---- */

/* "<T>/<name>" in buf; makes T on first use (removed in .fini). */
static const char *tpath(char *buf, size_t size, const char *name) {
  if (T[0] == '\0') {
    snprintf(T, sizeof T, "/tmp/mchost-ops-XXXXXX");
    cr_assert_not_null(mkdtemp(T), "mkdtemp: %s", strerror(errno));
    /* --user tests: the server may run as nobody */
    chmod(T, 0755);
  }
  snprintf(buf, size, "%s/%s", T, name);
  return buf;
}

/* A copy of `src` as <T>/<name> (path in buf) with `mode`. A server that
 * runs as nobody runs these copies: the checkout, and so the build, may be
 * in a directory that only root may enter (a clone under /root, a
 * mktemp -d), where nobody could neither exec mchost nor read a plugin. */
static const char *copy_for_nobody(char *buf, size_t size, const char *src,
                                   const char *name, mode_t mode) {
  char data[65536];
  ssize_t n = 0;
  int in = open(src, O_RDONLY | O_CLOEXEC);
  int out = open(tpath(buf, size, name),
                 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", src, buf,
            strerror(errno));
  while ((n = read(in, data, sizeof data)) > 0)
    cr_assert_eq(write(out, data, (size_t)n), n, "write %s", buf);
  cr_assert_eq(n, 0, "read %s: %s", src, strerror(errno));
  close(in);
  cr_assert_eq(fchmod(out, mode), 0); /* whatever the umask */
  close(out);
  return buf;
}

/* The whole file, NUL-terminated (caller frees), or NULL if it is not
 * there. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "re");
  char *buf = NULL;
  size_t len = 0;
  if (f == NULL)
    return NULL;
  FILE *m = open_memstream(&buf, &len);
  int ch;
  while ((ch = fgetc(f)) != EOF)
    fputc(ch, m);
  fclose(f);
  fclose(m);
  return buf;
}

/* ---- servers ---- */

static void start(const char *const *args) {
  int err = srv_start(&S, args, 5000);
  cr_assert_eq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
               strerror(-err), srv_log_tail(&S));
}

static void start_env(const char *const *args, const char *const *env) {
  int err = spawn_mchost_env(args, env, &S);
  cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
  if ((err = srv_wait_port(&S, 5000)) > 0)
    err = srv_wait_ready(&S, 5000);
  cr_assert_geq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
                strerror(-err), srv_log_tail(&S));
}

/* One worker serving `plugin`, its access log in <T>/a.log (path in log). */
static void start_access_log(const char *plugin, char *log, size_t size) {
  start((const char *const[]){"--plugin", plugin, "--workers", "1",
                              "--access-log", tpath(log, size, "a.log"), NULL});
}

/* SIGTERM, and the master exits 0: every worker has flushed its log. */
static void stop_gracefully(void) {
  http_close(&C);
  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  int code = srv_wait_exit(&S, 5000);
  cr_assert_eq(code, 0, "exit %d after SIGTERM, want 0" SRV_LOG_FMT, code,
               srv_log_tail(&S));
}

/* Like spawn_mchost_env(), but runs the executable `exe`, and stdout goes
 * to its own file (out_path) and stderr to S.log_path: the harness joins
 * them in one log, which cannot tell an access log on stdout from the
 * error log. With uid != -1 the server runs as that user (the test is
 * root). */
static void spawn_split(const char *exe, const char *const *args,
                        const char *const *env, uid_t uid) {
  char *argv[32], *envp[512];
  size_t k = 0, e = 0;
  pid_t parent = getpid(), pid;
  struct passwd *pw = uid != (uid_t)-1 ? getpwuid(uid) : NULL;
  gid_t gid = pw != NULL ? pw->pw_gid : (gid_t)-1;

  cr_assert(uid == (uid_t)-1 || pw != NULL, "no user with uid %u",
            (unsigned)uid);

  argv[k++] = DECONST(char *, exe);
  argv[k++] = DECONST(char *, "--port");
  argv[k++] = DECONST(char *, "0");
  argv[k++] = DECONST(char *, "--host");
  argv[k++] = DECONST(char *, "127.0.0.1");
  for (; *args != NULL && k < 31; args++)
    argv[k++] = DECONST(char *, *args);
  argv[k] = NULL;
  for (char **v = environ; *v != NULL && e < 500; v++)
    if (strncmp(*v, "MCHOST_", 7) != 0)
      envp[e++] = *v;
  for (; env != NULL && *env != NULL && e < 510; env++)
    envp[e++] = DECONST(char *, *env);
  envp[e] = NULL;

  tpath(out_path, sizeof out_path, "stdout");
  memset(&S, 0, sizeof S);
  tpath(S.log_path, sizeof S.log_path, "stderr");
  int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err = open(S.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  cr_assert(out >= 0 && err >= 0, "open: %s", strerror(errno));
  S.pid = -1;
  pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    if (uid != (uid_t)-1 &&
        (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
      _exit(126);
    /* after setuid(), which clears it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
      if (sig != SIGKILL && sig != SIGSTOP)
        signal(sig, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 ||
        dup2(err, 2) < 0)
      _exit(127);
    close_range(3, ~0U, 0);
    execve(argv[0], argv, envp);
    _exit(127);
  }
  setpgid(pid, pid);
  S.pid = pid;
  close(out);
  close(err);
}

static void start_split(const char *exe, const char *const *args,
                        const char *const *env) {
  spawn_split(exe, args, env, (uid_t)-1);
  int err = srv_wait_port(&S, 5000);
  if (err > 0)
    err = srv_wait_ready(&S, 5000);
  cr_assert_geq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
                strerror(-err), srv_log_tail(&S));
}

/* ---- requests ---- */

/* Sends `raw` on C (connecting first if it is closed) and reads the
 * response into R; closes C when the server said it will. */
static int request(const char *raw, int flags) {
  int err = 0;
  if (C.fd < 0)
    err = http_open(&C, S.port, 2000);
  if (err == 0)
    err = http_send_str(&C, raw);
  if (err == 0)
    err = http_read(&C, &R, flags, 5000);
  const char *conn = err == 0 ? http_header(&R, "Connection") : NULL;
  if (err != 0 || (conn != NULL && strcasecmp(conn, "close") == 0))
    http_close(&C);
  return err;
}

static void get_ok(const char *target) {
  char raw[512];
  snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
  int err = request(raw, 0);
  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(R.status, 200, "GET %s: status %d" SRV_LOG_FMT, target, R.status,
               srv_log_tail(&S));
}

/* ---- Common Log Format ---- */

struct clf {
  char remote[64], date[64], request[1200], id[256];
  int status;
  long long bytes;
};

/* `host - - [date] "request" status bytes "request-id"`, strictly: the
 * request field ends at the first '"', as in every tool that reads this
 * format, and the ID is a quoted field of its own at the end, as nginx's
 * "$request_id" is usually added. 1 if it parses. */
static int clf_parse(const char *line, struct clf *out) {
  const char *p = strchr(line, ' '), *q;
  char tail[64];
  if (p == NULL || (size_t)(p - line) >= sizeof out->remote)
    return 0;
  snprintf(out->remote, sizeof out->remote, "%.*s", (int)(p - line), line);
  if (strncmp(p, " - - [", 6) != 0 || (q = strchr(p + 6, ']')) == NULL ||
      (size_t)(q - p - 6) >= sizeof out->date)
    return 0;
  snprintf(out->date, sizeof out->date, "%.*s", (int)(q - p - 6), p + 6);
  if (strncmp(q, "] \"", 3) != 0 || (p = strchr(q + 3, '"')) == NULL ||
      (size_t)(p - q - 3) >= sizeof out->request)
    return 0;
  snprintf(out->request, sizeof out->request, "%.*s", (int)(p - q - 3), q + 3);
  return sscanf(p + 1, " %d %lld \"%255[^\" ]\"%63s", &out->status, &out->bytes,
                out->id, tail) == 3;
}

/* The date is "27/Nov/2026:17:45:18 +0000" and within a minute of now. */
static int clf_date_ok(const char *date) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(date, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  if (end == NULL || *end != '\0')
    return 0;
  time_t t = timegm(&tm);
  return llabs((long long)(t - time(NULL))) < 60;
}

/* Splits text into lines in place; returns how many (at most max). */
static int split_lines(char *text, char **lines, int max) {
  int n = 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
       l = strtok_r(NULL, "\n", &save))
    lines[n++] = l;
  return n;
}

struct want {
  const char *request; /* NULL: not checked here */
  int status;
  long long bytes;
};

/* The file holds one CLF line per request: first the readiness probes
 * (GET /), then exactly `want`, in order. */
static void expect_clf_file(const char *path, const struct want *want,
                            int nwant) {
  char *text = slurp(path), *lines[256];
  cr_assert_not_null(text, "no access log at %s" SRV_LOG_FMT, path,
                     srv_log_tail(&S));
  int n = split_lines(text, lines, 256);
  cr_expect_gt(n, nwant, "%d lines in the access log, want %d + the probe:\n%s",
               n, nwant, text);
  for (int i = 0; i < n; i++) {
    struct clf e;
    const struct want *w = i >= n - nwant ? &want[i - (n - nwant)] : NULL;
    if (!clf_parse(lines[i], &e)) {
      cr_expect_fail("line %d is not Common Log Format: [%s]", i + 1, lines[i]);
      continue;
    }
    cr_expect_str_eq(e.remote, "127.0.0.1", "line %d: [%s]", i + 1, lines[i]);
    cr_expect_eq(strspn(e.id, "0123456789abcdef"), 32,
                 "line %d: the request ID is not 32 hex digits: [%s]", i + 1,
                 lines[i]);
    cr_expect(clf_date_ok(e.date), "line %d: bad or wrong date: [%s]", i + 1,
              lines[i]);
    if (w == NULL) {
      cr_expect_str_eq(e.request, "GET / HTTP/1.1",
                       "line %d is not the readiness probe: [%s]", i + 1,
                       lines[i]);
      continue;
    }
    if (w->request != NULL)
      cr_expect_str_eq(e.request, w->request, "line %d: [%s]", i + 1, lines[i]);
    cr_expect_eq(e.status, w->status, "line %d: status, want %d: [%s]", i + 1,
                 w->status, lines[i]);
    cr_expect_eq(e.bytes, w->bytes, "line %d: body bytes, want %lld: [%s]",
                 i + 1, w->bytes, lines[i]);
  }
  free(text);
}

/* The first line of `path` that contains `prefix`, parsed as CLF; fails if
 * there is none or it does not parse. */
static struct clf find_clf(const char *path, const char *prefix) {
  static char line[2048];
  char *text = slurp(path), *lines[256];
  struct clf e;
  int n, found = 0;
  cr_assert_not_null(text, "no access log at %s", path);
  n = split_lines(text, lines, 256);
  for (int i = 0; i < n && !found; i++)
    if ((found = strstr(lines[i], prefix) != NULL))
      snprintf(line, sizeof line, "%s", lines[i]);
  free(text); /* before an assert, which does not return */
  cr_assert(found, "no line with [%s] in %s", prefix, path);
  cr_assert(clf_parse(line, &e),
            "not Common Log Format (a log reader cannot split it): [%s]", line);
  return e;
}

Test(access_log, one_clf_line_per_request_with_status_and_body_bytes) {
  char log[128];
  struct want want[6];
  int k = 0;
  start_access_log(APP, log, sizeof log);
  /* keep-alive: three requests on one connection */
  get_ok("/");
  want[k++] = (struct want){"GET / HTTP/1.1", 200, (long long)R.body_len};
  get_ok("/users/42");
  want[k++] =
      (struct want){"GET /users/42 HTTP/1.1", 200, (long long)R.body_len};
  cr_assert_eq(request("POST /api/echo HTTP/1.1\r\nHost: t\r\n"
                       "Content-Length: 2\r\n\r\nhi",
                       0),
               0);
  cr_expect_eq(R.status, 200, "POST: %s", R.head);
  want[k++] =
      (struct want){"POST /api/echo HTTP/1.1", 200, (long long)R.body_len};
  /* the plugin's own 404 */
  cr_assert_eq(request("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 0), 0);
  cr_expect_eq(R.status, 404, "GET /nope: %s", R.head);
  cr_expect_gt(R.body_len, 0);
  want[k++] = (struct want){"GET /nope HTTP/1.1", 404, (long long)R.body_len};
  /* HEAD sends no body: like nginx's $body_bytes_sent, the line says 0 */
  cr_assert_eq(request("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", HTTP_RESP_TO_HEAD),
               0);
  cr_expect_eq(R.status, 200);
  want[k++] = (struct want){"HEAD / HTTP/1.1", 200, 0};
  /* malformed: answered 400 by the host, and logged too (its request line
   * is checked by bad_request_is_logged_with_its_request_line) */
  http_close(&C);
  cr_assert_eq(request("GET /bad HTTP/1.1\r\nbad header\r\n\r\n", 0), 0);
  cr_expect_eq(R.status, 400, "malformed request: %s", R.head);
  want[k++] = (struct want){NULL, 400, (long long)R.body_len};

  stop_gracefully();
  expect_clf_file(log, want, k);
}

Test(access_log, bad_request_is_logged_with_its_request_line) {
  char log[128];
  start_access_log(HELLO, log, sizeof log);
  cr_assert_eq(request("GET /bad HTTP/1.0\r\nbad header\r\n\r\n", 0), 0);
  cr_expect_eq(R.status, 400, "%s", R.head);
  stop_gracefully();
  /* nginx logs what it got of the request line: an operator looking for
   * the client that sends broken requests needs its method and version */
  struct clf e = find_clf(log, "/bad");
  cr_expect_str_eq(e.request, "GET /bad HTTP/1.0");
  cr_expect_eq(e.status, 400);
}

Test(access_log, clf_line_stays_parseable_with_a_quote_in_the_target) {
  char log[128];
  start_access_log(HELLO, log, sizeof log);
  cr_assert_eq(request("GET /q\"b\\c HTTP/1.1\r\nHost: t\r\n\r\n", 0), 0);
  cr_expect_eq(R.status, 200, "%s", R.head);
  stop_gracefully();
  /* a raw '"' would end the request field early (nginx writes \x22) */
  struct clf e = find_clf(log, "/q");
  cr_expect_eq(e.status, 200, "status field: %d", e.status);
  cr_expect(strncmp(e.request, "GET /q", 6) == 0 &&
                strstr(e.request, " HTTP/1.1") != NULL,
            "request field [%s]", e.request);
}

Test(access_log, lines_reach_the_file_within_two_seconds_while_serving) {
  char log[128];
  start_access_log(HELLO, log, sizeof log);
  get_ok("/while-serving");
  int64_t deadline = now_ms() + 2500;
  char *text = NULL;
  for (;;) {
    free(text);
    text = slurp(log);
    if ((text != NULL && strstr(text, "/while-serving") != NULL) ||
        now_ms() >= deadline)
      break;
    sleep_ms(50);
  }
  cr_expect(text != NULL && strstr(text, "/while-serving") != NULL,
            "not in the access log 2.5 s after the request:\n%s",
            text ? text : "(no file)");
  free(text);
}

Test(access_log, dash_writes_to_stdout) {
  start_split(MCHOST_BIN,
              (const char *const[]){"--plugin", HELLO, "--workers", "1",
                                    "--access-log", "-", NULL},
              NULL);
  get_ok("/to-stdout");
  stop_gracefully();
  struct clf e = find_clf(out_path, "GET /to-stdout ");
  cr_expect_str_eq(e.request, "GET /to-stdout HTTP/1.1");
  cr_expect_eq(e.status, 200);
  cr_expect_eq(e.bytes, (long long)R.body_len);
  cr_expect_eq(log_count(&S, "/to-stdout"), 0,
               "the access line went to stderr:" SRV_LOG_FMT, srv_log_tail(&S));
}

Test(access_log, environment_variable_works_like_the_flag) {
  char log[128], env[160];
  snprintf(env, sizeof env, "MCHOST_ACCESS_LOG=%s",
           tpath(log, sizeof log, "env.log"));
  start_env((const char *const[]){"--plugin", HELLO, "--workers", "1", NULL},
            (const char *const[]){env, NULL});
  get_ok("/from-env");
  stop_gracefully();
  struct clf e = find_clf(log, "/from-env");
  cr_expect_str_eq(e.request, "GET /from-env HTTP/1.1");
  cr_expect_eq(e.status, 200);
}

Test(access_log, unwritable_path_exits_1_naming_it_before_serving) {
  struct run_result r;
  const char *path = "/nonexistent/dir/x.log";
  int err = run_mchost_sync((const char *const[]){"--plugin", HELLO, "--port",
                                                  "0", "--host", "127.0.0.1",
                                                  "--access-log", path, NULL},
                            NULL, &r, 5000);
  cr_assert_eq(err, 0, "could not run mchost: %s", strerror(-err));
  cr_expect_eq(r.exit_code, 1, "exit %d, want 1\nstderr:\n%s", r.exit_code,
               r.err);
  cr_expect_not_null(strstr(r.err, path), "the message names no path:\n%s",
                     r.err);
  cr_expect_null(strstr(r.err, "listening on"),
                 "it said it serves before failing:\n%s", r.err);
  run_result_free(&r);
}

/* How many of master's workers still have path open: each worker reopens
 * the log on its own when the master relays SIGUSR1. */
static int workers_holding(pid_t master, const char *path) {
  pid_t pids[16];
  int n = worker_pids(master, pids, 16), holding = 0;

  for (int i = 0; i < n; i++) {
    char dir[64], fd_path[320], target[256];
    struct dirent *e;
    DIR *d;
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pids[i]);
    if ((d = opendir(dir)) == NULL)
      continue;
    while ((e = readdir(d)) != NULL) {
      ssize_t len;
      snprintf(fd_path, sizeof fd_path, "%s/%s", dir, e->d_name);
      len = readlink(fd_path, target, sizeof target - 1);
      if (len > 0 && (target[len] = '\0', strcmp(target, path) == 0)) {
        holding++;
        break;
      }
    }
    closedir(d);
  }
  return holding;
}

Test(access_log, sigusr1_reopens_after_logrotate_renamed_the_file) {
  char log[128], old[128];
  tpath(log, sizeof log, "a.log");
  tpath(old, sizeof old, "a.log.1");
  start((const char *const[]){"--plugin", HELLO, "--workers", "2",
                              "--access-log", log, NULL});
  cr_assert_eq(wait_workers(S.pid, 2, 3000, 100), 2);
  /* new connections: both workers take some */
  for (int i = 0; i < 6; i++) {
    char target[32];
    snprintf(target, sizeof target, "/before-%d", i);
    cr_assert_eq(http_get(S.port, target, &R), 0);
  }
  cr_assert_eq(rename(log, old), 0, "rename: %s", strerror(errno));
  cr_assert_eq(kill(S.pid, SIGUSR1), 0);
  cr_assert(wait_log(&S, "reopening the access log", 3000),
            "no word of SIGUSR1 in the log" SRV_LOG_FMT, srv_log_tail(&S));
  /* the first worker to reopen creates the file again */
  struct stat st;
  int64_t deadline = deadline_in(3000);
  while (stat(log, &st) != 0 && remaining_ms(deadline) > 0)
    sleep_ms(10);
  cr_assert_eq(stat(log, &st), 0, "%s not recreated after SIGUSR1" SRV_LOG_FMT,
               log, srv_log_tail(&S));
  /* and then the other: until it has, it still writes to the old file */
  char old_real[PATH_MAX];
  cr_assert_not_null(realpath(old, old_real));
  deadline = deadline_in(3000);
  while (workers_holding(S.pid, old_real) > 0 && remaining_ms(deadline) > 0)
    sleep_ms(10);
  cr_assert_eq(workers_holding(S.pid, old_real), 0,
               "a worker still writes to %s after SIGUSR1" SRV_LOG_FMT, old,
               srv_log_tail(&S));
  for (int i = 0; i < 6; i++) {
    char target[32];
    snprintf(target, sizeof target, "/after-%d", i);
    cr_assert_eq(http_get(S.port, target, &R), 0);
  }
  stop_gracefully();

  char *rotated = slurp(old), *fresh = slurp(log);
  cr_assert_not_null(rotated, "%s is gone", old);
  cr_assert_not_null(fresh, "%s is gone", log);
  for (int i = 0; i < 6; i++) {
    char before[32], after[32];
    snprintf(before, sizeof before, "/before-%d ", i);
    snprintf(after, sizeof after, "/after-%d ", i);
    cr_expect_not_null(strstr(rotated, before), "%s not in %s:\n%s", before,
                       old, rotated);
    cr_expect_null(strstr(fresh, before), "%s in the new file:\n%s", before,
                   fresh);
    cr_expect_not_null(strstr(fresh, after), "%s not in the new file:\n%s",
                       after, fresh);
    cr_expect_null(strstr(rotated, after), "%s in %s:\n%s", after, old,
                   rotated);
  }
  free(rotated);
  free(fresh);
}

/* ---- JSON ---- */

/* Skips a JSON string at p (which is '"'); returns what follows, or NULL. */
static const char *json_string(const char *p, char *copy, size_t size) {
  size_t n = 0;
  for (p++; *p != '"'; p++) {
    if (*p == '\0' || (unsigned char)*p < 0x20)
      return NULL;
    if (*p == '\\') {
      p++;
      if (*p == 'u') {
        for (int i = 1; i <= 4; i++)
          if (!strchr("0123456789abcdefABCDEF", p[i]) || p[i] == '\0')
            return NULL;
        p += 4;
      } else if (*p == '\0' || strchr("\"\\/bfnrt", *p) == NULL) {
        return NULL;
      }
    }
    if (n + 1 < size)
      copy[n++] = *p;
  }
  if (size > 0)
    copy[n] = '\0';
  return p + 1;
}

/* 1 if `line` is one flat JSON object (string, number, true, false or null
 * values; what mchost's logs hold) that has every key of `keys`. */
static int json_object_with(const char *line, const char *const *keys) {
  unsigned found = 0, all = 0;
  const char *p = line;
  char key[64], ignored[2];
  for (unsigned i = 0; keys[i] != NULL; i++)
    all |= 1u << i;
  if (*p++ != '{')
    return 0;
  for (;;) {
    if (*p != '"' || (p = json_string(p, key, sizeof key)) == NULL ||
        *p++ != ':')
      return 0;
    for (unsigned i = 0; keys[i] != NULL; i++)
      if (strcmp(key, keys[i]) == 0)
        found |= 1u << i;
    if (*p == '"') {
      if ((p = json_string(p, ignored, sizeof ignored)) == NULL)
        return 0;
    } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0) {
      p += 4;
    } else if (strncmp(p, "false", 5) == 0) {
      p += 5;
    } else {
      char *end;
      if (*p != '-' && (*p < '0' || *p > '9'))
        return 0;
      strtod(p, &end);
      p = end;
    }
    if (*p == '}')
      return p[1] == '\0' && found == all;
    if (*p++ != ',')
      return 0;
  }
}

/* Every line of `text` is a JSON object with `keys`; returns how many. */
static int expect_json_lines(const char *what, char *text,
                             const char *const *keys) {
  char *lines[512];
  int n = split_lines(text, lines, 512);
  for (int i = 0; i < n; i++)
    cr_expect(json_object_with(lines[i], keys),
              "%s line %d is not a JSON object with the keys: [%s]", what,
              i + 1, lines[i]);
  return n;
}

Test(log_format, json_makes_error_log_and_access_log_json_objects) {
  static const char *const error_keys[] = {"time", "level", "process", "msg",
                                           NULL};
  static const char *const access_keys[] = {"time",   "remote",     "method",
                                            "target", "version",    "status",
                                            "bytes",  "request_id", NULL};
  start_split(MCHOST_BIN,
              (const char *const[]){"--plugin", HELLO, "--workers", "1",
                                    "--log-format", "json", "--access-log", "-",
                                    NULL},
              NULL);
  get_ok("/json");
  cr_assert_eq(request("GET /q\"b\\c HTTP/1.1\r\nHost: t\r\n\r\n", 0), 0);
  cr_expect_eq(R.status, 200);
  stop_gracefully();

  char *err = srv_log_read(&S), *out = slurp(out_path);
  cr_assert(err != NULL && out != NULL);
  cr_expect_not_null(strstr(out, "\"target\":\"/q\\\"b\\\\c\""),
                     "the quote and backslash are not escaped:\n%s", out);
  cr_expect_not_null(strstr(out, "\"target\":\"/json\""), "%s", out);
  cr_expect_geq(expect_json_lines("stdout (access log)", out, access_keys), 3);
  /* at least: listening, ready, SIGTERM, stopped */
  cr_expect_geq(expect_json_lines("stderr (error log)", err, error_keys), 4);
  free(err);
  free(out);
}

/* ---- --max-requests ---- */

/* Adds the current workers of S to seen[] (distinct pids). */
static void note_workers(pid_t *seen, int *nseen, int max) {
  pid_t now[16];
  int n = worker_pids(S.pid, now, 16);
  for (int i = 0; i < n && i < 16; i++) {
    int j = 0;
    while (j < *nseen && seen[j] != now[i])
      j++;
    if (j == *nseen && *nseen < max)
      seen[(*nseen)++] = now[i];
  }
}

/* `total` GET requests: `keep` in a row on one keep-alive connection (a new
 * one when the server closes it, as a browser does), then `fresh` on new
 * connections, and again. Returns how many failed; notes worker pids. */
static int mixed_requests(int total, int keep, int fresh, pid_t *seen,
                          int *nseen, int max, char *errors, size_t size) {
  int failed = 0;
  size_t used = 0;
  for (int i = 0; i < total; i++) {
    char raw[128];
    int on_keepalive = i % (keep + fresh) < keep, err;
    if (!on_keepalive)
      http_close(&C);
    snprintf(raw, sizeof raw, "GET /r%d HTTP/1.1\r\nHost: t\r\n%s\r\n", i,
             on_keepalive ? "" : "Connection: close\r\n");
    err = request(raw, 0);
    if (err != 0 || R.status != 200) {
      failed++;
      used += (size_t)snprintf(errors + used, size - used,
                               "request %d (%s): %s, status %d\n", i,
                               on_keepalive ? "keep-alive" : "new connection",
                               http_strerror(err), err ? 0 : R.status);
      if (used >= size)
        used = size - 1;
    }
    note_workers(seen, nseen, max);
  }
  http_close(&C);
  return failed;
}

Test(max_requests, workers_are_replaced_and_no_client_sees_an_error) {
  pid_t seen[64];
  int nseen = 0;
  char errors[4096] = "", log[128];
  start((const char *const[]){"--plugin", HELLO, "--workers", "1",
                              "--max-requests", "5", "--access-log",
                              tpath(log, sizeof log, "a.log"), NULL});
  note_workers(seen, &nseen, 64);
  int failed =
      mixed_requests(30, 3, 2, seen, &nseen, 64, errors, sizeof errors);
  cr_expect_eq(failed, 0, "%d of 30 requests failed:\n%s" SRV_LOG_FMT, failed,
               errors, srv_log_tail(&S));
  /* 31 requests with the probe: 6 workers served 5, a 7th serves now */
  cr_expect_geq(nseen, 5, "%d distinct worker pids seen" SRV_LOG_FMT, nseen,
                srv_log_tail(&S));
  cr_expect_geq(log_count(&S, "served 5 requests (--max-requests)"), 5,
                "want >= 5 retirements in the log" SRV_LOG_FMT,
                srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "ERROR"), 0, "errors logged" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(wait_workers(S.pid, 1, 3000, 100), 1);
  /* a retiring worker writes out its buffered lines: none is lost */
  stop_gracefully();
  char *text = slurp(log);
  cr_assert_not_null(text);
  for (int i = 0; i < 30; i++) {
    char target[32];
    snprintf(target, sizeof target, "\"GET /r%d HTTP/1.1\" 200 ", i);
    cr_expect_not_null(strstr(text, target), "no [%s] in the access log:\n%s",
                       target, text);
  }
  free(text);
}

Test(max_requests, jitter_gives_workers_different_limits) {
  pid_t seen[128];
  int nseen = 0, values[64], nvalues = 0, distinct = 0;
  char errors[4096] = "";
  start((const char *const[]){"--plugin", HELLO, "--workers", "1",
                              "--max-requests", "2", "--max-requests-jitter",
                              "8", NULL});
  int failed =
      mixed_requests(80, 1, 1, seen, &nseen, 128, errors, sizeof errors);
  cr_expect_eq(failed, 0, "%d of 80 requests failed:\n%s" SRV_LOG_FMT, failed,
               errors, srv_log_tail(&S));

  char *text = srv_log_read(&S);
  cr_assert_not_null(text);
  for (const char *p = text; (p = strstr(p, "served ")) != NULL; p++) {
    int v;
    if (sscanf(p, "served %d requests (--max-requests)", &v) == 1 &&
        nvalues < 64)
      values[nvalues++] = v;
  }
  free(text);
  cr_assert_geq(nvalues, 5, "only %d retirements logged" SRV_LOG_FMT, nvalues,
                srv_log_tail(&S));
  for (int i = 0; i < nvalues; i++) {
    cr_expect(values[i] >= 2 && values[i] <= 10,
              "a worker served %d requests; limit 2 + 0..8", values[i]);
    distinct += values[i] != values[0];
  }
  /* 1 in 9^(n-1) that all are equal by chance */
  cr_expect_gt(distinct, 0, "all %d workers retired after %d requests", nvalues,
               values[0]);
}

/* ---- --user ---- */

/* The Uid: (or Gid:) line of /proc/<pid>/status has `id` four times. */
static int proc_ids_are(pid_t pid, const char *field, unsigned id) {
  char path[64], *text, *line;
  unsigned r, e, s, f;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if ((text = slurp(path)) == NULL)
    return 0;
  line = strstr(text, field);
  int ok = line != NULL &&
           sscanf(line + strlen(field), "%u %u %u %u", &r, &e, &s, &f) == 4 &&
           r == id && e == id && s == id && f == id;
  free(text);
  return ok;
}

Test(user, user_nobody_runs_master_and_workers_as_nobody) {
  if (geteuid() != 0)
    cr_skip("only root can switch users (run the tests as root to check it)");
  struct passwd *pw = getpwnam("nobody");
  if (pw == NULL)
    cr_skip("this system has no user 'nobody'");
  unsigned uid = pw->pw_uid, gid = pw->pw_gid;
  pid_t pids[2];
  char exe[160], so[160];
  copy_for_nobody(exe, sizeof exe, MCHOST_BIN, "mchost", 0755);
  copy_for_nobody(so, sizeof so, HELLO, "hello.so", 0644);
  start_split(exe,
              (const char *const[]){"--plugin", so, "--workers", "2", "--user",
                                    "nobody", NULL},
              NULL);
  cr_assert_eq(wait_workers(S.pid, 2, 3000, 100), 2, SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_assert_eq(worker_pids(S.pid, pids, 2), 2);
  pid_t all[3] = {S.pid, pids[0], pids[1]};
  for (int i = 0; i < 3; i++) {
    cr_expect(proc_ids_are(all[i], "Uid:", uid), "%s %d is not uid %u",
              i ? "worker" : "master", (int)all[i], uid);
    cr_expect(proc_ids_are(all[i], "Gid:", gid), "%s %d is not gid %u",
              i ? "worker" : "master", (int)all[i], gid);
  }
  for (int i = 0; i < 4; i++) {
    cr_expect_eq(http_get(S.port, "/", &R), 0);
    cr_expect_eq(R.status, 200);
  }
  /* as nobody it still stops cleanly (and removes its plugin snapshots) */
  stop_gracefully();
}

Test(user, unknown_user_exits_2_saying_so) {
  struct run_result r;
  int err = run_mchost_sync((const char *const[]){"--plugin", HELLO, "--port",
                                                  "0", "--host", "127.0.0.1",
                                                  "--user", "nosuchuser", NULL},
                            NULL, &r, 5000);
  cr_assert_eq(err, 0, "could not run mchost: %s", strerror(-err));
  cr_expect_eq(r.exit_code, 2, "exit %d, want 2\nstderr:\n%s", r.exit_code,
               r.err);
  cr_expect_not_null(strstr(r.err, "no such user"), "stderr:\n%s", r.err);
  cr_expect_not_null(strstr(r.err, "nosuchuser"), "stderr:\n%s", r.err);
  run_result_free(&r);
}

Test(user, switching_user_without_root_exits_2_saying_why) {
  struct passwd *pw = getpwnam("nobody");
  /* as root, the server is started as nobody to see what a user sees */
  if (geteuid() == 0 && pw == NULL)
    cr_skip("running as root and this system has no user 'nobody'");
  char exe[160], so[160];
  copy_for_nobody(exe, sizeof exe, MCHOST_BIN, "mchost", 0755);
  copy_for_nobody(so, sizeof so, HELLO, "hello.so", 0644);
  spawn_split(exe,
              (const char *const[]){"--plugin", so, "--user", "root", NULL},
              NULL, geteuid() == 0 ? pw->pw_uid : (uid_t)-1);
  int code = srv_wait_exit(&S, 5000);
  cr_expect_eq(code, 2, "exit %d, want 2" SRV_LOG_FMT, code, srv_log_tail(&S));
  cr_expect_geq(log_count(&S, "only root"), 1, "no reason given" SRV_LOG_FMT,
                srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "listening on"), 0, SRV_LOG_FMT, srv_log_tail(&S));
}
