/* config.c - defaults, MCHOST_* variables and flags into struct config. */
#include "config.h"

#include "conffile.h"
#include "listen.h"
#include "log.h"
#include "mchost.h"
#include "settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct option_def {
  const char *name;
  enum config_kind kind;
  size_t offset;
  const char *metavar;
  const char *def;
  const char *help;
};

#define X(name, kind, field, metavar, def, help)                               \
  {name, kind, offsetof(struct config, field), metavar, def, help},
static const struct option_def options[] = {CONFIG_OPTIONS(X)};
#undef X

#define N_OPTIONS (sizeof options / sizeof options[0])

const char *config_kind_value(enum config_kind k) {
  switch (k) {
  case OPT_PORT:
    return "a port number (0-65535)";
  case OPT_COUNT:
    return "a whole number between 1 and 1024";
  case OPT_UINT:
    return "a whole number";
  case OPT_SIZE:
    return "a size (try 512, 64K or 1M)";
  case OPT_DURATION:
    return "a duration in seconds (try 30, 0.5 or 250ms)";
  case OPT_LOGLEVEL:
    return "a log level (error, warn, info or debug)";
  case OPT_FLAG:
    return "yes or no (try 1 or 0)";
  case OPT_MS:
    return "a duration in milliseconds (try 100 or 0.5s)";
  case OPT_FORMAT:
    return "a log format (text or json)";
  case OPT_TRUST:
    return "a comma-separated list of addresses, CIDRs (10.0.0.0/8, "
           "fd00::/8) or unix, at most 64";
  case OPT_HEADER:
    return "X-Forwarded-For, Forwarded or X-Real-IP";
  case OPT_ADDR:
    return "ADDR:PORT (try 127.0.0.1:9100 or [::1]:9100)";
  case OPT_LISTEN:
    return "ADDR:PORT, [IPv6]:PORT or unix:PATH (try 127.0.0.1:3000 or "
           "unix:/run/mchost.sock; a path has at most 107 bytes)";
  case OPT_MODE:
    return "permission bits in octal, 1 to 0777 (try 0660)";
  case OPT_SETTING:
    return settings_rules;
  case OPT_LIST:
  case OPT_STRING:
    break;
  }
  return "valid";
}

int config_parse_uint(const char *s, uint64_t min, uint64_t max,
                      uint64_t *out) {
  char *end;
  unsigned long long v;

  if (s == NULL || !isdigit((unsigned char)s[0]))
    return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (*end != '\0')
    return -EINVAL;
  if (errno == ERANGE || v < min || v > max)
    return -ERANGE;
  *out = v;
  return 0;
}

int config_parse_int64(const char *s, int64_t *out) {
  int negative = s[0] == '-', err;
  uint64_t v;

  if ((err = config_parse_uint(s + (s[0] == '-' || s[0] == '+'), 0,
                               negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX,
                               &v)) < 0)
    return err;
  *out = negative ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

int config_parse_size(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;
  uint64_t mul = 1;

  if (s == NULL || !isdigit((unsigned char)s[0]))
    return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno == ERANGE)
    return -ERANGE;
  switch (toupper((unsigned char)*end)) {
  case '\0':
    break;
  case 'K':
    mul = 1024;
    break;
  case 'M':
    mul = 1024 * 1024;
    break;
  case 'G':
    mul = 1024 * 1024 * 1024;
    break;
  default:
    return -EINVAL;
  }
  if (*end != '\0' && end[1] != '\0' && strcasecmp(end + 1, "B") != 0)
    return -EINVAL;
  if (v > UINT64_MAX / mul)
    return -ERANGE;
  *out = v * mul;
  return 0;
}

int config_parse_duration(const char *s, uint64_t *out_ms) {
  char *end;
  double v;

  if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
    return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if (errno == ERANGE || v > 1e7)
    return -ERANGE;
  if (strcmp(end, "ms") == 0)
    v /= 1000.0;
  else if (*end != '\0' && strcmp(end, "s") != 0)
    return -EINVAL;
  *out_ms = (uint64_t)(v * 1000.0 + 0.5);
  return 0;
}

int config_parse_bool(const char *s, uint64_t *out) {
  static const char *const yes[] = {"1", "yes", "true", "on"};
  static const char *const no[] = {"0", "no", "false", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0)
      return *out = 1, 0;
    if (strcasecmp(s, no[i]) == 0)
      return *out = 0, 0;
  }
  return -EINVAL;
}

