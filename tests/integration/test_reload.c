/*
 * test_reload.c - live reload as a developer lives it: the plugin file is
 * overwritten (cp), replaced (mv), written in a burst, or rebuilt by
 * --build from a watched source tree, while clients keep sending requests.
 * No request may fail, every answer comes whole from one version, and a
 * plugin that cannot start never replaces the one that serves.
 *
 * Each test owns a temporary directory with app.so (and src/ for --build)
 * and one mchost serving it. The fixtures gen_v1.so and gen_v2.so are one
 * source built twice: they answer "v1 g<generation>" and "v2 g<generation>",
 * so every response says which file answered and in which generation.
 *
 * A load (struct load) runs client threads beside the test: keep-alive ones
 * (a new connection only when the server says Connection: close) and ones
 * that open a new connection per request. Every response is checked as it
 * arrives; the test asserts on the counts at the end.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef SDK_DIR
#error "SDK_DIR must be defined by the build (the directory of mchost.h)"
#endif
#ifndef TEST_CC
#error "TEST_CC must be defined by the build (a C compiler)"
#endif
#ifndef NOT_ELF_FILE
#error "NOT_ELF_FILE must be defined by the build (tests/plugins/not_elf.txt)"
#endif

#define GEN_V1 TEST_PLUGINS_DIR "/gen_v1.so"
#define GEN_V2 TEST_PLUGINS_DIR "/gen_v2.so"
#define GEN_REFUSE TEST_PLUGINS_DIR "/gen_refuse.so"
#define GEN_SLOW TEST_PLUGINS_DIR "/gen_slow.so" /* 400 ms in mc_init */

#define COOLDOWN_MS 100 /* mchost's default --cooldown */
#define MAX_GEN 64

extern char **environ;

static struct srv S;
static char T[64];       /* this test's directory */
static char APP[128];    /* T/app.so: the --plugin */
static char BUILD[1024]; /* the --build command of the build tests */

/* ---- files and commands ---- */

/* Runs argv[0] (searched in PATH) to completion; returns its exit code, or
 * -1 if it could not run or was killed. */
