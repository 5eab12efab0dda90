/* master.h - the master process: socket, workers, signals, backoff. */
#ifndef MCHOST_MASTER_H
#define MCHOST_MASTER_H

#include "config.h"

/* Binds the socket, runs workers until stopped; returns the exit code.
 * argv is passed on to the workers, which parse the same options. */
int master_main(const struct config *cfg, int argc, char **argv);

#endif
