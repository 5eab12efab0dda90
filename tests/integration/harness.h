/*
 * harness.h - what an integration test needs to own one mchost: start it on
 * a free port, find the port in its log, talk raw HTTP/1.1 to it, look at its
 * workers, and stop it (and everything it started) whatever the test did.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno value on failure, and prints nothing: the test knows what
 * it expected and says so in its assertion message, with the log appended
 * (SRV_LOG_FMT / srv_log_tail()).
 *
 * Paths come from the build (tests/CMakeLists.txt): MCHOST_BIN, PLUGINS_DIR,
 * TEST_PLUGINS_DIR.
 */
#ifndef MCHOST_TEST_HARNESS_H
#define MCHOST_TEST_HARNESS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "deconst.h" /* host/: for argv and envp, which are char * */

#ifndef MCHOST_BIN
#error "MCHOST_BIN must be defined by the build (path of the mchost executable)"
#endif
#ifndef PLUGINS_DIR
#error "PLUGINS_DIR must be defined by the build (example plugins)"
#endif
#ifndef TEST_PLUGINS_DIR
#error "TEST_PLUGINS_DIR must be defined by the build (test fixture plugins)"
#endif

/* ---- time ---- */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);

/* Sleeps `ms` milliseconds: only as the step of a poll with a deadline, or
 * to pace what a test does on purpose (a client that sends slowly, a
 * request placed at a moment the test chose). Never to hope that something
 * has happened meanwhile: poll for it (wait_log(), wait_file(), ...), or,
 * for what must not happen, log_stays(). */
void sleep_ms(int ms);

/* Milliseconds from now until `deadline` (a now_ms() value), 0 if past. */
int remaining_ms(int64_t deadline);

/* now_ms() + ms, stretched by the time scale under valgrind (see below):
 * every wait of the harness ends at one of these, and a test's own polling
 * loop should too. */
int64_t deadline_in(int ms);

/* What is left until `deadline` in the milliseconds deadline_in() takes:
 * for handing the rest of a wait on to another harness call. */
int budget_ms(int64_t deadline);

/* ---- valgrind (memcheck.c) ----
 *
 * With MCHOST_TEST_VALGRIND=<path of valgrind> in the environment (ctest's
 * valgrind.* tests set it, tests/valgrind.cmake), every server a test
 * starts runs under memcheck, its workers too, each with its log in
 * srv.vg_dir. srv_stop() then fails the test for any error or definite or
 * indirect leak, and keeps the logs (Criterion counts no failure after the
 * test body, so the message "valgrind memcheck failed" is what ctest
 * looks for). Every wait is stretched (deadline_in()), and so is Criterion's
 * .timeout of each test. */

/* 1 under valgrind: for a test that cannot run there to skip itself,
 * saying why. */
int under_valgrind(void);

/* ---- one mchost under test ---- */

struct srv {
  pid_t pid;         /* master pid == its process group id; <= 0: none */
  int port;          /* from its "listening on" line; 0 until known */
  int reaped;        /* the master has been waited for */
  int status;        /* its wait status, when reaped */
  char log_path[64]; /* its stdout + stderr (and its workers') */
  char vg_dir[64];   /* valgrind's logs, vg.<pid>.log; "" if not used */
};

/* Starts MCHOST_BIN with `--port 0 --host 127.0.0.1` followed by
 * `extra_args` (NULL-terminated; NULL = none). A default is left out when
 * extra_args has that option, so a test can pick its own port or host.
 * `env` (NULL-terminated "NAME=value" strings, or NULL) is added to an
 * environment from which every MCHOST_* variable was removed, so that the
 * caller's environment cannot change what is tested.
 * The child is the leader of a new process group (its workers join it) and
 * is SIGKILLed if the test process dies (PR_SET_PDEATHSIG). Returns 0 with
 * out->pid set, or -errno (nothing is left running). Does not wait for the
 * port: see srv_wait_port(). */
int spawn_mchost(const char *const *extra_args, struct srv *out);
int spawn_mchost_env(const char *const *extra_args, const char *const *env,
                     struct srv *out);

/* Polls the log for "listening on http://127.0.0.1:PORT" until timeout_ms.
 * Returns the port (also stored in s->port), -ETIMEDOUT, or -ECHILD when the
 * master exited first. */
int srv_wait_port(struct srv *s, int timeout_ms);

/* The same for the admin listener (--admin 127.0.0.1:0): polls the log for
 * "admin on http://127.0.0.1:PORT" and returns PORT (not stored), or
 * -errno as srv_wait_port(). */
