/* conn_fuzz.c - libFuzzer shim for host/conn.c's conn_fuzz_feed(). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return conn_fuzz_feed(data, size);
}
