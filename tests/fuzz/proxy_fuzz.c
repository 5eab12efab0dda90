/*
 * proxy_fuzz.c - libFuzzer target for the PROXY protocol parser
 * (host/proxy.c): the bytes are what a peer sends first. Every prefix of
 * them is parsed, as the header would arrive in pieces, from a buffer of
 * exactly that size (ASan sees a read past it). The promises: a result is
 * "more", a length or a refusal with a reason; once a prefix is complete
 * or refused, every longer one says the same; a length is within the
 * bounds and the input; an address is IPv4 or IPv6.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy.h"

/* No header is longer: past this, a longer prefix changes nothing. */
#define LONGEST (16 + PROXY_V2_MAX_LEN + 1)

static void fail(const char *what, size_t len) {
  fprintf(stderr, "proxy_fuzz.c: broken promise at %zu bytes: %s\n", len, what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t n = size < LONGEST ? size : LONGEST;
  int settled = 0; /* the first non-zero result */

  for (size_t len = 0; len <= n; len++) {
    uint8_t *buf = malloc(len > 0 ? len : 1);
    struct proxy_header h;
    const char *why;
    int r;
    if (buf == NULL)
      return 0;
    memcpy(buf, data, len);
    r = proxy_parse(buf, len, &h, &why);
    free(buf);
    if (r < 0 && (r != -EPROTO || why == NULL || why[0] == '\0'))
      fail("a refusal without -EPROTO and its reason", len);
    if (r > 0 && ((size_t)r > len || (size_t)r > LONGEST - 1 ||
                  (data[0] == 'P' && r > PROXY_V1_MAX)))
      fail("a length past the input or the bounds", len);
    if (r > 0 && h.has_addr && h.src.ss_family != AF_INET &&
        h.src.ss_family != AF_INET6)
      fail("an address of another family", len);
    if (settled != 0 && r != settled)
      fail("more bytes changed a settled result", len);
    if (settled == 0 && r != 0)
      settled = r;
  }
  if (size >= LONGEST && settled == 0)
    fail("still waiting past the longest header", size);
  return 0;
}
