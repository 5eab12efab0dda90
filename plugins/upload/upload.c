/*
 * upload - a body streamed through a plugin, never held whole.
 *
 *   POST /upload   200 "<bytes> <sha256 hex>\n", for a body of up to 1 GiB
 *                  (413 above; 405 for another method)
 *   anything else  200, a line saying what to do
 *
 *   curl -T big.iso http://127.0.0.1:3000/upload
 *
 * MC_PLUGIN_READS_BODY() makes mchost call mc_run() as soon as the head is
 * in, before the body; mc_request_read_body() then sets this request's
 * limit and hands the body over piece by piece. Memory stays at one hash
 * state per upload, whatever the size.
 */
#include <mchost.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

MC_PLUGIN();
MC_PLUGIN_READS_BODY();

#define UPLOAD_MAX (1ull << 30)

static void on_data(mc_request *req, mc_response *res, const void *data,
                    size_t len, void *arg) {
  (void)req;
  (void)res;
  sha256_update(arg, data, len);
}

static void on_end(mc_request *req, mc_response *res, int error, void *arg) {
  struct sha256 *hash = arg;
  uint8_t digest[32];
  char out[128];
  int n;
  (void)req;

  /* Cut short (too large, too slow, gone): mchost answers 413, 408... */
  if (error == 0) {
    unsigned long long bytes = hash->len;
    sha256_final(hash, digest);
    n = snprintf(out, sizeof out, "%llu ", bytes);
    for (int i = 0; i < 32; i++)
      n += snprintf(out + n, sizeof out - (size_t)n, "%02x", digest[i]);
    out[n++] = '\n';
    mc_response_header(res, "Content-Type", "text/plain");
    mc_response_send(res, 200, out, (size_t)n);
  }
  free(hash);
}

void mc_run(mc_request *req, mc_response *res) {
  struct sha256 *hash;

  if (strcmp(mc_request_path(req), "/upload") != 0) {
    static const char help[] = "POST a body to /upload\n";
    mc_response_send(res, 200, help, sizeof help - 1);
    return;
  }
  if (strcmp(mc_request_method(req), "POST") != 0 &&
      strcmp(mc_request_method(req), "PUT") != 0) {
    mc_response_header(res, "Allow", "POST, PUT");
    mc_response_send(res, 405, "POST or PUT a body\n", 19);
    return;
  }
  if ((hash = malloc(sizeof *hash)) == NULL) {
    mc_response_send(res, 503, "out of memory\n", 14);
    return;
  }
  sha256_init(hash);
  if (mc_request_read_body(req, UPLOAD_MAX, on_data, on_end, hash) != 0) {
    free(hash);
    mc_response_send(res, 500, "cannot read the body\n", 21);
  }
}
