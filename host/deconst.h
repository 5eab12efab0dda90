/* deconst.h - handing read-only data to an interface that takes it as
 * char * without writing it: the bytes of a uv_buf_t, the arguments of a
 * process that libuv spawns. DECONST says so at that one place, where a
 * plain cast would also hide a real mistake from -Wcast-qual. */
#ifndef MCHOST_DECONST_H
#define MCHOST_DECONST_H

#include <stdint.h>

#define DECONST(type, p) ((type)(uintptr_t)(const void *)(p))

#endif