static int run(const char *const *argv) {
  pid_t pid;
  int st;
  if (posix_spawnp(&pid, argv[0], NULL, NULL, DECONST(char *const *, argv),
                   environ) != 0)
    return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int sh(const char *cmd) {
  return run((const char *const[]){"/bin/sh", "-c", cmd, NULL});
}

/* `cp src dst`: rewrites dst in place (same inode), as a user does. */
static void cp(const char *src, const char *dst) {
  cr_assert_eq(run((const char *const[]){"cp", src, dst, NULL}), 0,
               "cp %s %s failed", src, dst);
}

/* Writes a complete file beside the plugin, then `mv`s it over: the inode
 * changes, the new file is never seen half-written. */
static void mv_over(const char *src, const char *dst) {
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.new", dst);
  cp(src, tmp);
  cr_assert_eq(run((const char *const[]){"mv", tmp, dst, NULL}), 0,
               "mv %s %s failed", tmp, dst);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t len = strlen(text);
  cr_assert_geq(fd, 0, "cannot create %s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, text, len), (ssize_t)len, "short write to %s", path);
  close(fd);
}

/* As an editor saves: a new file under another name, renamed over. */
static void save_file(const char *path, const char *text) {
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s.tmp~", path);
  write_file(tmp, text);
  cr_assert_eq(rename(tmp, path), 0, "rename %s: %s", tmp, strerror(errno));
}

static char *slurp(const char *path, size_t *len) {
  struct stat st;
  char *buf;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0, "cannot open %s: %s", path, strerror(errno));
  cr_assert_eq(fstat(fd, &st), 0);
  buf = malloc((size_t)st.st_size);
  cr_assert_not_null(buf);
  cr_assert_eq(read(fd, buf, (size_t)st.st_size), (ssize_t)st.st_size);
  close(fd);
  *len = (size_t)st.st_size;
  return buf;
}

/* Writes `src` over `dst` in place in `pieces` writes, `gap_ms` apart, as a
 * slow linker or a copy over a network would: between two writes the file
 * is truncated and half-written. */
static void write_in_pieces(const char *src, const char *dst, int pieces,
                            int gap_ms) {
  size_t len, off = 0;
  char *data = slurp(src, &len);
  int fd = open(dst, O_WRONLY | O_TRUNC | O_CLOEXEC);
  cr_assert_geq(fd, 0, "cannot open %s: %s", dst, strerror(errno));
  for (int i = 0; i < pieces; i++) {
    size_t end = i == pieces - 1 ? len : len / (size_t)pieces * (size_t)(i + 1);
    cr_assert_eq(write(fd, data + off, end - off), (ssize_t)(end - off));
    off = end;
    if (i < pieces - 1)
      sleep_ms(gap_ms);
  }
  close(fd);
  free(data);
}

/* Writes `src` over `dst` as GNU ld (bfd) writes its output, seen with
 * strace: it opens the file with O_TRUNC long before it writes (while it
 * reads its inputs), writes the sections, and writes the ELF header at
 * offset 0 near the end. Each step here is `gap_ms` after the previous. */
static void write_like_ld(const char *src, const char *dst, int gap_ms) {
  size_t len, half;
  char *data = slurp(src, &len);
  int fd = open(dst, O_WRONLY | O_TRUNC | O_CLOEXEC);
  cr_assert_geq(fd, 0, "cannot open %s: %s", dst, strerror(errno));
  cr_assert_gt(len, 128);
  half = len / 2;
  sleep_ms(gap_ms);
  cr_assert_eq(pwrite(fd, data + 64, half - 64, 64), (ssize_t)(half - 64));
  sleep_ms(gap_ms);
  cr_assert_eq(pwrite(fd, data + half, len - half, (off_t)half),
               (ssize_t)(len - half));
  sleep_ms(gap_ms);
  cr_assert_eq(pwrite(fd, data, 64, 0), 64);
  close(fd);
  free(data);
}

/* ---- the server ---- */

static void reload_init(void) {
  snprintf(T, sizeof T, "/tmp/mchost-reload-XXXXXX");
  cr_assert_not_null(mkdtemp(T), "mkdtemp: %s", strerror(errno));
  snprintf(APP, sizeof APP, "%s/app.so", T);
}

static void load_stop_all(void);

static void reload_fini(void) {
  load_stop_all();
  srv_stop(&S);
  if (!getenv("MCHOST_TEST_KEEP_LOGS"))
    rm_tree(T);
}

TestSuite(reload, .init = reload_init, .fini = reload_fini, .timeout = 40);

static void start_env(const char *const *args, const char *const *env) {
  int err = spawn_mchost_env(args, env, &S);
  cr_assert_eq(err, 0, "cannot start mchost: %s", strerror(-err));
  if ((err = srv_wait_port(&S, 5000)) > 0)
    err = srv_wait_ready(&S, 5000);
  cr_assert_geq(err, 0, "mchost did not start serving: %s" SRV_LOG_FMT,
                strerror(-err), srv_log_tail(&S));
}

static void start(const char *const *args) { start_env(args, NULL); }

/* mchost --plugin T/app.so --reload --log-level debug --workers 2
 * [extra...], app.so = `so`: what --dev does, without --dev's failure
 * pages (test_devloop.c), so that the old generation's answers show. */
static void start_dev(const char *so, const char *const *extra) {
  const char *args[24] = {"--plugin", APP,         "--reload", "--log-level",
                          "debug",    "--workers", "2"};
  int n = 7;
  for (; extra && *extra; extra++)
    args[n++] = *extra;
  args[n] = NULL;
  cp(so, APP);
  start(args);
}

/* The body of GET / on a new connection ("" when there was none). */
static const char *answer(void) {
  static struct http_resp r;
  int err = http_get(S.port, "/", &r);
  if (err != 0 || r.status != 200)
    return "";
  return r.body;
}

/* Polls GET / until its body is `want` or timeout_ms; returns the ms it
 * took, or -1. */
static int wait_answer(const char *want, int timeout_ms) {
  int64_t t0 = now_ms(), deadline = t0 + timeout_ms;
  do {
    if (strcmp(answer(), want) == 0)
      return (int)(now_ms() - t0);
    sleep_ms(5);
  } while (now_ms() < deadline);
  return -1;
}

static void expect_answer(const char *want, int timeout_ms, const char *when) {
  int ms = wait_answer(want, timeout_ms);
  cr_assert_geq(ms, 0,
                "%s: GET / answers [%s], want [%s] within %d ms" SRV_LOG_FMT,
                when, answer(), want, timeout_ms, srv_log_tail(&S));
}

static void expect_log(const char *needle, int timeout_ms) {
  cr_assert(wait_log(&S, needle, timeout_ms),
            "no '%s' in the log within %d ms" SRV_LOG_FMT, needle, timeout_ms,
            srv_log_tail(&S));
}

static void expect_reloaded(unsigned generation, int timeout_ms) {
  char line[64];
  snprintf(line, sizeof line, "reloaded: generation %u serving", generation);
  expect_log(line, timeout_ms);
}

/* ---- client load ---- */

enum { LOAD_THREADS_MAX = 8, ANSWERS_MAX = 5 };

struct load;

struct load_thread {
  struct load *l;
  pthread_t th;
  int keep_alive; /* else one connection per request */
};

struct load {
  int port, pause_ms, nthreads, running;
  struct load_thread t[LOAD_THREADS_MAX];
  atomic_int stop;
  atomic_long requests, ok, failed, bad_status, bad_body, connections;
  atomic_long went_back;        /* a connection answered an older generation */
  atomic_long closed_by_server; /* keep-alive ones ended by Connection: close */
  atomic_long max_latency_ms;
  const char *answers[ANSWERS_MAX];   /* [1..]: the answers a body may have */
  atomic_long first_ms[ANSWERS_MAX];  /* now_ms() of each one's first time */
  atomic_int version_of[MAX_GEN + 1]; /* which one each generation gave */
  atomic_long mixed;                  /* a generation answered two versions */
  pthread_mutex_t lock;
  char first_error[256]; /* the first failure, for the message */
};

static struct load *loads[4];

static void load_note_error(struct load *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void load_note_error(struct load *l, const char *fmt, ...) {
  va_list ap;
  pthread_mutex_lock(&l->lock);
  if (l->first_error[0] == '\0') {
    va_start(ap, fmt);
    vsnprintf(l->first_error, sizeof l->first_error, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&l->lock);
}

/* Checks one 200 body: "<answer> g<N>\n", where <answer> is one of the
 * load's answers. Returns its generation (and the answer's index, 1-based,
 * in *v), or 0. */
static unsigned load_check_body(struct load *l, const struct http_resp *r) {
  unsigned g = 0, v = 0;
  char word[32], nl = 0;
  int expected = 0;
  long t = now_ms(), unset = 0;

  if (sscanf(r->body, "%31s g%u%c", word, &g, &nl) == 3 && nl == '\n' &&
      g > 0 && g <= MAX_GEN && r->body_len == strlen(r->body))
    for (unsigned i = 1; i < ANSWERS_MAX && l->answers[i]; i++)
      if (strcmp(word, l->answers[i]) == 0)
        v = i;
  if (v == 0) {
    atomic_fetch_add(&l->bad_body, 1);
    load_note_error(l, "bad body [%.60s]", r->body);
    return 0;
  }
  atomic_compare_exchange_strong(&l->first_ms[v], &unset, t);
  if (!atomic_compare_exchange_strong(&l->version_of[g], &expected, (int)v) &&
      expected != (int)v) {
    atomic_fetch_add(&l->mixed, 1);
    load_note_error(l, "generation %u answered both %s and %s", g,
                    l->answers[expected], l->answers[v]);
  }
  return g;
}

static void *load_main(void *arg) {
  struct load_thread *lt = arg;
  struct load *l = lt->l;
  struct http_client *c = malloc(sizeof *c);
  struct http_resp *r = malloc(sizeof *r);
  const char *req =
      lt->keep_alive ? "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
                     : "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  unsigned conn_gen = 0;
  c->fd = -1;

  while (!atomic_load(&l->stop)) {
    int64_t t0 = now_ms();
    int err = 0;
    if (c->fd < 0) {
      /* One try: a refused connection is a failure, not something to
       * retry (the master holds the socket through every reload). */
      if ((err = http_open(c, l->port, 0)) != 0) {
        atomic_fetch_add(&l->failed, 1);
        load_note_error(l, "connect: %s", http_strerror(err));
        sleep_ms(10);
        continue;
      }
      atomic_fetch_add(&l->connections, 1);
      conn_gen = 0;
    }
    atomic_fetch_add(&l->requests, 1);
    if ((err = http_send_str(c, req)) == 0)
      err = http_read(c, r, 0, 5000);
    if (err != 0) {
      atomic_fetch_add(&l->failed, 1);
      load_note_error(l, "%s request: %s",
                      lt->keep_alive ? "keep-alive" : "new-connection",
                      http_strerror(err));
      http_close(c);
      continue;
    }
    long took = now_ms() - t0, max = atomic_load(&l->max_latency_ms);
    while (took > max &&
           !atomic_compare_exchange_weak(&l->max_latency_ms, &max, took)) {
    }
    if (r->status != 200) {
      atomic_fetch_add(&l->bad_status, 1);
      load_note_error(l, "status %d [%.60s]", r->status, r->body);
    } else {
      unsigned g = load_check_body(l, r);
      if (g != 0) {
        atomic_fetch_add(&l->ok, 1);
        if (g < conn_gen) {
          atomic_fetch_add(&l->went_back, 1);
          load_note_error(l, "one connection answered g%u after g%u", g,
                          conn_gen);
        }
        conn_gen = g;
      }
    }
    const char *conn = http_header(r, "Connection");
    if (lt->keep_alive && conn && strcasecmp(conn, "close") == 0)
      atomic_fetch_add(&l->closed_by_server, 1);
    if (!lt->keep_alive || (conn && strcasecmp(conn, "close") == 0))
      http_close(c);
    if (l->pause_ms > 0)
      sleep_ms(l->pause_ms);
  }
  http_close(c);
  free(c);
  free(r);
  return NULL;
}

/* Starts `keep_alive` + `fresh` client threads against S, each pausing
 * pause_ms between requests (0: as fast as the server answers). A body must
 * be one of `answers` (NULL-terminated; NULL: "v1" and "v2"), followed by
 * " g<generation>"; load.first_ms[i] and version_of[] count answers[i-1] as
 * i. */
static struct load *load_start_answers(int keep_alive, int fresh, int pause_ms,
                                       const char *const *answers) {
  static const char *const gen_answers[] = {"v1", "v2", NULL};
  struct load *l = calloc(1, sizeof *l);
  cr_assert_not_null(l);
  for (int i = 0; (answers ? answers : gen_answers)[i]; i++) {
    cr_assert_lt(i + 1, ANSWERS_MAX);
    l->answers[i + 1] = (answers ? answers : gen_answers)[i];
  }
  cr_assert_leq(keep_alive + fresh, LOAD_THREADS_MAX);
  l->port = S.port;
  l->pause_ms = pause_ms;
  pthread_mutex_init(&l->lock, NULL);
  for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++)
    if (loads[i] == NULL) {
      loads[i] = l;
      break;
    }
  for (int i = 0; i < keep_alive + fresh; i++) {
    l->t[i].l = l;
    l->t[i].keep_alive = i < keep_alive;
    cr_assert_eq(pthread_create(&l->t[i].th, NULL, load_main, &l->t[i]), 0);
    l->nthreads++;
  }
  l->running = 1;
  return l;
}

static struct load *load_start(int keep_alive, int fresh, int pause_ms) {
  return load_start_answers(keep_alive, fresh, pause_ms, NULL);
}

static void load_stop(struct load *l) {
  if (l == NULL || !l->running)
    return;
  atomic_store(&l->stop, 1);
  for (int i = 0; i < l->nthreads; i++)
    pthread_join(l->t[i].th, NULL);
  l->running = 0;
}

/* .fini: an assert may leave threads running. */
static void load_stop_all(void) {
  for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
    load_stop(loads[i]);
    free(loads[i]);
    loads[i] = NULL;
  }
}

/* Stops the load and asserts it saw no failure at all. */
static void load_expect_clean(struct load *l, const char *what) {
  load_stop(l);
  cr_log_info("%s: %ld requests on %ld connections (%ld keep-alive ones "
              "closed by the server), max latency %ld ms",
              what, atomic_load(&l->requests), atomic_load(&l->connections),
              atomic_load(&l->closed_by_server),
              atomic_load(&l->max_latency_ms));
  cr_expect_gt(atomic_load(&l->ok), 0, "%s: no successful request", what);
  cr_expect(atomic_load(&l->failed) == 0 && atomic_load(&l->bad_status) == 0 &&
                atomic_load(&l->bad_body) == 0 && atomic_load(&l->mixed) == 0 &&
                atomic_load(&l->went_back) == 0,
            "%s: of %ld requests %ld failed, %ld not 200, %ld bad bodies, "
            "%ld from a generation with two versions, %ld went back a "
            "generation; first: %s" SRV_LOG_FMT,
            what, atomic_load(&l->requests), atomic_load(&l->failed),
            atomic_load(&l->bad_status), atomic_load(&l->bad_body),
            atomic_load(&l->mixed), atomic_load(&l->went_back), l->first_error,
            srv_log_tail(&S));
}

/* Waits until the load has seen an answer from version v; returns the
 * now_ms() of the first one, or -1. */
static long load_wait_version(struct load *l, int v, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    long t = atomic_load(&l->first_ms[v]);
    if (t != 0)
      return t;
    if (now_ms() >= deadline)
      return -1;
    sleep_ms(2);
  }
}