int config_parse_addr(const char *s, struct sockaddr_storage *out) {
  char host[INET6_ADDRSTRLEN + 2];
  const char *colon = s != NULL ? strrchr(s, ':') : NULL;
  size_t hlen;
  uint64_t port;
  int err;

  if (colon == NULL || (hlen = (size_t)(colon - s)) == 0 || hlen >= sizeof host)
    return -EINVAL;
  if ((err = config_parse_uint(colon + 1, 0, 65535, &port)) != 0)
    return err;
  memcpy(host, s, hlen);
  host[hlen] = '\0';
  memset(out, 0, sizeof *out);
  if (host[0] == '[' && host[hlen - 1] == ']') {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    host[hlen - 1] = '\0';
    if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
      return -EINVAL;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    return 0;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
    return -EINVAL;
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)port);
  return 0;
}

static int parse_ms(const char *s, uint64_t *out) {
  char *end;
  /* a bare number means milliseconds here, as in master-cluster's cooldown */
  if (s[0] != '\0' && isdigit((unsigned char)s[0]) &&
      (strtoull(s, &end, 10), *end == '\0'))
    return config_parse_uint(s, 0, 3600000, out);
  return config_parse_duration(s, out);
}

static int list_add(struct config_list *l, const char *value) {
  if (value[0] == '\0')
    return -EINVAL;
  if (l->n == CONFIG_LIST_MAX)
    return -ERANGE;
  l->v[l->n++] = value;
  return 0;
}

int config_parse_log_level(const char *s, uint64_t *out) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (s != NULL && strcasecmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  }
  return -EINVAL;
}

static int set_value(struct config *cfg, const struct option_def *o,
                     const char *value) {
  void *field = (char *)cfg + o->offset;
  uint64_t *num = field;

  switch (o->kind) {
  case OPT_STRING:
    if (value[0] == '\0')
      return -EINVAL;
    *(const char **)field = value;
    return 0;
  case OPT_PORT:
    return config_parse_uint(value, 0, 65535, num);
  case OPT_COUNT:
    return config_parse_uint(value, 1, 1024, num);
  case OPT_UINT:
    return config_parse_uint(value, 0, UINT32_MAX, num);
  case OPT_SIZE:
    return config_parse_size(value, num);
  case OPT_DURATION:
    return config_parse_duration(value, num);
  case OPT_LOGLEVEL:
    return config_parse_log_level(value, num);
  case OPT_FLAG:
    return config_parse_bool(value, num);
  case OPT_MS:
    return parse_ms(value, num);
  case OPT_FORMAT:
    if (strcmp(value, "text") == 0 || strcmp(value, "json") == 0)
      return *num = value[0] == 'j', 0;
    return -EINVAL;
  case OPT_LIST:
    return list_add(field, value);
  case OPT_TRUST:
    return forwarded_add_trusted(field, value);
  case OPT_HEADER:
    return forwarded_parse_kind(value, num);
  case OPT_LISTEN:
    return listen_parse_spec(value) == 0 ? list_add(field, value) : -EINVAL;
  case OPT_MODE:
    return listen_parse_mode(value, num);
  case OPT_ADDR: {
    struct sockaddr_storage ss;
    int err = config_parse_addr(value, &ss);
    if (err == 0)
      *(const char **)field = value;
    return err;
  }
  case OPT_SETTING:
    return settings_put_arg(*(struct settings **)field, value, SETTINGS_FLAG);
  }
  return -EINVAL;
}

int config_fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

static const struct option_def *find_option(const char *name, size_t len) {
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (strlen(options[i].name) == len &&
        strncmp(options[i].name, name, len) == 0)
      return &options[i];
  return NULL;
}

int config_option_find(const char *name) {
  const struct option_def *o = find_option(name, strlen(name));
  return o != NULL ? (int)(o - options) : -1;
}

const char *config_option_name(int i) { return options[i].name; }

enum config_kind config_option_kind(int i) { return options[i].kind; }

int config_option_apply(struct config *cfg, int i, const char *value) {
  return set_value(cfg, &options[i], value);
}

