/*
 * test_listen.c - --listen: TCP and Unix-socket listeners at once, served
 * by every worker; --socket-mode; a socket file left by a dead server is
 * replaced, one a server answers on is "address in use", and the file is
 * removed on a clean stop; the client of a Unix-socket peer ("unix:", or
 * what a PROXY header or a trusted proxy's X-Forwarded-For says, as nginx
 * sends them over such a socket); every bad value refused with one
 * message and exit code 2. Clients: curl --unix-socket, python3, and
 * sockets of the test's own.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define CLIENT TEST_PLUGINS_DIR "/client.so"

static struct srv S;
static char T[40];    /* a directory of the test's own */
static char sock[64]; /* T/s.sock */
static char spec[80]; /* "unix:" sock */
static char alog[64]; /* T/a.log, the access log */
static int held = -1; /* a socket the test holds */
static struct run_result R;

static void setup(void) {
  snprintf(T, sizeof T, "/tmp/mchost-listen-XXXXXX");
  cr_assert_not_null(mkdtemp(T), "mkdtemp: %s", strerror(errno));
  snprintf(sock, sizeof sock, "%s/s.sock", T);
  snprintf(spec, sizeof spec, "unix:%s", sock);
  snprintf(alog, sizeof alog, "%s/a.log", T);
}

static void teardown(void) {
  srv_stop(&S);
  if (held >= 0)
    close(held);
  held = -1;
  run_result_free(&R);
  rm_tree(T);
}

TestSuite(listen, .init = setup, .fini = teardown, .timeout = 60);

/* client.so on 2 workers, with the access log, --listen unix:T/s.sock,
 * then `more`; the harness adds --host 127.0.0.1 --port 0. Ready once the
 * master says so (with --proxy-protocol the harness's own GET is
 * refused). */
static void start(const char *const *more) {
  const char *args[40] = {"--plugin", CLIENT, "--workers",    "2",
                          "--listen", spec,   "--access-log", alog};
  size_t n = 8;
  for (; more != NULL && *more != NULL && n < 39; more++)
    args[n++] = *more;
  args[n] = NULL;
  srv_spawn_ready(&S, args, 15000);
}

