/*
 * symbolize.c - addresses into names with libdw (elfutils).
 *
 * The file is opened as data with dwfl_report_offline(), in the master
 * (which never maps plugin code) or in `mchost replay`. It allocates
 * freely: never call it from a worker that has faulted (see fault.c).
 *
 * libdw is loaded with dlopen() the first time a report needs it, not
 * linked: the workers are the same executable, and linking would map
 * libdw, libelf and their compression libraries (about 0.5 MiB of RSS)
 * into every worker, which never reads DWARF. Without libdw.so.1 at run
 * time, reports name module+offset only (see fault.c).
 */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every libdw and libelf function used here (libelf is a dependency of
 * libdw: dlsym() on libdw's handle finds its functions too). */
#define DW_FUNCTIONS(X)                                                        \
  X(dwfl_begin)                                                                \
  X(dwfl_end)                                                                  \
  X(dwfl_report_offline)                                                       \
  X(dwfl_report_end)                                                           \
  X(dwfl_build_id_find_elf)                                                    \
  X(dwfl_standard_find_debuginfo)                                              \
  X(dwfl_offline_section_address)                                              \
  X(dwfl_module_addrdie)                                                       \
  X(dwfl_module_getelf)                                                        \
  X(dwfl_module_addrinfo)                                                      \
  X(dwfl_module_getsrc)                                                        \
  X(dwfl_lineinfo)                                                             \
  X(dwarf_getscopes)                                                           \
  X(dwarf_tag)                                                                 \
  X(dwarf_formstring)                                                          \
  X(dwarf_attr_integrate)                                                      \
  X(dwelf_elf_gnu_build_id)                                                    \
  X(elf_version)                                                               \
  X(elf_begin)                                                                 \
  X(elf_end)

static struct {
  int tried, ok;
#define X(f) __typeof__(f) *f;
  DW_FUNCTIONS(X)
#undef X
} dw;

/* A system library's separate debug information (libc's is tens of MB)
 * takes a third of a second to read: its own symbol table is enough. */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                        Dwarf_Addr base, const char *file_name,
                        const char *debuglink_file, GElf_Word debuglink_crc,
                        char **debuginfo_file_name) {
  (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
  (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
  return -1;
}

/* With line information (separate debug files included), or the file's
 * own symbols only. */
static Dwfl_Callbacks callbacks, symbols_only;

/* Loads libdw once, and sets up what every use needs: 0, or -ENOSYS. */
static int dw_load(void) {
  void *h;

  if (dw.tried)
    return dw.ok ? 0 : -ENOSYS;
  dw.tried = 1;
  if ((h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL)) == NULL)
    return -ENOSYS;
#define X(f)                                                                   \
  if ((*(void **)&dw.f = dlsym(h, #f)) == NULL) {                              \
    dlclose(h);                                                                \
    return -ENOSYS;                                                            \
  }
  DW_FUNCTIONS(X)
#undef X
  callbacks.find_elf = symbols_only.find_elf = dw.dwfl_build_id_find_elf;
  callbacks.section_address = symbols_only.section_address =
      dw.dwfl_offline_section_address;
  callbacks.find_debuginfo = dw.dwfl_standard_find_debuginfo;
  symbols_only.find_debuginfo = no_debuginfo;
  dw.elf_version(EV_CURRENT);
  dw.ok = 1;
  return 0;
}

/* The last file read: a backtrace asks about one module several times. */
static struct {
  Dwfl *dwfl;
  Dwfl_Module *mod;
  char path[PATH_MAX];
  struct stat st;
  int lines;
} cache;

void symbolize_release(void) {
  if (cache.dwfl != NULL)
    dw.dwfl_end(cache.dwfl);
  memset(&cache, 0, sizeof cache);
}

static Dwfl_Module *module_for(const char *path, int lines) {
  struct stat st;

  if (stat(path, &st) != 0)
    return NULL;
  if (cache.dwfl != NULL && strcmp(cache.path, path) == 0 &&
      cache.lines == lines && st.st_ino == cache.st.st_ino &&
      st.st_dev == cache.st.st_dev &&
      st.st_mtim.tv_sec == cache.st.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == cache.st.st_mtim.tv_nsec)
    return cache.mod;
  symbolize_release();
  if ((cache.dwfl = dw.dwfl_begin(lines ? &callbacks : &symbols_only)) == NULL)
    return NULL;
  cache.mod = dw.dwfl_report_offline(cache.dwfl, "", path, -1);
  dw.dwfl_report_end(cache.dwfl, NULL, NULL);
  if (cache.mod == NULL) {
    symbolize_release();
    return NULL;
  }
  snprintf(cache.path, sizeof cache.path, "%s", path);
  cache.st = st;
  cache.lines = lines;
  return cache.mod;
}

/* The innermost function around addr by DWARF, an inlined one included
 * (the symbol table knows only the function it was inlined into). */
static const char *dwarf_function(Dwfl_Module *mod, GElf_Addr addr) {
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dw.dwfl_module_addrdie(mod, addr, &bias), *scopes = NULL;
  const char *name = NULL;
  int n;

  if (cu == NULL || (n = dw.dwarf_getscopes(cu, addr - bias, &scopes)) <= 0)
    return NULL;
  for (int i = 0; i < n && name == NULL; i++) {
    int tag = dw.dwarf_tag(&scopes[i]);
    Dwarf_Attribute attr;
    if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
      name = dw.dwarf_formstring(
          dw.dwarf_attr_integrate(&scopes[i], DW_AT_name, &attr));
  }
  free(scopes);
  return name;
}

int symbolize(const char *path, uint64_t offset, int exact, int lines,
              char *out, size_t len) {
  Dwfl_Module *mod;
  GElf_Addr bias = 0, addr, symoff = 0;
  GElf_Sym sym;
  const char *name, *file, *slash, *inner;
  Dwfl_Line *line;
  int lineno = 0;

  out[0] = '\0';
  if (dw_load() != 0)
    return -ENOSYS;
  if ((mod = module_for(path, lines)) == NULL)
    return -errno ? -errno : -EINVAL;
  if (dw.dwfl_module_getelf(mod, &bias) == NULL)
    return -ENOEXEC;
  /* A return address is the instruction after the call, which may belong
   * to the next line, or past the end of a noreturn function. */
  addr = bias + offset - (exact ? 0 : 1);
  name = dw.dwfl_module_addrinfo(mod, addr, &symoff, &sym, NULL, NULL, NULL);
  line = dw.dwfl_module_getsrc(mod, addr);
  if (line != NULL && (inner = dwarf_function(mod, addr)) != NULL)
    name = inner;
  file = line != NULL ? dw.dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
                      : NULL;
  if (name == NULL && file == NULL)
    return -ENOENT;
  if (name == NULL)
    name = "?";
  if (file != NULL) {
    slash = strrchr(file, '/');
    snprintf(out, len, "%s (%s:%d)", name, slash ? slash + 1 : file, lineno);
  } else {
    snprintf(out, len, "%s+0x%" PRIx64, name,
             (uint64_t)(symoff + (exact ? 0 : 1)));
  }
  return 0;
}

int symbolize_build_id(const char *path, char *out, size_t len) {
  int fd, rc = -ENOENT;
  Elf *elf;
  const void *id;
  ssize_t n;

  out[0] = '\0';
  if (dw_load() != 0)
    return -ENOSYS;
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return -errno;
  if ((elf = dw.elf_begin(fd, ELF_C_READ_MMAP, NULL)) == NULL) {
    close(fd);
    return -ENOEXEC;
  }
  n = dw.dwelf_elf_gnu_build_id(elf, &id);
  if (n > 0 && (size_t)n * 2 < len) {
    for (ssize_t i = 0; i < n; i++)
      snprintf(out + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
    rc = 0;
  }
  dw.elf_end(elf);
  close(fd);
  return rc;
}
