/* conffile.c - the --config FILE: its syntax, applying it to a config and
 * the plugin's settings, reading it again on reload, and the copy each
 * generation's workers read. */
#include "conffile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "settings.h"

/* What the file said when mchost started: cfg's strings point into text,
 * and a reload compares its own options with values. One per process,
 * like its config. */
static struct {
  char *text;
  char *values[CONFIG_NOPTIONS]; /* option i's values, '\n'-joined */
  uint64_t given;                /* options given by flag or variable */
} start;

/* ---- the syntax ---- */

static char *trim(char *s, char *end) {
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
    s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  *end = '\0';
  return s;
}

static int parse_line(char *s, char *end, enum conffile_section *section,
                      conffile_fn fn, void *arg, char *err, size_t errlen) {
  char *eq, *name, *value;
  size_t n;

  s = trim(s, end);
  if (s[0] == '\0' || s[0] == '#')
    return 0;
  n = strlen(s);
  if (s[0] == '[' && s[n - 1] == ']') {
    name = trim(s + 1, s + n - 1);
    if (strcmp(name, "plugin") != 0)
      return config_fail(
          err, errlen,
          "unknown section '[%s]' (the only section is [plugin], "
          "for the plugin's settings)",
          name);
    *section = CONFFILE_PLUGIN;
    return 0;
  }
  if ((eq = strchr(s, '=')) == NULL)
    return config_fail(err, errlen, "'%s' is not NAME = VALUE", s);
  name = trim(s, eq);
  value = trim(eq + 1, s + n);
  if (name[0] == '\0')
    return config_fail(err, errlen, "'= %s' has no name", value);
  n = strlen(value);
  if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
    value[n - 1] = '\0';
    value++;
  }
  return fn(arg, *section, name, value, err, errlen);
}

int conffile_parse(char *text, size_t len, const char *path, conffile_fn fn,
                   void *arg, char *err, size_t errlen) {
  enum conffile_section section = CONFFILE_OWN;
  char msg[512];
  unsigned line = 1;

  for (char *s = text, *end = text + len; s < end; line++) {
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *eol = nl != NULL ? nl : end;
    int rc;
    if (memchr(s, '\0', (size_t)(eol - s)) != NULL)
      rc = config_fail(msg, sizeof msg, "a NUL byte (not a text file?)");
    else
      rc = parse_line(s, eol, &section, fn, arg, msg, sizeof msg);
    if (rc != 0) {
      snprintf(err, errlen, "%s:%u: %s", path, line, msg);
      return -EINVAL;
    }
    s = eol + 1;
  }
  return 0;
}

/* ---- the meaning ---- */

struct load {
  struct config *cfg;    /* where own options go; NULL: only checked */
  struct config scratch; /* where checked-only options go */
  uint64_t given;        /* options a flag or a variable gave */
  char *values[CONFIG_NOPTIONS];
  struct settings *settings; /* where [plugin] goes */
};

static void values_free(char **values) {
  for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
    free(values[i]);
    values[i] = NULL;
  }
}

/* Appends value to *joined ("a\nb"). */
static int join(char **joined, const char *value) {
  size_t had = *joined != NULL ? strlen(*joined) + 1 : 0;
  char *s = realloc(*joined, had + strlen(value) + 1);
  if (s == NULL)
    return -ENOMEM;
  if (had > 0)
    s[had - 1] = '\n';
  strcpy(s + had, value);
  *joined = s;
  return 0;
}

static int on_own(struct load *l, const char *name, const char *value,
                  char *err, size_t errlen) {
  int i = config_option_find(name);
  struct config *to;

  if (i < 0) {
    int near = config_closest(name, strlen(name));
    if (near >= 0)
      return config_fail(err, errlen,
                         "unknown option '%s' (did you mean '%s'?)", name,
                         config_option_name(near));
    return config_fail(err, errlen,
                       "unknown option '%s' (a plugin's setting goes under "
                       "[plugin]; see mchost --help)",
                       name);
  }
  if (i == CONFIG_OPT_config || config_option_kind(i) == OPT_SETTING)
    return config_fail(
        err, errlen,
        "'%s' cannot be set in the file (the plugin's settings go "
        "under [plugin], as KEY = VALUE)",
        name);
  to = l->cfg != NULL && !(l->given & (1ull << i)) ? l->cfg : &l->scratch;
  if (config_option_apply(to, i, value) != 0)
    return config_fail(err, errlen, "%s = '%s': not %s", name, value,
                       config_kind_value(config_option_kind(i)));
  if (to == l->cfg)
    l->cfg->set |= 1ull << i;
  if (join(&l->values[i], value) != 0)
    return config_fail(err, errlen, "out of memory");
  return 0;
}

