/* sock.h - a connection's socket handed to libuv and taken back with the
 * fewest system calls (sock.c). */
#ifndef MCHOST_SOCK_H
#define MCHOST_SOCK_H

#include <uv.h>

/* Sets up the stand-in server of sock_adopt() on the worker's loop. Once
 * per worker, before the first sock_adopt(). */
void sock_init(uv_loop_t *loop);

/* uv_tcp_open() for a socket from accept4(SOCK_NONBLOCK) on an initialized
 * tcp handle, without setting O_NONBLOCK again. Returns 0, or a libuv
 * error with fd closed. */
int sock_adopt(uv_tcp_t *tcp, int fd);

/* uv_close() of an adopted socket's handle, leaving its removal from the
 * loop's epoll set to close(2) while no child process shares it. */
void sock_close(uv_tcp_t *tcp, uv_close_cb cb);

#endif
