/*
 * test_activation.c - what activation_take() makes of the sockets a
 * .socket unit passes from fd 3 on with $LISTEN_PID and $LISTEN_FDS: TCP
 * and Unix-domain listening sockets, one or several, and what mchost
 * cannot serve.
 *
 * No server is started. Each case runs activation_take() in a child whose
 * fds 3, 4, ... the test sets up, as systemd would.
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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "activation.h"

/* What activation_take() did in a child whose fds 3.. were set up by a
 * test. */
struct take {
  int rc;
  int fd[2];
  int env_left; /* LISTEN_* variables still set afterwards */
  int nonblock, cloexec;
  int family[2]; /* of the returned fds */
  int port;      /* local port of the first, when TCP */
  char err[256];
};

/* Runs activation_take() in a child process, as systemd would start
 * mchost: `socks` (nsocks of them; -1 for a closed fd) as fds 3, 4, ...,
 * LISTEN_FDS=`fds`, and LISTEN_PID the child's own pid, or the parent's
 * when `other_pid`. A child, because fd 3 of a Criterion test process may
 * be Criterion's own. */
static struct take take_in_child(const int *socks, int nsocks, const char *fds,
                                 int other_pid) {
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
    int out = fcntl(pipefd[1], F_DUPFD, 20), moved[4];
    /* Out of the way of fds 3.. first, whatever numbers they have. */
    for (int i = 0; i < nsocks; i++)
      moved[i] = socks[i] >= 0 ? fcntl(socks[i], F_DUPFD, 20) : -1;
    for (int i = 0; i < nsocks; i++) {
      if (moved[i] >= 0) {
        dup2(moved[i], 3 + i);
        close(moved[i]);
      } else {
        close(3 + i);
      }
    }
    snprintf(pidbuf, sizeof pidbuf, "%d",
             other_pid ? (int)getppid() : (int)getpid());
    setenv("LISTEN_PID", pidbuf, 1);
    setenv("LISTEN_FDS", fds, 1);
    setenv("LISTEN_FDNAMES", "http", 1);

    t.fd[0] = t.fd[1] = -1;
    t.rc = activation_take(t.fd, 2, t.err, sizeof t.err);
    t.env_left = (getenv("LISTEN_PID") != NULL) +
                 (getenv("LISTEN_FDS") != NULL) +
                 (getenv("LISTEN_FDNAMES") != NULL);
    if (t.rc >= 1) {
      struct sockaddr_storage ss;
      socklen_t len;
      t.nonblock = t.cloexec = 1;
      for (int i = 0; i < t.rc; i++) {
        t.nonblock &= (fcntl(t.fd[i], F_GETFL) & O_NONBLOCK) != 0;
        t.cloexec &= (fcntl(t.fd[i], F_GETFD) & FD_CLOEXEC) != 0;
        len = sizeof ss;
        if (getsockname(t.fd[i], (struct sockaddr *)&ss, &len) == 0)
          t.family[i] = ss.ss_family;
        if (i == 0 && ss.ss_family == AF_INET)
          t.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
      }
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

/* A listening Unix stream socket, autobound: no file to clean up. */
static int unix_socket(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);

  cr_assert_geq(fd, 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa_family_t)), 0,
               "bind: %s", strerror(errno));
  cr_assert_eq(listen(fd, 1), 0);
  return fd;
}

TestSuite(activation, .timeout = 5);

Test(activation, takes_the_listening_socket_and_clears_the_environment) {
  int port, fd = tcp_socket(SOCK_STREAM, 16, &port);
  struct take t = take_in_child(&fd, 1, "1", 0);

  close(fd);
  cr_assert_eq(t.rc, 1, "rc %d, want 1 (message: %s)", t.rc, t.err);
  cr_expect_eq(t.fd[0], 3, "systemd's first fd is 3, got %d", t.fd[0]);
  cr_expect_eq(t.port, port, "fd 3 is not the socket passed in");
  cr_expect(t.nonblock, "the socket was left blocking");
  cr_expect(t.cloexec, "the socket was left inheritable");
  cr_expect_eq(t.env_left, 0, "%d LISTEN_* variables left for the workers",
               t.env_left);
}

