/* uvcompat.h - whether this libuv is one whose internals a shortcut was
 * checked against. A few paths (sock.c, accept.c) reach past libuv's
 * public API; each names the versions it was read in, and outside them
 * takes the public calls instead. */
#ifndef MCHOST_UVCOMPAT_H
#define MCHOST_UVCOMPAT_H

#include <uv.h>

/* 1 if both the libuv built against (UV_VERSION_HEX) and the one running
 * (uv_version()) lie in [first, last], as UV_VERSION_HEX values
 * (0x012c00 is 1.44.0); else 0. */
static inline int uvcompat_checked(unsigned first, unsigned last) {
  unsigned lib = uv_version();
  return UV_VERSION_HEX >= first && UV_VERSION_HEX <= last && lib >= first &&
         lib <= last;
}

#endif
