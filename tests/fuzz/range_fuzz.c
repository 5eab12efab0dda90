/*
 * range_fuzz.c - libFuzzer target for range_parse() (host/range.c): the
 * first 8 bytes are the resource's size (little-endian), the rest the
 * Range value. A broken promise aborts: a range found lies within the
 * resource, first before last; an error leaves the outputs alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "range.h"

#define FUZZ_CHECK(cond)                                                       \
  ((cond)                                                                      \
       ? (void)0                                                               \
       : (fprintf(stderr, "range: broken: %s (line %d)\n", #cond, __LINE__),   \
          abort()))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t len = 0, first = 7, last = 7;
  char *value;
  int rc;

  if (size < 8)
    return 0;
  for (int i = 7; i >= 0; i--)
    len = len << 8 | data[i];
  /* a small size now and then, where clipping happens */
  if (data[0] & 1)
    len %= 4096;
  if ((value = malloc(size - 8 + 1)) == NULL)
    return 0;
  memcpy(value, data + 8, size - 8);
  value[size - 8] = '\0';
  rc = range_parse(value, len, &first, &last);
  FUZZ_CHECK(rc == 0 || rc == -ERANGE || rc == -EINVAL);
  if (rc == 0)
    FUZZ_CHECK(first <= last && last < len);
  else
    FUZZ_CHECK(first == 7 && last == 7);
  FUZZ_CHECK(rc != -ERANGE || len == 0 || strchr(value, '-') != NULL);
  free(value);
  return 0;
}
