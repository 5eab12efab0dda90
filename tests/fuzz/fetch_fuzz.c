/*
 * fetch_fuzz.c - libFuzzer target for the URL parser of mc_fetch()
 * (fetch_parse_url() in host/fetch.c): the bytes are a URL a plugin passes,
 * cut at its first NUL and copied to a buffer of exactly its size (ASan
 * sees a read past it). The promises: a result is 0, -EINVAL or -E2BIG; an
 * accepted URL starts with http://, its host is not empty and holds no
 * byte that could split the request or its Host line, its port is 1-65535,
 * and its path lies inside the URL, holds no space or control byte, and
 * starts with '/' or '?' when not empty.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "fuzz.h"

static void fail(const char *what, const char *url) {
  fprintf(stderr, "fetch_fuzz.c: broken promise: %s [%s]\n", what, url);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t n = strnlen((const char *)data, size);
  char *url = malloc(n + 1);
  struct fetch_url u;
  int r;

  if (url == NULL)
    return 0;
  memcpy(url, data, n);
  url[n] = '\0';
  r = fetch_parse_url(url, &u);
  if (r != 0 && r != -EINVAL && r != -E2BIG)
    fail("an error other than -EINVAL and -E2BIG", url);
  if (r == 0) {
    long port = strtol(u.port, NULL, 10);
    if (strncasecmp(url, "http://", 7) != 0)
      fail("accepted without http://", url);
    if (u.host[0] == '\0')
      fail("an empty host", url);
    for (const char *h = u.host; *h != '\0'; h++)
      if ((unsigned char)*h <= 0x20 || *h == 0x7f || strchr("/?#@", *h))
        fail("a host byte that splits a request", url);
    if (port < 1 || port > 65535)
      fail("a port out of range", url);
    if (u.path < url || u.path + u.path_len > url + n)
      fail("a path outside the URL", url);
    for (size_t i = 0; i < u.path_len; i++)
      if ((unsigned char)u.path[i] <= 0x20 || (unsigned char)u.path[i] >= 0x7f)
        fail("a space or control byte in the path", url);
    if (u.path_len > 0 && u.path[0] != '/' && u.path[0] != '?')
      fail("a path that starts with neither '/' nor '?'", url);
  }
  free(url);
  return 0;
}
