/*
 * admin_fuzz.c - libFuzzer target for the admin listener's request parser
 * (admin_parse() in host/admin.c): the bytes are what a probe or a scraper
 * sends. Every prefix is parsed from a buffer of exactly that size (ASan
 * sees a read past it), as the request would arrive in pieces. The
 * promises: the result is 0 (more), 200 or a refusal (400, 404, 405, 431);
 * 0 only while no head has ended within ADMIN_REQUEST_MAX bytes; once a
 * prefix is answered, every longer one gets the same answer; a 200's path
 * starts with '/', holds no space, control byte or '?', and fits.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "fuzz.h"

static void fail(const char *what, size_t len) {
  fprintf(stderr, "admin_fuzz.c: broken promise at %zu bytes: %s\n", len, what);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t n = size < ADMIN_REQUEST_MAX + 8 ? size : ADMIN_REQUEST_MAX + 8;
  int settled = 0;

  for (size_t len = 0; len <= n; len++) {
    char *buf = malloc(len > 0 ? len : 1), path[64];
    int head = -1, r;
    if (buf == NULL)
      return 0;
    memcpy(buf, data, len);
    r = admin_parse(buf, len, path, sizeof path, &head);
    if (r != 0 && r != 200 && r != 400 && r != 404 && r != 405 && r != 431)
      fail("an unknown result", len);
    if (r == 0 && len >= ADMIN_REQUEST_MAX)
      fail("still waiting past ADMIN_REQUEST_MAX", len);
    if (r == 0 && memmem(buf, len, "\r\n\r\n", 4) != NULL)
      fail("still waiting after the end of the head", len);
    if (settled != 0 && r != settled)
      fail("a longer prefix changed the answer", len);
    if (r == 200) {
      size_t plen = strnlen(path, sizeof path);
      if (plen == sizeof path || path[0] != '/' || (head != 0 && head != 1))
        fail("a bad path or method", len);
      for (size_t i = 0; i < plen; i++)
        if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f || path[i] == '?')
          fail("a path with a separator or a control byte", len);
    }
    free(buf);
    if (r != 0)
      settled = r;
  }
  return 0;
}