/* Polls until the load's counter *c reaches `want`; returns its value. */
static long load_wait_count(atomic_long *c, long want, int timeout_ms) {
  int64_t deadline = deadline_in(timeout_ms);
  long v;
  while ((v = atomic_load(c)) < want && remaining_ms(deadline) > 0)
    sleep_ms(2);
  return v;
}

/* Every generation that answered gave the answer it should: answers[
 * want(g)] for g <= last, none past `last` (never started). */
static void load_expect_generations(struct load *l, unsigned last,
                                    int (*want)(unsigned g)) {
  for (unsigned g = 1; g <= MAX_GEN; g++) {
    int v = atomic_load(&l->version_of[g]);
    if (v == 0)
      continue;
    cr_expect(g <= last, "generation %u answered [%s] but was never started", g,
              l->answers[v]);
    if (g <= last)
      cr_expect_eq(v, want(g), "generation %u answered [%s], want [%s]", g,
                   l->answers[v], l->answers[want(g)]);
  }
}

static int v1_then_v2(unsigned g) { return g == 1 ? 1 : 2; }
static int odd_v1_even_v2(unsigned g) { return g % 2 ? 1 : 2; }
static int nth_answer(unsigned g) { return (int)g; }

/* ---- overwriting the plugin under load ---- */

