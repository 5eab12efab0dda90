/*
 * scaffold.c - `mchost new NAME [DIR]`: writes a plugin project that builds
 * against the installed SDK and serves at once, so that a new user starts
 * from working code instead of from the header.
 *
 * The templates are string literals in the executable: `mchost new` then
 * works from any install (a package, `cmake --install`, a copied binary)
 * without a data directory to find. Every "@NAME@" in them is replaced by
 * the project's name.
 */
#define _GNU_SOURCE
#include "scaffold.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "mchost.h"

#define NAME_MAX_LEN 64
#define PLACEHOLDER "@NAME@"

static const char plugin_c[] =
    "/*\n"
    " * @NAME@ - an mchost plugin: HTTP request handlers in a shared object.\n"
    " *\n"
    " *     cmake -S . -B build && cmake --build build\n"
    " *     mchost --plugin build/@NAME@.so --port 3000\n"
    " *\n"
    " *     curl localhost:3000/         ->  Hello from @NAME@\n"
    " *     curl localhost:3000/health   ->  {\"status\":\"ok\",...}\n"
    " *\n"
    " * mchost runs several worker processes, each with its own copy of this\n"
    " * code: a global variable here belongs to one worker, never to all.\n"
    " * Every mc_* function is documented in <mchost.h>, in the parts it\n"
    " * includes (mchost/request.h, mchost/response.h, ...).\n"
    " */\n"
    "#include <mchost.h>\n"
    "\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "/* Required, once per plugin: records the ABI this file is compiled\n"
    " * against, so that another mchost version refuses it with a clear\n"
    " * message instead of crashing. */\n"
    "MC_PLUGIN();\n"
    "\n"
    "/* Optional: called once in each worker before its first request. Open\n"
    " * files or connections here; a non-zero return refuses to start. */\n"
    "int mc_init(const mc_worker *w) {\n"
    "  mc_log(MC_LOG_INFO, \"@NAME@ loaded (worker %u, generation %u)\", "
    "w->id,\n"
    "         w->generation);\n"
    "  return 0;\n"
    "}\n"
    "\n"
    "/* Sends a whole response. mchost adds Content-Length, Date and\n"
    " * Connection itself. */\n"
    "static void reply(mc_response *res, int status, const char *type,\n"
    "                  const char *body) {\n"
    "  mc_response_header(res, \"Content-Type\", type);\n"
    "  mc_response_send(res, status, body, strlen(body));\n"
    "}\n"
    "\n"
    "/* Required: called for every request, which it must answer (or defer:\n"
    " * see mc_response_later()). A crash in here costs only this request a\n"
    " * 500; mchost then replaces the worker. */\n"
    "void mc_run(mc_request *req, mc_response *res) {\n"
    "  const char *method = mc_request_method(req);\n"
    "  const char *path = mc_request_path(req);\n"
    "  /* HEAD is answered like GET: mchost leaves the body out. */\n"
    "  int get = strcmp(method, \"GET\") == 0 || strcmp(method, \"HEAD\") == "
    "0;\n"
    "\n"
    "  if (get && strcmp(path, \"/\") == 0) {\n"
    "    reply(res, 200, \"text/plain; charset=utf-8\", \"Hello from "
    "@NAME@\\n\");\n"
    "  } else if (get && strcmp(path, \"/health\") == 0) {\n"
    "    /* For load balancers and uptime checks; says which worker "
    "answered. */\n"
    "    const mc_worker *w = mc_worker_self();\n"
    "    char body[128];\n"
    "    snprintf(body, sizeof body,\n"
    "             \"{\\\"status\\\":\\\"ok\\\",\\\"worker\\\":%u,"
    "\\\"generation\\\":%u}\\n\",\n"
    "             w->id, w->generation);\n"
    "    reply(res, 200, \"application/json\", body);\n"
    "  } else {\n"
    "    reply(res, 404, \"text/plain; charset=utf-8\", \"Not found\\n\");\n"
    "  }\n"
    "}\n"
    "\n"
    "/* Optional: called once when a worker stops gracefully, after its last\n"
    " * response: close what mc_init() opened. */\n"
    "void mc_shutdown(void) { mc_log(MC_LOG_DEBUG, \"@NAME@ stopping\"); }\n";

