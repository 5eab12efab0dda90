/*
 * test_files.c - a file as a response's body (mc_response_file(),
 * sdk/mchost/response.h): it arrives whole, with Content-Length, ETag,
 * Last-Modified and Accept-Ranges, and the connection serves the next
 * request; a large file goes by sendfile() and a small one in one write
 * with its head (strace); If-None-Match, If-Modified-Since, If-Match and
 * POST get 304 and 412; a range gets 206 under a matching If-Range and the
 * whole file otherwise, 416 past the end; HEAD gets the head alone. A
 * client that does not read for a while gets every byte once it does, and
 * the worker answers others meanwhile; one that leaves midway leaves no
 * descriptor open in the worker; one that takes nothing is cut at
 * --send-timeout. A download under way when its worker is replaced goes
 * on to its end. A directory is refused, and so is a second answer.
 * Clients: curl, and raw sockets for the slow and the vanishing ones.
 *
 * Fixture: tests/plugins/files.c (see its list).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define FILES TEST_PLUGINS_DIR "/files.so"
#define BIG (3u << 20)
#define HUGE (64u << 20)

static struct srv S;
static struct run_result R;
static char dir[] = "/tmp/mchost-files-XXXXXX";

static void fini(void) {
  run_result_free(&R);
  srv_stop(&S);
  rm_tree(dir);
}

TestSuite(files, .fini = fini, .timeout = 120);

/* The byte at offset i of every test file: not periodic over any small
 * span, so a byte sent from the wrong offset shows. */
static unsigned char pattern(uint64_t i) {
  return (unsigned char)(i * 7 + i / 251 + i / 65521);
}

static void make_file(const char *name, uint64_t size) {
  char path[128], buf[65536];
  uint64_t done = 0;
  int fd;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
  while (done < size) {
    size_t n = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
    for (size_t i = 0; i < n; i++)
      buf[i] = (char)pattern(done + i);
    cr_assert_eq(write(fd, buf, n), (ssize_t)n);
    done += n;
  }
  close(fd);
}

/* The files, and a worker serving them, with `more` options. */
static void start_with(const char *const *more) {
  const char *args[16] = {"--plugin", FILES, "--workers", "1"};
  char env_dir[96];
  const char *env[] = {env_dir, NULL};
  size_t n = 4;

  cr_assert_not_null(mkdtemp(dir));
  make_file("big", BIG);
  make_file("small", 1000);
  make_file("empty", 0);
  snprintf(env_dir, sizeof env_dir, "FILES_DIR=%s", dir);
  for (; more != NULL && *more != NULL && n < 15; more++)
    args[n++] = *more;
  args[n] = NULL;
  cr_assert_eq(srv_start_env(&S, args, env, 5000), 0,
               "mchost did not start" SRV_LOG_FMT, srv_log_tail(&S));
}

static void start(void) { start_with(NULL); }

static void curl(const char *const *args) { srv_curl(&S, args, &R); }

/* 1 when len bytes of data are the test file's from offset `from`. */
static int is_pattern(const char *data, size_t len, uint64_t from) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)data[i] != pattern(from + i))
      return 0;
  return 1;
}

/* The file curl wrote to `path`: its bytes are the pattern's from `from`,
 * and there are `len` of them. */
static void expect_download(const char *path, size_t len, uint64_t from) {
  size_t got = 0;
  char *data = read_file(path, &got);
  cr_assert_not_null(data, "%s was not written", path);
  cr_expect_eq(got, len, "%zu bytes, want %zu", got, len);
  cr_expect(is_pattern(data, got < len ? got : len, from),
            "the bytes are not the file's");
  free(data);
  unlink(path);
}

/* The value of header `name` in curl's -D output, or "". */
static const char *header_in(const char *head, const char *name, char *buf,
                             size_t size) {
  char *line = find_line(head, name, buf, size);
  if (line == NULL)
    return "";
  line += strlen(name);
  line += strspn(line, ": ");
  line[strcspn(line, "\r\n")] = '\0';
  return line;
}

