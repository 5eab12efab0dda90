/*
 * test_scaffold.c - `mchost new NAME [DIR]` on the command line: what it
 * writes, where, and what it refuses (exit 2, nothing written). Building
 * and serving the project it writes is in test_install.c, against an
 * installed mchost, as a user would.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "project.h"

#define RUN_FMT                                                                \
  "\n----- stdout -----\n%s\n----- stderr -----\n%s\n------------------"

static char work[64];       /* scratch directory, also the test's cwd */
static struct run_result R; /* the run this test made */

static void scaffold_init(void) {
  int err = scratch_make(work, sizeof work, "scaffold");
  cr_assert_eq(err, 0, "mkdtemp: %s", strerror(-err));
  /* Each test is its own process: the cwd is this test's alone. */
  cr_assert_eq(chdir(work), 0, "chdir %s: %s", work, strerror(errno));
}

static void scaffold_fini(void) {
  run_result_free(&R);
  rm_tree(work);
}

TestSuite(scaffold, .init = scaffold_init, .fini = scaffold_fini,
          .timeout = 20);

static void run(const char *const *args) {
  int err = run_mchost_sync(args, NULL, &R, 5000);
  cr_assert_eq(err, 0, "could not run %s: %s", MCHOST_BIN, strerror(-err));
  cr_assert_eq(R.timed_out, 0, "mchost still running after 5 s" RUN_FMT, R.out,
               R.err);
}

/* `path` (relative to the scratch directory) must exist and contain
 * `needle`. */
static void expect_file_has(const char *path, const char *needle) {
  char *text = file_read(path);
  cr_expect_not_null(text, "%s was not written", path);
  if (text != NULL)
    cr_expect_not_null(strstr(text, needle), "%s lacks '%s':\n%s", path, needle,
                       text);
  free(text);
}

/* Number of entries in the scratch directory. */
static int work_entries(void) {
  DIR *d = opendir(work);
  struct dirent *e;
  int n = 0;

  cr_assert_not_null(d, "opendir %s: %s", work, strerror(errno));
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

Test(scaffold, help_shows_the_usage_and_mchost_help_mentions_it) {
  run((const char *const[]){"new", "--help", NULL});
  cr_expect_eq(R.exit_code, 0, "exit %d, want 0" RUN_FMT, R.exit_code, R.out,
               R.err);
  cr_expect_not_null(strstr(R.out, "mchost new NAME [DIR]"),
                     "no usage line on stdout" RUN_FMT, R.out, R.err);
  run_result_free(&R);
  run((const char *const[]){"--help", NULL});
  cr_expect_not_null(strstr(R.out, "mchost new NAME"),
                     "mchost --help does not mention 'mchost new'" RUN_FMT,
                     R.out, R.err);
}

Test(scaffold, writes_a_project_into_dot_slash_name_by_default) {
  run((const char *const[]){"new", "my-app", NULL});
  cr_assert_eq(R.exit_code, 0, "exit %d, want 0" RUN_FMT, R.exit_code, R.out,
               R.err);
  expect_file_has("my-app/src/my-app.c", "MC_PLUGIN();");
  expect_file_has("my-app/src/my-app.c", "void mc_run(mc_request *req");
  expect_file_has("my-app/CMakeLists.txt", "find_package(mchost REQUIRED)");
  expect_file_has("my-app/CMakeLists.txt",
                  "mchost_add_plugin(my-app src/my-app.c)");
  expect_file_has("my-app/README.md", "cmake --build build");
  expect_file_has("my-app/README.md",
                  "mchost --plugin build/my-app.so --port 3000");
  expect_file_has("my-app/README.md",
                  "--dev --watch src --build \"cmake --build build\"");
  expect_file_has("my-app/.gitignore", "build/");
  /* What to do next is on stdout, with the command that serves it. */
  cr_expect_not_null(strstr(R.out, "mchost --plugin build/my-app.so"),
                     "stdout does not say how to run it" RUN_FMT, R.out, R.err);
}

Test(scaffold, an_existing_empty_directory_is_used) {
  cr_assert_eq(mkdir("here", 0755), 0);
  run((const char *const[]){"new", "app", "here", NULL});
  cr_assert_eq(R.exit_code, 0, "exit %d, want 0" RUN_FMT, R.exit_code, R.out,
               R.err);
  expect_file_has("here/src/app.c", "Hello from app");
  expect_file_has("here/CMakeLists.txt", "mchost_add_plugin(app src/app.c)");
}

Test(scaffold, a_file_in_the_way_is_a_usage_error) {
  cr_assert_eq(file_write("taken", "mine\n"), 0);
  run((const char *const[]){"new", "app", "taken", NULL});
  cr_expect_eq(R.exit_code, 2, "exit %d, want 2" RUN_FMT, R.exit_code, R.out,
               R.err);
  cr_expect(strstr(R.err, "'taken'") && strstr(R.err, "not a directory"),
            "stderr should name the file and say why" RUN_FMT, R.out, R.err);
  expect_file_has("taken", "mine");
}

Test(scaffold, name_is_required) {
  run((const char *const[]){"new", NULL});
  cr_expect_eq(R.exit_code, 2, "exit %d, want 2" RUN_FMT, R.exit_code, R.out,
               R.err);
  cr_expect_not_null(strstr(R.err, "NAME is missing"),
                     "stderr should say NAME is missing" RUN_FMT, R.out, R.err);
}

/* Arrays, not pointers: Criterion runs each case in a new process, where
 * a pointer into this one's memory would mean nothing. */
struct bad_name {
  char name[16];
  char says[48]; /* in stderr */
};

ParameterizedTestParameters(scaffold,
                            bad_names_are_refused_and_nothing_is_written) {
  static struct bad_name cases[] = {
      {"my app", "'my app' is not a plugin name"},
      {"a/b", "'a/b' is not a plugin name"},
      {"app.so", "'app.so' is not a plugin name"},
      {"", "'' is not a plugin name"},
      {"test", "reserved by CMake"},
      {"-v", "unknown option '-v'"},
  };
  return cr_make_param_array(struct bad_name, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_name *c, scaffold,
                  bad_names_are_refused_and_nothing_is_written) {
  run((const char *const[]){"new", c->name, NULL});
  cr_expect_eq(R.exit_code, 2, "'%s': exit %d, want 2" RUN_FMT, c->name,
               R.exit_code, R.out, R.err);
  cr_expect_not_null(strstr(R.err, c->says), "stderr lacks \"%s\"" RUN_FMT,
                     c->says, R.out, R.err);
  cr_expect_eq(work_entries(), 0, "'%s': something was written", c->name);
}