static int unix_connect(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  struct timeval tv = {.tv_sec = 5};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf(a.sun_path, sizeof a.sun_path, "%.100s", path);
  if (fd < 0)
    return -errno;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

/* Sends `raw` on a new connection to the Unix socket `path` and reads
 * until the server closes it (5 s at most): the answer, NUL-terminated, in
 * out. Returns its length, or -errno. */
static ssize_t unix_ask(const char *path, const char *raw, char *out,
                        size_t size) {
  size_t got = 0;
  ssize_t n;
  int fd = unix_connect(path);

  if (fd < 0)
    return fd;
  if (send(fd, raw, strlen(raw), MSG_NOSIGNAL) != (ssize_t)strlen(raw)) {
    close(fd);
    return -EIO;
  }
  while (got + 1 < size && (n = read(fd, out + got, size - 1 - got)) > 0)
    got += (size_t)n;
  out[got] = '\0';
  close(fd);
  return (ssize_t)got;
}

/* The body of a Connection: close response in `resp`, or "". */
static const char *body_of(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  return b != NULL ? b + 4 : "";
}

/* Polls the access log until it holds `want` (the last request may still
 * be being written). */
static int access_has(const char *want) {
  int64_t deadline = deadline_in(5000);
  for (;;) {
    char *log = read_file(alog, NULL);
    int hit = log != NULL && strstr(log, want) != NULL;
    free(log);
    if (hit)
      return 1;
    if (now_ms() >= deadline)
      return 0;
    sleep_ms(20);
  }
}

static const char GET_CLOSE[] =
    "GET /raw HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

Test(listen, tcp_and_unix_sockets_at_once) {
  char out[4096], line[512], *p, *log;
  struct http_resp *r = malloc(sizeof *r);
  struct stat st;
  int second;

  start((const char *const[]){"--listen", "127.0.0.1:0", "--socket-mode",
                              "0660", NULL});
  log = srv_log_read(&S);
  cr_assert_not_null(find_line(log, "listening on", line, sizeof line));
  free(log);
  /* --host/--port first, then each --listen in order */
  snprintf(out, sizeof out,
           "listening on http://127.0.0.1:%d, %s, http://127.0.0.1:", S.port,
           spec);
  cr_expect_not_null(strstr(line, out), "%s", line);
  p = strstr(line, ", http://127.0.0.1:");
  cr_assert_not_null(p, "%s", line);
  second = atoi(p + strlen(", http://127.0.0.1:"));

  cr_assert_eq(stat(sock, &st), 0, "%s: %s", sock, strerror(errno));
  cr_expect(S_ISSOCK(st.st_mode));
  cr_expect_eq(st.st_mode & 07777, 0660, "mode %o, want 0660 (--socket-mode)",
               (unsigned)(st.st_mode & 07777));

  /* curl, as a user would try it */
  cr_assert_eq(
      run_tool_sync((const char *const[]){"curl", "-s", "--max-time", "5",
                                          "--unix-socket", sock,
                                          "http://localhost/curl", NULL},
                    &R, 10000),
      0);
  cr_expect_eq(R.exit_code, 0, "curl: %s", R.err);
  cr_expect_eq(strncmp(R.out, "unix: 0 http ", 13), 0, "curl got '%s'", R.out);
  run_result_free(&R);

  /* Python's http.client over a Unix socket (what requests-unixsocket and
   * the like do) */
  cr_assert_eq(run_tool_sync(
                   (const char *const[]){
                       "python3", "-c",
                       "import http.client, socket, sys\n"
                       "class C(http.client.HTTPConnection):\n"
                       "    def connect(self):\n"
                       "        self.sock = socket.socket(socket.AF_UNIX)\n"
                       "        self.sock.connect(sys.argv[1])\n"
                       "c = C('localhost', timeout=5)\n"
                       "for i in range(3):\n"
                       "    c.request('GET', '/py%d' % i)\n"
                       "    r = c.getresponse()\n"
                       "    print(r.status, r.read().decode().split(' ')[0])\n",
                       sock, NULL},
                   &R, 10000),
               0);
  cr_expect_eq(R.exit_code, 0, "python3: %s", R.err);
  cr_expect_str_eq(R.out, "200 unix:\n200 unix:\n200 unix:\n", "%s", R.err);
  run_result_free(&R);

  /* both TCP listeners */
  cr_assert_eq(http_get(S.port, "/tcp", r), 0);
  cr_expect_eq(strncmp(r->body, "127.0.0.1 ", 10), 0, "%s", r->body);
  cr_assert_eq(http_get(second, "/tcp2", r), 0, "second TCP listener %d",
               second);
  cr_expect_eq(r->status, 200);
  free(r);

  cr_expect(access_has("unix: - - ["), "no 'unix:' client in the access log");
  cr_expect(access_has("\"GET /py2 HTTP/1.1\" 200"));
  cr_expect(access_has("127.0.0.1 - - ["));

  /* a clean stop removes the file */
  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  cr_assert_eq(srv_wait_exit(&S, 10000), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_neq(access(sock, F_OK), 0, "%s is still there after the stop",
                sock);
}

/* Started as root with --group (or --user), the socket file is the
 * server's group's, so that --socket-mode 0660 lets that group in (nginx's
 * www-data, say). */
Test(listen, the_socket_file_belongs_to_the_group_of_group) {
  struct group *gr = getgrnam("nogroup");
  struct stat st;
  char out[1024];

  if (geteuid() != 0)
    cr_skip("needs root: --group switches the group");
  if (gr == NULL)
    cr_skip("this system has no group 'nogroup'");
  gid_t gid = gr->gr_gid;
  start((const char *const[]){"--group", "nogroup", "--socket-mode", "0660",
                              NULL});
  cr_assert_eq(stat(sock, &st), 0);
  cr_expect_eq(st.st_gid, gid, "gid %u, want nogroup's %u", (unsigned)st.st_gid,
               (unsigned)gid);
  cr_expect_eq(st.st_mode & 0777, 0660);
  cr_assert_gt(unix_ask(sock, GET_CLOSE, out, sizeof out), 0);
  cr_expect_eq(strncmp(body_of(out), "unix: ", 6), 0, "%s", out);
}

/* Connections over the Unix socket are spread over the workers as TCP
 * ones are: with 2 workers and many connections held open, both serve. */
Test(listen, every_worker_accepts_on_the_unix_socket) {
  enum { N = 64 };
  int fds[N], served = 0;
  char pids[2][16] = {"", ""};

  start((const char *const[]){"--log-level", "debug", NULL});
  cr_assert_eq(wait_workers(S.pid, 2, 10000, 200), 2);
  for (int i = 0; i < N; i++) {
    fds[i] = unix_connect(sock);
    cr_assert_geq(fds[i], 0, "connect %d: %s", i, strerror(-fds[i]));
    cr_assert_eq(
        send(fds[i], "GET /held HTTP/1.1\r\nHost: t\r\n\r\n", 31, MSG_NOSIGNAL),
        31);
  }
  for (int i = 0; i < N; i++) {
    char buf[1024];
    ssize_t n = read(fds[i], buf, sizeof buf - 1);
    served += n > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
    close(fds[i]);
  }
  cr_expect_eq(served, N);
  /* the plugin's log line names the worker: "worker N pid P" */
  char *log = srv_log_read(&S);
  for (const char *p = log; (p = strstr(p, "client: called for /held")) != NULL;
       p++) {
    const char *start = p, *w;
    char pid[16];
    while (start > log && start[-1] != '\n')
      start--;
    w = strstr(start, " pid ");
    if (w == NULL || w > p)
      continue;
    snprintf(pid, sizeof pid, "%.*s", (int)strspn(w + 5, "0123456789"), w + 5);
    if (pids[0][0] == '\0')
      memcpy(pids[0], pid, sizeof pid);
    else if (strcmp(pids[0], pid) != 0)
      memcpy(pids[1], pid, sizeof pid);
  }
  free(log);
  cr_expect(pids[1][0] != '\0',
            "one worker (pid %s) took all %d connections" SRV_LOG_FMT, pids[0],
            N, srv_log_tail(&S));
}

/* A Unix socket bound and closed without its file removed: what a killed
 * server leaves. */
static void leave_stale_socket(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s",
               strerror(errno));
  cr_assert_eq(listen(fd, 1), 0);
  close(fd);
}

Test(listen, a_stale_socket_file_is_replaced) {
  char out[1024];

  leave_stale_socket();
  cr_assert_lt(unix_connect(sock), 0, "the stale socket answers");
  start(NULL);
  cr_expect(wait_log(&S, "replacing a socket file nothing answers on", 1000),
            SRV_LOG_FMT, srv_log_tail(&S));
  cr_assert_gt(unix_ask(sock, GET_CLOSE, out, sizeof out), 0);
  cr_expect_eq(strncmp(body_of(out), "unix: ", 6), 0, "%s", out);
}

Test(listen, a_socket_a_server_answers_on_is_address_in_use) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  const char *args[] = {"--plugin", CLIENT, "--listen", spec, NULL};
  int fd;

  held = socket(AF_UNIX, SOCK_STREAM, 0);
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
  cr_assert_eq(bind(held, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(held, 4), 0);

  cr_assert_eq(run_mchost_sync(args, NULL, &R, 10000), 0);
  cr_expect_eq(R.exit_code, 1, "exit %d, want 1\n%s", R.exit_code, R.err);
  cr_expect_not_null(strstr(R.err, "address already in use"), "%s", R.err);
  cr_expect_not_null(strstr(R.err, sock), "%s", R.err);
  /* the other server keeps its socket */
  fd = unix_connect(sock);
  cr_expect_geq(fd, 0, "the live socket was taken away: %s", strerror(-fd));
  if (fd >= 0)
    close(fd);
}

Test(listen, a_file_that_is_not_a_socket_is_left_alone) {
  const char *args[] = {"--plugin", CLIENT, "--listen", spec, NULL};
  FILE *f = fopen(sock, "w");
  char *kept;

  cr_assert_not_null(f);
  fputs("precious\n", f);
  fclose(f);
  cr_assert_eq(run_mchost_sync(args, NULL, &R, 10000), 0);
  cr_expect_eq(R.exit_code, 1, "exit %d, want 1\n%s", R.exit_code, R.err);
  cr_expect_not_null(strstr(R.err, "is not a socket"), "%s", R.err);
  kept = read_file(sock, NULL);
  cr_expect(kept != NULL && strcmp(kept, "precious\n") == 0,
            "the file was changed");
  free(kept);
}

/* Starts MCHOST_BIN with exactly `args` (no --host/--port added) as
 * systemd would: `socks` (n of them) as fds 3, 4, ... with LISTEN_PID and
 * LISTEN_FDS when n > 0. In its own group, killed if the test dies; its
 * log in T. */
static void launch(const char *const *args, const int *socks, int n) {
  const char *argv[32] = {MCHOST_BIN};
  int log, k = 1;
  pid_t pid;

  for (; *args != NULL && k < 31; args++)
    argv[k++] = *args;
  argv[k] = NULL;
  memset(&S, 0, sizeof S);
  snprintf(S.log_path, sizeof S.log_path, "%s/mchost.log", T);
  log = open(S.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  cr_assert_geq(log, 0);
  pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    char num[32];
    sigset_t none;
    int moved[8];
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    for (int i = 0; i < n; i++)
      moved[i] = fcntl(socks[i], F_DUPFD, 64);
    for (int i = 0; i < n; i++)
      dup2(moved[i], 3 + i); /* inheritable, as systemd passes them */
    close_range(3 + (unsigned)n, ~0U, 0);
    for (char **e = environ; *e != NULL;)
      if (strncmp(*e, "MCHOST_", 7) == 0) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
        unsetenv(name);
      } else {
        e++;
      }
    if (n > 0) {
      snprintf(num, sizeof num, "%d", (int)getpid());
      setenv("LISTEN_PID", num, 1);
      snprintf(num, sizeof num, "%d", n);
      setenv("LISTEN_FDS", num, 1);
    }
    execv(MCHOST_BIN, (char *const *)DECONST(char **, argv));
    _exit(127);
  }
  close(log);
  setpgid(pid, pid);
  S.pid = pid;
}

