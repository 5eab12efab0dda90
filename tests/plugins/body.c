/* Fixture for request bodies a plugin reads itself (MC_PLUGIN_READS_BODY()).
 * Every body that reaches it is answered "<length> <FNV-1a 64, hex>\n":
 *   POST /stream?max=N   read piece by piece (limit N bytes, 0: --max-body)
 *   POST /buffer?max=N   buffered with its own limit, then answered
 *   POST /pause?ms=N     paused at each piece, resumed N ms later
 *                        (mc_response_later), as a plugin that defers work
 *   POST /hold?ms=N      paused at the first piece only, for N ms
 *   POST /defer?ms=N     accepted N ms after mc_run() returned, from a
 *                        later callback (an authorisation that waits)
 *   POST /echo           streams the body back while it arrives
 *   POST /refuse         401 at once: the body is never taken
 *   POST /crash-data     faults in its data callback
 *   POST /crash-end      faults in its end callback
 *   anything else        200 "ok\n" (the harness's readiness probe)
 * Each answer carries X-Pieces: how many pieces the body came in. */
#include <mchost.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();
MC_PLUGIN_READS_BODY();

struct upload {
  uint64_t len, hash;
  unsigned pieces;
  unsigned ms;
  int hold_once;
};

static unsigned long long query_num(mc_request *req, const char *key) {
  const char *p = strstr(mc_request_query(req), key);
  return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void count(struct upload *u, const void *data, size_t len) {
  const unsigned char *b = data;
  for (size_t i = 0; i < len; i++)
    u->hash = (u->hash ^ b[i]) * 1099511628211ULL;
  u->len += len;
  u->pieces++;
}

static void answer(mc_response *res, struct upload *u) {
  char out[64], pieces[16];
  int n = snprintf(out, sizeof out, "%llu %016llx\n",
                   (unsigned long long)u->len, (unsigned long long)u->hash);
  snprintf(pieces, sizeof pieces, "%u", u->pieces);
  mc_response_header(res, "X-Pieces", pieces);
  mc_response_send(res, 200, out, (size_t)n);
}

static void on_data(mc_request *req, mc_response *res, const void *data,
                    size_t len, void *arg) {
  (void)req;
  (void)res;
  count(arg, data, len);
}

static void on_end(mc_request *req, mc_response *res, int error, void *arg) {
  (void)req;
  if (error == 0)
    answer(res, arg);
  else
    mc_log(MC_LOG_INFO, "body: cut short (%d)", error);
  free(arg);
}

static void resume(mc_response *res, void *data) {
  (void)data;
  mc_request_resume(mc_response_request(res));
}

static void on_data_pause(mc_request *req, mc_response *res, const void *data,
                          size_t len, void *arg) {
  struct upload *u = arg;
  count(u, data, len);
  if (u->hold_once > 1)
    return;
  u->hold_once += u->hold_once;
  mc_request_pause(req);
  mc_response_later(res, u->ms, resume, NULL);
}

static void on_buffered(mc_request *req, mc_response *res, int error,
                        void *arg) {
  struct upload *u = arg;
  size_t len;
  const void *body = mc_request_body(req, &len);
  if (error == 0)
    count(u, body, len);
  on_end(req, res, error, arg);
}

static void on_data_echo(mc_request *req, mc_response *res, const void *data,
                         size_t len, void *arg) {
  (void)req;
  (void)arg;
  mc_response_write(res, data, len);
}

static void on_end_echo(mc_request *req, mc_response *res, int error,
                        void *arg) {
  (void)req;
  (void)error;
  (void)arg;
  mc_response_end(res);
}

static void on_data_crash(mc_request *req, mc_response *res, const void *data,
                          size_t len, void *arg) {
  (void)req;
  (void)res;
  (void)data;
  (void)len;
  (void)arg;
  raise(SIGSEGV);
}

static void on_end_crash(mc_request *req, mc_response *res, int error,
                         void *arg) {
  (void)req;
  (void)res;
  (void)error;
  (void)arg;
  raise(SIGSEGV);
}

static void accept_later(mc_response *res, void *data) {
  mc_request *req = mc_response_request(res);
  if (mc_request_read_body(req, 0, on_data, on_end, data) != 0)
    mc_response_send(res, 500, "read_body failed\n", 17);
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  uint64_t max = query_num(req, "max=");
  struct upload *u;
  int rc = 0;

  if (strcmp(mc_request_method(req), "POST") != 0 &&
      strcmp(mc_request_method(req), "PUT") != 0) {
    mc_response_send(res, 200, "ok\n", 3);
    return;
  }
  if (strcmp(path, "/refuse") == 0) {
    mc_response_send(res, 401, "no\n", 3);
    return;
  }
  if (strcmp(path, "/echo") == 0) {
    mc_response_begin(res, 200);
    rc = mc_request_read_body(req, max, on_data_echo, on_end_echo, NULL);
  } else if (strcmp(path, "/crash-data") == 0) {
    rc = mc_request_read_body(req, max, on_data_crash, on_end, NULL);
  } else {
    if ((u = calloc(1, sizeof *u)) == NULL) {
      mc_response_send(res, 503, "oom\n", 4);
      return;
    }
    u->hash = 14695981039346656037ULL;
    u->ms = (unsigned)query_num(req, "ms=");
    if (strcmp(path, "/crash-end") == 0) {
      rc = mc_request_read_body(req, max, on_data, on_end_crash, u);
    } else if (strcmp(path, "/buffer") == 0) {
      rc = mc_request_buffer_body(req, max, on_buffered, u);
    } else if (strcmp(path, "/pause") == 0 || strcmp(path, "/hold") == 0) {
      u->hold_once = strcmp(path, "/hold") == 0;
      rc = mc_request_read_body(req, max, on_data_pause, on_end, u);
    } else if (strcmp(path, "/defer") == 0) {
      rc = mc_response_later(res, u->ms, accept_later, u);
    } else {
      rc = mc_request_read_body(req, max, on_data, on_end, u);
    }
  }
  if (rc != 0)
    mc_response_send(res, 500, "read_body failed\n", 17);
}
