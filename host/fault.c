/*
 * fault.c - a plugin fault or timeout as a record: collected by the worker
 * right after guard_call() returned it, printed with names by the master
 * (or by `mchost replay`).
 *
 * The split follows the guard's rule: a worker that has just faulted may
 * have its heap locked (a fault inside malloc, or glibc aborting inside
 * free()), so it only reads the guard's report and asks dladdr() which
 * module each frame is in. Reading DWARF allocates, and happens in the
 * master, from the snapshot file of the generation that ran.
 */
#define _GNU_SOURCE
#include "fault.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "symbolize.h"

static void copy_str(char *dst, size_t len, const char *src) {
  size_t n = strlen(src);
  if (n >= len)
    n = len - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* The module's index in f->modules, added if new; FAULT_NO_MODULE when
 * the table is full. */
static uint32_t module_index(struct fault_msg *f, const char *path) {
  for (uint32_t i = 0; i < f->nmodules; i++)
    if (strncmp(f->modules[i], path, FAULT_PATH - 1) == 0)
      return i;
  if (f->nmodules == FAULT_MODULES)
    return FAULT_NO_MODULE;
  copy_str(f->modules[f->nmodules], FAULT_PATH, path);
  return f->nmodules++;
}

/* The running executable's path: dladdr() names the main program by
 * argv[0], which may be relative or a bare name. */
static const char *self_path(void) {
  static char path[FAULT_PATH];
  if (path[0] == '\0') {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
  }
  return path;
}

void fault_collect(struct fault_msg *f, const struct guard_report *r,
                   int result, const char *snapshot, unsigned generation,
                   const char *context) {
  Dl_info self;
  int have_self = dladdr((void *)fault_collect, &self) != 0, seen_plugin = 0;

  memset(f, 0, offsetof(struct fault_msg, frames));
  f->result = result;
  f->generation = generation;
  f->plugin = FAULT_NO_MODULE;
  copy_str(f->context, sizeof f->context, context);
  if (result == FAULT_DEADLINE)
    return;
  f->code = result == GUARD_TIMEOUT ? 0 : r->code;
  f->addr = result == GUARD_TIMEOUT ? 0 : (uint64_t)(uintptr_t)r->addr;
  /* Frames 0 and 1 are the handler and the kernel's signal trampoline.
   * Below the plugin's frames comes mchost's own loop: not interesting, so
   * the trace ends at the first mchost frame after a plugin frame (a fault
   * inside an SDK call has mchost frames above the plugin's). */
  for (int i = 2; i < r->nframes && f->nframes < FAULT_FRAMES; i++) {
    struct fault_frame *fr = &f->frames[f->nframes];
    Dl_info info;
    int found = dladdr(r->frames[i], &info) != 0 && info.dli_fname != NULL;
    int is_self = found && have_self && info.dli_fbase == self.dli_fbase;
    int is_plugin =
        found && snapshot != NULL && strcmp(info.dli_fname, snapshot) == 0;

    if (is_self && seen_plugin)
      break;
    seen_plugin |= is_plugin;
    fr->module = FAULT_NO_MODULE;
    fr->offset = (uint64_t)(uintptr_t)r->frames[i];
    if (found) {
      fr->module = module_index(f, is_self ? self_path() : info.dli_fname);
      if (fr->module != FAULT_NO_MODULE)
        fr->offset -= (uint64_t)(uintptr_t)info.dli_fbase;
      if (is_plugin)
        f->plugin = fr->module;
    }
    f->nframes++;
  }
}

int fault_check(struct fault_msg *f) {
  f->context[sizeof f->context - 1] = '\0';
  f->bundle[sizeof f->bundle - 1] = '\0';
  f->build_id[sizeof f->build_id - 1] = '\0';
  for (unsigned i = 0; i < FAULT_MODULES; i++)
    f->modules[i][FAULT_PATH - 1] = '\0';
  if (f->nframes > FAULT_FRAMES || f->nmodules > FAULT_MODULES ||
      (f->plugin != FAULT_NO_MODULE && f->plugin >= f->nmodules) ||
      strchr(f->bundle, '/') != NULL)
    return -EINVAL;
  for (unsigned i = 0; i < f->nframes; i++)
    if (f->frames[i].module != FAULT_NO_MODULE &&
        f->frames[i].module >= f->nmodules)
      return -EINVAL;
  return 0;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

void fault_print(const struct fault_msg *f, const char *snapshot,
                 const char *plugin, int symbols,
                 void (*emit)(void *arg, const char *line), void *arg) {
  char line[1024], name[512];

  if (f->result == GUARD_TIMEOUT)
    snprintf(line, sizeof line,
             "handler timed out (--request-timeout) in %s, generation %u; "
             "it was at:",
             f->context, f->generation);
  else if (f->result == FAULT_DEADLINE)
    snprintf(line, sizeof line,
             "deferred response missed its deadline (--request-timeout or "
             "mc_response_timeout()) in %s, generation %u: a callback that "
             "should end it never came, or its mc_work() never returned",
             f->context, f->generation);
  else
    snprintf(line, sizeof line,
             "plugin crashed: SIG%s (%s) at address 0x%" PRIx64
             " in %s, generation %u",
             sigabbrev_np(f->result) ? sigabbrev_np(f->result) : "?",
             strsignal(f->result), f->addr, f->context, f->generation);
  emit(arg, line);
  for (uint32_t i = 0; i < f->nframes; i++) {
    const struct fault_frame *fr = &f->frames[i];
    int in_plugin = fr->module == f->plugin && f->plugin != FAULT_NO_MODULE;
    const char *shown, *file;

    name[0] = '\0';
    if (fr->module == FAULT_NO_MODULE) {
      snprintf(line, sizeof line, "  #%-2u 0x%" PRIx64, i, fr->offset);
      emit(arg, line);
      continue;
    }
    /* the snapshot has the plugin's bytes: its offsets are the plugin's,
     * so `addr2line -e PLUGIN OFFSET` works as well */
    file = in_plugin && snapshot != NULL ? snapshot : f->modules[fr->module];
    shown = in_plugin && plugin != NULL ? plugin : base_name(file);
    /* the first frame is the faulting instruction, the others return
     * addresses; a timeout's first frame is where the timer found it */
    /* lines for the plugin and mchost; a system library's symbols */
    if (symbols)
      symbolize(file, fr->offset, i == 0,
                in_plugin || strcmp(file, self_path()) == 0, name, sizeof name);
    snprintf(line, sizeof line, "  #%-2u %s+0x%" PRIx64 "%s%s", i, shown,
             fr->offset, name[0] ? " " : "", name);
    emit(arg, line);
  }
  if (symbols)
    symbolize_release();
}

struct sink {
  char *out;
  size_t len, n;
};

static void to_buffer(void *arg, const char *line) {
  struct sink *s = arg;
  size_t k = strlen(line);
  if (s->n + k + 2 > s->len)
    return;
  memcpy(s->out + s->n, line, k);
  s->n += k;
  s->out[s->n++] = '\n';
  s->out[s->n] = '\0';
}

size_t fault_format(const struct fault_msg *f, const char *snapshot,
                    const char *plugin, int symbols, char *out, size_t len) {
  struct sink s = {out, len, 0};
  if (len > 0)
    out[0] = '\0';
  fault_print(f, snapshot, plugin, symbols, to_buffer, &s);
  return s.n;
}

struct build_id_search {
  ElfW(Addr) base;
  char *out;
  size_t len;
  int found;
};

static int build_id_in(struct dl_phdr_info *info, size_t size, void *arg) {
  struct build_id_search *s = arg;
  (void)size;
  if (info->dlpi_addr != s->base)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    const char *p, *end;
    if (ph->p_type != PT_NOTE)
      continue;
    p = (const char *)(info->dlpi_addr + ph->p_vaddr);
    end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
      const unsigned char *desc =
          (const unsigned char *)p + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
          memcmp(p + sizeof *nh, "GNU", 4) == 0 &&
          (const char *)desc + nh->n_descsz <= end &&
          2 * (size_t)nh->n_descsz < s->len) {
        for (size_t k = 0; k < nh->n_descsz; k++)
          snprintf(s->out + 2 * k, 3, "%02x", desc[k]);
        s->found = 1;
        return 1;
      }
      p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  return 1;
}

int fault_build_id(void *handle, char *out, size_t len) {
  struct link_map *lm = NULL;
  struct build_id_search s = {0, out, len, 0};

  out[0] = '\0';
  if (handle == NULL || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL)
    return -ENOENT;
  s.base = lm->l_addr;
  dl_iterate_phdr(build_id_in, &s);
  return s.found ? 0 : -ENOENT;
}

/* The first line after `who`, the frames as they are. */
static void to_log(const char *who, const char *line) {
  if (who != NULL && line[0] != ' ')
    log_error("%s%s", who, line);
  else
    log_error("%s", line);
}

void fault_log(const char *who, const struct fault_msg *f, const char *snapshot,
               const char *plugin, const char *crash_dir) {
  char text[FAULT_FRAMES * 160 + 1024];
  /* named first, logged after: the lines of one report come together */
  fault_format(f, snapshot, plugin, 1, text, sizeof text);
  for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL;
       line = nl + 1) {
    *nl = '\0';
    to_log(who, line);
  }
  if (f->bundle[0] != '\0' && crash_dir != NULL)
    log_error("crash bundle: %s/%s (replay it: mchost replay %s/%s)", crash_dir,
              f->bundle, crash_dir, f->bundle);
}