int srv_admin_port(struct srv *s, int timeout_ms);

/* Polls until `GET /` answers 200 (a worker has loaded the plugin and
 * serves), or timeout_ms. Returns 0, -ETIMEDOUT or -ECHILD. */
int srv_wait_ready(struct srv *s, int timeout_ms);

/* spawn + wait_port + wait_ready; on failure stops what it started and
 * returns -errno (s->log_path still names the log, for the message). */
int srv_start(struct srv *s, const char *const *extra_args, int timeout_ms);
/* The same with `env` added, as for spawn_mchost_env(). */
int srv_start_env(struct srv *s, const char *const *extra_args,
                  const char *const *env, int timeout_ms);
/* srv_start() with `--plugin plugin --workers 1` and then `more` (NULL-
 * terminated, or NULL; at most 27 arguments): the one-worker server most
 * tests of one connection want. */
int srv_start_one(struct srv *s, const char *plugin, const char *const *more,
                  int timeout_ms);

/* Waits up to timeout_ms for the master to exit. Returns its exit code
 * (0..255), 128 + signal if it was killed, or -ETIMEDOUT. */
int srv_wait_exit(struct srv *s, int timeout_ms);

/* 1 when the master is still running (not exited), else 0. */
int srv_alive(struct srv *s);

/* Stops everything this srv started: SIGTERM to the group, up to 3 s for
 * the master, then SIGKILL to the group. Under valgrind, judges its logs
 * (see above). Removes the logs unless the environment has
 * MCHOST_TEST_KEEP_LOGS or valgrind found something. Safe to call twice
 * and on a srv that never started (pid <= 0). Meant for .fini. */
void srv_stop(struct srv *s);

/* SIGTERM to process group `pid`, waitpid(pid) for up to `ms`, then SIGKILL
 * to the group and reap. Never signals anything outside that group. */
void reap_group(pid_t pid, int ms);

/* ---- the log ---- */

/* The whole log as a NUL-terminated string (malloc'd, caller frees), or
 * NULL. */
char *srv_log_read(const struct srv *s);

/* The last ~6 KiB of the log, in a static buffer, for assertion messages. */
const char *srv_log_tail(const struct srv *s);
#define SRV_LOG_FMT "\n----- mchost log -----\n%s\n-----------------------"

/* Polls the log until it contains `needle` (case-sensitive), up to
 * timeout_ms. Returns 1 if found, else 0. */
int wait_log(const struct srv *s, const char *needle, int timeout_ms);

/* How many lines of the log contain `needle` (case-sensitive). */
int log_count(const struct srv *s, const char *needle);

/* Waits up to timeout_ms for the n-th (from 1) "crash bundle: PATH" line
 * of s's log and copies PATH into out. Returns 0 or -ETIMEDOUT. */
int srv_bundle_path(const struct srv *s, int n, char *out, size_t len,
                    int timeout_ms);

/* For what must NOT happen: polls the log for ms (stretched as
 * deadline_in()) and returns 0 as soon as the lines with `needle` are not
 * `count`, else 1 when the time is over. */
int log_stays(const struct srv *s, const char *needle, int count, int ms);

/* The first line of `text` that contains `needle` (case-sensitive), copied
 * into buf (without its newline). Returns buf, or NULL if there is none. */
char *find_line(const char *text, const char *needle, char *buf, size_t size);

/* 1 if `text` holds `number` as a whole token (no letter or digit right
 * before or after it), else 0. "returned 5)" has 5; "15", "05", "a5b" not. */
int has_number_token(const char *text, long number);

/* ---- workers ---- */

/* The children of `master` (from /proc/<master>/task/<tid>/children for all
 * its threads), zombies left out. Stores up to `max` pids, returns how many
 * there are, or -errno. */
int worker_pids(pid_t master, pid_t *pids, int max);

/* Polls until the master has exactly `n` workers and keeps that number for
 * `stable_ms` (workers may be started one at a time). Returns n then, else
 * the last count seen when timeout_ms ran out, or -errno. */
int wait_workers(pid_t master, int n, int timeout_ms, int stable_ms);

/* 1 if `pid` exists and is not a zombie, else 0. */
int pid_alive(pid_t pid);

/* Polls until `pid` is gone (exited and reaped by its parent), up to
 * timeout_ms. Returns 1 if it is, else 0. */
int wait_pid_gone(pid_t pid, int timeout_ms);

/* Waits (as wait_workers()) until `master` has exactly one worker, and
 * returns its pid; -ESRCH when it has another number, or -errno. */