/* The validators the fixture's file `name` must carry. */
static void validators(const char *name, char *etag, size_t elen, char *date,
                       size_t dlen) {
  char path[128];
  struct stat st;
  struct tm tm;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  cr_assert_eq(stat(path, &st), 0);
  snprintf(etag, elen, "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
           (unsigned long long)st.st_size);
  gmtime_r(&st.st_mtime, &tm);
  strftime(date, dlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

Test(files, a_file_comes_whole_with_its_validators_and_keeps_its_connection) {
  char out[64], etag[64], date[64], b1[256], b2[256], b3[256], b4[256];
  start();
  validators("big", etag, sizeof etag, date, sizeof date);
  snprintf(out, sizeof out, "%s/got", dir);
  curl((const char *const[]){"-D", "-", "-o", out, "-w",
                             "%{http_code} %{num_connects}\\n", ":/f/big", "-o",
                             "/dev/null", ":/f/small", NULL});
  cr_assert_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(header_in(R.out, "Content-Length", b1, sizeof b1),
                   "3145728");
  cr_expect_str_eq(header_in(R.out, "ETag", b2, sizeof b2), etag);
  cr_expect_str_eq(header_in(R.out, "Last-Modified", b3, sizeof b3), date);
  cr_expect_str_eq(header_in(R.out, "Content-Type", b4, sizeof b4),
                   "application/octet-stream");
  cr_expect_str_eq(header_in(R.out, "Accept-Ranges", b1, sizeof b1), "bytes");
  cr_expect(strstr(R.out, "200 1\n") != NULL, "%s", R.out);
  cr_expect(strstr(R.out, "200 0\n") != NULL,
            "the second request reconnected"
            ":\n%s",
            R.out);
  expect_download(out, BIG, 0);
  cr_expect(wait_log(&S, "files: big rc 0", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

Test(files, a_small_file_has_its_type_and_an_empty_one_its_zero_length) {
  char out[64], b[256];
  start();
  snprintf(out, sizeof out, "%s/got", dir);
  curl((const char *const[]){"-D", "-", "-o", out, ":/f/small?type=text/plain",
                             NULL});
  cr_assert_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(header_in(R.out, "Content-Type", b, sizeof b), "text/plain");
  cr_expect_str_eq(header_in(R.out, "Content-Length", b, sizeof b), "1000");
  expect_download(out, 1000, 0);

  /* The plugin's own Content-Type wins, and is not doubled. */
  curl((const char *const[]){"-D", "-", "-o", "/dev/null", ":/f/small?own=1",
                             NULL});
  cr_expect_str_eq(header_in(R.out, "Content-Type", b, sizeof b), "text/x-own");
  cr_expect_null(strstr(strstr(R.out, "Content-Type") + 1, "Content-Type"),
                 "%s", R.out);

  curl((const char *const[]){"-o", "/dev/null", "-w",
                             "%{http_code} %{size_download}", ":/f/empty",
                             NULL});
  cr_expect_str_eq(R.out, "200 0");
}

/* What the worker's main thread calls while it sends one file. */
static char *trace_one(const char *target) {
  char out[] = "/tmp/mchost-strace-XXXXXX", err[64];
  char *trace;
  pid_t worker = srv_the_worker(&S, 5000), tracer;
  int fd;

  cr_assert_geq(fd = mkstemp(out), 0);
  close(fd);
  snprintf(err, sizeof err, "%s.err", out);
  tracer = strace_attach(worker, "sendfile,pread64,read", out, err);
  curl((const char *const[]){"-o", "/dev/null", "-w", "%{size_download}",
                             target, NULL});
  kill(tracer, SIGINT);
  waitpid(tracer, NULL, 0);
  trace = read_file(out, NULL);
  unlink(out);
  unlink(err);
  cr_assert_not_null(trace);
  return trace;
}

/* The kernel copies a large file to the socket: no read of it passes
 * through the worker's memory. A small one is read once, and goes out
 * with its head. */
Test(files, a_large_file_goes_by_sendfile_and_a_small_one_with_its_head) {
  char *trace;
  start();
  trace = trace_one(":/f/big");
  cr_expect_str_eq(R.out, "3145728");
  cr_expect_geq(strace_calls(trace, "sendfile", 1), 1, "%s", trace);
  cr_expect_eq(strace_calls(trace, "pread64", 0), 0, "%s", trace);
  free(trace);

  trace = trace_one(":/f/small");
  cr_expect_str_eq(R.out, "1000");
  cr_expect_eq(strace_calls(trace, "sendfile", 0), 0, "%s", trace);
  cr_expect_eq(strace_calls(trace, "pread64", 0), 1, "%s", trace);
  free(trace);
}

/* status for GET /f/small with one more header (or -X METHOD). */
static void expect_status(const char *opt, const char *value,
                          const char *want) {
  curl((const char *const[]){"-o", "/dev/null", "-w", "%{http_code}", opt,
                             value, ":/f/small", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(R.out, want, "%s %s", opt, value);
}

Test(files, preconditions_answer_304_and_412) {
  char etag[64], date[64], h[160];
  start();
  validators("small", etag, sizeof etag, date, sizeof date);

  snprintf(h, sizeof h, "If-None-Match: W/\"x\", %s", etag);
  expect_status("-H", h, "304");
  expect_status("-H", "If-None-Match: \"other\"", "200");
  snprintf(h, sizeof h, "If-Modified-Since: %s", date);
  expect_status("-H", h, "304");
  expect_status("-H", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
                "200");
  /* If-None-Match decides when both are sent. */
  snprintf(h, sizeof h, "If-None-Match: \"other\"");
  curl((const char *const[]){"-o", "/dev/null", "-w", "%{http_code}", "-H", h,
                             "-H",
                             "If-Modified-Since: Fri, 31 Dec 9999 "
                             "23:59:59 GMT",
                             ":/f/small", NULL});
  cr_expect_str_eq(R.out, "200");
  expect_status("-H", "If-Match: \"nope\"", "412");
  snprintf(h, sizeof h, "If-Match: %s", etag);
  expect_status("-H", h, "200");
  expect_status("-H", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
                "412");
  /* Not GET or HEAD: a match of If-None-Match fails the request. */
  snprintf(h, sizeof h, "If-None-Match: %s", etag);
  curl((const char *const[]){"-o", "/dev/null", "-w", "%{http_code}", "-X",
                             "POST", "-H", h, ":/f/small", NULL});
  cr_expect_str_eq(R.out, "412");

  /* A 304 carries the validators and no body. */
  curl((const char *const[]){"-D", "-", "-o", "/dev/null", "-H", h, ":/f/small",
                             NULL});
  cr_expect(strstr(R.out, "HTTP/1.1 304") == R.out, "%s", R.out);
  cr_expect(strstr(R.out, etag) != NULL, "%s", R.out);
}

Test(files, a_range_under_if_range_and_a_head) {
  char out[64], etag[64], date[64], h[160], b[256];
  start();
  validators("big", etag, sizeof etag, date, sizeof date);
  snprintf(out, sizeof out, "%s/got", dir);

  /* A range in the middle of the sendfile() path, and one at the end. */
  curl((const char *const[]){"-D", "-", "-o", out, "-r", "1000000-2999999",
                             ":/f/big", NULL});
  cr_expect(strstr(R.out, "HTTP/1.1 206") == R.out, "%s", R.out);
  cr_expect_str_eq(header_in(R.out, "Content-Range", b, sizeof b),
                   "bytes 1000000-2999999/3145728");
  expect_download(out, 2000000, 1000000);
  curl((const char *const[]){"-o", out, "-r", "-100", ":/f/big", NULL});
  expect_download(out, 100, BIG - 100);

  curl((const char *const[]){"-D", "-", "-o", "/dev/null", "-r", "4000000-",
                             ":/f/big", NULL});
  cr_expect(strstr(R.out, "HTTP/1.1 416") == R.out, "%s", R.out);
  cr_expect_str_eq(header_in(R.out, "Content-Range", b, sizeof b),
                   "bytes */3145728");

  /* If-Range: the current validator lets the range apply, another sends
   * the whole file (the client's copy is stale). */
  snprintf(h, sizeof h, "If-Range: %s", etag);
  curl((const char *const[]){"-o", out, "-w", "%{http_code}", "-r", "10-19",
                             "-H", h, ":/f/big", NULL});
  cr_expect_str_eq(R.out, "206");
  expect_download(out, 10, 10);
  snprintf(h, sizeof h, "If-Range: %s", date);
  curl((const char *const[]){"-o", out, "-w", "%{http_code}", "-r", "10-19",
                             "-H", h, ":/f/big", NULL});
  cr_expect_str_eq(R.out, "206");
  expect_download(out, 10, 10);
  curl((const char *const[]){"-o", out, "-w", "%{http_code}", "-r", "10-19",
                             "-H", "If-Range: \"stale\"", ":/f/big", NULL});
  cr_expect_str_eq(R.out, "200");
  expect_download(out, BIG, 0);

  /* HEAD: the whole file's head, and no range. */
  curl((const char *const[]){"-I", "-r", "10-19", ":/f/big", NULL});
  cr_expect(strstr(R.out, "HTTP/1.1 200") == R.out, "%s", R.out);
  cr_expect_str_eq(header_in(R.out, "Content-Length", b, sizeof b), "3145728");
}

/* Reads the response to GET /f/huge on c into body (HUGE bytes): the
 * number of body bytes that arrived within 60 s. */
static size_t read_huge(struct http_client *c, char *body) {
  size_t got = 0, head_end = 0;
  char head[1024];
  int64_t until = deadline_in(60000);

  while (head_end == 0 && now_ms() < until) {
    ssize_t n = read(c->fd, head + got, sizeof head - 1 - got);
    cr_assert_gt(n, 0, "the connection ended before the head");
    got += (size_t)n;
    head[got] = '\0';
    char *e = strstr(head, "\r\n\r\n");
    if (e != NULL)
      head_end = (size_t)(e + 4 - head);
  }
  cr_assert(strstr(head, "Content-Length: 67108864\r\n") != NULL, "%s", head);
  got -= head_end;
  memcpy(body, head + head_end, got);
  while (got < HUGE && now_ms() < until) {
    ssize_t n = read(c->fd, body + got, HUGE - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  return got;
}

/* GET /f/huge on a new connection with a small receive buffer, which
 * reads nothing yet. */
static void ask_huge(struct http_client *c) {
  make_file("huge", HUGE);
  cr_assert_eq(http_open(c, S.port, 5000), 0);
  setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &(int){65536}, sizeof(int));
  cr_assert_eq(http_send_str(c, "GET /f/huge HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
  sleep_ms(300); /* the socket fills */
}

/* A client that reads nothing for a while, with a small receive buffer,
 * then everything: the worker waits for room on the socket, answers
 * another client meanwhile, and every byte arrives in order. */
Test(files, a_client_that_pauses_gets_every_byte_and_others_are_answered) {
  struct http_client c;
  struct http_resp r;
  char *body = malloc(HUGE);
  size_t got;

  cr_assert_not_null(body);
  start();
  ask_huge(&c);
  cr_expect_eq(http_get(S.port, "/f/small", &r), 0);
  cr_expect_eq(r.status, 200);
  cr_expect_eq(r.body_len, 1000);
  got = read_huge(&c, body);
  cr_expect_eq(got, HUGE, "%zu bytes of %u", got, HUGE);
  cr_expect(is_pattern(body, got, 0), "the bytes are not the file's");
  free(body);
  http_close(&c);
}

/* A download under way when its worker is replaced (SIGHUP) goes on to
 * its last byte, while the new generation serves; then its connection
 * ends, and the old worker exits. */
Test(files, a_download_goes_on_through_a_reload) {
  struct http_client c;
  char *body = malloc(HUGE);
  size_t got;
  pid_t old;

  cr_assert_not_null(body);
  start();
  old = srv_the_worker(&S, 5000);
  ask_huge(&c);
  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_assert(wait_log(&S, "generation 2 serving", 20000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(pid_alive(old), "the old worker left before the download ended");
  got = read_huge(&c, body);
  cr_expect_eq(got, HUGE, "%zu bytes of %u" SRV_LOG_FMT, got, HUGE,
               srv_log_tail(&S));
  cr_expect(is_pattern(body, got, 0), "the bytes are not the file's");
  cr_expect_eq(http_wait_close(&c, 10000), 0);
  cr_expect(wait_pid_gone(old, 10000), "the old worker did not exit");
  free(body);
  http_close(&c);
}

/* The descriptors the worker holds when it has no connection: the least
 * it holds over half a second (a connection just answered may still be
 * closing). */
static int idle_fds(pid_t worker) {
  int least = proc_fd_count(worker);
  for (int64_t until = deadline_in(500); now_ms() < until; sleep_ms(20)) {
    int n = proc_fd_count(worker);
    if (n < least)
      least = n;
  }
  cr_assert_gt(least, 0, "the worker is gone" SRV_LOG_FMT, srv_log_tail(&S));
  return least;
}

/* A download that ends midway, or at once, leaves neither the file nor a
 * duplicate of the socket open in the worker. */
Test(files, a_client_that_leaves_midway_leaves_no_descriptor) {
  struct http_client c;
  struct http_resp r;
  char buf[65536];
  pid_t worker;
  int before, now = -1;
  size_t got = 0;

  start();
  make_file("huge", HUGE);
  worker = srv_the_worker(&S, 5000);
  cr_assert_eq(http_get(S.port, "/f/small", &r), 0);
  before = idle_fds(worker);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(http_open(&c, S.port, 5000), 0);
    cr_assert_eq(http_send_str(&c, "GET /f/huge HTTP/1.1\r\nHost: t\r\n\r\n"),
                 0);
    for (got = 0; got < 1000000;) {
      ssize_t n = read(c.fd, buf, sizeof buf);
      cr_assert_gt(n, 0);
      got += (size_t)n;
    }
    http_close(&c);
  }
  /* And clients that reset their connection as soon as they have asked:
   * the first write or sendfile() fails. */
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(http_open(&c, S.port, 5000), 0);
    cr_assert_eq(http_send_str(&c, "GET /f/huge HTTP/1.1\r\nHost: t\r\n\r\n"),
                 0);
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0},
               sizeof(struct linger));
    http_close(&c);
  }
  for (int64_t until = deadline_in(10000); now_ms() < until; sleep_ms(50))
    if ((now = proc_fd_count(worker)) <= before)
      break;
  cr_expect(now >= 0 && now <= before,
            "%d descriptors open in the worker, %d before (-1: it is "
            "gone)" SRV_LOG_FMT,
            now, before, srv_log_tail(&S));
  cr_expect_eq(http_get(S.port, "/f/small", &r), 0);
  cr_expect_eq(r.status, 200);
}

/* A client that takes nothing loses its connection: the worker lets go
 * of the socket, the file and its duplicate of the socket (it could not
 * have sent the 64 MiB to a client that read none of it). */
Test(files, a_client_that_takes_nothing_is_cut_at_send_timeout) {
  const char *more[] = {"--send-timeout", "1", NULL};
  struct http_client c;
  struct http_resp r;
  pid_t worker;
  int before, now = -1;

  start_with(more);
  make_file("huge", HUGE);
  worker = srv_the_worker(&S, 5000);
  cr_assert_eq(http_get(S.port, "/f/small", &r), 0);
  before = idle_fds(worker);
  cr_assert_eq(http_open(&c, S.port, 5000), 0);
  setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &(int){4096}, sizeof(int));
  cr_assert_eq(http_send_str(&c, "GET /f/huge HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
  for (int64_t until = deadline_in(2000); now_ms() < until; sleep_ms(50))
    if ((now = proc_fd_count(worker)) > before)
      break;
  cr_assert_gt(now, before, "the worker never held the download");
  for (int64_t until = deadline_in(20000); now_ms() < until; sleep_ms(50))
    if ((now = proc_fd_count(worker)) <= before)
      break;
  cr_expect(now >= 0 && now <= before,
            "the worker still holds the download 20 s after --send-timeout 1 "
            "(%d descriptors, %d before; -1: it is gone)",
            now, before);
  http_close(&c);
}

Test(files, a_directory_and_a_second_answer_are_refused) {
  start();
  curl((const char *const[]){"-o", "/dev/null", "-w", "%{http_code}", ":/dir",
                             NULL});
  cr_expect_str_eq(R.out, "500");
  cr_expect(wait_log(&S, "files: dir rc -22", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  curl((const char *const[]){"-o", "/dev/null", "-w",
                             "%{http_code} %{size_download}", ":/twice/small",
                             NULL});
  cr_expect_str_eq(R.out, "200 1000");
  cr_expect(wait_log(&S, "files: second rc -114", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  /* A type that would split the head: refused, and the plugin answers. */
  curl((const char *const[]){"-o", "/dev/null", "-w", "%{http_code}",
                             ":/f/small?type=text/html%0d%0aX-Evil:%201",
                             NULL});
  cr_expect_str_eq(R.out, "500");
  cr_expect(wait_log(&S, "files: small rc -22", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}