/* Puts gen_v2.so over a serving gen_v1.so with `replace` while two
 * keep-alive and two new-connection clients run. */
static void swap_under_load(void (*replace)(const char *, const char *),
                            const char *how) {
  start_dev(GEN_V1, NULL);
  struct load *l = load_start(2, 2, 1);
  /* Traffic on both kinds of connection before the change. */
  cr_assert_geq(load_wait_version(l, 1, 3000), 0, "no answer from v1");
  long ok = atomic_load(&l->ok);
  cr_assert_geq(load_wait_count(&l->ok, ok + 20, 3000), ok + 20,
                "the clients stopped getting answers");

  replace(GEN_V2, APP);
  int64_t written = now_ms();
  long first = load_wait_version(l, 2, COOLDOWN_MS + 3000);
  cr_expect(first >= 0 && first - written <= COOLDOWN_MS + 1000,
            "%s: the new answer came %ld ms after the write, want <= %d "
            "ms" SRV_LOG_FMT,
            how, first < 0 ? -1 : first - written, COOLDOWN_MS + 1000,
            srv_log_tail(&S));
  cr_log_info("%s: new answer %ld ms after the write", how, first - written);
  /* The clients go on while the old generation drains; the keep-alive
   * ones were on generation 1, and it tells them to leave. */
  expect_log("generation 1 is draining", 2000);
  cr_expect_geq(load_wait_count(&l->closed_by_server, 1, 3000), 1,
                "%s: no keep-alive connection got Connection: close", how);
  load_expect_clean(l, how);
  load_expect_generations(l, 2, v1_then_v2);
  cr_expect_str_eq(answer(), "v2 g2\n");
  cr_expect_eq(log_count(&S, "reloading ("), 1,
               "want exactly one reload" SRV_LOG_FMT, srv_log_tail(&S));
}

