/* test_conffile.c - the --config FILE as a user writes it: its syntax,
 * where its values go, which source wins, the one message of a bad line,
 * the copy a generation's workers read, and a reload of [plugin]. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "deconst.h"
#include "settings.h"

static char path[64];

static void file_init(void) {
  int fd;
  snprintf(path, sizeof path, "/tmp/mchost-conffile-XXXXXX");
  fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  unsetenv("MCHOST_WORKERS");
  unsetenv("MCHOST_MAX_BODY");
  unsetenv("MCHOST_CONFIG");
}

static void file_fini(void) { unlink(path); }

static void put(const char *text, size_t len) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(text, 1, len, f), len);
  fclose(f);
}
#define PUT(s) put(s, sizeof s - 1)

/* config_load() of "mchost --config PATH" and then `extra`. */
static int load(struct config *cfg, char *err, size_t errlen,
                const char *const *extra) {
  char *argv[16] = {"mchost", "--config", path};
  int argc = 3;
  for (; extra != NULL && *extra != NULL; extra++)
    argv[argc++] = DECONST(char *, *extra);
  err[0] = '\0';
  return config_load(cfg, argc, argv, 1, err, errlen);
}

Test(conffile, options_and_the_plugin_section, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  PUT("# mchost\n"
      "\n"
      "  workers = 3  \n"
      "max-body=8M\r\n"
      "watch = src\n"
      "watch = include\n"
      "\t# an indented comment\n"
      "[plugin]\n"
      "db = /var/lib/app.db\n"
      "url = http://x/?a=b#frag\n"
      "padded = \"  two spaces  \"\n"
      "empty =\n"
      "quoted-empty = \"\"\n"
      "half = \"open\n"
      "[ plugin ]\n"
      "db = /srv/app.db"); /* no newline at the end */
  cr_assert_eq(load(&cfg, err, sizeof err, NULL), 0, "%s", err);
  cr_expect_eq(cfg.workers, 3);
  cr_expect_eq(cfg.max_body, 8 * 1024 * 1024, "CRLF line ends are trimmed");
  cr_assert_eq(cfg.watch.n, 2, "a repeatable option repeats in the file");
  cr_expect_str_eq(cfg.watch.v[1], "include");
  cr_expect_str_eq(mc_config("db"), "/srv/app.db", "the last line wins");
  cr_expect_str_eq(mc_config("url"), "http://x/?a=b#frag",
                   "a # after the start of a line is part of the value");
  cr_expect_str_eq(mc_config("padded"), "  two spaces  ");
  cr_expect_str_eq(mc_config("empty"), "");
  cr_expect_str_eq(mc_config("quoted-empty"), "");
  cr_expect_str_eq(mc_config("half"), "\"open", "one quote stays");
}

Test(conffile, flags_then_variables_then_file_then_defaults, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  PUT("workers = 3\nmax-body = 2K\nkill-timeout = 7\n"
      "[plugin]\ndb = file\npool = 4\n");
  setenv("MCHOST_WORKERS", "5", 1);
  setenv("MCHOST_MAX_BODY", "4K", 1);
  cr_assert_eq(
      load(&cfg, err, sizeof err,
           (const char *const[]){"--workers", "9", "--set", "db=flag", NULL}),
      0, "%s", err);
  cr_expect_eq(cfg.workers, 9, "a flag wins over the variable and the file");
  cr_expect_eq(cfg.max_body, 4096, "a variable wins over the file");
  cr_expect_eq(cfg.kill_timeout_ms, 7000, "the file wins over the default");
  cr_expect_eq(cfg.request_timeout_ms, 30000, "the default");
  cr_expect_str_eq(mc_config("db"), "flag", "--set wins over [plugin]");
  cr_expect_str_eq(mc_config("pool"), "4");
}

Test(conffile, config_comes_from_its_variable_too, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  char *argv[] = {"mchost"};
  PUT("port = 8081\n");
  setenv("MCHOST_CONFIG", path, 1);
  cr_assert_eq(config_load(&cfg, 1, argv, 1, err, sizeof err), 0, "%s", err);
  cr_expect_eq(cfg.port, 8081);
  unsetenv("MCHOST_CONFIG");
}

