/* symbolize.h - a code address in an ELF file as "function (file.c:LINE)",
 * read with elfutils' libdw from the file as data: the file is never
 * loaded, so the master may symbolize a plugin it must not run. */
#ifndef MCHOST_SYMBOLIZE_H
#define MCHOST_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes what `path` says about `offset` (an address minus the module's
 * load base, as dladdr() gives it) into out: "function (file.c:LINE)"
 * where the file has line information, "function+0xOFF" where it has only
 * symbols; `exact` is 0 for a return address (the call is the byte
 * before it), 1 for the faulting instruction itself. `lines` 0 reads the
 * file's own symbol table only, never separate debug information (fast:
 * for system libraries). Returns 0, or
 * -ENOENT when the file has nothing to say about the address (out is
 * then empty), -ENOSYS when libdw.so.1 cannot be loaded, or another
 * negative errno when the file cannot be read.
 * The last file read stays open for the next call (one per backtrace
 * frame); symbolize_release() closes it.
 */
int symbolize(const char *path, uint64_t offset, int exact, int lines,
              char *out, size_t len);
void symbolize_release(void);

/* The GNU build-id of the ELF file `path` in hex into out (at least 2 *
 * 20 + 1 bytes for the usual SHA-1 id). Returns 0 or a negative errno
 * (-ENOENT when the file has none). */
int symbolize_build_id(const char *path, char *out, size_t len);

#endif
