/*
 * test_install.c - mchost as a plugin author meets it after
 * `cmake --install`: the installed SDK builds an out-of-tree plugin with
 * CMake's find_package(mchost) and with pkg-config (also one that uses
 * libuv's <uv.h> and links no libuv), `mchost new` writes a project that
 * builds against it, and the INSTALLED mchost serves them all.
 *
 * The build is installed into MCHOST_TEST_PREFIX, a directory of the build
 * tree (tests/CMakeLists.txt): this file's harness is compiled with that
 * prefix's bin/mchost as MCHOST_BIN, so every server here is the installed
 * executable, never the one in the build tree. The plugin projects live in
 * a scratch directory per test.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "harness.h"
#include "project.h"

#ifndef MCHOST_TEST_PREFIX
#error "MCHOST_TEST_PREFIX must be defined by the build (install prefix)"
#endif

/* A tiny project configures and builds in 1-3 s; this is for a loaded
 * machine running the other tests beside it. */
#define BUILD_TIMEOUT_MS 60000
#define RUN_FMT                                                                \
  "\n----- stdout -----\n%s\n----- stderr -----\n%s\n------------------"

static char work[64];         /* this test's scratch directory */
static struct srv S;          /* the installed mchost it started, if any */
static struct sh_result SH;   /* the last shell command */
static struct run_result R;   /* the last `mchost new` */
static struct http_resp resp; /* too large for the stack of a test */

/* Runs a shell command that must succeed; on failure the assertion shows
 * its output. */
#define SH_OK(what, ...)                                                       \
  do {                                                                         \
    sh_result_free(&SH);                                                       \
    int sh_err_ = sh_run(&SH, BUILD_TIMEOUT_MS, __VA_ARGS__);                  \
    cr_assert_eq(sh_err_, 0, "%s: cannot run: %s", what, strerror(-sh_err_));  \
    cr_assert_eq(SH.status, 0, "%s failed (status %d):\n%s", what, SH.status,  \
                 SH.out);                                                      \
  } while (0)

/* `cmake --install` of this build into the prefix, once at a time: the
 * tests of this file run in parallel, and one must not exec bin/mchost
 * while another rewrites it. A second install finds every file up to date
 * and writes nothing.
 * "Up to date" means "same timestamp", so a copy cut short (a run killed
 * mid-install, or mchost relinked while it was copied) would stay broken
 * for every later run: an installed mchost that cannot say its version is
 * removed and installed again. (Its output is checked, not only its exit
 * status: the shell runs an empty file as an empty script, with status 0.)
 */
