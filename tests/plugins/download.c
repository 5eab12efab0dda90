/* Fixture for streamed responses of known length
 * (mc_response_begin_length()):
 *   GET /file?n=N   N bytes, "abc...z" repeated, written in 16 KiB pieces
 *                   with backpressure (until -EAGAIN, then on_drain); logs
 *                   "download: end rc R after B" (B: the position after
 *                   the last byte written). A Range header is honoured
 *                   (mc_request_range()): 206 with Content-Range, 416, or
 *                   200 and the whole file when it is to be ignored.
 *   GET /short      announces 100 bytes, writes 50 and ends; logs
 *                   "download: short end rc R"
 *   GET /long       announces 10 bytes, writes 20 (refused), then 10;
 *                   logs "download: long rc R1 R2 end R3"
 *   anything else   200 "ok\n" (the harness's readiness probe) */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

MC_PLUGIN();

#define PIECE 16384

struct file {
  uint64_t n, sent;
};

static struct file files[64];

static void file_go(mc_response *res, void *data) {
  struct file *f = data;
  char piece[PIECE];
  int rc = 0;

  while (f->sent < f->n) {
    size_t len = f->n - f->sent < PIECE ? (size_t)(f->n - f->sent) : PIECE;
    for (size_t i = 0; i < len; i++)
      piece[i] = (char)('a' + (f->sent + i) % 26);
    if ((rc = mc_response_write(res, piece, len)) == -EAGAIN &&
        (rc = mc_response_on_drain(res, file_go, f)) == 0)
      return;
    if (rc == -EALREADY)
      continue; /* drained meanwhile: write it again */
    if (rc != 0)
      break;
    f->sent += len;
  }
  rc = mc_response_end(res);
  mc_log(MC_LOG_INFO, "download: end rc %d after %llu", rc,
         (unsigned long long)f->sent);
  f->n = 0;
}

static void file(mc_request *req, mc_response *res) {
  int64_t n = 0;
  struct file *f = NULL;
  uint64_t first, last;
  char cr[80];
  int rc, status = 200;

  for (size_t i = 0; i < sizeof files / sizeof files[0] && f == NULL; i++)
    if (files[i].n == 0)
      f = &files[i];
  if (f == NULL || mc_request_query_int(req, "n", &n) != 0 || n <= 0) {
    mc_response_send(res, 400, "n?\n", 3);
    return;
  }
  rc = mc_request_range(req, (uint64_t)n, &first, &last);
  if (rc == -ERANGE) {
    snprintf(cr, sizeof cr, "bytes */%lld", (long long)n);
    mc_response_header(res, "Content-Range", cr);
    mc_response_send(res, 416, NULL, 0);
    return;
  }
  if (rc != 0) { /* none, or to be ignored: the whole file */
    first = 0;
    last = (uint64_t)n - 1;
  } else {
    snprintf(cr, sizeof cr, "bytes %llu-%llu/%lld", (unsigned long long)first,
             (unsigned long long)last, (long long)n);
    mc_response_header(res, "Content-Range", cr);
    status = 206;
  }
  f->sent = first;
  f->n = last + 1;
  mc_response_header(res, "Content-Type", "application/octet-stream");
  mc_response_header(res, "Accept-Ranges", "bytes");
  mc_response_begin_length(res, status, last - first + 1);
  if (strcmp(mc_request_method(req), "HEAD") == 0) {
    mc_response_end(res);
    f->n = 0;
    return;
  }
  file_go(res, f);
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  static const char fifty[50] = "0123456789012345678901234567890123456789"
                                "012345678";
  int r1, r2, r3;

  if (strcmp(path, "/file") == 0) {
    file(req, res);
  } else if (strcmp(path, "/short") == 0) {
    mc_response_begin_length(res, 200, 100);
    mc_response_write(res, fifty, 50);
    mc_log(MC_LOG_INFO, "download: short end rc %d", mc_response_end(res));
  } else if (strcmp(path, "/long") == 0) {
    mc_response_begin_length(res, 200, 10);
    r1 = mc_response_write(res, "abcdefghijklmnopqrst", 20);
    r2 = mc_response_write(res, "abcdefghij", 10);
    r3 = mc_response_end(res);
    mc_log(MC_LOG_INFO, "download: long rc %d %d end %d", r1, r2, r3);
  } else {
    mc_response_send(res, 200, "ok\n", 3);
  }
}
