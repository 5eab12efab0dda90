/*
 * test_notify.c - running under systemd without libsystemd: what systemd
 * receives from notify_send() on its $NOTIFY_SOCKET (a path or an abstract
 * '@name'), and what listen_fds_take() makes of the sockets a .socket unit
 * passes as fd 3 with $LISTEN_PID and $LISTEN_FDS.
 *
 * No server is started. Criterion runs each test in its own process, so
 * the environment variables set here stay in that test.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify.h"

/* ---- notify_send ---- */

/* systemd's end: a datagram socket bound to a path in a fresh directory,
 * or to an abstract name; removed in .fini. */
static int sd_fd = -1;
static char sd_dir[64];
static char sd_path[128];

static void sd_fini(void) {
  if (sd_fd >= 0)
    close(sd_fd);
  sd_fd = -1;
  if (sd_path[0] == '/')
    unlink(sd_path);
  if (sd_dir[0] != '\0')
    rmdir(sd_dir);
}

/* Binds sd_fd to `name` ("/path" or "@abstract") and points $NOTIFY_SOCKET
 * at it, as systemd does for a Type=notify service. */
static void sd_listen(const char *name) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  struct timeval tv = {.tv_sec = 2};

  cr_assert_lt(len, sizeof sa.sun_path);
  memcpy(sa.sun_path, name, len);
  if (name[0] == '@')
    sa.sun_path[0] = '\0';
  sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(sd_fd, 0, "socket: %s", strerror(errno));
  cr_assert_eq(bind(sd_fd, (struct sockaddr *)&sa,
                    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
               0, "bind %s: %s", name, strerror(errno));
  /* A datagram that never comes fails the test in 2 s, not at .timeout. */
  setsockopt(sd_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

static void sd_listen_path(void) {
  snprintf(sd_dir, sizeof sd_dir, "/tmp/mchost-notify-XXXXXX");
  cr_assert_not_null(mkdtemp(sd_dir), "mkdtemp: %s", strerror(errno));
  snprintf(sd_path, sizeof sd_path, "%s/notify.sock", sd_dir);
  sd_listen(sd_path);
}

/* Receives one datagram, NUL-terminated, into buf. */
static ssize_t sd_recv(char *buf, size_t size, int flags) {
  ssize_t n = recv(sd_fd, buf, size - 1, flags);
  buf[n > 0 ? n : 0] = '\0';
  return n;
}

TestSuite(notify, .fini = sd_fini, .timeout = 5);

Test(notify, ready_status_and_mainpid_arrive_as_one_datagram) {
  char want[256], got[1024];
  ssize_t n;

  sd_listen_path();
  snprintf(want, sizeof want,
           "READY=1\nSTATUS=4 workers, generation 1\nMAINPID=%d",
           (int)getpid());
  cr_assert_eq(notify_send("READY=1\nSTATUS=%u workers, generation %u\n"
                           "MAINPID=%d",
                           4u, 1u, (int)getpid()),
               1, "notify_send did not report the message as sent");
  n = sd_recv(got, sizeof got, 0);
  cr_assert_gt(n, 0, "systemd's socket received nothing: %s", strerror(errno));
  cr_expect_str_eq(got, want);
  cr_expect_eq((size_t)n, strlen(want), "a NUL or padding was sent along");
}

Test(notify, each_call_is_its_own_datagram) {
  char got[1024];

  sd_listen_path();
  cr_assert_eq(notify_send("RELOADING=1"), 1);
  cr_assert_eq(notify_send("READY=1\nSTATUS=%s", "generation 2"), 1);
  cr_assert_gt(sd_recv(got, sizeof got, 0), 0, "no first datagram");
  cr_expect_str_eq(got, "RELOADING=1");
  cr_assert_gt(sd_recv(got, sizeof got, 0), 0, "no second datagram");
  cr_expect_str_eq(got, "READY=1\nSTATUS=generation 2");
}

Test(notify, abstract_socket_name_starting_with_at) {
  char name[64], got[1024];

  /* Abstract names are machine-wide: the pid keeps parallel runs apart. */
  snprintf(name, sizeof name, "@mchost-test-notify-%d", (int)getpid());
  sd_listen(name);
  cr_assert_eq(notify_send("STOPPING=1"), 1);
  cr_assert_gt(sd_recv(got, sizeof got, 0), 0,
               "nothing arrived on the abstract socket %s: %s", name,
               strerror(errno));
  cr_expect_str_eq(got, "STOPPING=1");
}

Test(notify, without_notify_socket_nothing_is_sent) {
  char got[64];

  sd_listen_path();
  cr_assert_eq(unsetenv("NOTIFY_SOCKET"), 0);
  cr_expect_eq(notify_send("READY=1"), 0, "unset NOTIFY_SOCKET is a no-op");
  cr_assert_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
  cr_expect_eq(notify_send("READY=1"), 0, "empty NOTIFY_SOCKET is a no-op");
  cr_expect_lt(sd_recv(got, sizeof got, MSG_DONTWAIT), 0,
               "a datagram arrived anyway: '%s'", got);
}

Test(notify, unusable_addresses_are_errors_not_crashes) {
  char path[128];

  cr_assert_eq(setenv("NOTIFY_SOCKET", "relative/notify.sock", 1), 0);
  cr_expect_eq(notify_send("READY=1"), -EAFNOSUPPORT);
  snprintf(path, sizeof path, "/tmp/mchost-notify-absent-%d.sock",
           (int)getpid());
  cr_assert_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
  cr_expect_eq(notify_send("READY=1"), -ENOENT, "nobody listens on %s", path);
}

/* ---- listen_fds_take ---- */

/* What listen_fds_take() did in a child whose fd 3 was set up by a test. */
struct take {
  int rc;
  int fd;
  int env_left; /* LISTEN_* variables still set afterwards */
  int nonblock, cloexec;
  int port; /* local port of the returned fd */
  char err[256];
};

/* Runs listen_fds_take() in a child process, as systemd would start mchost:
 * `sock` (or nothing, if -1) as fd 3, LISTEN_FDS=`fds`, and LISTEN_PID the
 * child's own pid, or the parent's when `other_pid`. A child, because fd 3
 * of a Criterion test process may be Criterion's own. */
static struct take take_in_child(int sock, const char *fds, int other_pid) {
  struct take t;
  int pipefd[2], st;
  pid_t pid;
  ssize_t n;

  memset(&t, 0, sizeof t);
  cr_assert_eq(pipe(pipefd), 0, "pipe: %s", strerror(errno));
  pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    char pidbuf[32];
    /* Out of the way of fd 3 first, whatever numbers they have. */
    int out = fcntl(pipefd[1], F_DUPFD, 10);
    if (sock >= 0) {
      int s = fcntl(sock, F_DUPFD, 10);
      dup2(s, 3);
      close(s);
    } else {
      close(3);
    }
    snprintf(pidbuf, sizeof pidbuf, "%d",
             other_pid ? (int)getppid() : (int)getpid());
    setenv("LISTEN_PID", pidbuf, 1);
    setenv("LISTEN_FDS", fds, 1);
    setenv("LISTEN_FDNAMES", "http", 1);

    t.fd = -1;
    t.rc = listen_fds_take(&t.fd, t.err, sizeof t.err);
    t.env_left = (getenv("LISTEN_PID") != NULL) +
                 (getenv("LISTEN_FDS") != NULL) +
                 (getenv("LISTEN_FDNAMES") != NULL);
    if (t.rc == 1) {
      struct sockaddr_in sa;
      socklen_t len = sizeof sa;
      t.nonblock = (fcntl(t.fd, F_GETFL) & O_NONBLOCK) != 0;
      t.cloexec = (fcntl(t.fd, F_GETFD) & FD_CLOEXEC) != 0;
      if (getsockname(t.fd, (struct sockaddr *)&sa, &len) == 0)
        t.port = ntohs(sa.sin_port);
    }
    n = write(out, &t, sizeof t);
    _exit(n == (ssize_t)sizeof t ? 0 : 1);
  }
  close(pipefd[1]);
  n = read(pipefd[0], &t, sizeof t);
  close(pipefd[0]);
  waitpid(pid, &st, 0);
  cr_assert_eq(n, (ssize_t)sizeof t, "the child reported nothing (status %d)",
               st);
  return t;
}

/* A TCP socket on 127.0.0.1, any port; listening if `backlog` >= 0. */
static int tcp_socket(int type, int backlog, int *port) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, type, 0);

  cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind: %s",
               strerror(errno));
  if (backlog >= 0)
    cr_assert_eq(listen(fd, backlog), 0, "listen: %s", strerror(errno));
  getsockname(fd, (struct sockaddr *)&sa, &len);
  if (port != NULL)
    *port = ntohs(sa.sin_port);
  return fd;
}