Test(reload, cp_over_plugin_reloads_with_no_failed_request) {
  swap_under_load(cp, "cp over the plugin");
}

Test(reload, mv_over_plugin_reloads_with_no_failed_request) {
  swap_under_load(mv_over, "mv over the plugin");
}

/* The master's snapshot directory (under TMPDIR=T, see below), or "". */
static const char *snapdir(void) {
  static char dir[256];
  char pattern[128];
  glob_t g;
  snprintf(pattern, sizeof pattern, "%s/mchost-%d-*", T, (int)S.pid);
  dir[0] = '\0';
  if (glob(pattern, GLOB_ONLYDIR, NULL, &g) == 0 && g.gl_pathc == 1)
    snprintf(dir, sizeof dir, "%s", g.gl_pathv[0]);
  globfree(&g);
  return dir;
}

/* The files in `dir`, space-separated, and their count in *n. */
static const char *list_dir(const char *dir, int *n) {
  static char names[1024];
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t len = 0;
  names[0] = '\0';
  *n = 0;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    (*n)++;
    len += (size_t)snprintf(names + len, sizeof names - len, "%s ", e->d_name);
    if (len >= sizeof names)
      len = sizeof names - 1;
  }
  if (d)
    closedir(d);
  return names;
}

Test(reload, twenty_reloads_in_a_row_under_load) {
  /* Snapshots go to $XDG_RUNTIME_DIR, else $TMPDIR: here, T. */
  unsetenv("XDG_RUNTIME_DIR");
  setenv("TMPDIR", T, 1);
  start_dev(GEN_V1, NULL);
  char snaps[256];
  snprintf(snaps, sizeof snaps, "%s", snapdir());
  cr_assert_neq(snaps[0], '\0', "no snapshot directory %s/mchost-%d-*", T,
                (int)S.pid);
  struct load *l = load_start(2, 2, 2);
  cr_assert_geq(load_wait_version(l, 1, 3000), 0, "no answer from v1");
  int64_t t0 = now_ms();
  /* Generation g runs gen_v1 when g is odd, gen_v2 when it is even. */
  for (unsigned g = 2; g <= 21; g++) {
    cp(g % 2 ? GEN_V1 : GEN_V2, APP);
    expect_reloaded(g, 5000);
  }
  cr_log_info("20 reloads in %lld ms", (long long)(now_ms() - t0));
  long ok = atomic_load(&l->ok);
  cr_expect_geq(load_wait_count(&l->ok, ok + 20, 3000), ok + 20,
                "the clients stopped getting answers after the reloads");
  load_expect_clean(l, "twenty reloads");
  load_expect_generations(l, 21, odd_v1_even_v2);
  cr_expect_str_eq(answer(), "v1 g21\n");
  cr_expect_eq(log_count(&S, "reloading ("), 20, "want 20 reloads" SRV_LOG_FMT,
               srv_log_tail(&S));

  /* Once the old generations are gone, so are their snapshots: a day of
   * reloads must not fill the disk (or the tmpfs of XDG_RUNTIME_DIR). */
  int n, workers = wait_workers(S.pid, 2, 5000, 100);
  cr_expect_eq(workers, 2, "old generations still running" SRV_LOG_FMT,
               srv_log_tail(&S));
  const char *names = list_dir(snaps, &n);
  cr_expect(n == 1 && strcmp(names, "gen-21.so ") == 0,
            "snapshots left in %s: %s", snaps, names);
  /* And the directory goes with the master. */
  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  cr_expect_eq(srv_wait_exit(&S, 5000), 0, "exit after SIGTERM" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(access(snaps, F_OK), -1, "%s is left after the exit", snaps);
}

/* After one write of the plugin, however slow or chunked: exactly one
 * reload, and it never saw a half-written file. */
static void expect_one_clean_reload(const char *what) {
  cr_expect_eq(log_count(&S, "reloading ("), 1,
               "want one reload for one %s" SRV_LOG_FMT, what,
               srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "cannot load plugin"), 0,
               "a half-written plugin was loaded" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "failed"), 0, "a reload failed" SRV_LOG_FMT,
               srv_log_tail(&S));
}

