/*
 * bundle_fuzz.c - libFuzzer target for crash bundles (host/bundle.c) and
 * golden files (host/replay.c): the input is a bundle, or a bare request,
 * for bundle_parse(); split at its first NUL byte, it is also a response
 * and a golden file for replay_expect(). Either must take any bytes
 * without a crash or a leak, and bundle_parse() must give a record that
 * indexes safely, or one message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "fuzz.h"
#include "replay.h"

static void bundle_fuzz_fail(const char *what) {
  fprintf(stderr, "bundle_fuzz: broken promise: %s\n", what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct bundle b;
  char err[256], why[512];
  const uint8_t *nul = memchr(data, 0, size);

  err[0] = '\0';
  if (bundle_parse(&b, (const char *)data, size, err, sizeof err) == 0) {
    struct fault_msg copy = b.fault;
    if (b.request_len > size || fault_check(&copy) != 0)
      bundle_fuzz_fail("a parsed bundle that does not index safely");
  } else if (err[0] == '\0') {
    bundle_fuzz_fail("an error without its one message");
  }
  bundle_free(&b);
  if (nul != NULL)
    replay_expect((const char *)data, (size_t)(nul - data),
                  (const char *)nul + 1, size - (size_t)(nul - data) - 1, why,
                  sizeof why);
  return 0;
}
