/* fault.h - what a worker knows about a plugin fault or timeout, sent to
 * the master (which names the frames) and written into a crash bundle. */
#ifndef MCHOST_FAULT_H
#define MCHOST_FAULT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "guard.h"

#define FAULT_FRAMES 48
#define FAULT_MODULES 8
#define FAULT_PATH 256
#define FAULT_NO_MODULE 0xffffffffu
/* A fault_msg's result for a deferred response that missed its deadline:
 * no plugin code was running, so there are no frames. */
#define FAULT_DEADLINE (-2)

/* A frame: an offset in modules[module] (its address minus the module's
 * load base), or with FAULT_NO_MODULE the bare address. */
struct fault_frame {
  uint32_t module;
  uint32_t unused;
  uint64_t offset;
};

/* Fixed-size, so that a worker sends it with one write and the master
 * reads it without trusting a length from a process that may be corrupt.
 * Every string is NUL-terminated by the reader (fault_check()). */
struct fault_msg {
  int32_t result; /* the signal, GUARD_TIMEOUT or FAULT_DEADLINE */
  int32_t code;   /* si_code */
  uint64_t addr;  /* the fault address */
  uint32_t generation;
  uint32_t nframes, nmodules;
  uint32_t plugin;   /* index of the plugin's module, or FAULT_NO_MODULE */
  char context[512]; /* "'GET /x' from 127.0.0.1", "mc_init()" */
  char bundle[FAULT_PATH]; /* the bundle's file name, "" if none */
  char build_id[48];       /* the plugin's, hex; "" if unknown */
  struct fault_frame frames[FAULT_FRAMES];
  char modules[FAULT_MODULES][FAULT_PATH];
};

/* Fills f from the guard's report r, with the frames worth showing:
 * those of the plugin, and those of mchost that it called (a fault inside
 * an SDK call), not the loop below it. `snapshot` is the file the plugin
 * was loaded from. Calls dladdr() and nothing that allocates: a worker
 * calls it right after a fault, with the heap perhaps locked. With
 * FAULT_DEADLINE it records no frames (r may be NULL). */
void fault_collect(struct fault_msg *f, const struct guard_report *r,
                   int result, const char *snapshot, unsigned generation,
                   const char *context);

/* The GNU build-id of the loaded object `handle` (a dlopen() handle), in
 * hex, from its program headers in memory. Returns 0 or -ENOENT. */
int fault_build_id(void *handle, char *out, size_t len);

/* Logs the report (fault_print() with symbols, one log line each, the
 * first after `who` unless NULL), and the bundle's path and replay
 * command when f->bundle names one in crash_dir. */
void fault_log(const char *who, const struct fault_msg *f, const char *snapshot,
               const char *plugin, const char *crash_dir);

/* Makes the strings of a fault_msg read from another process safe to use
 * and its counts safe to index with. Returns 0, or -EINVAL when it makes
 * no sense (the master then ignores it). */
int fault_check(struct fault_msg *f);

/* The report, one line at a time to emit(): the fault with its
 * generation, then one line per frame, "  #N  MODULE+0xOFF function
 * (file.c:LINE)" where `symbols` is set and the module says (symbolize.h;
 * never in a worker that faulted). Plugin frames are read from `snapshot`
 * and shown as `plugin` (the user's name for it). */
void fault_print(const struct fault_msg *f, const char *snapshot,
                 const char *plugin, int symbols,
                 void (*emit)(void *arg, const char *line), void *arg);

/* fault_print() into out (lines ended by '\n'), truncated to fit. */
size_t fault_format(const struct fault_msg *f, const char *snapshot,
                    const char *plugin, int symbols, char *out, size_t len);

#endif