Test(reload, burst_of_writes_within_cooldown_reloads_once) {
  start_dev(GEN_V1, (const char *const[]){"--cooldown", "200", NULL});
  /* Five pieces 20 ms apart: 80 ms, well within the 200 ms cooldown. */
  write_in_pieces(GEN_V2, APP, 5, 20);
  expect_answer("v2 g2\n", 200 + 2000, "after the burst");
  /* Longer than a cooldown: a second reload would have started by now. */
  cr_expect(log_stays(&S, "reloading (", 1, 400),
            "a second reload after the burst" SRV_LOG_FMT, srv_log_tail(&S));
  expect_one_clean_reload("burst");
}

/* A writer slower than the cooldown: the debounce fires while the file is
 * half-written, and the reload must wait for the rest instead of loading
 * it (or failing on it). */
Test(reload, slow_writer_is_waited_for_not_loaded_half_written) {
  start_dev(GEN_V1, NULL);
  write_in_pieces(GEN_V2, APP, 5, 3 * COOLDOWN_MS / 2);
  expect_answer("v2 g2\n", 3000, "after the slow write");
  cr_expect(log_stays(&S, "reloading (", 1, 2 * COOLDOWN_MS),
            "a second reload after the slow write" SRV_LOG_FMT,
            srv_log_tail(&S));
  expect_one_clean_reload("slow write");
}

/* The same with a linker's order of writes (see write_like_ld()): for a
 * while the file is empty, then it has sections but a zeroed ELF header. A
 * link slower than the cooldown is common (big plugins, LTO), and is still
 * not a plugin that fails to load: a file that starts with zeros (the hole
 * where bfd writes the ELF header last) is still being written, not an
 * "invalid ELF header". */
Test(reload, slow_link_is_waited_for_not_loaded_half_written) {
  start_dev(GEN_V1, NULL);
  write_like_ld(GEN_V2, APP, 2 * COOLDOWN_MS);
  expect_answer("v2 g2\n", 3000, "after the slow link");
  cr_expect(log_stays(&S, "reloading (", 1, 2 * COOLDOWN_MS),
            "a second reload after the slow link" SRV_LOG_FMT,
            srv_log_tail(&S));
  expect_one_clean_reload("link");
}

/* ---- a new plugin that cannot start ---- */

/* Puts `bad` over the serving gen_v1 under load: the old generation keeps
 * answering, `error` is logged once, and a later good file is picked up. */
static void bad_plugin_keeps_old_generation(const char *bad,
                                            const char *error) {
  start_dev(GEN_V1, NULL);
  struct load *l = load_start(1, 1, 2);
  cp(bad, APP);
  expect_log("reload to generation 2 failed", COOLDOWN_MS + 3000);
  cr_expect_str_eq(answer(), "v1 g1\n", "the old generation stopped serving");
  /* A while longer: the failure is not retried in a loop. */
  cr_expect(log_stays(&S, error, 1, COOLDOWN_MS + 400),
            "want '%s' logged once" SRV_LOG_FMT, error, srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "reload to generation"), 1,
               "want one failed reload" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "keeps serving"), 1,
               "the log must say the old generation keeps serving" SRV_LOG_FMT,
               srv_log_tail(&S));

  /* The next good file is picked up. */
  cp(GEN_V2, APP);
  expect_reloaded(3, COOLDOWN_MS + 3000);
  expect_answer("v2 g3\n", 2000, "after a good plugin followed the bad one");
  load_expect_clean(l, "a bad plugin, then a good one");
  cr_expect_eq(atomic_load(&l->version_of[2]), 0,
               "the failed generation 2 answered requests");
  load_expect_generations(l, 3, v1_then_v2);
}

Test(reload, plugin_that_is_not_elf_keeps_old_generation) {
  bad_plugin_keeps_old_generation(NOT_ELF_FILE, "cannot load plugin");
}

Test(reload, plugin_whose_init_refuses_keeps_old_generation) {
  bad_plugin_keeps_old_generation(GEN_REFUSE, "mc_init() refused");
}

/* ---- --build ---- */

static const char MAIN_C[] =
    "#include <mchost.h>\n"
    "#include <stdio.h>\n"
    "MC_PLUGIN();\n"
    "/* an answer.c anywhere under src/ overrides it */\n"
    "__attribute__((weak)) const char *answer(void) { return \"base\"; }\n"
    "void mc_run(mc_request *req, mc_response *res) {\n"
    "  char body[64];\n"
    "  int n = snprintf(body, sizeof body, \"%s g%u\\n\", answer(),\n"
    "                   mc_worker_self()->generation);\n"
    "  (void)req;\n"
    "  mc_response_send(res, 200, body, (size_t)n);\n"
    "}\n";

static void write_answer(const char *path, const char *text) {
  char src[256];
  snprintf(src, sizeof src,
           "const char *answer(void);\n"
           "const char *answer(void) { return \"%s\"; }\n",
           text);
  save_file(path, src);
}

