/*
 * rogue.c - a worker gone wrong, seen from the master: it writes garbage
 * on its control pipe (fd 4, as a memory-corrupting plugin might), closes
 * that pipe or shuts it down while serving on, exits with an odd code, or
 * dies by a signal nobody guards. The master must survive each, say what
 * happened, and replace the worker.
 */
#include <fcntl.h>
#include <mchost.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

MC_PLUGIN();

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);

  if (strcmp(path, "/garbage") == 0) {
    /* 16 bytes: one whole message of the control protocol, all wrong */
    static const char junk[16] = "\x7f\x01\x02\x03garbage!!!!";
    if (write(4, junk, sizeof junk) != (ssize_t)sizeof junk)
      abort();
    mc_response_send(res, 200, "sent\n", 5);
    return;
  }
  if (strcmp(path, "/half") == 0) {
    /* a message cut short, then nothing */
    if (write(4, "\x01\x00\x00", 3) != 3)
      abort();
    mc_response_send(res, 200, "sent\n", 5);
    return;
  }
  if (strcmp(path, "/close-control") == 0) {
    /* Closes the worker's end of the pipe, as a plugin that closes
     * descriptors it does not own would, and keeps the number taken with
     * /dev/null: the worker's loop would otherwise hand fd 4 to its next
     * connection, and what a worker then does to itself is not the master's
     * part. The worker serves on, unaware. */
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0 || dup2(fd, 4) != 4)
      abort();
    close(fd);
    mc_response_send(res, 200, "closed\n", 7);
    return;
  }
  if (strcmp(path, "/shutdown-control") == 0) {
    /* The worker can no longer tell the master anything, and still hears
     * it. */
    if (shutdown(4, SHUT_WR) != 0)
      abort();
    mc_response_send(res, 200, "shut\n", 5);
    return;
  }
  if (strcmp(path, "/exit7") == 0)
    _exit(7);
  if (strcmp(path, "/kill") == 0)
    raise(SIGKILL);
  mc_response_send(res, 200, "ok\n", 3);
}
