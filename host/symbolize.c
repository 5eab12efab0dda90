/*
 * symbolize.c - addresses into names with libdw (elfutils).
 *
 * The file is opened as data with dwfl_report_offline(), in the master
 * (which never maps plugin code) or in `mchost replay`. It allocates
 * freely: never call it from a worker that has faulted (see fault.c).
 */
#define _GNU_SOURCE
#include "symbolize.h"

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

/* The last file read: a backtrace asks about one module several times. */
static struct {
  Dwfl *dwfl;
  Dwfl_Module *mod;
  char path[PATH_MAX];
  struct stat st;
  int lines;
} cache;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

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

static const Dwfl_Callbacks symbols_only = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = no_debuginfo,
    .section_address = dwfl_offline_section_address,
};

void symbolize_release(void) {
  if (cache.dwfl != NULL)
    dwfl_end(cache.dwfl);
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
  if ((cache.dwfl = dwfl_begin(lines ? &callbacks : &symbols_only)) == NULL)
    return NULL;
  cache.mod = dwfl_report_offline(cache.dwfl, "", path, -1);
  dwfl_report_end(cache.dwfl, NULL, NULL);
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
  Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias), *scopes = NULL;
  const char *name = NULL;
  int n;

  if (cu == NULL || (n = dwarf_getscopes(cu, addr - bias, &scopes)) <= 0)
    return NULL;
  for (int i = 0; i < n && name == NULL; i++) {
    int tag = dwarf_tag(&scopes[i]);
    Dwarf_Attribute attr;
    if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
      name =
          dwarf_formstring(dwarf_attr_integrate(&scopes[i], DW_AT_name, &attr));
  }
  free(scopes);
  return name;
}

int symbolize(const char *path, uint64_t offset, int exact, int lines,
              char *out, size_t len) {
  Dwfl_Module *mod = module_for(path, lines);
  GElf_Addr bias = 0, addr, symoff = 0;
  GElf_Sym sym;
  const char *name, *file, *slash, *inner;
  Dwfl_Line *line;
  int lineno = 0;

  out[0] = '\0';
  if (mod == NULL)
    return -errno ? -errno : -EINVAL;
  if (dwfl_module_getelf(mod, &bias) == NULL)
    return -ENOEXEC;
  /* A return address is the instruction after the call, which may belong
   * to the next line, or past the end of a noreturn function. */
  addr = bias + offset - (exact ? 0 : 1);
  name = dwfl_module_addrinfo(mod, addr, &symoff, &sym, NULL, NULL, NULL);
  line = dwfl_module_getsrc(mod, addr);
  if (line != NULL && (inner = dwarf_function(mod, addr)) != NULL)
    name = inner;
  file = line != NULL ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
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
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -ENOENT;
  Elf *elf;
  const void *id;
  ssize_t n;

  out[0] = '\0';
  if (fd < 0)
    return -errno;
  elf_version(EV_CURRENT);
  if ((elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)) == NULL) {
    close(fd);
    return -ENOEXEC;
  }
  n = dwelf_elf_gnu_build_id(elf, &id);
  if (n > 0 && (size_t)n * 2 < len) {
    for (ssize_t i = 0; i < n; i++)
      snprintf(out + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
    rc = 0;
  }
  elf_end(elf);
  close(fd);
  return rc;
}
