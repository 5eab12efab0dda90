/* bundle.h - crash bundles: one file per plugin fault or timeout in
 * --crash-dir, holding the request as received and the fault record, for
 * `mchost replay` to run again. */
#ifndef MCHOST_BUNDLE_H
#define MCHOST_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"

/* What a bundle says besides the fault record. */
struct bundle_site {
  const char *dir;      /* --crash-dir */
  const char *plugin;   /* the user's --plugin */
  const char *snapshot; /* the file this generation loaded */
  int keep_secrets;     /* --crash-keep-secrets */
  char build_id[48];    /* the plugin's (fault_build_id()) */
  unsigned seq;         /* bundles this worker wrote */
};

/*
 * Writes a bundle for fault f and the request bytes raw[0..len) (len 0:
 * none, e.g. a fault in mc_init) into site->dir, and its file name into
 * f->bundle. Only open(), write() and close() on bytes in hand: a worker
 * calls it right after a fault. Authorization, Proxy-Authorization and
 * Cookie values are written as "[redacted]" unless site->keep_secrets.
 * Returns 0 or a negative errno.
 */
int bundle_write(struct bundle_site *site, struct fault_msg *f, const char *raw,
                 size_t len);

/* A bundle read back. */
struct bundle {
  struct fault_msg fault;
  char plugin[FAULT_PATH];
  char snapshot[FAULT_PATH];
  char *request; /* malloc'd; the bytes as received */
  size_t request_len;
};

/*
 * Parses a bundle's bytes, or a bare request (bytes that do not start with
 * the bundle's first line: what `mchost replay -` reads from stdin), into
 * b. Returns 0, or -EINVAL with one line in err saying what is wrong.
 * bundle_free() releases it either way.
 */
int bundle_parse(struct bundle *b, const char *data, size_t len, char *err,
                 size_t errlen);
void bundle_free(struct bundle *b);

/* The master's side of --crash-dir: creates it (mode 0700; an existing
 * directory must be the user's own, and is made 0700). Returns 0 or a
 * negative errno with the message in err. */
int bundle_dir_prepare(const char *dir, char *err, size_t errlen);

/* Removes the oldest bundles of dir until they total at most max bytes;
 * the newest always stays. */
void bundle_dir_trim(const char *dir, uint64_t max);

#endif
