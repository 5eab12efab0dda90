/*
 * test_systemd.c - under systemd (Type=notify) the master says when it is
 * ready, when it reloads and when it stops, on $NOTIFY_SOCKET. A datagram
 * socket of the test's own stands in for systemd.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static struct srv S;
static int sock = -1;
static char path[108];

static void stop(void) {
  srv_stop(&S);
  if (sock >= 0)
    close(sock);
  unlink(path);
}

/* Waits for a datagram containing `want`; returns 1 if one came. Other
 * datagrams before it are skipped (STATUS updates). */
static int expect_notify(const char *want, char *got, size_t len,
                         int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (remaining_ms(deadline) > 0) {
    struct timeval tv = {0, 100 * 1000};
    ssize_t n;
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    n = recv(sock, got, len - 1, 0);
    if (n <= 0)
      continue;
    got[n] = '\0';
    if (strstr(got, want) != NULL)
      return 1;
  }
  return 0;
}

Test(systemd, ready_reloading_and_stopping_are_notified, .fini = stop,
     .timeout = 20) {
  struct sockaddr_un a;
  char env[160], got[1024];
  const char *args[] = {"--plugin", PLUGINS_DIR "/hello.so", "--workers", "2",
                        NULL};
  const char *envp[] = {env, NULL};

  snprintf(path, sizeof path, "/tmp/mchost-notify-%d.sock", (int)getpid());
  unlink(path);
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(sock, 0);
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  cr_assert_eq(bind(sock, (struct sockaddr *)&a, sizeof a), 0);
  snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", path);

  cr_assert_eq(spawn_mchost_env(args, envp, &S), 0);
  cr_assert(expect_notify("READY=1", got, sizeof got, 5000),
            "no READY=1" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect(strstr(got, "STATUS=2 workers serving, generation 1") != NULL, "%s",
            got);
  cr_expect(strstr(got, "MAINPID=") != NULL, "%s", got);

  cr_assert_eq(kill(S.pid, SIGHUP), 0);
  cr_expect(expect_notify("RELOADING=1", got, sizeof got, 5000),
            "no RELOADING=1 on SIGHUP" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect(expect_notify("READY=1", got, sizeof got, 5000),
            "no READY=1 after the reload" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect(strstr(got, "generation 2") != NULL, "%s", got);

  cr_assert_eq(kill(S.pid, SIGTERM), 0);
  cr_expect(expect_notify("STOPPING=1", got, sizeof got, 5000),
            "no STOPPING=1 on SIGTERM" SRV_LOG_FMT, srv_log_tail(&S));
  cr_expect_eq(srv_wait_exit(&S, 5000), 0);
}
