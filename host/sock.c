/*
 * sock.c - a connection's socket handed to libuv and taken back, without
 * the two system calls libuv adds for the general case.
 *
 * - uv_tcp_open() sets O_NONBLOCK with ioctl(FIONBIO), although accept4()
 *   already did. uv_accept() does not: it opens the client on its server's
 *   `accepted_fd`. So a socket is adopted through a stand-in server, a
 *   stream on an eventfd that never fires, whose accepted_fd is set to the
 *   new socket first. uv_accept() then restarts the stand-in's watcher,
 *   which costs one epoll_ctl() for the worker's life.
 * - uv_close() removes the socket from the loop's epoll set
 *   (EPOLL_CTL_DEL) before it closes it, in case another process holds the
 *   same socket. Closing the last descriptor of a socket removes it from
 *   epoll anyway, and a worker's sockets have no other descriptor, unless
 *   a child process was forked (a plugin's fork()): pthread_atfork() notes
 *   that, and from then on every close removes the socket first. libuv
 *   1.44 skips the removal while the loop's backend_fd is negative, so the
 *   close runs with it hidden; the stale-event scan of the loop's current
 *   batch still runs.
 *
 * Both rely on libuv internals: the first was checked against libuv 1.44
 * to 1.51, the second against 1.44 only. In other versions (of the header
 * or of the library), and with MCHOST_TEST_SOCK_PLAIN set (the tests run
 * both paths), the public calls are used.
 */
#include "sock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "uvcompat.h"

/* libuv versions (UV_VERSION_HEX) whose internals each path was read in */
#define ADOPT_LIBUV_FIRST 0x012c00
#define ADOPT_LIBUV_LAST 0x0133ff
#define CLOSE_LIBUV_FIRST 0x012c00
#define CLOSE_LIBUV_LAST 0x012cff

static uv_tcp_t standin;
static int adopt_ok, close_ok;
static atomic_int forked;

static void on_fork(void) { atomic_store(&forked, 1); }

void sock_init(uv_loop_t *loop) {
  static int registered;
  int fd;

  adopt_ok = close_ok = 0;
  if (getenv("MCHOST_TEST_SOCK_PLAIN") != NULL)
    return;
  if (!registered && pthread_atfork(on_fork, NULL, NULL) == 0)
    registered = 1;
  close_ok =
      registered && uvcompat_checked(CLOSE_LIBUV_FIRST, CLOSE_LIBUV_LAST);
  if (!uvcompat_checked(ADOPT_LIBUV_FIRST, ADOPT_LIBUV_LAST))
    return;
  if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
    return;
  if (uv_tcp_init(loop, &standin) != 0) {
    close(fd);
    return;
  }
  if (uv_tcp_open(&standin, fd) != 0) {
    close(fd);
    uv_close((uv_handle_t *)&standin, NULL);
    return;
  }
  adopt_ok = 1;
}

int sock_adopt(uv_tcp_t *tcp, int fd) {
  int err;
  if (adopt_ok) {
    /* uv_accept() closes the socket when it fails */
    standin.accepted_fd = fd;
    return uv_accept((uv_stream_t *)&standin, (uv_stream_t *)tcp);
  }
  if ((err = uv_tcp_open(tcp, fd)) != 0)
    close(fd);
  return err;
}

void sock_close(uv_tcp_t *tcp, uv_close_cb cb) {
  uv_loop_t *loop = tcp->loop;
  int backend = loop->backend_fd;

  if (!close_ok || atomic_load(&forked)) {
    uv_close((uv_handle_t *)tcp, cb);
    return;
  }
  loop->backend_fd = -1;
  uv_close((uv_handle_t *)tcp, cb);
  loop->backend_fd = backend;
}
