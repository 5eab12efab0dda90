/* Fixture for file responses (mc_response_file()), serving the directory
 * named by the environment variable FILES_DIR:
 *   /f/NAME          the file NAME (404 when it cannot be opened); logs
 *                    "files: NAME rc R", and answers 500 itself when R
 *                    is an error
 *   /f/NAME?type=T   with Content-Type T
 *   /f/NAME?own=1    the plugin sets Content-Type text/x-own first
 *   /twice/NAME      the file, then mc_response_send(): logs
 *                    "files: second rc R"
 *   /dir             FILES_DIR itself, a directory: logs "files: dir rc R"
 *                    and answers 500 itself
 *   anything else    200 "ok\n" (the harness's readiness probe) */
#include <mchost.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

MC_PLUGIN();

static int open_in_dir(const char *name) {
  const char *dir = getenv("FILES_DIR");
  char path[PATH_MAX];
  if (dir == NULL || strchr(name, '/') != NULL ||
      snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
    return -1;
  return open(path, O_RDONLY | O_CLOEXEC);
}

static void file(mc_request *req, mc_response *res, const char *name,
                 int twice) {
  const char *type = mc_request_query_get(req, "type");
  int fd = open_in_dir(name), rc;

  if (fd < 0) {
    mc_response_send(res, 404, "no such file\n", 13);
    return;
  }
  if (mc_request_query_get(req, "own") != NULL)
    mc_response_header(res, "Content-Type", "text/x-own");
  rc = mc_response_file(res, fd, type);
  mc_log(MC_LOG_INFO, "files: %s rc %d", name, rc);
  if (rc != 0)
    mc_response_send(res, 500, "refused\n", 8);
  else if (twice)
    mc_log(MC_LOG_INFO, "files: second rc %d",
           mc_response_send(res, 200, "again\n", 6));
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  int fd, rc;

  if (strncmp(path, "/f/", 3) == 0) {
    file(req, res, path + 3, 0);
  } else if (strncmp(path, "/twice/", 7) == 0) {
    file(req, res, path + 7, 1);
  } else if (strcmp(path, "/dir") == 0) {
    fd = open(getenv("FILES_DIR"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = mc_response_file(res, fd, NULL);
    mc_log(MC_LOG_INFO, "files: dir rc %d", rc);
    mc_response_send(res, 500, "not a file\n", 11);
  } else {
    mc_response_send(res, 200, "ok\n", 3);
  }
}
