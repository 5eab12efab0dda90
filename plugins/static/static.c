/*
 * static.c - serves a directory's files, as nginx's `root` does: the plugin
 * to copy for a site's assets, or to start from for downloads behind a
 * login.
 *
 *   mchost --plugin build/plugins/static.so --set root=public
 *   curl -O localhost:3000/app.js
 *
 * Settings (mc_config(): --set KEY=VALUE or the [plugin] section of the
 * --config file): root, the directory (default "."); index, the file a
 * directory's URL serves (default index.html).
 *
 * - GET and HEAD; anything else gets 405 with Allow.
 * - The path is percent-decoded, then opened below the root with
 *   openat2(RESOLVE_BENEATH): neither "..", nor an absolute symbolic link,
 *   nor one that climbs out, leads outside it (such a path gets 404, as a
 *   missing file does). A segment that begins with '.' (".git", ".env")
 *   gets 404 too.
 * - A directory's URL without its final '/' gets 301 to the URL with it,
 *   so that the index's relative links work; with it, the index file.
 * - Content-Type from the extension (a short table: add yours); the rest
 *   (ETag, Last-Modified, 304, ranges, sendfile) is mc_response_file()'s.
 *
 * open() runs on the worker's loop: quick on a local disk. Files on
 * network storage, which can take seconds to open, belong in mc_work().
 */
#define _GNU_SOURCE
#include <mchost.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

MC_PLUGIN();

#define PATH_MAX_LEN 1024

static int root = -1; /* the root directory, O_PATH */
static const char *index_name = "index.html";

static const struct {
  const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

/* The type for a file name, by its extension; NULL: mchost's default,
 * application/octet-stream. */
static const char *type_of(const char *name) {
  const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
  if (dot == NULL || (slash != NULL && dot < slash))
    return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcasecmp(dot + 1, types[i].ext) == 0)
      return types[i].type;
  return NULL;
}

/* Opens `rel` (relative, decoded) below the root: -errno when it does not
 * exist there, or leads out of it (EXDEV, ELOOP). */
static int open_below_root(const char *rel) {
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  long fd =
      syscall(SYS_openat2, root, rel[0] != '\0' ? rel : ".", &how, sizeof how);
  return fd < 0 ? -errno : (int)fd;
}

/* 1 when a segment of the path is hidden: it begins with '.' (which also
 * covers "." and ".."). */
static int hidden(const char *path) {
  for (const char *p = path; p != NULL; p = strchr(p, '/')) {
    p += *p == '/';
    if (*p == '.')
      return 1;
  }
  return 0;
}

static void text(mc_response *res, int status, const char *body) {
  mc_response_header(res, "Content-Type", "text/plain; charset=utf-8");
  mc_response_send(res, status, body, strlen(body));
}

/* A directory's URL without its '/': where it should point. */
static void redirect_to_dir(mc_request *req, mc_response *res) {
  char location[PATH_MAX_LEN + 2];
  const char *query = mc_request_query(req);
  snprintf(location, sizeof location, "%s/%s%s", mc_request_path(req),
           query[0] != '\0' ? "?" : "", query);
  mc_response_header(res, "Location", location);
  text(res, 301, "moved: the directory's URL ends with /\n");
}

void mc_run(mc_request *req, mc_response *res) {
  const char *method = mc_request_method(req), *path = mc_request_path(req);
  char rel[PATH_MAX_LEN + 1 + 64];
  size_t len;
  struct stat st;
  int fd, rc, dir = 0;

  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    mc_response_header(res, "Allow", "GET, HEAD");
    text(res, 405, "method not allowed\n");
    return;
  }
  if (strlen(path) > PATH_MAX_LEN ||
      mc_url_decode(rel, path, strlen(path), 0, &len) != 0 || rel[0] != '/' ||
      hidden(rel)) {
    text(res, 404, "not found\n");
    return;
  }
  memmove(rel, rel + 1, len); /* below the root: relative, NUL included */
  if (len == 1 || rel[len - 2] == '/') {
    snprintf(rel + len - 1, sizeof rel - (len - 1), "%s", index_name);
    dir = 1;
  }
  if ((fd = open_below_root(rel)) < 0) {
    text(res, fd == -EACCES ? 403 : 404,
         fd == -EACCES ? "forbidden\n" : "not found\n");
    return;
  }
  /* mc_response_file() checks with its own fstat() that this is a
   * regular file: only when it is not (-EINVAL) is it worth a look. */
  if ((rc = mc_response_file(res, fd, type_of(rel))) == 0 || rc == -EPIPE)
    return;
  if (rc == -EINVAL && !dir && (fd = open_below_root(rel)) >= 0) {
    int is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    if (is_dir) {
      redirect_to_dir(req, res);
      return;
    }
  }
  if (rc == -EINVAL)
    text(res, 404, "not found\n"); /* a device, a FIFO, an index dir */
  else
    text(res, 500, "cannot send the file\n");
}

int mc_init(const mc_worker *w) {
  const char *dir = mc_config("root") != NULL ? mc_config("root") : ".";
  (void)w;
  if (mc_config("index") != NULL)
    index_name = mc_config("index");
  if (index_name[0] == '\0' || strchr(index_name, '/') != NULL) {
    mc_log(MC_LOG_ERROR, "static: index '%s': want a file name", index_name);
    return 1;
  }
  if ((root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    mc_log(MC_LOG_ERROR, "static: root '%s': %s", dir, strerror(errno));
    return 1;
  }
  return 0;
}

void mc_shutdown(void) {
  if (root >= 0)
    close(root);
}