static const char cmakelists[] =
    "# @NAME@: an mchost plugin.\n"
    "#\n"
    "#   cmake -S . -B build && cmake --build build      -> build/@NAME@.so\n"
    "#\n"
    "# If mchost is installed where CMake does not look by default, add\n"
    "# -DCMAKE_PREFIX_PATH=<mchost's install prefix> to the first command.\n"
    "cmake_minimum_required(VERSION 3.18)\n"
    "project(@NAME@ LANGUAGES C)\n"
    "\n"
    "# Optimized, and with debug information for gdb and core dumps.\n"
    "if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)\n"
    "  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING \"Build type\" "
    "FORCE)\n"
    "endif()\n"
    "\n"
    "# Provides mchost_add_plugin() and the include directory of "
    "<mchost.h>.\n"
    "find_package(mchost REQUIRED)\n"
    "\n"
    "# build/@NAME@.so, linked against nothing: its mc_* calls resolve "
    "against\n"
    "# the mchost executable that loads it.\n"
    "mchost_add_plugin(@NAME@ src/@NAME@.c)\n"
    "target_compile_options(@NAME@ PRIVATE -Wall -Wextra)\n"
    "\n"
    "# Handler tests without a server (`ctest --test-dir build`): each\n"
    "# tests/X.http is a request as a client sends it, which mchost replay\n"
    "# runs through the plugin in one process; tests/X.expected is the\n"
    "# response it must give (status line, the headers listed, the body).\n"
    "enable_testing()\n"
    "file(GLOB requests CONFIGURE_DEPENDS tests/*.http)\n"
    "foreach(request IN LISTS requests)\n"
    "  get_filename_component(test \"${request}\" NAME_WE)\n"
    "  add_test(NAME ${test}\n"
    "    COMMAND mchost::mchost replay \"${request}\"\n"
    "            --plugin $<TARGET_FILE:@NAME@>\n"
    "            --expect "
    "\"${CMAKE_CURRENT_SOURCE_DIR}/tests/${test}.expected\")\n"
    "endforeach()\n";

static const char readme[] =
    "# @NAME@\n"
    "\n"
    "An mchost plugin: HTTP request handlers in a shared object, served by\n"
    "mchost's worker processes.\n"
    "\n"
    "## Build\n"
    "\n"
    "    cmake -S . -B build\n"
    "    cmake --build build\n"
    "\n"
    "This needs mchost installed. If CMake does not find it, add\n"
    "`-DCMAKE_PREFIX_PATH=<mchost's install prefix>` to the first command.\n"
    "Without CMake:\n"
    "\n"
    "    mkdir -p build\n"
    "    cc $(pkg-config --cflags mchost) -O2 -shared -fPIC \\\n"
    "       -o build/@NAME@.so src/@NAME@.c\n"
    "\n"
    "A plugin that uses libuv itself (`mc_worker.loop`) includes `<uv.h>`:\n"
    "the same pkg-config flags find it, and in CMake\n"
    "`target_link_libraries(@NAME@ PRIVATE mchost::uv)` adds its directory.\n"
    "Never link libuv (`-luv`): mchost carries its own and exports it.\n"
    "\n"
    "## Run\n"
    "\n"
    "    mchost --plugin build/@NAME@.so --port 3000\n"
    "\n"
    "    curl localhost:3000/          # Hello from @NAME@\n"
    "    curl localhost:3000/health    # {\"status\":\"ok\",...}\n"
    "\n"
    "`mchost --help` lists the options: workers, timeouts, limits.\n"
    "\n"
    "## Develop\n"
    "\n"
    "    mchost --plugin build/@NAME@.so --port 3000 \\\n"
    "           --dev --watch src --build \"cmake --build build\"\n"
    "\n"
    "On every change under `src/`, mchost runs the build; when it succeeds,\n"
    "workers with the new `@NAME@.so` start beside the old ones, and take\n"
    "over only once they are ready, so no request fails. A failed build\n"
    "prints its errors and the running version keeps serving.\n"
    "\n"
    "## Test\n"
    "\n"
    "    ctest --test-dir build --output-on-failure\n"
    "\n"
    "runs each request in `tests/*.http` through the plugin with\n"
    "`mchost replay` (no server, no port) and compares the response with\n"
    "`tests/*.expected`. Add a test: one more pair of files. A crash prints\n"
    "its backtrace; `gdb --args mchost replay tests/X.http --plugin\n"
    "build/@NAME@.so` debugs it.\n"
    "\n"
    "## Files\n"
    "\n"
    "- `src/@NAME@.c`: the request handler `mc_run`, and the optional\n"
    "  `mc_init` and `mc_shutdown`.\n"
    "- `CMakeLists.txt`: builds `build/@NAME@.so` with "
    "`mchost_add_plugin()`,\n"
    "  and registers the tests.\n"
    "- `tests/`: requests and the responses they must get.\n";

