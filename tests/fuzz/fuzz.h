/* fuzz.h - the fuzz entry points. Each lives at the end of the host file it
 * exercises, behind MCHOST_FUZZING, so that it reaches that file's static
 * functions; the shims here only call them. */
#ifndef MCHOST_FUZZ_H
#define MCHOST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* host/conn.c: the bytes as one client connection's input. */
int conn_fuzz_feed(const uint8_t *data, size_t len);

/* host/config.c: the bytes as an argv, split on NUL. */
int config_fuzz_load(const uint8_t *data, size_t len);

/* What libFuzzer calls, and replay.c without it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