static void install_into_prefix(void) {
  int lock =
      open(MCHOST_TEST_PREFIX ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  int err;

  cr_assert_geq(lock, 0, "open %s.lock: %s", MCHOST_TEST_PREFIX,
                strerror(errno));
  flock(lock, LOCK_EX);
  err = sh_run(&SH, BUILD_TIMEOUT_MS,
               "install() { '%s' --install '%s' --prefix '%s' && "
               "'%s' --version | grep '^mchost '; }; "
               "install || { rm -f '%s' && install; }",
               MCHOST_CMAKE, MCHOST_BUILD_DIR, MCHOST_TEST_PREFIX, MCHOST_BIN,
               MCHOST_BIN);
  flock(lock, LOCK_UN);
  close(lock);
  cr_assert_eq(err, 0, "cannot run cmake --install: %s", strerror(-err));
  cr_assert_eq(SH.status, 0,
               "cmake --install, then the installed mchost --version, failed "
               "(status %d):\n%s",
               SH.status, SH.out);
}

static void install_init(void) {
  int err;

  install_into_prefix();
  err = scratch_make(work, sizeof work, "install");
  cr_assert_eq(err, 0, "mkdtemp: %s", strerror(-err));
}

static void install_fini(void) {
  srv_stop(&S);
  run_result_free(&R);
  sh_result_free(&SH);
  rm_tree(work);
}

TestSuite(install, .init = install_init, .fini = install_fini, .timeout = 90);

/* Starts the installed mchost on `so` and checks that it is the installed
 * executable that runs. */
static void serve(const char *so) {
  char exe[PATH_MAX], link[64], want[PATH_MAX];
  ssize_t n;
  int err = srv_start(
      &S, (const char *const[]){"--plugin", so, "--workers", "1", NULL}, 10000);

  cr_assert_eq(err, 0, "the installed mchost did not serve %s: %s" SRV_LOG_FMT,
               so, strerror(-err), srv_log_tail(&S));
  snprintf(link, sizeof link, "/proc/%d/exe", (int)S.pid);
  n = readlink(link, exe, sizeof exe - 1);
  cr_assert_gt(n, 0, "readlink %s: %s", link, strerror(errno));
  exe[n] = '\0';
  cr_assert_not_null(realpath(MCHOST_BIN, want), "%s: %s", MCHOST_BIN,
                     strerror(errno));
  cr_assert_str_eq(exe, want, "the server is not the installed mchost");
}

/* GET target from the server this test started; the status must be
 * `status`. */
static void get(const char *target, int status) {
  int err = http_get(S.port, target, &resp);
  cr_assert_eq(err, 0, "GET %s: %s" SRV_LOG_FMT, target, http_strerror(err),
               srv_log_tail(&S));
  cr_assert_eq(resp.status, status, "GET %s: %d, want %d\n%s%s" SRV_LOG_FMT,
               target, resp.status, status, resp.head, resp.body,
               srv_log_tail(&S));
}

/* An out-of-tree plugin answering every request with `body`. */
static void write_plugin(const char *path, const char *body) {
  char src[1024];
  snprintf(src, sizeof src,
           "#include <mchost.h>\n"
           "MC_PLUGIN();\n"
           "void mc_run(mc_request *req, mc_response *res) {\n"
           "  static const char body[] = \"%s\\n\";\n"
           "  (void)req;\n"
           "  mc_response_send(res, 200, body, sizeof body - 1);\n"
           "}\n",
           body);
  cr_assert_eq(file_write(path, src), 0, "cannot write %s", path);
}

Test(install, find_package_builds_a_plugin_the_installed_mchost_serves) {
  char path[128], so[128];

  snprintf(path, sizeof path, "%s/outoftree.c", work);
  write_plugin(path, "built with find_package(mchost)");
  snprintf(path, sizeof path, "%s/CMakeLists.txt", work);
  cr_assert_eq(file_write(path,
                          "cmake_minimum_required(VERSION 3.18)\n"
                          "project(outoftree C)\n"
                          "find_package(mchost REQUIRED)\n"
                          "message(STATUS \"mchost package: ${mchost_DIR}\")\n"
                          "mchost_add_plugin(outoftree outoftree.c)\n"),
               0);
  SH_OK("cmake configure",
        "'%s' -S '%s' -B '%s/build' -DCMAKE_PREFIX_PATH='%s'", MCHOST_CMAKE,
        work, work, MCHOST_TEST_PREFIX);
  /* A stray mchost elsewhere on the machine must not be what was found. */
  cr_assert_not_null(strstr(SH.out, "mchost package: " MCHOST_TEST_PREFIX "/"),
                     "find_package(mchost) did not use the installed "
                     "package:\n%s",
                     SH.out);
  SH_OK("cmake --build", "'%s' --build '%s/build'", MCHOST_CMAKE, work);

  snprintf(so, sizeof so, "%s/build/outoftree.so", work);
  serve(so);
  get("/", 200);
  cr_expect_str_eq(resp.body, "built with find_package(mchost)\n");
}

/* Compiles `src` into the plugin `so` with `compiler` ("cc", "c++") and
 * the installed mchost.pc's flags: the command the header and the
 * scaffold's README give. */
static void build_with_pkg_config(const char *compiler, const char *src,
                                  const char *so) {
  SH_OK(compiler,
        "%s $(PKG_CONFIG_PATH='%s/share/pkgconfig' pkg-config --cflags "
        "mchost) -Wall -Wextra -Werror -shared -fPIC -o '%s' '%s'",
        compiler, MCHOST_TEST_PREFIX, so, src);
}

Test(install, pkg_config_builds_a_plugin_the_installed_mchost_serves) {
  char src[128], so[128];

  snprintf(src, sizeof src, "%s/outoftree.c", work);
  snprintf(so, sizeof so, "%s/outoftree.so", work);
  write_plugin(src, "built with pkg-config");
  SH_OK("pkg-config",
        "PKG_CONFIG_PATH='%s/share/pkgconfig' pkg-config --cflags mchost",
        MCHOST_TEST_PREFIX);
  cr_assert_not_null(strstr(SH.out, "-I" MCHOST_TEST_PREFIX "/"),
                     "pkg-config --cflags does not point into the prefix: %s",
                     SH.out);
  build_with_pkg_config("cc", src, so);

  serve(so);
  get("/", 200);
  cr_expect_str_eq(resp.body, "built with pkg-config\n");
}

/* An out-of-tree plugin that drives the worker's loop with libuv itself:
 * a deferred response answered from its own uv timer. */
static const char uv_plugin[] =
    "#include <mchost.h>\n"
    "#include <stdio.h>\n"
    "#include <uv.h>\n"
    "MC_PLUGIN();\n"
    "static uv_timer_t timer;\n"
    "static mc_response *pending; /* one request at a time here */\n"
    "static void answer(mc_response *res, void *data) {\n"
    "  char body[64];\n"
    "  int n = snprintf(body, sizeof body, \"libuv %s\\n\",\n"
    "                   uv_version_string());\n"
    "  (void)data;\n"
    "  mc_response_send(res, 200, body, (size_t)n);\n"
    "}\n"
    "static void on_timer(uv_timer_t *t) {\n"
    "  (void)t;\n"
    "  mc_response_later(pending, 0, answer, NULL);\n"
    "}\n"
    "int mc_init(const mc_worker *w) { return uv_timer_init(w->loop, &timer); "
    "}\n"
    "void mc_run(mc_request *req, mc_response *res) {\n"
    "  (void)req;\n"
    "  pending = res;\n"
    "  mc_response_defer(res);\n"
    "  uv_timer_start(&timer, on_timer, 10, 0);\n"
    "}\n";

/* `so` links no libuv of its own, and the installed mchost serves it: its
 * uv_* calls bound to the host's libuv, whose version it answers with. */
static void expect_uv_plugin_served(const char *so) {
  char want[64];
  SH_OK("readelf", "readelf -d '%s'", so);
  cr_expect_null(strstr(SH.out, "libuv"), "the plugin links libuv itself:\n%s",
                 SH.out);
  SH_OK("mchost --version", "'%s' --version", MCHOST_BIN);
  const char *v = strstr(SH.out, "libuv ");
  cr_assert_not_null(v, "mchost --version names no libuv: %s", SH.out);
  snprintf(want, sizeof want, "%.*s\n", (int)strcspn(v, ",)"), v);
  serve(so);
  get("/", 200);
  cr_expect_str_eq(resp.body, want);
  srv_stop(&S);
}

/* <mchost.h> includes its parts from include/mchost/: the same plugin
 * compiled as C++ gets them inside extern "C" (mc_run keeps its C name, so
 * the installed mchost finds and serves it), and a part included on its
 * own stops the build with a message that says to include <mchost.h>. */
Test(install, header_parts_work_from_cxx_and_refuse_to_be_included_alone) {
  char src[128], so[128];

  snprintf(src, sizeof src, "%s/outoftree.cc", work);
  snprintf(so, sizeof so, "%s/outoftree.so", work);
  write_plugin(src, "built as C++");
  build_with_pkg_config("c++", src, so);
  serve(so);
  get("/", 200);
  cr_expect_str_eq(resp.body, "built as C++\n");

  snprintf(src, sizeof src, "%s/part.c", work);
  cr_assert_eq(file_write(src, "#include <mchost/request.h>\n"), 0);
  sh_result_free(&SH);
  cr_assert_eq(sh_run(&SH, BUILD_TIMEOUT_MS,
                      "cc $(PKG_CONFIG_PATH='%s/share/pkgconfig' pkg-config "
                      "--cflags mchost) -c -o /dev/null '%s'",
                      MCHOST_TEST_PREFIX, src),
               0);
  cr_expect_neq(SH.status, 0, "mchost/request.h compiled on its own:\n%s",
                SH.out);
  cr_expect_not_null(strstr(SH.out, "include <mchost.h> instead"),
                     "the error does not say to include <mchost.h>:\n%s",
                     SH.out);
}

Test(install, a_plugin_using_libuv_finds_uv_h_and_links_no_libuv) {
  char src[128], so[128], path[128];

  snprintf(src, sizeof src, "%s/uvplugin.c", work);
  cr_assert_eq(file_write(src, uv_plugin), 0);

  /* pkg-config: libuv's Cflags come with mchost's (Requires.private), its
   * Libs never, not even to someone who asks for --libs out of habit. */
  SH_OK("pkg-config",
        "PKG_CONFIG_PATH='%s/share/pkgconfig' pkg-config "
        "--print-requires-private mchost",
        MCHOST_TEST_PREFIX);
  cr_expect_not_null(strstr(SH.out, "libuv"),
                     "mchost.pc does not require libuv's header: %s", SH.out);
  snprintf(so, sizeof so, "%s/uvplugin.so", work);
  SH_OK("cc",
        "export PKG_CONFIG_PATH='%s/share/pkgconfig'; cc $(pkg-config "
        "--cflags mchost) -Wall -Wextra -Werror -shared -fPIC -o '%s' '%s' "
        "$(pkg-config --libs mchost)",
        MCHOST_TEST_PREFIX, so, src);
  expect_uv_plugin_served(so);

  /* CMake: the header-only target mchost::uv */
  snprintf(path, sizeof path, "%s/CMakeLists.txt", work);
  cr_assert_eq(file_write(path,
                          "cmake_minimum_required(VERSION 3.18)\n"
                          "project(uvplugin C)\n"
                          "find_package(mchost REQUIRED)\n"
                          "mchost_add_plugin(uvplugin uvplugin.c)\n"
                          "target_link_libraries(uvplugin PRIVATE mchost::uv)\n"
                          "target_compile_options(uvplugin PRIVATE -Wall "
                          "-Wextra -Werror)\n"),
               0);
  SH_OK("cmake configure",
        "'%s' -S '%s' -B '%s/build' -DCMAKE_PREFIX_PATH='%s'", MCHOST_CMAKE,
        work, work, MCHOST_TEST_PREFIX);
  SH_OK("cmake --build", "'%s' --build '%s/build'", MCHOST_CMAKE, work);
  snprintf(so, sizeof so, "%s/build/uvplugin.so", work);
  expect_uv_plugin_served(so);
}

Test(install, new_project_builds_serves_and_is_never_overwritten) {
  char dir[128], so[192], src[192];
  const char *type;
  char *text;

  snprintf(dir, sizeof dir, "%s/demo", work);
  snprintf(so, sizeof so, "%s/build/demo.so", dir);
  snprintf(src, sizeof src, "%s/src/demo.c", dir);
  cr_assert_eq(run_mchost_sync((const char *const[]){"new", "demo", dir, NULL},
                               NULL, &R, 5000),
               0);
  cr_assert_eq(R.exit_code, 0, "mchost new: exit %d" RUN_FMT, R.exit_code,
               R.out, R.err);
  cr_expect_not_null(strstr(R.out, src),
                     "the files written are not listed" RUN_FMT, R.out, R.err);

  SH_OK("cmake configure",
        "'%s' -S '%s' -B '%s/build' -DCMAKE_PREFIX_PATH='%s'", MCHOST_CMAKE,
        dir, dir, MCHOST_TEST_PREFIX);
  SH_OK("cmake --build", "'%s' --build '%s/build'", MCHOST_CMAKE, dir);
  /* its own handler test, run by mchost replay */
  SH_OK("ctest",
        "'%s' --test-dir '%s/build' --output-on-failure --no-tests=error",
        MCHOST_CTEST, dir);

  serve(so);
  get("/", 200);
  cr_expect_str_eq(resp.body, "Hello from demo\n");
  get("/health", 200);
  type = http_header(&resp, "Content-Type");
  cr_expect(type != NULL && strncmp(type, "application/json", 16) == 0,
            "/health Content-Type is '%s', want application/json",
            type ? type : "(none)");
  cr_expect(resp.body[0] == '{' && strstr(resp.body, "\"status\":\"ok\""),
            "/health body is not the JSON status: %s", resp.body);
  get("/no-such-page", 404);
  srv_stop(&S);

  /* The user's work, including the build, survives a second `new`. */
  cr_assert_eq(file_write(src, "/* my own handler */\n"), 0);
  run_result_free(&R);
  cr_assert_eq(run_mchost_sync((const char *const[]){"new", "demo", dir, NULL},
                               NULL, &R, 5000),
               0);
  cr_expect_eq(R.exit_code, 2, "second mchost new: exit %d, want 2" RUN_FMT,
               R.exit_code, R.out, R.err);
  cr_expect(strstr(R.err, dir) && strstr(R.err, "not empty"),
            "stderr should name the directory and say it is not empty" RUN_FMT,
            R.out, R.err);
  text = file_read(src);
  cr_expect(text != NULL && strcmp(text, "/* my own handler */\n") == 0,
            "src/demo.c was overwritten: %s", text ? text : "(gone)");
  free(text);
}