static const char gitignore[] = "build/\n";

/* The request bytes as a client sends them: CR LF line ends. */
static const char test_request[] = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

static const char test_expected[] = "HTTP/1.1 200 OK\n"
                                    "Content-Type: text/plain; charset=utf-8\n"
                                    "\n"
                                    "Hello from @NAME@\n";

/* In writing order: the source last, so that a project cut short by an
 * error still lacks the file a build would need first. */
static const struct {
  const char *path; /* relative to DIR; may hold the placeholder */
  const char *text;
} files[] = {
    {"CMakeLists.txt", cmakelists},
    {"README.md", readme},
    {".gitignore", gitignore},
    {"tests/hello.http", test_request},
    {"tests/hello.expected", test_expected},
    {"src/" PLACEHOLDER ".c", plugin_c},
};
#define N_FILES (sizeof files / sizeof files[0])

/* Targets CMake keeps for itself: a plugin by one of these names would
 * stop at configure time with an error about policy CMP0037. */
static const char *const reserved[] = {
    "all",     "clean",   "depend",        "edit_cache", "help",
    "install", "package", "rebuild_cache", "test",
};

static void scaffold_usage(FILE *f) {
  fprintf(f,
          "Usage: mchost new NAME [DIR]\n\n"
          "Writes a plugin project into DIR (default ./NAME), which must not\n"
          "exist or be empty: src/NAME.c, CMakeLists.txt, README.md,\n"
          ".gitignore and a test in tests/. NAME is made of letters,\n"
          "digits, '_' and '-'.\n");
}

/* Prints one "mchost new: ..." line and returns EXIT_USAGE. */
static int usage_error(const char *fmt, ...) MC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "mchost new: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'mchost new --help')\n");
  return EXIT_USAGE;
}

/* The name becomes a file name, a CMake target and text inside C string
 * literals and JSON: this alphabet is safe in all of them, unescaped. */
static int name_check(const char *name) {
  size_t n = strlen(name);

  if (name[0] == '-')
    return usage_error("unknown option '%s'", name);
  if (n == 0 || n > NAME_MAX_LEN ||
      strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789_-") != n)
    return usage_error("NAME '%s' is not a plugin name: use 1 to 64 letters, "
                       "digits, '_' or '-'",
                       name);
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(name, reserved[i]) == 0)
      return usage_error("NAME '%s' is reserved by CMake: pick another", name);
  return 0;
}

/* mkdir -p. Returns 0, or -errno with the directory that could not be made
 * copied to `failed`. */
static int make_dirs(const char *path, char *failed, size_t size) {
  char buf[PATH_MAX];

  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -ENAMETOOLONG;
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
      snprintf(failed, size, "%s", buf);
      return -errno;
    }
    if (c == '\0')
      return 0;
    *p = c;
  }
}

/* 1 if DIR can hold the project: absent, or an empty directory. Otherwise
 * prints why and returns 0. */