TestSuite(listen_fds, .timeout = 5);

Test(listen_fds, takes_the_listening_socket_and_clears_the_environment) {
  int port, fd = tcp_socket(SOCK_STREAM, 16, &port);
  struct take t = take_in_child(fd, "1", 0);

  close(fd);
  cr_assert_eq(t.rc, 1, "rc %d, want 1 (message: %s)", t.rc, t.err);
  cr_expect_eq(t.fd, 3, "systemd's first fd is 3, got %d", t.fd);
  cr_expect_eq(t.port, port, "fd 3 is not the socket passed in");
  cr_expect(t.nonblock, "the socket was left blocking");
  cr_expect(t.cloexec, "the socket was left inheritable");
  cr_expect_eq(t.env_left, 0, "%d LISTEN_* variables left for the workers",
               t.env_left);
}

Test(listen_fds, variables_meant_for_another_process_are_ignored) {
  int fd = tcp_socket(SOCK_STREAM, 16, NULL);
  struct take t = take_in_child(fd, "1", 1);

  close(fd);
  cr_expect_eq(t.rc, 0, "rc %d, want 0 (message: %s)", t.rc, t.err);
  cr_expect_eq(t.env_left, 0, "%d LISTEN_* variables left for the workers",
               t.env_left);
}

Test(listen_fds, zero_fds_is_not_activated) {
  struct take t = take_in_child(-1, "0", 0);

  cr_expect_eq(t.rc, 0, "rc %d, want 0 (message: %s)", t.rc, t.err);
  cr_expect_eq(t.env_left, 0);
}

