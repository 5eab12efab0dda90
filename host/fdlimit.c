/*
 * fdlimit.c - the open-file limit. A connection is a file descriptor, so
 * RLIMIT_NOFILE, not a constant, is what bounds the connections a worker can
 * hold. The soft limit is often 1024 for compatibility with select(), while
 * the hard limit is far higher: mchost uses epoll, so it raises the soft
 * limit to the hard one at start.
 */
#include "fdlimit.h"

#include <sys/resource.h>

uint64_t fdlimit_raise(void) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
      rl.rlim_cur = rl.rlim_max;
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t fdlimit_connections(uint64_t wanted, uint64_t nofile) {
  uint64_t room =
      nofile > 2 * FDLIMIT_RESERVE ? nofile - FDLIMIT_RESERVE : nofile / 2;
  if (room < 1)
    room = 1;
  return wanted == 0 || wanted > room ? room : wanted;
}
