/*
 * replay.c - `mchost replay`: one request, from a crash bundle or a raw
 * request on stdin, through one worker inside this process. No fork, no
 * socket: the request goes into a detached conn (conn_feed()), the same
 * parser, guard and SDK handle it as in a server, and the response is
 * printed. So it runs as it is under `gdb --args`, valgrind, or with an
 * ASan build of the plugin.
 */
#define _GNU_SOURCE
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bundle.h"
#include "guard.h"
#include "log.h"
#include "parse.h"
#include "symbolize.h"
#include "worker.h"

#define INPUT_MAX (256u << 20)

static int usage(const char *msg) {
  fprintf(stderr,
          "mchost replay: %s\n"
          "usage: mchost replay FILE|- [--plugin SO] [--expect FILE] "
          "[mchost options]\n",
          msg);
  return EXIT_USAGE;
}

/* The whole of `path` ("-": stdin) into *out (malloc'd). */
static int slurp(const char *path, char **out, size_t *len) {
  int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  size_t n = 0, cap = 65536;
  char *buf = malloc(cap);

  if (fd < 0 || buf == NULL) {
    int e = fd < 0 ? errno : ENOMEM;
    free(buf);
    return -e;
  }
  for (;;) {
    ssize_t k;
    if (n == cap) {
      char *grown = cap < INPUT_MAX ? realloc(buf, cap *= 2) : NULL;
      if (grown == NULL) {
        free(buf);
        return -EFBIG;
      }
      buf = grown;
    }
    k = read(fd, buf + n, cap - n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      int e = errno;
      free(buf);
      return -e;
    }
    if (k == 0)
      break;
    n += (size_t)k;
  }
  if (fd != 0)
    close(fd);
  *out = buf;
  *len = n;
  return 0;
}

/* The bundle's plugin when --plugin is not given: the snapshot that ran,
 * while it exists, else the user's file; said when that is not the same
 * build. */
static const char *pick_plugin(const struct bundle *b) {
  char id[48];
  if (b->snapshot[0] != '\0' && access(b->snapshot, R_OK) == 0)
    return b->snapshot;
  if (b->plugin[0] == '\0')
    return NULL;
  if (b->fault.build_id[0] != '\0' &&
      symbolize_build_id(b->plugin, id, sizeof id) == 0 &&
      strcmp(id, b->fault.build_id) != 0)
    log_warn("'%s' is not the build that crashed (build-id %s, the bundle "
             "says %s): replaying against it anyway",
             b->plugin, id, b->fault.build_id);
  return b->plugin;
}

/* Feeds the request and runs the loop until every response is written
 * (deferred ones too) or the plugin faulted. */
static void run_request(struct worker *w, struct conn *c, const char *data,
                        size_t len) {
  size_t off = 0;
  while (!w->tainted) {
    if (off < len) {
      size_t k = conn_feed(c, data + off, len - off);
      off += k;
      if (k > 0)
        continue;
    }
    if (c->res->state == RES_IDLE &&
        (c->close_after || (off == len && c->rpos == c->rlen)))
      break;
    uv_run(&w->loop, UV_RUN_ONCE);
  }
}

static const char *line_end(const char *p, const char *end) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl : end;
}

/* The length of a line without its CR LF or LF. */
static size_t trim(const char *p, const char *eol) {
  size_t n = (size_t)(eol - p);
  return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

/* 1 if the head res[0..head_len) has the header line `line`. */
static int has_header(const char *res, const char *head_end, const char *line,
                      size_t len) {
  const char *colon = memchr(line, ':', len);
  size_t nlen, vlen;
  const char *value;

  if (colon == NULL)
    return 0;
  nlen = (size_t)(colon - line);
  value = colon + 1;
  while (value < line + len && *value == ' ')
    value++;
  vlen = (size_t)(line + len - value);
  for (const char *p = line_end(res, head_end) + 1; p < head_end;) {
    const char *eol = line_end(p, head_end), *v = p + nlen + 1;
    size_t n = trim(p, eol);
    if (n > nlen && p[nlen] == ':' && strncasecmp(p, line, nlen) == 0) {
      while (v < p + n && *v == ' ')
        v++;
      if ((size_t)(p + n - v) == vlen && memcmp(v, value, vlen) == 0)
        return 1;
    }
    p = eol + 1;
  }
  return 0;
}

int replay_expect(const char *res, size_t res_len, const char *want,
                  size_t want_len, char *why, size_t whylen) {
  const char *rend = res + res_len, *wend = want + want_len;
  const char *rhead = memmem(res, res_len, "\r\n\r\n", 4), *w = want, *eol;
  size_t n;

  if (rhead == NULL) {
    snprintf(why, whylen, "no whole response");
    return -1;
  }
  eol = line_end(w, wend);
  n = trim(w, eol);
  if (trim(res, line_end(res, rend)) != n || memcmp(res, w, n) != 0) {
    snprintf(why, whylen, "status line '%.*s', want '%.*s'",
             (int)trim(res, line_end(res, rend)), res, (int)n, w);
    return -1;
  }
  for (w = eol + 1; w < wend; w = eol + 1) {
    eol = line_end(w, wend);
    n = trim(w, eol);
    if (n == 0)
      break;
    if (!has_header(res, rhead + 2, w, n)) {
      snprintf(why, whylen, "no header line '%.*s'", (int)n, w);
      return -1;
    }
  }
  if (w < wend) {
    const char *body = rhead + 4, *wbody = eol + 1;
    size_t blen = (size_t)(rend - body), wlen = (size_t)(wend - wbody);
    if (wbody > wend)
      wlen = 0, wbody = wend;
    if (blen != wlen || memcmp(body, wbody, blen) != 0) {
      snprintf(why, whylen, "body '%.*s', want '%.*s'",
               (int)(blen > 200 ? 200 : blen), body,
               (int)(wlen > 200 ? 200 : wlen), wbody);
      return -1;
    }
  }
  return 0;
}

/* Splits --expect FILE off the arguments that config_load() reads. */
static int take_expect(int argc, char **argv, char **rest, int *nrest,
                       const char **expect) {
  *nrest = 0;
  rest[(*nrest)++] = argv[0];
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--expect") == 0) {
      if (i + 1 == argc)
        return -1;
      *expect = argv[++i];
    } else if (strncmp(argv[i], "--expect=", 9) == 0) {
      *expect = argv[i] + 9;
    } else {
      rest[(*nrest)++] = argv[i];
    }
  }
  rest[*nrest] = NULL;
  return 0;
}

