/* privileges.h - dropping root after binding (privileges.c). */
#ifndef MCHOST_PRIVILEGES_H
#define MCHOST_PRIVILEGES_H

#include <pwd.h>
#include <sys/types.h>

#include "config.h"

/* Looks up cfg->user and cfg->group: *pw is the user's entry (NULL
 * without --user; valid until the next lookup), *gid the group (--group,
 * else the user's, else the current one). Returns 0, or -1 after one
 * message on stderr (no such user or group). */
int privileges_ids(const struct config *cfg, struct passwd **pw, gid_t *gid);

/* Becomes cfg->user / cfg->group (either may be NULL: nothing to do for
 * it). Returns 0, or -1 after one message on stderr. Not root: succeeds
 * only if already that user and group. */
int privileges_drop(const struct config *cfg);

#endif
