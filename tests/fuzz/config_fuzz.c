/* config_fuzz.c - libFuzzer shim for host/config.c's config_fuzz_load(). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return config_fuzz_load(data, size);
}
