/* test_snapshot.c - a generation's private copy of the plugin. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin.h"

static char dir[64];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/mchost-snap-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}

static size_t slurp(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  ssize_t n;
  cr_assert_geq(fd, 0, "open %s", path);
  n = read(fd, buf, cap);
  close(fd);
  cr_assert_geq(n, 0);
  return (size_t)n;
}

Test(snapshot, copies_a_complete_plugin_byte_for_byte, .init = make_dir,
     .fini = remove_dir) {
  static char a[1 << 20], b[1 << 20];
  char dst[128], err[512];
  struct stat st;
  size_t na, nb;

  snprintf(dst, sizeof dst, "%s/gen-1.so", dir);
  cr_assert_eq(plugin_snapshot(HELLO_SO, dst, &st, err, sizeof err), 0, "%s",
               err);
  na = slurp(HELLO_SO, a, sizeof a);
  nb = slurp(dst, b, sizeof b);
  cr_expect_eq(na, nb);
  cr_expect_eq(memcmp(a, b, na), 0);
  cr_expect_eq((size_t)st.st_size, na, "the source's stat is returned");
}

Test(snapshot, a_plugin_still_being_written_is_not_taken, .init = make_dir,
     .fini = remove_dir) {
  static char a[1 << 20];
  char half[128], dst[128], err[512];
  struct stat st;
  size_t n = slurp(HELLO_SO, a, sizeof a);
  int fd;

  snprintf(half, sizeof half, "%s/half.so", dir);
  snprintf(dst, sizeof dst, "%s/gen-2.so", dir);
  fd = open(half, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, a, n / 2), (ssize_t)(n / 2));
  close(fd);
  cr_expect_eq(plugin_snapshot(half, dst, &st, err, sizeof err), -EAGAIN);
  cr_expect(strstr(err, "still being written?") != NULL, "%s", err);
  cr_expect_neq(access(dst, F_OK), 0, "no snapshot is left behind");
}

Test(snapshot, a_missing_plugin_is_reported, .init = make_dir,
     .fini = remove_dir) {
  char dst[128], err[512];
  struct stat st;
  snprintf(dst, sizeof dst, "%s/gen-3.so", dir);
  cr_expect_eq(
      plugin_snapshot("/nonexistent/app.so", dst, &st, err, sizeof err),
      -ENOENT);
  cr_expect(strstr(err, "/nonexistent/app.so") != NULL, "%s", err);
}
