/*
 * replay.c - runs a fuzz shim over files, without libFuzzer.
 *
 *   fuzz_replay_conn DIR|FILE...
 *
 * ctest runs every seed (corpus/) and every committed crasher
 * (regression/) through the entry point in the normal and the ASan builds,
 * so that a fixed bug stays fixed where no fuzzer is installed. A broken
 * promise aborts, as it does under the fuzzer. A missing directory counts
 * as empty (git keeps no empty regression/<target>/), but no input at all
 * is an error: the paths are wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = NULL;
  size_t len = 0, cap = 0, n;

  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  do {
    if (len == cap) {
      uint8_t *nd = realloc(data, cap = cap ? 2 * cap : 65536);
      if (nd == NULL) {
        fclose(f);
        free(data);
        return -1;
      }
      data = nd;
    }
    n = fread(data + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose(f);
  /* Printed first: if it aborts, the last line names the input. */
  printf("%s (%zu bytes)\n", path, len);
  fflush(stdout);
  LLVMFuzzerTestOneInput(data, len);
  free(data);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the files of dir in name order (hidden ones are notes); returns
 * how many, or -1. */
static int replay_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL, path[4096];
  size_t n = 0, cap = 0;
  int count = 0;

  if (d == NULL)
    return errno == ENOENT ? 0 : -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
      continue;
    if (n == cap) {
      char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
      if (nn == NULL)
        break;
      names = nn;
    }
    if ((names[n] = strdup(e->d_name)) != NULL)
      n++;
  }
  closedir(d);
  if (n > 0)
    qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (count >= 0 && replay_file(path) == 0)
      count++;
    else
      count = -1;
    free(names[i]);
  }
  free(names);
  return count;
}

int main(int argc, char **argv) {
  int total = 0;

  for (int i = 1; i < argc; i++) {
    struct stat st;
    int n;
    if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
      n = replay_file(argv[i]) == 0 ? 1 : -1;
    else
      n = replay_dir(argv[i]);
    if (n < 0) {
      fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
    total += n;
  }
  if (total == 0) {
    fprintf(stderr, "replay: no inputs in the paths given\n");
    return 1;
  }
  printf("replayed %d inputs\n", total);
  return 0;
}
