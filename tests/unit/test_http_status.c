/*
 * test_http_status.c - the status codes of the SDK (enum mc_status) and
 * their reason phrases (http_status.c), both from MC_STATUS_MAP: each name
 * is its code, each code of the list has its phrase, RFC 9110's own words
 * where the test spells them out, and a code the list does not name has
 * none.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "http_status.h"

Test(http_status, every_listed_code_is_its_name_and_has_its_phrase) {
  int n = 0;
#define X(code, name, reason)                                                  \
  cr_expect_eq((int)MC_STATUS_##name, code, "MC_STATUS_" #name " is %d",       \
               (int)MC_STATUS_##name);                                         \
  cr_expect_str_eq(http_status_reason(code), reason, "%d", code);              \
  n++;
  MC_STATUS_MAP(X)
#undef X
  cr_expect_geq(n, 40, "only %d codes listed", n);
}

/* Written out here, from RFC 9110, section 15: not read from the list. */
Test(http_status, phrases_are_rfc_9110s) {
  static const struct {
    int code;
    const char *reason;
  } want[] = {
      {MC_STATUS_CONTINUE, "Continue"},
      {MC_STATUS_OK, "OK"},
      {MC_STATUS_NO_CONTENT, "No Content"},
      {MC_STATUS_BAD_REQUEST, "Bad Request"},
      {MC_STATUS_NOT_FOUND, "Not Found"},
      {MC_STATUS_REQUEST_TIMEOUT, "Request Timeout"},
      {MC_STATUS_CONTENT_TOO_LARGE, "Content Too Large"},
      {MC_STATUS_URI_TOO_LONG, "URI Too Long"},
      {MC_STATUS_EXPECTATION_FAILED, "Expectation Failed"},
      {MC_STATUS_UPGRADE_REQUIRED, "Upgrade Required"},
      {MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE,
       "Request Header Fields Too Large"},
      {MC_STATUS_INTERNAL_SERVER_ERROR, "Internal Server Error"},
      {MC_STATUS_NOT_IMPLEMENTED, "Not Implemented"},
      {MC_STATUS_SERVICE_UNAVAILABLE, "Service Unavailable"},
      {MC_STATUS_HTTP_VERSION_NOT_SUPPORTED, "HTTP Version Not Supported"},
  };
  cr_expect_eq(MC_STATUS_NOT_FOUND, 404);
  cr_expect_eq(MC_STATUS_SERVICE_UNAVAILABLE, 503);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_expect_str_eq(http_status_reason(want[i].code), want[i].reason, "%d",
                     want[i].code);
}

Test(http_status, unlisted_code_has_no_phrase) {
  static const int codes[] = {0, -1, 199, 299, 399, 419, 599, 600, 1000};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    cr_expect_str_eq(http_status_reason(codes[i]), "", "%d", codes[i]);
}
