/* main.c - argv and MCHOST_* into a config, then master or worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "llhttp.h"
#include "master.h"
#include "mchost.h"
#include "replay.h"
#include "scaffold.h"
#include "status.h"
#include "usage.h"
#include "worker.h"

/* The master re-executes this program as
 *   mchost __worker ID GENERATION SLOT LISTENERS PLUGIN_PATH <options...>
 * so that a worker is a fresh process image with its own loop. */
#define WORKER_ARGS 7

int main(int argc, char **argv) {
  struct config cfg;
  char err[512];
  int worker = argc >= WORKER_ARGS && strcmp(argv[1], "__worker") == 0;

  if (argc >= 2 && strcmp(argv[1], "new") == 0)
    return scaffold_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "status") == 0)
    return status_main(argc - 1, argv + 1);
  /* `make docs`: the generated tables and reference (usage.h) */
  if (argc == 3 && strcmp(argv[1], "--help-markdown") == 0)
    return usage_print_markdown(argv[2]) == 0 ? EXIT_OK : EXIT_USAGE;
  if (argc >= 2 && strcmp(argv[1], "replay") == 0)
    return replay_main(argc - 1, argv + 1);
  if (config_load(&cfg, argc, argv, worker ? WORKER_ARGS : 1, err,
                  sizeof err) != 0) {
    fprintf(stderr, "mchost: %s (see 'mchost --help')\n", err);
    return EXIT_USAGE;
  }
  if (worker)
    return worker_main(&cfg, (unsigned)strtoul(argv[2], NULL, 10),
                       (unsigned)strtoul(argv[3], NULL, 10),
                       (unsigned)strtoul(argv[4], NULL, 10),
                       (unsigned)strtoul(argv[5], NULL, 10), argv[6]);
  if (cfg.show_help) {
    usage_print_help();
    return EXIT_OK;
  }
  if (cfg.show_version) {
    printf("mchost %s (plugin ABI %d; libuv %s, llhttp %d.%d.%d)\n",
           MCHOST_VERSION_STRING, MC_ABI_VERSION, uv_version_string(),
           LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    return EXIT_OK;
  }
  if (cfg.plugin == NULL) {
    fprintf(stderr, "mchost: --plugin is required: the shared object to "
                    "serve, e.g. --plugin build/plugins/hello.so "
                    "(see 'mchost --help')\n");
    return EXIT_USAGE;
  }
  return master_main(&cfg, argc, argv);
}