/* Writes T/src/main.c and sets BUILD, the --build command: `prefix`, then
 * a compile of every .c file under T/src (at any depth) into T/app.so, or
 * under T/snap when there is a prefix (it makes that copy). */
static void build_setup(const char *prefix) {
  char path[128];
  snprintf(path, sizeof path, "%s/src", T);
  cr_assert_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/src/main.c", T);
  write_file(path, MAIN_C);
  snprintf(BUILD, sizeof BUILD,
           "%s%s -shared -fPIC -w -I'%s' -o '%s/app.so' "
           "$(find '%s/%s' -name '*.c')",
           prefix, TEST_CC, SDK_DIR, T, T, prefix[0] ? "snap" : "src");
}

static void start_build(void) {
  char src[96], first[1200];
  snprintf(src, sizeof src, "%s/src", T);
  /* The first build, by hand, as a developer does before starting. */
  snprintf(first, sizeof first,
           "%s -shared -fPIC -w -I'%s' -o '%s/app.so' '%s/src/main.c'", TEST_CC,
           SDK_DIR, T, T);
  cr_assert_eq(sh(first), 0, "the first build failed: %s", first);
  start((const char *const[]){"--plugin", APP, "--reload", "--log-level",
                              "debug", "--workers", "2", "--watch", src,
                              "--build", BUILD, NULL});
  cr_assert_str_eq(answer(), "base g1\n");
}

Test(reload, build_on_source_change_in_new_nested_dir) {
  char path[160];
  build_setup("");
  start_build();
  struct load *l = load_start_answers(
      1, 1, 2, (const char *const[]){"base", "nested1", "nested2", NULL});

  /* A directory tree made after the start, a source written at once. */
  snprintf(path, sizeof path, "%s/src/lib/deep", T);
  cr_assert_eq(run((const char *const[]){"mkdir", "-p", path, NULL}), 0);
  snprintf(path, sizeof path, "%s/src/lib/deep/answer.c", T);
  write_answer(path, "nested1");
  expect_answer("nested1 g2\n", 5000, "after a source in a new directory");
  expect_log("build succeeded", 1000);

  /* Another extension is not a source: no build. */
  int builds = log_count(&S, "building:");
  snprintf(path, sizeof path, "%s/src/lib/notes.txt", T);
  write_file(path, "not a source\n");
  snprintf(path, sizeof path, "%s/src/README.md", T);
  write_file(path, "not a source either\n");
  cr_expect(log_stays(&S, "building:", builds, COOLDOWN_MS + 600),
            "a .txt or .md file started a build" SRV_LOG_FMT, srv_log_tail(&S));

  /* A build that fails: its output is logged, the old generation serves. */
  snprintf(path, sizeof path, "%s/src/lib/deep/answer.c", T);
  save_file(path, "const char *answer(void) { return \"broken\" }\n");
  expect_log("build failed", 5000);
  char *log = srv_log_read(&S);
  cr_expect(log && strstr(log, "answer.c") && strstr(log, "error"),
            "the compiler's error is not in the log" SRV_LOG_FMT,
            srv_log_tail(&S));
  free(log);
  cr_expect_str_eq(answer(), "nested1 g2\n",
                   "a failed build replaced the serving generation");

  /* The next good edit is picked up. */
  write_answer(path, "nested2");
  expect_answer("nested2 g3\n", 5000, "after the fix");
  load_expect_clean(l, "builds");
  load_expect_generations(l, 3, nth_answer);
  cr_expect_eq(log_count(&S, "build failed"), 1,
               "want one failed build" SRV_LOG_FMT, srv_log_tail(&S));
}

/* A --build that copies src/ first, sleeps 1 s, then compiles the copy:
 * a source saved during that second is not in this build. Sets `path` to
 * T/src/answer.c. */
static void start_slow_build(char *path, size_t size) {
  char prefix[512];
  snprintf(prefix, sizeof prefix,
           "rm -rf '%s/snap' '%s/copied' && cp -r '%s/src' '%s/snap' && "
           "touch '%s/copied' && sleep 1 && ",
           T, T, T, T, T);
  build_setup(prefix);
  snprintf(path, size, "%s/src/answer.c", T);
  start_build();
}