Test(listen_fds, without_listen_pid_nothing_is_taken) {
  int fd;

  unsetenv("LISTEN_PID");
  setenv("LISTEN_FDS", "1", 1);
  cr_expect_eq(listen_fds_take(&fd, NULL, 0), 0);
  cr_expect_null(getenv("LISTEN_FDS"), "a stray LISTEN_FDS was left");
}

/* What systemd could hand over that mchost cannot serve. */
enum bad_kind {
  BAD_NOT_LISTENING,
  BAD_DATAGRAM,
  BAD_UNIX,
  BAD_CLOSED,
  BAD_TWO_FDS,
  BAD_COUNT
};

/* Arrays, not pointers: Criterion runs each case in a new process, where
 * a pointer into this one's memory would mean nothing. */
struct bad_case {
  enum bad_kind kind;
  char fds[8];   /* LISTEN_FDS */
  char says[32]; /* in the message */
};

ParameterizedTestParameters(listen_fds, unusable_activation_is_an_error) {
  static struct bad_case cases[] = {
      {BAD_NOT_LISTENING, "1", "not listening"},
      {BAD_DATAGRAM, "1", "not a stream socket"},
      {BAD_UNIX, "1", "not a TCP socket"},
      {BAD_CLOSED, "1", "not open"},
      {BAD_TWO_FDS, "2", "2 sockets"},
      {BAD_COUNT, "many", "LISTEN_FDS='many'"},
  };
  return cr_make_param_array(struct bad_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, listen_fds,
                  unusable_activation_is_an_error) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = -1;
  struct take t;

  switch (c->kind) {
  case BAD_NOT_LISTENING:
    fd = tcp_socket(SOCK_STREAM, -1, NULL);
    break;
  case BAD_DATAGRAM:
    fd = tcp_socket(SOCK_DGRAM, -1, NULL);
    break;
  case BAD_UNIX:
    /* Autobind: a listening Unix stream socket with no file to clean up. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa_family_t)), 0,
                 "bind: %s", strerror(errno));
    cr_assert_eq(listen(fd, 1), 0);
    break;
  case BAD_CLOSED:
    break;
  case BAD_TWO_FDS:
  case BAD_COUNT:
    fd = tcp_socket(SOCK_STREAM, 16, NULL);
    break;
  }
  t = take_in_child(fd, c->fds, 0);
  if (fd >= 0)
    close(fd);
  cr_expect_eq(t.rc, -1, "rc %d, want -1 (message: %s)", t.rc, t.err);
  cr_expect_not_null(strstr(t.err, c->says), "message '%s' lacks '%s'", t.err,
                     c->says);
  cr_expect_eq(t.env_left, 0, "%d LISTEN_* variables left for the workers",
               t.env_left);
}