/* --listen alone replaces --host/--port: 0.0.0.0:3000 is not opened. */
Test(listen, listen_alone_replaces_host_and_port) {
  char out[1024], line[512], *log;

  launch((const char *const[]){"--plugin", CLIENT, "--workers", "1", "--listen",
                               spec, NULL},
         NULL, 0);
  cr_assert(wait_log(&S, "ready:", 15000), "not ready" SRV_LOG_FMT,
            srv_log_tail(&S));
  log = srv_log_read(&S);
  cr_assert_not_null(find_line(log, "listening on", line, sizeof line));
  free(log);
  snprintf(out, sizeof out, "listening on %s with 1 worker", spec);
  cr_expect_not_null(strstr(line, out), "%s", line);
  cr_expect_null(strstr(line, "http://"), "%s", line);
  cr_assert_gt(unix_ask(sock, GET_CLOSE, out, sizeof out), 0);
  cr_expect_eq(strncmp(body_of(out), "unix: ", 6), 0, "%s", out);
}

/* systemd socket activation with two sockets, a TCP one and a Unix one
 * (ListenStream=127.0.0.1:PORT and ListenStream=/run/....sock): both
 * served; the socket file is systemd's, so mchost leaves it at its stop. */
Test(listen, systemd_passes_a_tcp_and_a_unix_socket) {
  struct sockaddr_in in = {.sin_family = AF_INET};
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  socklen_t len = sizeof in;
  struct http_resp *r = malloc(sizeof *r);
  char out[1024], want[256];
  int fds[2];

  fds[0] = socket(AF_INET, SOCK_STREAM, 0);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fds[0], (struct sockaddr *)&in, sizeof in), 0);
  cr_assert_eq(listen(fds[0], 64), 0);
  getsockname(fds[0], (struct sockaddr *)&in, &len);
  fds[1] = socket(AF_UNIX, SOCK_STREAM, 0);
  snprintf(un.sun_path, sizeof un.sun_path, "%s", sock);
  cr_assert_eq(bind(fds[1], (struct sockaddr *)&un, sizeof un), 0);
  cr_assert_eq(listen(fds[1], 64), 0);

  launch((const char *const[]){"--plugin", CLIENT, "--workers", "2",
                               "--access-log", alog, NULL},
         fds, 2);
  close(fds[0]);
  close(fds[1]);
  cr_assert_gt(srv_wait_port(&S, 10000), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(S.port, ntohs(in.sin_port), "not the socket systemd passed");
  snprintf(want, sizeof want, "listening on http://127.0.0.1:%d, %s with 2",
           S.port, spec);
  cr_expect(wait_log(&S, want, 1000), "no '%s'" SRV_LOG_FMT, want,
            srv_log_tail(&S));
  cr_assert_eq(http_get(S.port, "/tcp", r), 0);
  cr_expect_eq(r->status, 200);
  free(r);
  cr_assert_gt(unix_ask(sock, GET_CLOSE, out, sizeof out), 0);
  cr_expect_eq(strncmp(body_of(out), "unix: ", 6), 0, "%s", out);

  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  cr_assert_eq(srv_wait_exit(&S, 10000), 0, SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(access(sock, F_OK), 0, "systemd's socket file was removed");
}

/* ---- the client of a Unix-socket peer ---- */

/* nginx with `proxy_protocol on` in front, over the socket: the header
 * names the client; --trusted-proxies unix lets only Unix peers send it. */
Test(listen, proxy_protocol_over_a_unix_socket) {
  char out[2048];

  start((const char *const[]){"--proxy-protocol", "--trusted-proxies", "unix",
                              NULL});
  cr_assert_gt(
      unix_ask(sock,
               "PROXY TCP4 198.51.100.23 10.0.0.1 40000 80\r\n"
               "GET /pp HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
               out, sizeof out),
      0);
  cr_expect_eq(strncmp(body_of(out), "198.51.100.23 40000 http ", 25), 0, "%s",
               out);
  cr_expect(access_has("198.51.100.23 - - ["), "the access log lacks the "
                                               "client");
  /* a TCP peer is not in the list: its connection is refused */
  struct http_client *c = malloc(sizeof *c);
  cr_assert_eq(http_open(c, S.port, 5000), 0);
  http_send_str(c, "PROXY TCP4 192.0.2.1 10.0.0.1 1 80\r\n"
                   "GET /tcp HTTP/1.1\r\nHost: t\r\n\r\n");
  cr_expect_neq(http_wait_close(c, 5000), -ETIMEDOUT);
  http_close(c);
  free(c);
  cr_expect_eq(log_count(&S, "client: called for /tcp"), 0);
}

/* nginx with proxy_set_header X-Forwarded-For over the socket. */
Test(listen, forwarded_headers_over_a_unix_socket) {
  char out[2048];
  struct http_client *c = malloc(sizeof *c);
  struct http_resp *r = malloc(sizeof *r);

  start((const char *const[]){"--trusted-proxies", "unix", NULL});
  cr_assert_gt(unix_ask(sock,
                        "GET /xff HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                        "X-Forwarded-For: 203.0.113.9\r\n\r\n",
                        out, sizeof out),
               0);
  cr_expect_eq(strncmp(body_of(out), "203.0.113.9 0 http ", 19), 0, "%s", out);
  cr_expect(access_has("203.0.113.9 - - ["));
  /* over TCP from 127.0.0.1, which is not trusted, the header is ignored */
  cr_assert_eq(http_open(c, S.port, 5000), 0);
  http_send_str(c, "GET /xff HTTP/1.1\r\nHost: t\r\n"
                   "X-Forwarded-For: 203.0.113.9\r\n\r\n");
  cr_assert_eq(http_read(c, r, 0, 5000), 0);
  cr_expect_eq(strncmp(r->body, "127.0.0.1 ", 10), 0, "%s", r->body);
  http_close(c);
  free(c);
  free(r);
}

/* ---- bad values: one message, exit 2 ---- */

struct bad_value {
  char args[4][160]; /* after --plugin CLIENT; "" ends */
  char env[160];     /* one variable, or "" */
  char says[64];     /* in the message */
};

ParameterizedTestParameters(listen, a_bad_value_is_one_message_and_exit_2) {
  static struct bad_value cases[] = {
      {{"--listen", "127.0.0.1"}, "", "--listen '127.0.0.1': not ADDR:PORT"},
      {{"--listen", "localhost:3000"}, "", "--listen 'localhost:3000': not"},
      {{"--listen", "127.0.0.1:65536"}, "", "--listen '127.0.0.1:65536': not"},
      {{"--listen", "[::1:3000"}, "", "--listen '[::1:3000': not"},
      {{"--listen", "unix:"}, "", "--listen 'unix:': not"},
      {{"--listen", "unix:/tmp/"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock"},
       "",
       "at most 107 bytes"},
      {{"--socket-mode", "0"}, "", "--socket-mode '0': not"},
      {{"--socket-mode", "0888"}, "", "--socket-mode '0888': not"},
      {{"--socket-mode", "01777"}, "", "--socket-mode '01777': not"},
      {{"--socket-mode", "rw-rw----"}, "", "--socket-mode 'rw-rw----': not"},
      {{""}, "MCHOST_LISTEN=127.0.0.1:3000 nowhere", "'nowhere' is not"},
  };
  return cr_make_param_array(struct bad_value, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_value *c, listen,
                  a_bad_value_is_one_message_and_exit_2) {
  const char *args[8] = {"--plugin", CLIENT};
  const char *env[] = {c->env, NULL};
  size_t n = 2;

  for (int i = 0; i < 4 && c->args[i][0] != '\0'; i++)
    args[n++] = c->args[i];
  args[n] = NULL;
  cr_assert_eq(run_mchost_sync(args, c->env[0] ? env : NULL, &R, 10000), 0);
  cr_expect_eq(R.exit_code, 2, "exit %d, want 2\n%s", R.exit_code, R.err);
  cr_expect_not_null(strstr(R.err, c->says), "stderr lacks '%s':\n%s", c->says,
                     R.err);
  cr_expect_eq(strchr(R.err, '\n'), R.err + strlen(R.err) - 1,
               "not one line:\n%s", R.err);
}

Test(listen, more_listeners_than_mchost_serves_is_exit_2) {
  const char *args[48] = {"--plugin", CLIENT};
  static char specs[17][32];
  size_t n = 2;

  for (int i = 0; i < 17; i++) {
    snprintf(specs[i], sizeof specs[i], "127.0.0.1:%d", 0);
    args[n++] = "--listen";
    args[n++] = specs[i];
  }
  args[n] = NULL;
  cr_assert_eq(run_mchost_sync(args, NULL, &R, 10000), 0);
  cr_expect_eq(R.exit_code, 2, "exit %d, want 2\n%s", R.exit_code, R.err);
  cr_expect_not_null(strstr(R.err, "at most 16 listeners"), "%s", R.err);
}

Test(listen, a_missing_directory_says_so) {
  char bad[200];
  snprintf(bad, sizeof bad, "unix:%s/no/such/dir.sock", T);
  cr_assert_eq(run_mchost_sync((const char *const[]){"--plugin", CLIENT,
                                                     "--listen", bad, NULL},
                               NULL, &R, 10000),
               0);
  cr_expect_eq(R.exit_code, 1, "exit %d, want 1\n%s", R.exit_code, R.err);
  cr_expect_not_null(strstr(R.err, "does the directory exist"), "%s", R.err);
}