/* The slow build has started and taken its copy of src/: it sleeps now. */
static void expect_build_copied(void) {
  char copied[96];
  expect_log("building:", 2000);
  snprintf(copied, sizeof copied, "%s/copied", T);
  cr_assert(wait_file(copied, 3000), "the build never copied src/" SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* A source saved while the build of the previous save runs (the build
 * takes a copy of src/ first, then a second): the edit is not lost. */
Test(reload, change_during_build_is_not_lost) {
  char path[160];
  start_slow_build(path, sizeof path);

  write_answer(path, "edit1");
  expect_build_copied();
  write_answer(path, "edit2");
  expect_answer("edit2 g3\n", 8000, "after an edit during the build");
  cr_expect_eq(log_count(&S, "build succeeded"), 2,
               "want two builds" SRV_LOG_FMT, srv_log_tail(&S));
}

/* The same when the first build fails: a fix saved while the broken
 * version builds is built next, at once, and served. The next build must
 * not reuse the failed build's handles while they are closing (libuv
 * aborts the master in uv__finish_close). */
Test(reload, fix_saved_during_failing_build_is_built_next) {
  char path[160];
  start_slow_build(path, sizeof path);

  save_file(path, "const char *answer(void) { return \"broken\" }\n");
  expect_build_copied();
  write_answer(path, "fixed");
  expect_log("build failed", 3000);
  expect_answer("fixed g2\n", 5000, "after a fix saved during a failed build");
  cr_expect(srv_alive(&S), "the master died" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "build succeeded"), 1,
               "want one good build" SRV_LOG_FMT, srv_log_tail(&S));
}

/* A plugin changed while the previous change's generation is starting
 * (its mc_init takes 400 ms a worker): that generation finishes starting,
 * serves, and the next one follows with the newer file. */
Test(reload, change_while_generation_starts_is_not_lost) {
  start_dev(GEN_V1, NULL);
  struct load *l = load_start_answers(
      1, 1, 2, (const char *const[]){"v1", "v2", "slow", NULL});
  cp(GEN_SLOW, APP);
  expect_log("reloading (", COOLDOWN_MS + 2000);
  cp(GEN_V2, APP);
  expect_answer("v2 g3\n", 2 * 400 + COOLDOWN_MS + 3000,
                "after a change during a reload");
  cr_expect_geq(load_wait_version(l, 2, 2000), 0, "the load never saw v2");
  load_expect_clean(l, "a change while a generation starts");
  cr_expect_eq(log_count(&S, "reloading ("), 2, "want two reloads" SRV_LOG_FMT,
               srv_log_tail(&S));
  cr_expect_eq(log_count(&S, "failed"), 0, "a reload failed" SRV_LOG_FMT,
               srv_log_tail(&S));
  int v = atomic_load(&l->version_of[2]);
  cr_expect(v == 0 || v == 3, "generation 2 answered [%s]", l->answers[v]);
  cr_expect_eq(atomic_load(&l->version_of[3]), 2, "generation 3 answered [%s]",
               l->answers[atomic_load(&l->version_of[3])]);
}

/* SIGHUP always makes a new generation (it may be sent to re-run mc_init,
 * say after a configuration change), even when it arrives during a build
 * that changes nothing and a source change follows it: the pending SIGHUP
 * is not overwritten by the pending change. */
Test(reload, sighup_during_build_is_not_lost) {
  char src[96], file[128];
  snprintf(src, sizeof src, "%s/src", T);
  cr_assert_eq(mkdir(src, 0755), 0);
  snprintf(file, sizeof file, "%s/a.c", src);
  write_file(file, "int a;\n");
  cp(GEN_V1, APP);
  start((const char *const[]){"--plugin", APP, "--reload", "--log-level",
                              "debug", "--workers", "1", "--watch", src,
                              "--build", "sleep 1", NULL});
  write_file(file, "int b;\n");
  expect_log("building:", 2000);
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  expect_log("SIGHUP during a reload", 1000);
  write_file(file, "int c;\n");
  expect_answer("v1 g2\n", 5000, "after SIGHUP during a build");
}

/* ---- turning reload on and off ---- */

Test(reload, sighup_reloads_without_dev) {
  cp(GEN_V1, APP);
  start((const char *const[]){"--plugin", APP, "--workers", "2", NULL});
  struct load *l = load_start(2, 2, 2);

  /* Reload is off: a new file is not picked up by itself. */
  cp(GEN_V2, APP);
  cr_expect(log_stays(&S, "reloading (", 0, COOLDOWN_MS + 500),
            "reloaded without --reload or --dev" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_str_eq(answer(), "v1 g1\n", "reloaded without --reload or --dev");

  /* SIGHUP reloads, and again when nothing changed. */
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  expect_reloaded(2, 3000);
  expect_answer("v2 g2\n", 2000, "after SIGHUP");
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  expect_reloaded(3, 3000);
  expect_answer("v2 g3\n", 2000, "after a second SIGHUP");
  load_expect_clean(l, "SIGHUP");
  load_expect_generations(l, 3, v1_then_v2);
}

Test(reload, no_reload_wins_over_dev) {
  start_dev(GEN_V1, (const char *const[]){"--no-reload", NULL});
  cp(GEN_V2, APP);
  cr_expect(log_stays(&S, "reloading (", 0, COOLDOWN_MS + 1000),
            "reloaded despite --no-reload" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_str_eq(answer(), "v1 g1\n", "reloaded despite --no-reload");
}

Test(reload, mchost_env_development_turns_reload_on) {
  cp(GEN_V1, APP);
  start_env((const char *const[]){"--plugin", APP, "--workers", "2", NULL},
            (const char *const[]){"MCHOST_ENV=development", NULL});
  cp(GEN_V2, APP);
  expect_answer("v2 g2\n", COOLDOWN_MS + 1000,
                "MCHOST_ENV=development, after cp");
}
