/* status.h - `mchost status [PID]`: what a running mchost is doing. */
#ifndef MCHOST_STATUS_H
#define MCHOST_STATUS_H

/* argv[0] is "status". Returns an exit code. */
int status_main(int argc, char **argv);

#endif
