/*
 * privileges.c - --user and --group.
 */
#define _GNU_SOURCE
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int privileges_ids(const struct config *cfg, struct passwd **pw, gid_t *gid) {
  struct group *gr = NULL;

  *pw = NULL;
  if (cfg->user != NULL && (*pw = getpwnam(cfg->user)) == NULL) {
    fprintf(stderr, "mchost: --user '%s': no such user\n", cfg->user);
    return -1;
  }
  if (cfg->group != NULL && (gr = getgrnam(cfg->group)) == NULL) {
    fprintf(stderr, "mchost: --group '%s': no such group\n", cfg->group);
    return -1;
  }
  *gid = gr != NULL ? gr->gr_gid : *pw != NULL ? (*pw)->pw_gid : getegid();
  return 0;
}

/* --user / --group: like nginx, bind as root (ports below 1024), then
 * become someone who cannot do much harm; workers inherit it. */
int privileges_drop(const struct config *cfg) {
  struct passwd *pw;
  gid_t gid;

  if (cfg->user == NULL && cfg->group == NULL)
    return 0;
  if (privileges_ids(cfg, &pw, &gid) != 0)
    return -1;
  if (geteuid() != 0) {
    if ((pw == NULL || pw->pw_uid == geteuid()) && gid == getegid())
      return 0; /* already who was asked for */
    fprintf(stderr, "mchost: --user/--group: only root can switch to them; "
                    "start mchost as root (it binds, then drops to them) or "
                    "leave them out\n");
    return -1;
  }
  if ((pw != NULL ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) != 0 ||
      setgid(gid) != 0 || (pw != NULL && setuid(pw->pw_uid) != 0)) {
    fprintf(stderr, "mchost: cannot switch to --user/--group: %s\n",
            strerror(errno));
    return -1;
  }
  if (pw != NULL && pw->pw_uid != 0 && setuid(0) == 0) {
    fprintf(stderr, "mchost: dropping root did not stick; refusing to run\n");
    return -1;
  }
  return 0;
}
