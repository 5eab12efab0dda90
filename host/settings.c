/* settings.c - the plugin's own settings and the SDK calls that read them
 * (mc_config(), mc_config_int()). */
#include "settings.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Process-wide by nature: mc_config() has no context argument. Written
 * before the plugin is loaded, read-only in a worker from then on, which is
 * what lets any thread of the plugin read it. */
static struct settings current;

const char settings_rules[] =
    "KEY=VALUE, a KEY of 1-64 letters, digits, '_', '-' or '.', a VALUE of "
    "at most 4096 bytes, 256 keys at most";

struct settings *settings_current(void) {
  return &current;
}

static int valid_key(const char *key, size_t len) {
  static const char extra[] = "_-.";
  if (len == 0 || len > MC_CONFIG_KEY_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)key[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if (!alnum && (c == '\0' || strchr(extra, c) == NULL))
      return 0;
  }
  return 1;
}

/* The index of key in s, or s->n. */
static size_t find(const struct settings *s, const char *key, size_t len) {
  size_t i = 0;
  while (i < s->n &&
         !(strncmp(s->v[i].key, key, len) == 0 && s->v[i].key[len] == '\0'))
    i++;
  return i;
}

int settings_put(struct settings *s, const char *key, size_t keylen,
                 const char *value, size_t vlen, enum settings_from from) {
  struct setting *e;
  size_t i;
  char *v;

  if (!valid_key(key, keylen) || memchr(value, '\0', vlen) != NULL)
    return -EINVAL;
  if (vlen > MC_CONFIG_VALUE_MAX)
    return -E2BIG;
  i = find(s, key, keylen);
  e = i < s->n ? &s->v[i] : NULL;
  if (e != NULL && e->from == SETTINGS_FLAG && from == SETTINGS_FILE)
    return 0;
  if (e == NULL && s->n == MC_CONFIG_MAX)
    return -ENOSPC;
  if ((v = strndup(value, vlen)) == NULL)
    return -ENOMEM;
  if (e == NULL) {
    e = &s->v[s->n];
    if ((e->key = strndup(key, keylen)) == NULL) {
      free(v);
      return -ENOMEM;
    }
    s->n++;
  } else {
    free(e->value);
  }
  e->value = v;
  e->from = from;
  return 0;
}

int settings_put_arg(struct settings *s, const char *kv,
                     enum settings_from from) {
  const char *eq = strchr(kv, '=');
  if (eq == NULL)
    return -EINVAL;
  return settings_put(s, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1), from);
}

const char *settings_get(const struct settings *s, const char *key) {
  size_t i = key != NULL ? find(s, key, strlen(key)) : s->n;
  return i < s->n ? s->v[i].value : NULL;
}

void settings_clear(struct settings *s, int from) {
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (s->v[i].from & from) {
      free(s->v[i].key);
      free(s->v[i].value);
    } else {
      s->v[k++] = s->v[i];
    }
  }
  s->n = k;
}

int settings_copy(struct settings *dst, const struct settings *src, int from) {
  settings_clear(dst, SETTINGS_ALL);
  for (size_t i = 0; i < src->n; i++) {
    const struct setting *e = &src->v[i];
    if ((e->from & from) && settings_put(dst, e->key, strlen(e->key), e->value,
                                         strlen(e->value), e->from) != 0) {
      settings_clear(dst, SETTINGS_ALL);
      return -ENOMEM;
    }
  }
  return 0;
}

void settings_move(struct settings *dst, struct settings *src) {
  settings_clear(dst, SETTINGS_ALL);
  memcpy(dst->v, src->v, src->n * sizeof src->v[0]);
  dst->n = src->n;
  src->n = 0;
}

/* ---- the SDK ---- */

MC_EXTERN const char *mc_config(const char *key) {
  return settings_get(&current, key);
}

MC_EXTERN int mc_config_int(const char *key, int64_t *out) {
  const char *v = settings_get(&current, key);
  return v != NULL ? config_parse_int64(v, out) : -ENOENT;
}
