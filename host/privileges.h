/* privileges.h - dropping root after binding (privileges.c). */
#ifndef MCHOST_PRIVILEGES_H
#define MCHOST_PRIVILEGES_H

#include "config.h"

/* Becomes cfg->user / cfg->group (either may be NULL: nothing to do for
 * it). Returns 0, or -1 after one message on stderr. Not root: succeeds
 * only if already that user and group. */
int privileges_drop(const struct config *cfg);

#endif
