/*
 * test_multipart.c - multipart/form-data parts of a buffered body (the
 * SDK, multipart.c) and the incremental parser under them (multipart.h):
 * what browsers and curl send, the strict framing (truncation, the
 * boundary inside a part, bare LF, folding), the boundary's rules, the
 * limits, and the same body fed whole or a byte at a time.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "multipart.h"
#include "request_fake.h"

static mc_request req;

static void fini(void) { request_free(&req); }

#define CT "multipart/form-data; boundary=XyZ"

/* The parts of `body` sent with Content-Type `type`: count or error. */
static int parse(const char *type, const char *body, size_t len) {
  static const char *f[] = {"Content-Type", NULL, NULL};
  f[1] = type;
  fake_request(&req, "", f, body, len);
  return mc_request_part_count(&req);
}

static int parse_str(const char *type, const char *body) {
  return parse(type, body, strlen(body));
}

static const char form[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello\r\nworld\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line 1 --XyZ is not at a line start\r\n-XyZ nor --XyZ\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=empty\r\n"
    "\r\n"
    "\r\n"
    "--XyZ--\r\n";

Test(multipart, parts_point_into_the_body, .fini = fini) {
  const mc_part *p;

  cr_assert_eq(parse(CT, form, sizeof form - 1), 3);
  cr_assert_eq(mc_request_part_at(&req, 0, &p), 0);
  cr_expect_str_eq(p->name, "title");
  cr_expect_null(p->filename);
  cr_expect_null(p->content_type);
  cr_expect_eq(p->len, 12);
  cr_expect_eq(memcmp(p->data, "Hello\r\nworld", 12), 0);
  cr_expect_eq((const char *)p->data, strstr(form, "Hello"), "not copied");
  cr_assert_eq(mc_request_part_at(&req, 1, &p), 0);
  cr_expect_str_eq(p->filename, "a b.txt");
  cr_expect_str_eq(p->content_type, "text/plain");
  cr_expect_eq(p->len,
               strlen("line 1 --XyZ is not at a line start\r\n-XyZ nor --XyZ"));
  p = mc_request_part(&req, "empty");
  cr_assert_not_null(p);
  cr_expect_eq(p->len, 0);
  cr_expect_not_null(p->data);
  cr_expect_eq(mc_request_part_at(&req, 3, &p), -ERANGE);
  cr_expect_null(mc_request_part(&req, "nothing"));
}

Test(multipart, preamble_padding_epilogue_and_quotes, .fini = fini) {
  const char body[] = "preamble\r\n--b c'(\t \r\n"
                      "Content-Disposition: form-data; name=\"q\\\"x\"\r\n"
                      "\r\n"
                      "v\r\n--b c'(--  \r\nepilogue\r\n--b c'(\r\nanything";
  const mc_part *p;

  cr_assert_eq(parse_str("Multipart/Form-Data ; boundary=\"b c'(\"", body), 1);
  cr_assert_eq(mc_request_part_at(&req, 0, &p), 0);
  cr_expect_str_eq(p->name, "q\"x");
  cr_expect_eq(p->len, 1);
  cr_expect_eq(parse_str(CT, "--XyZ--"), 0, "no part at all");
}

Test(multipart, not_multipart_or_bad_boundary, .fini = fini) {
  char longer[128];

  cr_expect_eq(parse_str("application/json", form), -ENOTSUP);
  cr_expect_eq(parse_str("multipart/mixed; boundary=XyZ", form), -ENOTSUP);
  cr_expect_eq(parse_str("multipart/form-data", form), -EINVAL);
  cr_expect_eq(parse_str("multipart/form-data; charset=utf-8", form), -EINVAL);
  cr_expect_eq(parse_str("multipart/form-data; boundary=", form), -EINVAL);
  cr_expect_eq(parse_str("multipart/form-data; boundary=\"a \"", form), -EINVAL,
               "ends with a space");
  cr_expect_eq(parse_str("multipart/form-data; boundary=\"a[b\"", form),
               -EINVAL);
  cr_expect_eq(parse_str("multipart/form-data; boundary=\"XyZ", form), -EINVAL,
               "unterminated quote");
  snprintf(longer, sizeof longer, "multipart/form-data; boundary=%071d", 0);
  cr_expect_eq(parse_str(longer, form), -EINVAL, "71 characters");
  longer[strlen(longer) - 1] = '\0';
  cr_expect_eq(parse_str(longer, form), -EBADMSG, "70 are fine");
}

Test(multipart, truncated_bodies_are_refused, .fini = fini) {
  /* Every cut of a well-formed body short of its close delimiter. */
  size_t whole = strstr(form, "--XyZ--") - form + 7;

  for (size_t len = 0; len < whole; len++)
    cr_expect_eq(parse(CT, form, len), -EBADMSG, "cut at %zu", len);
  cr_expect_eq(parse(CT, form, whole), 3);
  cr_expect_eq(parse_str(CT, "no delimiter at all"), -EBADMSG);
  cr_expect_null(mc_request_part(&req, "title"));
}

Test(multipart, framing_errors, .fini = fini) {
  const char *bad[] = {
      /* the boundary as a line's prefix inside a part */
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZx\r\n",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ-x",
      "--XyZx\r\n",
      /* bare LF, folding, a header without a colon or name */
      "--XyZ\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=a\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition form-data; name=a\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n: "
      "x\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX: \x01\r\n\r\n"
      "\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX: \x7f\r\n\r\n"
      "\r\n--XyZ--",
      /* what RFC 7578 asks of each part */
      "--XyZ\r\n\r\nno header\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\n\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
      "Content-Disposition: form-data; name=b\r\n\r\n\r\n--XyZ--",
  };
  const char nul[] = "--XyZ\r\nContent-Disposition: form-data; name=a\0b\r\n"
                     "\r\n\r\n--XyZ--";

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_expect_eq(parse_str(CT, bad[i]), -EBADMSG, "case %zu", i);
  cr_expect_eq(parse(CT, nul, sizeof nul - 1), -EBADMSG, "NUL in a header");
}

static char *many_parts(int n) {
  char *s = malloc((size_t)n * 64 + 16), *p = s;
  for (int i = 0; i < n; i++)
    p += sprintf(p,
                 "--XyZ\r\nContent-Disposition: form-data; name=p%d\r\n\r\n"
                 "%d\r\n",
                 i, i);
  strcpy(p, "--XyZ--");
  return s;
}

Test(multipart, limits, .fini = fini) {
  char *most = many_parts(MC_PARTS_MAX), *over = many_parts(MC_PARTS_MAX + 1);
  char *big = malloc(MULTIPART_HEADER_MAX + 128);

  cr_expect_eq(parse_str(CT, most), MC_PARTS_MAX);
  cr_expect_eq(parse_str(CT, over), -E2BIG);
  snprintf(big, MULTIPART_HEADER_MAX + 128,
           "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX: %0*d\r\n\r\n"
           "\r\n--XyZ--",
           MULTIPART_HEADER_MAX - 47, 0);
  cr_expect_eq(parse_str(CT, big), 1, "a header of the limit");
  snprintf(big, MULTIPART_HEADER_MAX + 128,
           "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX: %0*d\r\n\r\n"
           "\r\n--XyZ--",
           MULTIPART_HEADER_MAX - 46, 0);
  cr_expect_eq(parse_str(CT, big), -E2BIG, "one byte more");
  free(most);
  free(over);
  free(big);
}

/* ---- the incremental parser, fed in pieces ---- */

struct events {
  char text[4096]; /* every event, written out */
  size_t len;
};

static void record(struct events *e, const char *s, size_t n) {
  cr_assert_lt(e->len + n, sizeof e->text);
  memcpy(e->text + e->len, s, n);
  e->len += n;
  e->text[e->len] = '\0';
}

static void record_str(struct events *e, const char *s) {
  record(e, s, strlen(s));
}

static int ev_part(void *d) { return record_str(d, "[part]"), 0; }
static int ev_header(void *d, const char *n, const char *v) {
  record_str(d, "[");
  record_str(d, n);
  record_str(d, "=");
  record_str(d, v);
  return record_str(d, "]"), 0;
}
static int ev_header_end(void *d) { return record_str(d, "[body]"), 0; }
static int ev_data(void *d, const char *p, size_t n) {
  cr_expect_gt(n, 0);
  return record(d, p, n), 0;
}
static int ev_part_end(void *d) { return record_str(d, "[end]"), 0; }

static const struct multipart_callbacks recorder = {
    ev_part, ev_header, ev_header_end, ev_data, ev_part_end};

/* The events of `body` fed in pieces of `step` bytes, and the result. */
static int feed(const char *body, size_t len, size_t step, struct events *e) {
  struct multipart *m = malloc(sizeof *m);
  int rc = 0;

  e->len = 0;
  e->text[0] = '\0';
  cr_assert_eq(multipart_init(m, "XyZ", 3, &recorder, e), 0);
  for (size_t at = 0; at < len && rc == 0; at += step)
    rc = multipart_feed(m, body + at, len - at < step ? len - at : step);
  if (rc == 0)
    rc = multipart_finish(m);
  free(m);
  return rc;
}

Test(multipart, pieces_of_any_size_give_the_same_events) {
  /* Content with near-delimiters that a cut can split: "\r\n--XyZ" must be
   * followed by padding, CRLF or "--" to be one. */
  const char body[] = "pre\r\n--X\r\n--XyZ\r\nA: 1\r\n\r\n"
                      "\r\r\n\r\n-\r\n--Xy\r\n--XyZ\r\n\r\n\r\n--XyZ  \r\n"
                      "B:2\r\n\r\nend\r\n--XyZ--\r\n";
  struct events whole, piece;

  cr_assert_eq(feed(body, sizeof body - 1, sizeof body, &whole), 0);
  cr_expect_str_eq(whole.text, "[part][A=1][body]\r\r\n\r\n-\r\n--Xy[end]"
                               "[part][body][end][part][B=2][body]end[end]");
  for (size_t step = 1; step < sizeof body; step++) {
    cr_assert_eq(feed(body, sizeof body - 1, step, &piece), 0, "step %zu",
                 step);
    cr_expect_str_eq(piece.text, whole.text, "step %zu", step);
  }
  cr_expect_eq(feed(body, sizeof body - 3, 1, &piece), 0, "epilogue optional");
  cr_expect_eq(feed(body, sizeof body - 5, 1, &piece), -EBADMSG, "truncated");
}

static int stop_at_header(void *d, const char *n, const char *v) {
  (void)d, (void)n, (void)v;
  return -ECANCELED;
}

Test(multipart, a_callback_stops_the_parser) {
  const struct multipart_callbacks cb = {.on_header = stop_at_header};
  const char body[] = "--XyZ\r\nA: 1\r\n\r\n\r\n--XyZ--";
  struct multipart *m = malloc(sizeof *m);

  cr_assert_eq(multipart_init(m, "XyZ", 3, &cb, NULL), 0);
  cr_expect_eq(multipart_feed(m, body, sizeof body - 1), -ECANCELED);
  cr_expect_eq(multipart_feed(m, "", 0), -ECANCELED);
  cr_expect_eq(multipart_finish(m), -ECANCELED);
  cr_expect_eq(multipart_init(m, "", 0, &cb, NULL), -EINVAL);
  free(m);
}

Test(multipart, a_header_value_of_spaces_is_empty) {
  /* B's line is shorter than A's, whose spaces and value are still in the
   * parser's line buffer past B's end. */
  const char body[] = "--XyZ\r\nA:      a\r\nB:  \r\n\r\nc\r\n--XyZ--";
  struct events e;

  cr_assert_eq(feed(body, sizeof body - 1, sizeof body, &e), 0);
  cr_expect_str_eq(e.text, "[part][A=a][B=][body]c[end]");
}