static int replay_load(struct worker *w, const struct config *cfg,
                       const struct bundle *b, const char *plugin) {
  int err;
  w->cfg = cfg;
  w->replay = 1;
  w->plugin_path = plugin;
  w->nlisteners = 0;
  w->access.fd = -1;
  w->pub.id = 1;
  w->pub.generation = b->fault.generation ? b->fault.generation : 1;
  w->pub.pid = (int)getpid();
  w->pub.workers = 1;
  w->pub.loop = &w->loop;
  if ((err = uv_loop_init(&w->loop)) != 0) {
    log_error("cannot start an event loop: %s", uv_strerror(err));
    return EXIT_RUNTIME;
  }
  parse_settings_init(&w->settings);
  if ((err = guard_install()) != 0)
    log_warn("crash guard unavailable: %s", strerror(-err));
  return worker_load_plugin(w) == 0 ? EXIT_OK : EXIT_PLUGIN;
}

int replay_main(int argc, char **argv) {
  static struct worker w;
  static struct config cfg;
  struct bundle b;
  struct conn *c;
  char **rest = calloc((size_t)argc + 1, sizeof *rest), err[512];
  const char *expect = NULL, *plugin;
  static char real[PATH_MAX];
  char *data = NULL, *want = NULL;
  size_t len = 0, want_len = 0;
  int nrest, rc;

  if (rest == NULL)
    return EXIT_RUNTIME;
  if (argc < 2 || take_expect(argc, argv, rest, &nrest, &expect) != 0) {
    free(rest);
    return usage("a bundle file, or '-' for a raw request on stdin");
  }
  rc = config_load(&cfg, nrest, rest, 1, err, sizeof err);
  free(rest);
  if (rc != 0)
    return usage(err);
  log_init((int)cfg.log_level, "replay", (int)cfg.log_format);
  if ((rc = slurp(argv[1], &data, &len)) != 0) {
    fprintf(stderr, "mchost replay: cannot read '%s': %s\n", argv[1],
            strerror(-rc));
    return EXIT_USAGE;
  }
  if (bundle_parse(&b, data, len, err, sizeof err) != 0) {
    fprintf(stderr, "mchost replay: '%s': %s\n", argv[1], err);
    free(data);
    bundle_free(&b);
    return EXIT_USAGE;
  }
  free(data);
  plugin = cfg.plugin != NULL ? cfg.plugin : pick_plugin(&b);
  if (plugin == NULL) {
    bundle_free(&b);
    return usage("a raw request needs --plugin SO");
  }
  /* the loaded object's name as dladdr() will give it: fault_collect()
   * tells the plugin's frames by it */
  if (realpath(plugin, real) != NULL)
    plugin = real;
  if (expect != NULL && (rc = slurp(expect, &want, &want_len)) != 0) {
    fprintf(stderr, "mchost replay: cannot read '%s': %s\n", expect,
            strerror(-rc));
    bundle_free(&b);
    return EXIT_USAGE;
  }
  /* messages name the plugin as the server did, not its snapshot */
  if (cfg.plugin == NULL)
    cfg.plugin = b.plugin[0] != '\0' ? b.plugin : plugin;
  if ((rc = replay_load(&w, &cfg, &b, plugin)) != EXIT_OK) {
    bundle_free(&b);
    free(want);
    return rc;
  }
  if ((c = calloc(1, sizeof *c)) == NULL || conn_start_detached(c, &w) != 0) {
    log_error("out of memory");
    return EXIT_RUNTIME;
  }
  run_request(&w, c, b.request, b.request_len);
  if (want != NULL) {
    rc =
        replay_expect(c->out.data, c->out.len, want, want_len, err, sizeof err);
    if (rc != 0)
      fprintf(stderr, "mchost replay: %s: %s\n", expect, err);
  } else if (fwrite(c->out.data, 1, c->out.len, stdout) != c->out.len) {
    rc = -1;
  }
  fflush(stdout);
  bundle_free(&b);
  free(want);
  if (w.tainted)
    return EXIT_PLUGIN;
  return rc == 0 ? EXIT_OK : EXIT_RUNTIME;
}