/* ListenStream=127.0.0.1:80 and ListenStream=/run/mchost.sock together. */
Test(activation, takes_a_tcp_and_a_unix_socket) {
  int port, fd[2] = {tcp_socket(SOCK_STREAM, 16, &port), unix_socket()};
  struct take t = take_in_child(fd, 2, "2", 0);

  close(fd[0]);
  close(fd[1]);
  cr_assert_eq(t.rc, 2, "rc %d, want 2 (message: %s)", t.rc, t.err);
  cr_expect(t.fd[0] == 3 && t.fd[1] == 4, "fds %d and %d, want 3 and 4",
            t.fd[0], t.fd[1]);
  cr_expect_eq(t.family[0], AF_INET);
  cr_expect_eq(t.port, port, "fd 3 is not the socket passed in");
  cr_expect_eq(t.family[1], AF_UNIX, "fd 4 is not the Unix socket");
  cr_expect(t.nonblock, "a socket was left blocking");
  cr_expect(t.cloexec, "a socket was left inheritable");
  cr_expect_eq(t.env_left, 0);
}

Test(activation, variables_meant_for_another_process_are_ignored) {
  int fd = tcp_socket(SOCK_STREAM, 16, NULL);
  struct take t = take_in_child(&fd, 1, "1", 1);

  close(fd);
  cr_expect_eq(t.rc, 0, "rc %d, want 0 (message: %s)", t.rc, t.err);
  cr_expect_eq(t.env_left, 0, "%d LISTEN_* variables left for the workers",
               t.env_left);
}

Test(activation, zero_fds_is_not_activated) {
  int fd = -1;
  struct take t = take_in_child(&fd, 1, "0", 0);

  cr_expect_eq(t.rc, 0, "rc %d, want 0 (message: %s)", t.rc, t.err);
  cr_expect_eq(t.env_left, 0);
}

Test(activation, without_listen_pid_nothing_is_taken) {
  int fd;

  unsetenv("LISTEN_PID");
  setenv("LISTEN_FDS", "1", 1);
  cr_expect_eq(activation_take(&fd, 1, NULL, 0), 0);
  cr_expect_null(getenv("LISTEN_FDS"), "a stray LISTEN_FDS was left");
}

/* What systemd could hand over that mchost cannot serve. */
enum bad_kind {
  BAD_NOT_LISTENING,
  BAD_DATAGRAM,
  BAD_CLOSED,
  BAD_SECOND_CLOSED,
  BAD_TOO_MANY,
  BAD_COUNT
};

/* Arrays, not pointers: Criterion runs each case in a new process, where
 * a pointer into this one's memory would mean nothing. */
struct bad_case {
  enum bad_kind kind;
  char fds[8];   /* LISTEN_FDS */
  char says[32]; /* in the message */
};

ParameterizedTestParameters(activation, unusable_activation_is_an_error) {
  static struct bad_case cases[] = {
      {BAD_NOT_LISTENING, "1", "not listening"},
      {BAD_DATAGRAM, "1", "not a stream socket"},
      {BAD_CLOSED, "1", "fd 3 is not open"},
      {BAD_SECOND_CLOSED, "2", "fd 4 is not open"},
      {BAD_TOO_MANY, "3", "3 sockets passed"},
      {BAD_COUNT, "many", "LISTEN_FDS='many'"},
  };
  return cr_make_param_array(struct bad_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, activation,
                  unusable_activation_is_an_error) {
  int fd[2] = {-1, -1};
  struct take t;

  switch (c->kind) {
  case BAD_NOT_LISTENING:
    fd[0] = tcp_socket(SOCK_STREAM, -1, NULL);
    break;
  case BAD_DATAGRAM:
    fd[0] = tcp_socket(SOCK_DGRAM, -1, NULL);
    break;
  case BAD_CLOSED:
    break;
  case BAD_SECOND_CLOSED:
  case BAD_TOO_MANY:
  case BAD_COUNT:
    fd[0] = tcp_socket(SOCK_STREAM, 16, NULL);
    break;
  }
  t = take_in_child(fd, 2, c->fds, 0);
  for (int i = 0; i < 2; i++)
    if (fd[i] >= 0)
      close(fd[i]);
  cr_expect_eq(t.rc, -1, "rc %d, want -1 (message: %s)", t.rc, t.err);
  cr_expect_not_null(strstr(t.err, c->says), "message '%s' lacks '%s'", t.err,
                     c->says);
  cr_expect_eq(t.env_left, 0, "%d LISTEN_* variables left for the workers",
               t.env_left);
}