Test(conffile, dev_leaves_the_files_log_level, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  PUT("log-level = warn\n");
  cr_assert_eq(
      load(&cfg, err, sizeof err, (const char *const[]){"--dev", NULL}), 0,
      "%s", err);
  cr_expect_eq(cfg.log_level, MC_LOG_WARN);
}

/* Arrays, not pointers: Criterion hands the parameters to a new process
 * of this executable, where another load address may hold the strings. */
struct bad {
  char text[40];
  char message[96]; /* after "PATH:" */
};

static const struct bad bad_lines[] = {
    {"workers = 2\nwokers = 4\n",
     "2: unknown option 'wokers' (did you mean 'workers'?)"},
    {"max_body = 1M\n", "1: unknown option 'max_body' (did you mean "
                        "'max-body'?)"},
    {"db = /x\n", "1: unknown option 'db' (a plugin's setting goes under "
                  "[plugin]"},
    {"\n\nworkers 4\n", "3: 'workers 4' is not NAME = VALUE"},
    {"= 4\n", "1: '= 4' has no name"},
    {"[plugins]\n", "1: unknown section '[plugins]' (the only section is "
                    "[plugin]"},
    {"[plugin\n", "1: '[plugin' is not NAME = VALUE"},
    {"workers = 0\n", "1: workers = '0': not a whole number between 1 and "
                      "1024"},
    {"max-body = lots\n", "1: max-body = 'lots': not a size"},
    {"config = other.conf\n", "1: 'config' cannot be set in the file"},
    {"set = a=b\n", "1: 'set' cannot be set in the file"},
    {"[plugin]\nno space = 1\n", "2: 'no space = 1' is not KEY=VALUE"},
    {"[plugin]\nok = 1\nbad\n", "3: 'bad' is not NAME = VALUE"},
};

ParameterizedTestParameters(conffile, a_bad_line_names_file_and_line) {
  return cr_make_param_array(struct bad, bad_lines,
                             sizeof bad_lines / sizeof bad_lines[0]);
}

ParameterizedTest(const struct bad *b, conffile, a_bad_line_names_file_and_line,
                  .init = file_init, .fini = file_fini) {
  struct config cfg;
  char err[512], want[256];
  put(b->text, strlen(b->text));
  cr_assert_eq(load(&cfg, err, sizeof err, NULL), -EINVAL, "%s", b->text);
  snprintf(want, sizeof want, "%s:%s", path, b->message);
  cr_expect(strncmp(err, want, strlen(want)) == 0, "got:  %s\nwant: %s", err,
            want);
}

Test(conffile, a_value_is_checked_even_when_a_flag_wins, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  PUT("workers = none\n");
  cr_expect_eq(load(&cfg, err, sizeof err,
                    (const char *const[]){"--workers", "2", NULL}),
               -EINVAL);
  cr_expect(strstr(err, ":1: workers = 'none'") != NULL, "%s", err);
}

Test(conffile, what_cannot_be_read_is_one_message, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  char *dir[] = {"mchost", "--config", "/tmp"};
  char *nul[] = {"mchost", "--config", path};
  cr_expect_eq(config_load(&cfg, 3, dir, 1, err, sizeof err), -EINVAL);
  cr_expect_str_eq(err, "--config '/tmp': not a regular file");
  put("a = 1\0\n", 7);
  cr_expect_eq(config_load(&cfg, 3, nul, 1, err, sizeof err), -EINVAL);
  cr_expect(strstr(err, ":1: a NUL byte") != NULL, "%s", err);
  unlink(path);
  cr_expect_eq(config_load(&cfg, 3, nul, 1, err, sizeof err), -EINVAL);
  cr_expect(strstr(err, "No such file") != NULL, "%s", err);
}