static int fold(char c) { return c == '_' ? '-' : tolower((unsigned char)c); }

/* Edit distance of a and b[0..blen) with adjacent transpositions ("prot"
 * and "port" are 1 apart), case-insensitive, '_' the same as '-'. Names
 * longer than 63 bytes are far from every option. */
static size_t distance(const char *a, const char *b, size_t blen) {
  size_t alen = strlen(a);
  unsigned char d[64][64];
  if (alen >= 64 || blen >= 64)
    return SIZE_MAX;
  for (size_t i = 0; i <= alen; i++)
    d[i][0] = (unsigned char)i;
  for (size_t j = 0; j <= blen; j++)
    d[0][j] = (unsigned char)j;
  for (size_t i = 1; i <= alen; i++) {
    for (size_t j = 1; j <= blen; j++) {
      unsigned v = d[i - 1][j - 1] + (fold(a[i - 1]) != fold(b[j - 1]));
      if (d[i - 1][j] + 1u < v)
        v = d[i - 1][j] + 1u;
      if (d[i][j - 1] + 1u < v)
        v = d[i][j - 1] + 1u;
      if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
          fold(a[i - 2]) == fold(b[j - 1]) && d[i - 2][j - 2] + 1u < v)
        v = d[i - 2][j - 2] + 1u;
      d[i][j] = (unsigned char)v;
    }
  }
  return d[alen][blen];
}

int config_closest(const char *name, size_t len) {
  size_t best = SIZE_MAX;
  int at = -1;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    size_t d = distance(options[i].name, name, len);
    if (d < best) {
      best = d;
      at = (int)i;
    }
  }
  /* a third of the name may be wrong, and one letter of a short one */
  return best <= len / 3 + 1 ? at : -1;
}

/* " (did you mean --port?)", or "" when no option is close. */
static const char *did_you_mean(const char *name, size_t len, char *buf,
                                size_t buflen) {
  int i = config_closest(name, len);
  if (i < 0)
    return "";
  snprintf(buf, buflen, " (did you mean --%s?)", options[i].name);
  return buf;
}

void config_env_name(const char *opt, char *out, size_t outlen) {
  size_t n = (size_t)snprintf(out, outlen, "MCHOST_");
  for (; *opt != '\0' && n + 1 < outlen; opt++)
    out[n++] = *opt == '-' ? '_' : (char)toupper((unsigned char)*opt);
  out[n] = '\0';
}

static int load_defaults_and_env(struct config *cfg, char *err, size_t errlen) {
  char name[64];
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  memset(cfg, 0, sizeof *cfg);
  cfg->workers = ncpu > 0 ? (uint64_t)ncpu : 1;
  cfg->settings = settings_current();
  settings_clear(cfg->settings, SETTINGS_ALL);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const struct option_def *o = &options[i];
    const char *v;
    if (o->def != NULL && set_value(cfg, o, o->def) != 0)
      return config_fail(err, errlen, "internal: bad default for --%s",
                         o->name);
    if (o->kind == OPT_SETTING)
      continue; /* no variable: values hold any character, ':' too */
    config_env_name(o->name, name, sizeof name);
    v = getenv(name);
    if (v == NULL)
      continue;
    if (o->kind == OPT_LIST || o->kind == OPT_LISTEN) {
      /* A copy split in place; it lives as long as the process. Addresses
       * hold ':', so listeners are separated by spaces. */
      const char *sep = o->kind == OPT_LIST ? ":" : " \t\n";
      char *copy = strdup(v), *save = NULL, *tok;
      if (copy == NULL)
        return config_fail(err, errlen, "%s: out of memory", name);
      for (tok = strtok_r(copy, sep, &save); tok != NULL;
           tok = strtok_r(NULL, sep, &save)) {
        if (set_value(cfg, o, tok) == 0)
          continue;
        /* The message first: tok is in the copy. Nothing is kept from a
         * configuration that fails. */
        if (o->kind == OPT_LIST)
          config_fail(err, errlen, "%s='%s': too many entries", name, v);
        else
          config_fail(err, errlen, "%s='%s': '%s' is not %s", name, v, tok,
                      config_kind_value(o->kind));
        free(copy);
        return -EINVAL;
      }
    } else if (set_value(cfg, o, v) != 0) {
      return config_fail(err, errlen, "%s='%s': not %s", name, v,
                         config_kind_value(o->kind));
    }
    cfg->set |= 1ull << i;
  }
  return 0;
}

