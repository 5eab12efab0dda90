/*
 * forwarded_fuzz.c - libFuzzer target for --trusted-proxies and the
 * forwarding headers (host/forwarded.c). The input is a trust list, a NUL,
 * then header fields separated by '\n', each led by a byte that says which
 * header it is: 'f' Forwarded, 'p' X-Forwarded-Proto, anything else
 * X-Forwarded-For. The promises: a client named is an address that parses
 * back to itself, with a port from 0 to 65535; the scheme is NULL, "http"
 * or "https"; and X-Forwarded-For fields give the same client as one field
 * with them joined by commas (the list is one list, however split).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"
#include "fuzz.h"

#define MAX_FIELDS 32

static void fail(const char *what) {
  fprintf(stderr, "forwarded_fuzz.c: broken promise: %s\n", what);
  abort();
}

static void check_client(const struct forwarded_walk *fw, char *name,
                         int *found) {
  unsigned char b[16];
  int port;
  const char *scheme = forwarded_walk_scheme(fw);
  *found = forwarded_walk_client(fw, name, &port);
  if (*found && ((inet_pton(AF_INET, name, b) != 1 &&
                  inet_pton(AF_INET6, name, b) != 1) ||
                 port < 0 || port > 65535))
    fail("a client that is no address");
  if (scheme != NULL && strcmp(scheme, "http") != 0 &&
      strcmp(scheme, "https") != 0)
    fail("a scheme that is neither http nor https");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1), *fields[MAX_FIELDS], *joined, *p;
  char one[FORWARDED_ADDR_LEN], all[FORWARDED_ADDR_LEN];
  struct trusted_proxies t;
  struct forwarded_walk fw, fw_joined;
  size_t n = 0, jlen = 0;
  int found_one, found_all;

  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  copy[size] = '\0';
  memset(&t, 0, sizeof t);
  p = copy + strlen(copy);
  /* A list that is refused is replaced by one that trusts something. */
  if (forwarded_add_trusted(&t, copy) != 0) {
    memset(&t, 0, sizeof t);
    if (forwarded_add_trusted(&t, "10.0.0.0/8,fd00::/8,127.0.0.1") != 0)
      fail("the fallback list is refused");
  }
  if (t.n > FORWARDED_TRUST_MAX)
    fail("more entries than the bound");
  for (p = p < copy + size ? p + 1 : p; n < MAX_FIELDS && *p != '\0';) {
    fields[n++] = p;
    p += strcspn(p, "\n");
    if (*p == '\n')
      *p++ = '\0';
  }
  forwarded_id_ok(copy);

  /* the fields one by one, as the headers would come */
  forwarded_walk_init(&fw, &t);
  forwarded_walk_init(&fw_joined, &t);
  joined = malloc(size + n + 1);
  if (joined == NULL) {
    free(copy);
    return 0;
  }
  joined[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (fields[i][0] == 'f') {
      forwarded_walk_rfc7239(&fw, fields[i] + 1);
    } else if (fields[i][0] != 'p' && fields[i][0] != '\0') {
      forwarded_walk_xff(&fw, fields[i] + 1);
      jlen += (size_t)sprintf(joined + jlen, "%s%s", jlen > 0 ? "," : "",
                              fields[i] + 1);
    }
  }
  for (size_t i = 0; i < n; i++)
    if (fields[i][0] == 'p')
      forwarded_walk_proto(&fw, fields[i] + 1);
  check_client(&fw, one, &found_one);

  /* X-Forwarded-For alone, split and joined */
  forwarded_walk_init(&fw, &t);
  for (size_t i = 0; i < n; i++)
    if (fields[i][0] != 'f' && fields[i][0] != 'p' && fields[i][0] != '\0')
      forwarded_walk_xff(&fw, fields[i] + 1);
  forwarded_walk_xff(&fw_joined, joined);
  check_client(&fw, one, &found_one);
  check_client(&fw_joined, all, &found_all);
  if (found_one != found_all || (found_one && strcmp(one, all) != 0))
    fail("split and joined X-Forwarded-For fields name different clients");
  free(joined);
  free(copy);
  return 0;
}