pid_t only_worker(pid_t master, int timeout_ms);

/* The resident memory of `pid` in KiB (VmRSS), or -errno. */
long rss_kib(pid_t pid);

/* Number of online CPUs (mchost's default worker count). */
int cpu_count(void);

/* ---- files ---- */

/* The whole file as a NUL-terminated string (malloc'd, caller frees), its
 * length in *len_out if that is not NULL; NULL if it cannot be read. */
char *read_file(const char *path, size_t *len_out);

/* Polls until `path` exists, up to timeout_ms. Returns 1 if it does, else
 * 0. */
int wait_file(const char *path, int timeout_ms);

/* rm -rf path, without following symlinks; what cannot be removed is left.
 * A no-op for NULL or "". */
void rm_tree(const char *path);

/* ---- run to completion (CLI tests) ---- */

struct run_result {
  int exit_code;   /* 0..255 when it exited, else -1 */
  int term_signal; /* the signal that killed it, else 0 */
  int timed_out;   /* 1 if we had to kill it */
  char *out;       /* everything it wrote to stdout (malloc'd, never NULL) */
  char *err;       /* everything it wrote to stderr (malloc'd, never NULL) */
};

/* Runs MCHOST_BIN with exactly `args` (NULL-terminated, argv[1..]) and
 * `env` as for spawn_mchost_env(), until it exits or timeout_ms pass (then
 * its group is killed). Returns 0 or -errno (could not start). */
int run_mchost_sync(const char *const *args, const char *const *env,
                    struct run_result *r, int timeout_ms);
void run_result_free(struct run_result *r);

/* Runs a client program (curl, python3, node: argv[0] is looked up in
 * $PATH) the same way, with the test's environment minus MCHOST_*.
 * Returns 0, -ENOENT when the program is not installed, or -errno. */
int run_tool_sync(const char *const *argv, struct run_result *r,
                  int timeout_ms);

/* curl -sS --max-time 20 ARGS... against s, as run_tool_sync() with a
 * 40 s limit: an argument ":/PATH" stands for http://127.0.0.1:PORT/PATH
 * (up to 4 of them). Fails the test if curl cannot run; r is freed first. */
void srv_curl(const struct srv *s, const char *const *args,
              struct run_result *r);

/* `mchost status <master>` run to completion (5 s), as run_mchost_sync(). */
int run_status(pid_t master, struct run_result *r);

/* ---- a worker seen from outside (trace.c) ---- */

/* The descriptors pid has open (/proc/PID/fd), or -1. */
int proc_fd_count(pid_t pid);

/* Runs strace on pid's main thread, logging the system calls in `calls`
 * ("sendfile,pread64") into the file `out` (its own messages into `err`),
 * and returns strace's pid once it is attached; fails the test if it
 * cannot attach in 10 s. Stop it with SIGINT, then waitpid(). */
pid_t strace_attach(pid_t pid, const char *calls, const char *out,
                    const char *err);

/* Lines of strace's `text` that begin with `call`: every call made, or
 * (`worked`) only those that returned a descriptor or 0. */
int strace_calls(const char *text, const char *call, int worked);

/* ---- a raw HTTP/1.1 client (http_client.c) ---- */

#define HTTP_BUF_SIZE (128 * 1024)
#define HTTP_HEAD_MAX 8192
#define HTTP_BODY_MAX 16384
#define HTTP_HEADERS_MAX 64

struct http_client {
  int fd;
  size_t off, len; /* unread bytes are buf[off..len) */
  char buf[HTTP_BUF_SIZE];
};

struct http_resp {
  int status;               /* 100..599 */
  int minor;                /* HTTP/1.<minor> */
  int chunked;              /* body came with chunked framing */
  char status_line[256];    /* "HTTP/1.1 200 OK", without CRLF */
  char head[HTTP_HEAD_MAX]; /* the raw head, CRLFs included, NUL-ended */
  size_t nheaders;
  struct {
    char *name, *value; /* point into hbuf */
  } headers[HTTP_HEADERS_MAX];
  char hbuf[HTTP_HEAD_MAX];
  size_t body_len;              /* decoded */
  char body[HTTP_BODY_MAX + 1]; /* NUL-terminated for convenience */
};

/* Connects to 127.0.0.1:port, retrying a refused connection until
 * timeout_ms. Returns 0 or -errno. */
int http_open(struct http_client *c, int port, int timeout_ms);
void http_close(struct http_client *c);

/* Sends all `len` bytes (never raises SIGPIPE). Returns 0 or -errno. */
int http_send(struct http_client *c, const void *data, size_t len);
int http_send_str(struct http_client *c, const char *s);

