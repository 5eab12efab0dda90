/* settings.h - the plugin's own settings (--set KEY=VALUE and the [plugin]
 * section of --config FILE), the table that mc_config() reads. */
#ifndef MCHOST_SETTINGS_H
#define MCHOST_SETTINGS_H

#include <stddef.h>

#include "mchost.h"

/* Where a setting came from: a --set flag wins over the file. */
enum settings_from { SETTINGS_FLAG = 1, SETTINGS_FILE = 2 };
#define SETTINGS_ALL (SETTINGS_FLAG | SETTINGS_FILE)

struct setting {
  char *key, *value; /* owned by the table */
  enum settings_from from;
};

struct settings {
  struct setting v[MC_CONFIG_MAX];
  size_t n;
};

/* The process's table: what mc_config() reads. config_load() fills it; a
 * worker never changes it after loading the plugin; the master replaces it
 * on reload (settings_move()). */
struct settings *settings_current(void);

/* Stores a copy of key (keylen bytes) and value (vlen bytes). A key set
 * again takes the new value, except that a file's value never replaces a
 * flag's (then 0 and nothing changes). 0; -EINVAL: not a valid key (see
 * MC_CONFIG_KEY_MAX in sdk/mchost/core.h), or a NUL in the value; -E2BIG: value
 * over MC_CONFIG_VALUE_MAX; -ENOSPC: MC_CONFIG_MAX keys already; -ENOMEM. */
int settings_put(struct settings *s, const char *key, size_t keylen,
                 const char *value, size_t vlen, enum settings_from from);

/* "KEY=VALUE", as --set takes it: settings_put() of its two halves;
 * -EINVAL also without '='. */
int settings_put_arg(struct settings *s, const char *kv,
                     enum settings_from from);

/* The value of key, or NULL. */
const char *settings_get(const struct settings *s, const char *key);

/* Drops (and frees) the settings that came from `from` (a mask). */
void settings_clear(struct settings *s, int from);

/* Copies the settings from `from` (a mask) of src into dst (emptied
 * first). 0 or -ENOMEM (dst is then empty). */
int settings_copy(struct settings *dst, const struct settings *src, int from);

/* dst takes src's settings (dst's are freed); src is left empty. */
void settings_move(struct settings *dst, struct settings *src);

/* What a valid KEY=VALUE is, for messages and --help. */
extern const char settings_rules[];

#endif
