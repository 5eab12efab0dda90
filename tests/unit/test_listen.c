/*
 * test_listen.c - the options listen_open() gives the TCP sockets it
 * binds: --defer-accept, in whole seconds, and none at 0.
 *
 * No server is started: the sockets are bound on 127.0.0.1, port 0, and
 * read back with getsockopt().
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "config.h"
#include "listen.h"

/* TCP_DEFER_ACCEPT of the one socket listen_open() binds for argv. */
static int defer_of(int argc, char **argv) {
  struct config cfg;
  struct listeners ls;
  char err[256];
  int v = -1;
  socklen_t len = sizeof v;

  unsetenv("MCHOST_DEFER_ACCEPT");
  cr_assert_eq(config_load(&cfg, argc, argv, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(listen_open(&cfg, &ls), 0);
  cr_assert_eq(ls.n, 1);
  cr_assert_eq(getsockopt(ls.v[0].fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &len),
               0);
  listen_close(&ls);
  return v;
}

Test(listen, tcp_listeners_defer_accept_by_default) {
  char *argv[] = {"mchost", "--host", "127.0.0.1", "--port", "0"};
  cr_expect_gt(defer_of(5, argv), 0,
               "a connection that has sent nothing is held by the kernel");
}

Test(listen, defer_accept_0_hands_connections_over_at_once) {
  char *argv[] = {"mchost", "--host",         "127.0.0.1", "--port",
                  "0",      "--defer-accept", "0"};
  cr_expect_eq(defer_of(7, argv), 0);
}

Test(listen, defer_accept_applies_to_each_listen_address) {
  char *argv[] = {"mchost", "--listen", "127.0.0.1:0", "--defer-accept", "3"};
  /* The kernel keeps a count of SYN-ACK retransmissions and reports the
   * seconds they span: at least what was asked. */
  cr_expect_geq(defer_of(5, argv), 3);
}