static int on_entry(void *arg, enum conffile_section section, const char *name,
                    const char *value, char *err, size_t errlen) {
  struct load *l = arg;
  int rc;

  if (section == CONFFILE_OWN)
    return on_own(l, name, value, err, errlen);
  rc = settings_put(l->settings, name, strlen(name), value, strlen(value),
                    SETTINGS_FILE);
  if (rc == -ENOMEM)
    return config_fail(err, errlen, "out of memory");
  if (rc != 0)
    return config_fail(err, errlen, "'%s = %.32s%s' is not %s", name, value,
                       strlen(value) > 32 ? "..." : "", settings_rules);
  return 0;
}

static int read_text(const char *path, char **text, size_t *len, char *err,
                     size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf = NULL;
  size_t n = 0;
  ssize_t k = 1;

  if (fd < 0)
    return config_fail(err, errlen, "--config '%s': %s", path, strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return config_fail(err, errlen, "--config '%s': not a regular file", path);
  }
  /* one byte more than allowed tells a file that is too long */
  if ((buf = malloc(CONFFILE_MAX + 1)) != NULL)
    while (n <= CONFFILE_MAX &&
           (k = read(fd, buf + n, CONFFILE_MAX + 1 - n)) > 0)
      n += (size_t)k;
  close(fd);
  if (buf == NULL || k < 0 || n > CONFFILE_MAX) {
    free(buf);
    return config_fail(err, errlen, "--config '%s': %s", path,
                       buf == NULL        ? "out of memory"
                       : n > CONFFILE_MAX ? "larger than 1 MiB"
                                          : strerror(errno));
  }
  *text = buf;
  *len = n;
  return 0;
}

int conffile_apply(struct config *cfg, char *text, size_t len, const char *path,
                   char *err, size_t errlen) {
  struct load *l = calloc(1, sizeof *l);
  int rc;

  values_free(start.values);
  free(start.text);
  start.text = text;
  start.given = cfg->set;
  if (l == NULL)
    return config_fail(err, errlen, "out of memory");
  l->cfg = cfg;
  l->given = cfg->set;
  l->settings = cfg->settings;
  rc = conffile_parse(text, len, path, on_entry, l, err, errlen);
  memcpy(start.values, l->values, sizeof start.values);
  free(l);
  return rc;
}

int conffile_load(struct config *cfg, char *err, size_t errlen) {
  char *text;
  size_t len;
  int rc = read_text(cfg->config, &text, &len, err, errlen);
  return rc != 0 ? rc
                 : conffile_apply(cfg, text, len, cfg->config, err, errlen);
}

/* ---- reload ---- */

static int differs(const char *a, const char *b) {
  return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static void warn_changed(const char *path, char **now) {
  char names[512];
  size_t n = 0;

  names[0] = '\0';
  for (int i = 0; i < CONFIG_NOPTIONS; i++)
    if (!(start.given & (1ull << i)) && differs(start.values[i], now[i]) &&
        n < sizeof names)
      n += (size_t)snprintf(names + n, sizeof names - n, "%s%s",
                            n > 0 ? ", " : "", config_option_name(i));
  if (n > 0)
    log_warn("%s: %s changed: mchost's own options take effect at the next "
             "restart; a reload reads only the [plugin] section again",
             path, names);
}

int conffile_reload(const struct config *cfg, char *err, size_t errlen) {
  struct load *l = calloc(1, sizeof *l);
  struct settings *next = calloc(1, sizeof *next);
  char *text = NULL;
  size_t len;
  int rc =
      l == NULL || next == NULL ? config_fail(err, errlen, "out of memory") : 0;

  if (rc == 0)
    rc = settings_copy(next, settings_current(), SETTINGS_FLAG) != 0
             ? config_fail(err, errlen, "out of memory")
             : read_text(cfg->config, &text, &len, err, errlen);
  if (rc == 0) {
    l->settings = next;
    rc = conffile_parse(text, len, cfg->config, on_entry, l, err, errlen);
  }
  if (rc == 0) {
    warn_changed(cfg->config, l->values);
    settings_move(settings_current(), next);
  }
  if (l != NULL)
    values_free(l->values);
  if (next != NULL)
    settings_clear(next, SETTINGS_ALL);
  free(next);
  free(l);
  free(text);
  return rc;
}

/* ---- the generation's copy ---- */

int conffile_write(FILE *f, const char *path) {
  const struct settings *s = settings_current();

  fprintf(f,
          "# %s as mchost's workers read it: the options as at start, "
          "[plugin] as at the last reload\n",
          path);
  for (int i = 0; i < CONFIG_NOPTIONS; i++) {
    for (const char *v = start.values[i]; v != NULL;) {
      const char *nl = strchr(v, '\n');
      int n = nl != NULL ? (int)(nl - v) : (int)strlen(v);
      /* quoted: the value comes back exactly, spaces and quotes included */
      fprintf(f, "%s = \"%.*s\"\n", config_option_name(i), n, v);
      v = nl != NULL ? nl + 1 : NULL;
    }
  }
  fprintf(f, "[plugin]\n");
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].from == SETTINGS_FILE)
      fprintf(f, "%s = \"%s\"\n", s->v[i].key, s->v[i].value);
  return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}

const char *conffile_values(int i) { return start.values[i]; }
