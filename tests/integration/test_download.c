/*
 * test_download.c - streamed responses of known length
 * (mc_response_begin_length(), sdk/mchost/response.h): the head says
 * Content-Length, not chunked, and the connection stays open for the next
 * request; a HEAD request gets the same head and no body; a write past the
 * length is refused whole; a body that ends short ends its connection, so
 * that the client sees it cut instead of waiting. A Range header
 * (mc_request_range()) gets 206 with its bytes, 416 past the end, and the
 * whole file when it asks for several ranges; curl resumes a download.
 * Client: curl.
 *
 * Fixture: tests/plugins/download.c (see its list).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define DOWNLOAD TEST_PLUGINS_DIR "/download.so"

static struct srv S;
static struct run_result R;

static void fini(void) {
  run_result_free(&R);
  srv_stop(&S);
}

TestSuite(download, .fini = fini, .timeout = 60);

static void start(void) {
  const char *args[] = {"--plugin", DOWNLOAD, "--workers", "1", NULL};
  cr_assert_eq(srv_start(&S, args, 5000), 0, "mchost did not start" SRV_LOG_FMT,
               srv_log_tail(&S));
}

static void curl(const char *const *args) { srv_curl(&S, args, &R); }

/* A megabyte through backpressure with its Content-Length, then a second
 * request on the same connection (curl reuses it: no new connect). */
Test(download, a_download_has_its_length_and_keeps_its_connection) {
  start();
  curl((const char *const[]){"-o", "/dev/null", "-w",
                             "%{http_code} %{size_download} %{num_connects}\\n",
                             ":/file?n=1000000", "-o", "/dev/null",
                             ":/file?n=10", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(R.out, "200 1000000 1\n200 10 0\n");
  cr_expect(wait_log(&S, "download: end rc 0 after 1000000", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* The head, as curl shows it: Content-Length, no chunked framing. The
 * body's bytes are the fixture's pattern. */
Test(download, the_head_says_content_length_not_chunked) {
  start();
  curl((const char *const[]){"-i", ":/file?n=30", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect(strstr(R.out, "Content-Length: 30\r\n") != NULL, "%s", R.out);
  cr_expect(strstr(R.out, "Transfer-Encoding") == NULL, "%s", R.out);
  cr_expect(strstr(R.out, "\r\n\r\nabcdefghijklmnopqrstuvwxyzabcd") != NULL,
            "%s", R.out);
}

/* HEAD: the same Content-Length, no body, and the response is complete
 * (no warning about a short body, the connection kept). */
Test(download, head_gets_the_length_and_no_body) {
  start();
  curl((const char *const[]){"-I", "-w", "%{num_connects}\\n", ":/file?n=5000",
                             ":/file?n=3", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect(strstr(R.out, "Content-Length: 5000\r\n") != NULL, "%s", R.out);
  cr_expect(strstr(R.out, "\r\n\r\n1\n") != NULL, "%s", R.out);
  cr_expect(strstr(R.out, "\r\n\r\n0\n") != NULL,
            "the connection was not kept: %s", R.out);
  cr_expect_eq(log_count(&S, "closing the connection"), 0, SRV_LOG_FMT,
               srv_log_tail(&S));
}

/* Past the length: that write is refused whole, the next one fits, and
 * the client gets exactly the announced bytes. */
Test(download, a_write_past_the_length_is_refused) {
  start();
  curl((const char *const[]){":/long", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(R.out, "abcdefghij");
  cr_expect(wait_log(&S, "download: long rc -90 0 end 0", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* Ended short: the connection ends after the 50 bytes, and curl reports a
 * transfer cut short (exit 18) at once, not a timeout (28). */
Test(download, a_body_that_ends_short_ends_its_connection) {
  start();
  curl((const char *const[]){"-o", "/dev/null", ":/short", NULL});
  cr_expect_eq(R.exit_code, 18, "curl exit %d: %s", R.exit_code, R.err);
  cr_expect(wait_log(&S, "download: short end rc -90", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
  cr_expect(wait_log(&S, "ended after 50 of its 100 bytes", 5000), SRV_LOG_FMT,
            srv_log_tail(&S));
}

/* curl -r: the bytes asked for, with 206 and Content-Range. */
Test(download, a_range_gets_206_and_its_bytes) {
  start();
  curl((const char *const[]){"-i", "-r", "10-19", ":/file?n=1000", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect(strncmp(R.out, "HTTP/1.1 206 ", 13) == 0, "%s", R.out);
  cr_expect(strstr(R.out, "Content-Range: bytes 10-19/1000\r\n") != NULL, "%s",
            R.out);
  cr_expect(strstr(R.out, "Content-Length: 10\r\n") != NULL, "%s", R.out);
  cr_expect(strstr(R.out, "\r\n\r\nklmnopqrst") != NULL, "%s", R.out);
}

/* Past the end: 416 and the size. Several ranges: the whole file, 200. */
Test(download, past_the_end_is_416_and_several_ranges_get_it_all) {
  start();
  curl((const char *const[]){"-o", "/dev/null", "-D", "-", "-r", "2000-",
                             ":/file?n=1000", NULL});
  cr_expect(strncmp(R.out, "HTTP/1.1 416 ", 13) == 0, "%s", R.out);
  cr_expect(strstr(R.out, "Content-Range: bytes */1000\r\n") != NULL, "%s",
            R.out);
  run_result_free(&R);
  curl((const char *const[]){"-o", "/dev/null", "-w",
                             "%{http_code} %{size_download}", "-r", "0-1,5-6",
                             ":/file?n=1000", NULL});
  cr_expect_str_eq(R.out, "200 1000");
}

/* A download cut short is resumed: curl -C asks for the rest (Range:
 * bytes=990-), and the file is whole. */
Test(download, curl_resumes_a_download) {
  char path[] = "/tmp/mchost-download-XXXXXX", *got;
  int fd;
  start();
  cr_assert_geq(fd = mkstemp(path), 0);
  cr_assert_eq(write(fd, "abcdefghij", 10), 10);
  close(fd);
  curl((const char *const[]){"-C", "10", "-o", path, "-w", "%{http_code}",
                             ":/file?n=30", NULL});
  cr_expect_eq(R.exit_code, 0, "%s", R.err);
  cr_expect_str_eq(R.out, "206");
  got = read_file(path, NULL);
  unlink(path);
  cr_assert_not_null(got);
  cr_expect_str_eq(got, "abcdefghijklmnopqrstuvwxyzabcd");
  free(got);
}
