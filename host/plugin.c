/* plugin.c - dlopen, ABI check, entry points. Workers only: the master
 * never maps plugin code, so a plugin bug can never take the master down. */
#include "plugin.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    MC_PRINTF(4, 5);

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return code;
}

/* dlerror() names the file it opened, which is the snapshot: the user
 * knows the plugin by its --plugin path. */
static const char *dl_reason(const char *path, char *out, size_t outlen) {
  const char *msg = dlerror();
  size_t plen = strlen(path);
  if (msg == NULL)
    return "unknown error";
  if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
    msg += plen + 1;
  while (*msg == ' ')
    msg++;
  snprintf(out, outlen, "%s", msg);
  return out;
}

int plugin_open(struct plugin *p, const char *path, const char *display,
                char *err, size_t errlen) {
  char local[4096], reason[1024];
  const uint32_t *abi;
  struct stat st;

  memset(p, 0, sizeof *p);
  if (stat(path, &st) != 0)
    return fail(err, errlen, -ENOENT, "cannot load plugin '%s': %s", display,
                strerror(errno));
  /* Without a slash dlopen() searches the library path, not the current
   * directory: `--plugin app.so` must mean ./app.so. */
  if (strchr(path, '/') == NULL) {
    snprintf(local, sizeof local, "./%s", path);
    path = local;
  }
  /* RTLD_NOW: an unresolved symbol is reported here, once, not as a crash
   * in the middle of a request. RTLD_LOCAL: two generations of a plugin
   * never resolve each other's symbols. */
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p->handle == NULL)
    return fail(err, errlen, -ENOEXEC, "cannot load plugin '%s': %s", display,
                dl_reason(path, reason, sizeof reason));

  abi = dlsym(p->handle, "mc_plugin_abi");
  if (abi == NULL) {
    plugin_close(p);
    return fail(err, errlen, -EPROTO,
                "plugin '%s' has no MC_PLUGIN() marker: add the line "
                "'MC_PLUGIN();' to one of its source files and rebuild",
                display);
  }
  if (*abi != MC_ABI_VERSION) {
    unsigned got = *abi;
    plugin_close(p);
    return fail(err, errlen, -EPROTO,
                "plugin '%s' was built for plugin ABI %u, this mchost speaks "
                "ABI %u: rebuild it against this mchost's <mchost.h>",
                display, got, (unsigned)MC_ABI_VERSION);
  }

  *(void **)&p->run = dlsym(p->handle, "mc_run");
  *(void **)&p->init = dlsym(p->handle, "mc_init");
  *(void **)&p->shutdown = dlsym(p->handle, "mc_shutdown");
  p->connect = dlsym(p->handle, "mc_plugin_accepts_connect") != NULL;
  p->reads_body = dlsym(p->handle, "mc_plugin_reads_body") != NULL;
  if (p->run == NULL) {
    plugin_close(p);
    return fail(err, errlen, -ENOSYS,
                "plugin '%s' has no mc_run() function: every plugin must "
                "define void mc_run(mc_request *req, mc_response *res)",
                display);
  }
  return 0;
}

void plugin_close(struct plugin *p) {
  if (p->handle != NULL)
    dlclose(p->handle);
  memset(p, 0, sizeof *p);
}

/* An ELF file is written front to back by the linker, with the section
 * header table last: if that table, or a loadable segment, ends beyond the
 * file's size, the file is not finished yet. */
static int elf_incomplete(const unsigned char *head, size_t n, off_t size) {
  static const unsigned char hole[SELFMAG];
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
  /* GNU ld (bfd) opens its output with O_TRUNC, writes the sections, and
   * writes the ELF header at offset 0 last: until then the file starts
   * with a hole, which reads as zeros. */
  if (n >= SELFMAG && memcmp(head, hole, SELFMAG) == 0)
    return 1;
  /* Empty, or the start of an ELF header: the writer has only begun. */
  if (n < sizeof *eh)
    return memcmp(head, ELFMAG, n < SELFMAG ? n : SELFMAG) == 0;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] != ELFCLASS64)
    return 0; /* not ELF64: let dlopen() say what it is */
  if ((uint64_t)eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize >
      (uint64_t)size)
    return 1;
  if ((uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize >
      (uint64_t)size)
    return 1;
  return 0;
}

/* Copies in to out, keeping the first headlen bytes in head (*nhead of
 * them, fewer if the file is shorter). Returns 0 or a negative errno. */
static ssize_t copy_fd(int in, int out, unsigned char *head, size_t headlen,
                       size_t *nhead) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return 0;
    if (*nhead < headlen) {
      size_t k = (size_t)n < headlen - *nhead ? (size_t)n : headlen - *nhead;
      memcpy(head + *nhead, buf, k);
      *nhead += k;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -errno;
      off += w;
    }
  }
}

int plugin_snapshot(const char *src, const char *dst, struct stat *st,
                    char *err, size_t errlen) {
  char tmp[4200];
  unsigned char head[sizeof(Elf64_Ehdr)];
  int in, out, rc = 0;
  ssize_t n;
  size_t nhead = 0;

  if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
    return fail(err, errlen, -errno, "cannot read plugin '%s': %s", src,
                strerror(errno));
  if (fstat(in, st) != 0 || !S_ISREG(st->st_mode)) {
    close(in);
    return fail(err, errlen, -EINVAL, "plugin '%s' is not a regular file", src);
  }
  snprintf(tmp, sizeof tmp, "%s.tmp", dst);
  if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
    rc = -errno;
    close(in);
    return fail(err, errlen, rc, "cannot write snapshot '%s': %s", tmp,
                strerror(-rc));
  }
  n = copy_fd(in, out, head, sizeof head, &nhead);
  if (n < 0)
    rc = fail(err, errlen, (int)n, "cannot copy plugin '%s' to '%s': %s", src,
              tmp, strerror((int)-n));
  else if (fstat(in, st) == 0 && elf_incomplete(head, nhead, st->st_size))
    rc = fail(err, errlen, -EAGAIN,
              "plugin '%s' is incomplete: empty, or its ELF headers point "
              "past its end (is it still being written?)",
              src);
  close(in);
  if (close(out) != 0 && rc == 0)
    rc = fail(err, errlen, -errno, "cannot write snapshot '%s': %s", tmp,
              strerror(errno));
  if (rc == 0 && rename(tmp, dst) != 0)
    rc = fail(err, errlen, -errno, "cannot rename snapshot to '%s': %s", dst,
              strerror(errno));
  if (rc != 0)
    unlink(tmp);
  return rc;
}
