/* wait_until.h - for the fixtures whose mc_work() blocks on a pool thread
 * until the test says so: the test creates a file when work() may return,
 * so that what happens meanwhile is decided by the test, not the clock. */
#ifndef MCHOST_TEST_WAIT_UNTIL_H
#define MCHOST_TEST_WAIT_UNTIL_H

#include <time.h>
#include <unistd.h>

/* Sleeps until `path` exists, 20 s at most; returns at once for "". */
static void wait_until(const char *path) {
  struct timespec ts = {0, 10 * 1000000L};
  for (int i = 0; path[0] != '\0' && i < 2000; i++) {
    if (access(path, F_OK) == 0)
      break;
    nanosleep(&ts, NULL);
  }
}

#endif
