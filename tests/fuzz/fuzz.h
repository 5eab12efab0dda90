/* fuzz.h - what every fuzz target defines: libFuzzer calls it, and so does
 * replay.c in every build (the seed corpus and the committed crashers). */
#ifndef MCHOST_FUZZ_H
#define MCHOST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