static int dir_usable(const char *dir) {
  struct stat st;
  struct dirent *e;
  DIR *d;
  int empty = 1;

  if (stat(dir, &st) != 0) {
    if (errno == ENOENT)
      return 1;
    usage_error("cannot use '%s': %s", dir, strerror(errno));
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    usage_error("'%s' exists and is not a directory", dir);
    return 0;
  }
  if ((d = opendir(dir)) == NULL) {
    usage_error("cannot read directory '%s': %s", dir, strerror(errno));
    return 0;
  }
  while (empty && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      empty = 0;
  closedir(d);
  if (!empty)
    usage_error("'%s' already exists and is not empty: choose another "
                "directory, or remove it first; nothing was written",
                dir);
  return empty;
}

/* Writes `text` to f with every placeholder replaced by `name`. */
static void expand(FILE *f, const char *text, const char *name) {
  const char *at;

  while ((at = strstr(text, PLACEHOLDER)) != NULL) {
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(name, f);
    text = at + strlen(PLACEHOLDER);
  }
  fputs(text, f);
}

/* Creates dir/rel (rel with the placeholder expanded) holding `text`;
 * never overwrites. Returns 0, or prints why and returns -1. */
static int write_file(const char *dir, const char *rel, const char *text,
                      const char *name, char *shown, size_t size) {
  char path[PATH_MAX + 64];
  char relx[NAME_MAX_LEN * 2 + 32];
  FILE *f;
  int e = 0;

  /* Only the source file's path holds the placeholder, once. */
  const char *at = strstr(rel, PLACEHOLDER);
  if (at != NULL)
    snprintf(relx, sizeof relx, "%.*s%s%s", (int)(at - rel), rel, name,
             at + strlen(PLACEHOLDER));
  else
    snprintf(relx, sizeof relx, "%s", rel);
  snprintf(path, sizeof path, "%s/%s", dir, relx);
  snprintf(shown, size, "%s", path);

  /* "x": a file that appeared since the emptiness check is kept. */
  if ((f = fopen(path, "wx")) == NULL) {
    fprintf(stderr, "mchost new: cannot create '%s': %s\n", path,
            strerror(errno));
    return -1;
  }
  expand(f, text, name);
  if (ferror(f))
    e = errno;
  if (fclose(f) != 0 && e == 0)
    e = errno;
  if (e != 0) {
    fprintf(stderr, "mchost new: cannot write '%s': %s\n", path, strerror(e));
    return -1;
  }
  return 0;
}

int scaffold_main(int argc, char **argv) {
  char dir[PATH_MAX], src[PATH_MAX + 8], failed[PATH_MAX];
  char shown[N_FILES][PATH_MAX + 64];
  const char *name;
  size_t n;
  int err;

  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    scaffold_usage(stdout);
    return EXIT_OK;
  }
  if (argc < 2)
    return usage_error("NAME is missing: mchost new NAME [DIR]");
  if (argc > 3)
    return usage_error("unexpected argument '%s': mchost new NAME [DIR]",
                       argv[3]);
  name = argv[1];
  if (name_check(name) != 0)
    return EXIT_USAGE;
  if (argc == 3 && argv[2][0] == '\0')
    return usage_error("DIR is empty: give a directory, or leave it out "
                       "for ./NAME");
  if (snprintf(dir, sizeof dir, "%s", argc == 3 ? argv[2] : name) >=
      (int)sizeof dir)
    return usage_error("DIR '%s' is too long", argc == 3 ? argv[2] : name);
  /* "demo/" and "demo" are one directory; keep printed paths single-slash. */
  for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
    dir[n - 1] = '\0';
  if (!dir_usable(dir))
    return EXIT_USAGE;

  snprintf(src, sizeof src, "%s/tests", dir);
  if ((err = make_dirs(src, failed, sizeof failed)) == 0) {
    snprintf(src, sizeof src, "%s/src", dir);
    err = make_dirs(src, failed, sizeof failed);
  }
  if (err != 0) {
    fprintf(stderr, "mchost new: cannot create directory '%s': %s\n", failed,
            strerror(-err));
    return EXIT_RUNTIME;
  }
  for (size_t i = 0; i < N_FILES; i++)
    if (write_file(dir, files[i].path, files[i].text, name, shown[i],
                   sizeof shown[i]) != 0)
      return EXIT_RUNTIME;

  printf("Created the mchost plugin project '%s' in %s:\n", name, dir);
  for (size_t i = 0; i < N_FILES; i++)
    printf("  %s\n", shown[i]);
  printf("\nNext:\n"
         "  cd %s\n"
         "  cmake -S . -B build && cmake --build build\n"
         "  mchost --plugin build/%s.so --port 3000\n",
         dir, name);
  return EXIT_OK;
}