/* Reads one response (a 1xx is returned on its own). The body is framed by
 * Content-Length, chunked (decoded), or the end of the connection; a
 * response to HEAD (flag HTTP_RESP_TO_HEAD), 1xx, 204 and 304 have none.
 * Bytes after it stay buffered for the next call (pipelining).
 * Returns 0, or:
 *   -ECONNABORTED  the server closed the connection before the first byte;
 *   -ECONNRESET    the connection was reset;
 *   -EPROTO        the response is malformed or cut short;
 *   -EMSGSIZE      head or body larger than this client keeps;
 *   -ETIMEDOUT     nothing complete within timeout_ms. */
#define HTTP_RESP_TO_HEAD 1
int http_read(struct http_client *c, struct http_resp *r, int flags,
              int timeout_ms);

/* Waits up to timeout_ms for the server to close the connection.
 * Returns 0 on a clean close (read returned 0), -ECONNRESET on a reset,
 * -ETIMEDOUT when it is still open, or -EPROTO when data arrived instead. */
int http_wait_close(struct http_client *c, int timeout_ms);

/* 1 if the connection stays open, with nothing to read, for `ms`. */
int http_still_open(struct http_client *c, int ms);

/* The value of the first response header `name` (case-insensitive), or
 * NULL. */
const char *http_header(const struct http_resp *r, const char *name);

/* One request on its own connection ("Connection: close"), 5 s timeout
 * (or timeout_ms for connect + send + read). Returns 0 with *r filled, or
 * -errno as http_read(). */
int http_get(int port, const char *target, struct http_resp *r);
int http_get_timeout(int port, const char *target, struct http_resp *r,
                     int timeout_ms);

/* One GET /normal on a new connection to s while the n connections of
 * `held` (slow clients) stay open: the number of them still open and
 * unanswered when its answer came (r holds it), or -errno as http_get()
 * if it got none. */
int srv_normal_amid(const struct srv *s, struct http_client *held, int n,
                    struct http_resp *r);

/* "HTTP error name" for an http_* return value, for messages. */
const char *http_strerror(int err);

/* ---- in a test body: fail the test instead of returning an error ----
 *
 * What several test files need in the same words: each asserts (Criterion's
 * cr_assert) with the server's log in its message, so a test reads as what
 * it expects. */

#define RESP_FMT "\n----- response -----\n%s%s\n--------------------"

/* srv_start_one() (5 s), then c connected to it. */
void srv_start_one_connected(struct srv *s, struct http_client *c,
                             const char *plugin, const char *const *more);

/* http_send_str() of str on c. */
void srv_send_str(const struct srv *s, struct http_client *c, const char *str);

/* The next response on c (http_read() with flags, within timeout_ms) into
 * r; it must have status `want`. */
void srv_read_status(const struct srv *s, struct http_client *c,
                     struct http_resp *r, int flags, int want, int timeout_ms);

/* Sends GET /slow?ms=<ms> on c, a new connection, and waits until the
 * fixture logs "<who>: holding <ms> ms" (tests/plugins/slow_request.h):
 * the request is in flight on a worker. */
void srv_hold_slow(const struct srv *s, struct http_client *c, const char *who,
                   unsigned ms);

/* Reads the answer to srv_hold_slow()'s request into r: it must come within
 * 5 s and be 200 "slow\n" (expected, so the test goes on to say what else
 * went wrong). */
void srv_read_slow(const struct srv *s, struct http_client *c,
                   struct http_resp *r);

/* The worker `old` retires after a fault: it says so, it is gone within
 * timeout_ms, and GET / still gets its 200 (from the replacement). */
void srv_expect_replaced(const struct srv *s, pid_t old, int timeout_ms);

/* spawn_mchost() of args, then its port and its "ready:" line (every
 * worker wanted serves), each within timeout_ms: for a plugin whose GET /
 * is no readiness probe (srv_start() waits for a 200). */
void srv_spawn_ready(struct srv *s, const char *const *args, int timeout_ms);

/* The pid of the master's only worker (only_worker()). */
pid_t srv_the_worker(const struct srv *s, int timeout_ms);

/* Starts mchost with args (spawn_mchost()) for a plugin that cannot
 * start: the master must give up by itself within timeout_ms, exit 3, and
 * never say "listening on" (that means serving). */
void srv_expect_refused_start(struct srv *s, const char *const *args,
                              int timeout_ms);

#endif /* MCHOST_TEST_HARNESS_H */