static int option_was_set(const struct config *cfg, const char *name) {
  const struct option_def *o = find_option(name, strlen(name));
  return o != NULL && (cfg->set & (1ull << (o - options)));
}

/* master-cluster's rule: NODE_ENV=dev turned reload on; MCHOST_ENV=dev*
 * does here. */
static void config_derive(struct config *cfg) {
  const char *env = getenv("MCHOST_ENV");
  int dev_env = env != NULL && strncmp(env, "dev", 3) == 0;

  cfg->reload_on = !cfg->no_reload && (cfg->reload || cfg->dev || dev_env);
  cfg->listen_host_port = cfg->listen.n == 0 || option_was_set(cfg, "host") ||
                          option_was_set(cfg, "port");
  if (cfg->dev && !option_was_set(cfg, "log-level"))
    cfg->log_level = MC_LOG_DEBUG;
  if (cfg->dev && !option_was_set(cfg, "crash-dir"))
    cfg->crash_dir = "mchost-crashes";
  if (cfg->crash_dir != NULL && strcmp(cfg->crash_dir, "off") == 0)
    cfg->crash_dir = NULL;
}

int config_load(struct config *cfg, int argc, char **argv, int first, char *err,
                size_t errlen) {
  int rc = load_defaults_and_env(cfg, err, errlen);
  if (rc != 0)
    return rc;

  for (int i = first; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq, *value;
    const struct option_def *o;
    char hint[64];
    size_t len;

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cfg->show_help = 1;
      continue;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
      cfg->show_version = 1;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0)
      return config_fail(
          err, errlen, "unexpected argument '%s' (options start with --)", arg);
    eq = strchr(arg + 2, '=');
    len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    o = find_option(arg + 2, len);
    if (o == NULL)
      return config_fail(err, errlen, "unknown option '%.*s'%s", (int)len + 2,
                         arg, did_you_mean(arg + 2, len, hint, sizeof hint));
    if (o->kind == OPT_FLAG && eq == NULL) {
      value = "1";
    } else if (eq != NULL) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return config_fail(err, errlen, "option '--%s' needs a value (%s)",
                         o->name, o->metavar);
    }
    if (set_value(cfg, o, value) != 0)
      return config_fail(err, errlen, "--%s '%s': not %s", o->name, value,
                         config_kind_value(o->kind));
    cfg->set |= 1ull << (o - options);
  }
  if (cfg->config != NULL && (rc = conffile_load(cfg, err, errlen)) != 0)
    return rc;
  config_derive(cfg);
  return 0;
}

/* Variables that mchost, its tests and its benchmark read besides the
 * options' own: not typos. */
static const char *const other_env[] = {"MCHOST_ENV", "MCHOST_BUILD",
                                        "MCHOST_BUILD_DIR", "MCHOST_BASELINE",
                                        "MCHOST_MALLOC_COUNT_DIR"};

static int known_env(const char *name, size_t len) {
  char env[64];
  if (len > 12 && strncmp(name, "MCHOST_TEST_", 12) == 0)
    return 1;
  for (size_t i = 0; i < sizeof other_env / sizeof other_env[0]; i++)
    if (strlen(other_env[i]) == len && strncmp(other_env[i], name, len) == 0)
      return 1;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    config_env_name(options[i].name, env, sizeof env);
    if (options[i].kind != OPT_SETTING && strlen(env) == len &&
        strncmp(env, name, len) == 0)
      return 1;
  }
  return 0;
}

void config_warn_unknown_env(void) {
  extern char **environ;
  char env[64];

  for (char **e = environ; *e != NULL; e++) {
    size_t len = strcspn(*e, "=");
    int i;
    if (strncmp(*e, "MCHOST_", 7) != 0 || known_env(*e, len))
      continue;
    i = config_closest(*e + 7, len - 7);
    if (i >= 0 && options[i].kind != OPT_SETTING) {
      config_env_name(options[i].name, env, sizeof env);
      log_warn("%.*s is not an mchost variable (did you mean %s?)", (int)len,
               *e, env);
    } else {
      log_warn("%.*s is not an mchost variable (see mchost --help)", (int)len,
               *e);
    }
  }
}