Test(conffile, too_large_a_file_is_refused, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  char *big = malloc(CONFFILE_MAX + 1);
  cr_assert_not_null(big);
  memset(big, '#', CONFFILE_MAX + 1);
  put(big, CONFFILE_MAX);
  cr_expect_eq(load(&cfg, err, sizeof err, NULL), 0, "%s", err);
  put(big, CONFFILE_MAX + 1);
  cr_expect_eq(load(&cfg, err, sizeof err, NULL), -EINVAL);
  cr_expect(strstr(err, "larger than 1 MiB") != NULL, "%s", err);
  free(big);
}

/* The copy a generation's workers read gives them what the master read. */
Test(conffile, the_workers_copy_reads_back_the_same, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512], *copy = NULL, *text;
  size_t len = 0;
  FILE *f = open_memstream(&copy, &len);
  PUT("workers = 2\nwatch = a\nwatch = b\next = \" c,h \"\n[plugin]\n"
      "q = \"\"x\"\"\nsp = \" a b \"\nhash = #1\nkept = flag\n");
  cr_assert_eq(load(&cfg, err, sizeof err,
                    (const char *const[]){"--set", "kept=yes", NULL}),
               0, "%s", err);
  cr_assert_eq(conffile_write(f, path), 0);
  fclose(f);
  /* as a worker: the same flags, the copy in place of the file */
  text = malloc(len);
  memcpy(text, copy, len);
  char *argv[] = {"mchost", "--set", "kept=yes"};
  cr_assert_eq(config_load(&cfg, 3, argv, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(conffile_apply(&cfg, text, len, "copy", err, sizeof err), 0,
               "%s\n%s", err, copy);
  cr_expect_eq(cfg.workers, 2);
  cr_assert_eq(cfg.watch.n, 2);
  cr_expect_str_eq(cfg.watch.v[1], "b");
  cr_expect_str_eq(cfg.ext, " c,h ");
  cr_expect_str_eq(mc_config("q"), "\"x\"");
  cr_expect_str_eq(mc_config("sp"), " a b ");
  cr_expect_str_eq(mc_config("hash"), "#1");
  cr_expect_str_eq(mc_config("kept"), "yes");
  cr_expect_str_eq(conffile_values(CONFIG_OPT_watch), "a\nb");
  free(copy);
}

Test(conffile, reload_reads_plugin_again_and_keeps_set, .init = file_init,
     .fini = file_fini) {
  struct config cfg;
  char err[512];
  PUT("workers = 2\n[plugin]\ndb = one\npool = 4\nkept = file\n");
  cr_assert_eq(load(&cfg, err, sizeof err,
                    (const char *const[]){"--set", "kept=flag", NULL}),
               0, "%s", err);
  PUT("workers = 5\n[plugin]\ndb = two\nnew = 1\nkept = file2\n");
  cr_assert_eq(conffile_reload(&cfg, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(mc_config("db"), "two");
  cr_expect_null(mc_config("pool"), "a key gone from the file is gone");
  cr_expect_str_eq(mc_config("new"), "1");
  cr_expect_str_eq(mc_config("kept"), "flag", "--set stays");
  cr_expect_eq(cfg.workers, 2, "own options wait for a restart");
  PUT("[plugin]\ndb = three\nbroken\n");
  cr_expect_eq(conffile_reload(&cfg, err, sizeof err), -EINVAL);
  cr_expect(strstr(err, ":3: 'broken' is not NAME = VALUE") != NULL, "%s", err);
  cr_expect_str_eq(mc_config("db"), "two", "a broken file changes nothing");
  cr_expect_str_eq(mc_config("new"), "1");
}

Test(conffile, closest_option_names) {
  cr_expect_eq(config_closest("prot", 4), CONFIG_OPT_port);
  cr_expect_eq(config_closest("wokers", 6), CONFIG_OPT_workers);
  cr_expect_eq(config_closest("MAXBODY", 7), CONFIG_OPT_max_body);
  cr_expect_eq(config_closest("max_body", 8), CONFIG_OPT_max_body);
  cr_expect_eq(config_closest("zzzzzz", 6), -1);
  cr_expect_eq(config_closest("", 0), -1);
}
