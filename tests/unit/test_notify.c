/*
 * test_notify.c - running under systemd without libsystemd: what systemd
 * receives from notify_send() on its $NOTIFY_SOCKET (a path or an abstract
 * '@name'). Socket activation is test_activation.c.
 *
 * No server is started. Criterion runs each test in its own process, so
 * the environment variables set here stay in that test.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
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
