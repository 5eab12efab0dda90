/*
 * test_static.c - plugins/static, a directory served as nginx's `root`
 * serves it: files with their type by extension, the index of a directory,
 * 301 to a directory's URL with its '/', 405 for other methods; and
 * nothing outside the root or hidden: "..", its percent-encoded form, a
 * symbolic link that leads out, a dot segment all get 404, while a link
 * that stays inside is followed. A browser-like client (Node's fetch) gets
 * 304 for a file it has. Clients: curl, node.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define STATIC PLUGINS_DIR "/static.so"

static struct srv S;
static struct run_result R;
static char root[] = "/tmp/mchost-static-XXXXXX";
static char outside[] = "/tmp/mchost-outside-XXXXXX";

static void fini(void) {
  run_result_free(&R);
  srv_stop(&S);
  rm_tree(root);
  rm_tree(outside);
}

TestSuite(static, .fini = fini, .timeout = 60);

static void put(const char *name, const char *text) {
  char path[160];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", root, name);
  cr_assert_not_null(f = fopen(path, "w"), "%s", path);
  fputs(text, f);
  fclose(f);
}

static void start(void) {
  char set[96], path[160], secret[160];
  const char *args[] = {"--plugin", STATIC, "--workers", "1",
                        "--set",    set,    NULL};
  FILE *f;

  cr_assert_not_null(mkdtemp(root));
  cr_assert_not_null(mkdtemp(outside));
  snprintf(path, sizeof path, "%s/sub", root);
  cr_assert_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/.git", root);
  cr_assert_eq(mkdir(path, 0755), 0);
  put("index.html", "<h1>home</h1>\n");
  put("sub/app.js", "console.log(1)\n");
  put("sub/index.html", "<h1>sub</h1>\n");
  put("data.bin", "\x01\x02\x03");
  put(".git/config", "[core]\n");
  snprintf(secret, sizeof secret, "%s/secret.txt", outside);
  cr_assert_not_null(f = fopen(secret, "w"));
  fputs("secret\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/out.txt", root);
  cr_assert_eq(symlink(secret, path), 0);
  snprintf(path, sizeof path, "%s/in.js", root);
  cr_assert_eq(symlink("sub/app.js", path), 0);
  snprintf(set, sizeof set, "root=%s", root);
  cr_assert_eq(srv_start(&S, args, 5000), 0, "mchost did not start" SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* curl's "CODE TYPE LOCATION" for `path`, sent as it is (--path-as-is). */
static const char *get(const char *path) {
  char url[256];
  snprintf(url, sizeof url, ":%s", path);
  srv_curl(&S,
           (const char *const[]){"--path-as-is", "-o", "/dev/null", "-w",
                                 "%{http_code} %{content_type} "
                                 "%{redirect_url}",
                                 url, NULL},
           &R);
  cr_assert_eq(R.exit_code, 0, "%s", R.err);
  return R.out;
}

/* The status alone. */
static int status(const char *path) { return atoi(get(path)); }

Test(static, files_indexes_and_directories) {
  char want[128];
  start();
  cr_expect_str_eq(get("/"), "200 text/html; charset=utf-8 ");
  cr_expect_str_eq(get("/sub/app.js"), "200 text/javascript; charset=utf-8 ");
  cr_expect_str_eq(get("/data.bin"), "200 application/octet-stream ");
  cr_expect_str_eq(get("/sub/"), "200 text/html; charset=utf-8 ");
  snprintf(want, sizeof want,
           "301 text/plain; charset=utf-8 "
           "http://127.0.0.1:%d/sub/",
           S.port);
  cr_expect_str_eq(get("/sub"), want);
  cr_expect_eq(status("/sub/%61pp.js"), 200, "a percent-encoded name");
  cr_expect_eq(status("/in.js"), 200, "a link that stays inside");
  cr_expect_eq(status("/nothing.txt"), 404);
  srv_curl(&S,
           (const char *const[]){"-o", "/dev/null", "-w", "%{http_code}", "-X",
                                 "POST", ":/index.html", NULL},
           &R);
  cr_expect_str_eq(R.out, "405");
}

Test(static, nothing_outside_the_root_nor_hidden) {
  start();
  cr_expect_eq(status("/../mchost-outside/secret.txt"), 404);
  cr_expect_eq(status("/%2e%2e/%2e%2e/etc/passwd"), 404);
  cr_expect_eq(status("/sub/..%2f..%2fetc/passwd"), 404);
  cr_expect_eq(status("/out.txt"), 404, "a link that leads out");
  cr_expect_eq(status("/.git/config"), 404);
  cr_expect_eq(status("/%2egit/config"), 404);
  cr_expect_eq(status("/a%00.html"), 404);
}

/* Node's fetch, as a browser revalidates: the ETag it got brings 304. */
Test(static, a_browser_revalidates_with_its_etag) {
  char script[1024];
  start();
  snprintf(script, sizeof script,
           "const u = 'http://127.0.0.1:%d/sub/app.js';"
           "(async () => {"
           "  const a = await fetch(u);"
           "  const body = await a.text();"
           "  const b = await fetch(u, {headers: {'If-None-Match': "
           "a.headers.get('etag')}});"
           "  console.log(a.status, JSON.stringify(body), b.status,"
           "              a.headers.get('content-type'));"
           "})().catch(e => { console.error(e); process.exit(1); });",
           S.port);
  cr_assert_eq(run_tool_sync((const char *const[]){"node", "-e", script, NULL},
                             &R, 30000),
               0);
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(R.out, "200 \"console.log(1)\\n\" 304 text/javascript; "
                          "charset=utf-8\n");
}
