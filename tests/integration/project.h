/*
 * project.h - what the install and scaffold tests need besides harness.h:
 * a scratch directory for a plugin project, small files in it, and shell
 * commands (cmake, cc, pkg-config) run to completion with their output kept
 * for the assertion message.
 *
 * Like the harness, nothing here prints; failures return a negative errno.
 */
#ifndef MCHOST_TEST_PROJECT_H
#define MCHOST_TEST_PROJECT_H

#include <stddef.h>

/* Creates a fresh directory /tmp/mchost-<tag>-XXXXXX into dir (>= 64
 * bytes). Returns 0 or -errno. rm_tree() (harness.h) removes it. */
int scratch_make(char *dir, size_t size, const char *tag);

/* Creates or replaces `path` with `text`. Returns 0 or -errno. */
int file_write(const char *path, const char *text);

/* The whole file, NUL-terminated (malloc'd, caller frees), or NULL. */
char *file_read(const char *path);

struct sh_result {
  int status; /* exit code, 128 + signal, or -1 when timed out / not run */
  char *out;  /* its stdout and stderr interleaved (malloc'd, never NULL
                 after sh_run returns 0) */
};

/* Runs the printf-formatted command with /bin/sh -c, stdin from /dev/null,
 * in its own process group (killed with it after timeout_ms, or when the
 * test process dies). Returns 0 with *r filled, or -errno when it could not
 * be started. */
int sh_run(struct sh_result *r, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sh_result_free(struct sh_result *r);

#endif /* MCHOST_TEST_PROJECT_H */
