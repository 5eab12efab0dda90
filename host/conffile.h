/*
 * conffile.h - the --config FILE: mchost's own options by long name, then
 * a [plugin] section with the plugin's settings (docs/configuration.md).
 *
 *     # comments and blank lines are skipped
 *     workers = 4
 *     max-body = 8M
 *     [plugin]
 *     db = /var/lib/app.db
 *
 * A line is `NAME = VALUE`, split at its first '=', both sides trimmed of
 * spaces, tabs and a CR; a VALUE in double quotes loses them (and nothing
 * inside is interpreted), which keeps surrounding spaces or makes "". A
 * line whose first character other than a blank is '#' is a comment; a '#'
 * after a value is part of it. The file is at most CONFFILE_MAX bytes, a
 * regular file, without NUL bytes.
 */
#ifndef MCHOST_CONFFILE_H
#define MCHOST_CONFFILE_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define CONFFILE_MAX (1024 * 1024)

enum conffile_section { CONFFILE_OWN, CONFFILE_PLUGIN };

/* Called for each NAME = VALUE line, in order. Returns 0, or -EINVAL with
 * one message in err (without the FILE:LINE that conffile_parse() adds). */
typedef int (*conffile_fn)(void *arg, enum conffile_section section,
                           const char *name, const char *value, char *err,
                           size_t errlen);

/* The syntax alone: splits text (len bytes, modified in place) into lines
 * and calls fn for each setting. 0, or -EINVAL with "PATH:LINE: what" in
 * err: a line without '=', an empty name, an unknown section, a NUL byte,
 * or fn's own error. */
int conffile_parse(char *text, size_t len, const char *path, conffile_fn fn,
                   void *arg, char *err, size_t errlen);

/* For config_load(): reads cfg->config and applies it, each own option
 * unless a flag or a variable gave it (checked all the same), each
 * [plugin] setting unless --set gave its key. 0, or -EINVAL with one
 * message in err ("FILE:LINE: unknown option 'wokers' (did you mean
 * 'workers'?)"). cfg's strings from the file stay valid until the next
 * call. */
int conffile_load(struct config *cfg, char *err, size_t errlen);

/* The same with the file's text given: takes text (malloc'd, len bytes),
 * which the next call frees. For conffile_load() and the fuzzer. */
int conffile_apply(struct config *cfg, char *text, size_t len, const char *path,
                   char *err, size_t errlen);

/* The master, before it starts a generation: reads cfg->config again. Its
 * [plugin] section replaces the file's settings in settings_current()
 * (--set ones stay); own options that differ from the start are logged in
 * one warning, for they need a restart. 0, or -EINVAL with the message in
 * err and nothing changed (the serving generation goes on). */
int conffile_reload(const struct config *cfg, char *err, size_t errlen);

/* Writes what a generation's workers read in place of cfg->config, in the
 * same format: the own options the file gave at start, and the [plugin]
 * settings of now. 0 or -errno. */
int conffile_write(FILE *f, const char *path);

/* Option i's values in the file read at start, '\n'-joined, or NULL. */
const char *conffile_values(int i);

#endif
