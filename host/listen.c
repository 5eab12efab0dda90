/*
 * listen.c - the listening sockets the master keeps for its whole life and
 * every worker inherits: handed over by systemd (activation.c), or bound
 * here from --listen and --host/--port, with one message that says what to
 * do when one cannot be.
 */
#define _GNU_SOURCE
#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "activation.h"
#include "log.h"
#include "privileges.h"

#define UNIX_PREFIX "unix:"
#define UNIX_PREFIX_LEN 5

int listen_parse_spec(const char *spec) {
  struct sockaddr_storage ss;

  if (strncmp(spec, UNIX_PREFIX, UNIX_PREFIX_LEN) == 0) {
    size_t len = strlen(spec + UNIX_PREFIX_LEN);
    if (len == 0)
      return -EINVAL;
    return len < sizeof((struct sockaddr_un *)NULL)->sun_path ? 0
                                                              : -ENAMETOOLONG;
  }
  return config_parse_addr(spec, &ss) == 0 ? 0 : -EINVAL;
}

int listen_parse_mode(const char *s, uint64_t *out) {
  char *end;
  unsigned long v;

  if (s[0] < '0' || s[0] > '7')
    return -EINVAL;
  errno = 0;
  v = strtoul(s, &end, 8);
  if (*end != '\0')
    return -EINVAL;
  /* 0 would let nobody but root connect: surely a mistake. */
  if (errno == ERANGE || v == 0 || v > 0777)
    return -ERANGE;
  *out = v;
  return 0;
}

/* Appends "http://127.0.0.1:3000", "http://[::1]:3000" or
 * "unix:/run/mchost.sock" to ls->where: with --port 0, or a socket from
 * systemd, the address is only known from the socket; scripts read it. */
static void describe(struct listeners *ls, int fd) {
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  char host[INET6_ADDRSTRLEN], what[160];
  size_t used = strlen(ls->where);

  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
    snprintf(what, sizeof what, "fd %d", fd);
  } else if (ss.ss_family == AF_UNIX) {
    const struct sockaddr_un *a = (const struct sockaddr_un *)&ss;
    size_t plen = sslen > offsetof(struct sockaddr_un, sun_path)
                      ? sslen - offsetof(struct sockaddr_un, sun_path)
                      : 0;
    if (plen > 0 && a->sun_path[0] == '\0') /* Linux's abstract names */
      snprintf(what, sizeof what, UNIX_PREFIX "@%.*s", (int)plen - 1,
               a->sun_path + 1);
    else
      snprintf(what, sizeof what, UNIX_PREFIX "%.*s",
               (int)strnlen(a->sun_path, plen), a->sun_path);
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, host, sizeof host);
    snprintf(what, sizeof what, "http://[%s]:%u", host, ntohs(a->sin6_port));
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    uv_ip4_name(a, host, sizeof host);
    snprintf(what, sizeof what, "http://%s:%u", host, ntohs(a->sin_port));
  }
  snprintf(ls->where + used, sizeof ls->where - used, "%s%s",
           used > 0 ? ", " : "", what);
}

/* listen_open() checked that there is room. */
static void add(struct listeners *ls, int fd) {
  ls->v[ls->n].fd = fd;
  ls->v[ls->n].path[0] = '\0';
  ls->n++;
  describe(ls, fd);
}

static int fail_listen(const char *spec, int e, const char *hint) {
  fprintf(stderr, "mchost: cannot listen on %s: %s%s\n", spec,
          e == EADDRINUSE ? "address already in use" : strerror(e), hint);
  return EXIT_RUNTIME;
}

/* --defer-accept: the kernel completes the handshake but queues the
 * connection for accept() only once its first bytes are in, or once it has
 * been silent for that long (in whole seconds: the kernel counts SYN-ACK
 * retransmissions). So a worker is woken for requests, not for
 * connections, and finds each request already there when it reads at
 * accept (conn.c); a client that connects and says nothing costs no worker
 * anything meanwhile. h2o and Apache httpd do the same by default; nginx
 * with `listen ... deferred`. */
static void defer_accept(int fd, const struct config *cfg) {
  int s = (int)((cfg->defer_accept_ms + 999) / 1000);
  if (s > 0 && setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &s, sizeof s) != 0)
    log_warn("--defer-accept: %s: new connections are handed over at once",
             strerror(errno));
}

/* One TCP socket on sa. EXIT_OK, or EXIT_RUNTIME with a message. */
static int bind_tcp(struct listeners *ls, const struct config *cfg,
                    const struct sockaddr *sa, socklen_t salen, int v6only,
                    const char *spec) {
  int fd, one = 1, e;
  const char *hint;

  fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return fail_listen(spec, errno, "");
  /* Lets a restarted mchost bind at once while old connections sit in
   * TIME_WAIT; it does not let two servers share the port. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6only)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  defer_accept(fd, cfg);
  if (bind(fd, sa, salen) == 0 && listen(fd, 4096) == 0) {
    add(ls, fd);
    return EXIT_OK;
  }
  e = errno;
  close(fd);
  hint = e == EADDRINUSE      ? " (another server has it: stop it or pick "
                                "another port)"
         : e == EACCES        ? " (ports below 1024 need root or "
                                "CAP_NET_BIND_SERVICE: pick a port above 1023)"
         : e == EADDRNOTAVAIL ? " (is it an address of this machine?)"
                              : "";
  return fail_listen(spec, e, hint);
}

/* --host and --port: EXIT_OK, EXIT_USAGE when --host is no address, or
 * EXIT_RUNTIME. */
static int bind_host_port(struct listeners *ls, const struct config *cfg) {
  struct addrinfo hints, *ai = NULL;
  char port[16], spec[300];
  int rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
  snprintf(spec, sizeof spec, "%s:%s", cfg->host, port);
  if ((rc = getaddrinfo(cfg->host, port, &hints, &ai)) != 0) {
    fprintf(stderr,
            "mchost: --host '%s': %s (give an address such as "
            "0.0.0.0, 127.0.0.1 or ::)\n",
            cfg->host, gai_strerror(rc));
    /* A name that could not be looked up now may resolve later. */
    return rc == EAI_AGAIN || rc == EAI_SYSTEM || rc == EAI_MEMORY
               ? EXIT_RUNTIME
               : EXIT_USAGE;
  }
  rc = bind_tcp(ls, cfg, ai->ai_addr, ai->ai_addrlen, 0, spec);
  freeaddrinfo(ai);
  return rc;
}

/* Whether a server answers on the Unix socket file at sa: 1 yes, 0 no
 * (nothing listens: the file is left from a process that is gone). */
static int unix_answers(const struct sockaddr_un *sa) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
  if (fd < 0)
    return 1; /* cannot tell: do not remove it */
  ok = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 ||
       (errno != ECONNREFUSED && errno != ENOENT);
  close(fd);
  return ok;
}

/* A unix:PATH listener. EXIT_OK, or EXIT_RUNTIME with a message. */
static int bind_unix(struct listeners *ls, const struct config *cfg,
                     const char *spec) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  const char *path = spec + UNIX_PREFIX_LEN;
  struct listener *l;
  struct stat st;
  int fd, rc, e, made = 0;

  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return fail_listen(spec, errno, "");
  rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  if (rc != 0 && errno == EADDRINUSE) {
    /* Only a socket file may be replaced, and only one that nobody
     * answers on (left by a previous mchost that was killed, say). */
    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
      close(fd);
      fprintf(stderr,
              "mchost: cannot listen on %s: the file exists and is not a "
              "socket\n",
              spec);
      return EXIT_RUNTIME;
    }
    if (unix_answers(&sa)) {
      close(fd);
      return fail_listen(spec, EADDRINUSE,
                         " (a server answers on it: stop it or pick "
                         "another path)");
    }
    log_info("%s: replacing a socket file nothing answers on", spec);
    rc = unlink(path) == 0 ? bind(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
  }
  made = rc == 0;
  /* Owner and mode before listen(): no client can connect before they
   * hold. Run as root with --user/--group, the file is theirs, as the
   * server's own (php-fpm's listen.owner does the same). */
  if (rc == 0 && (cfg->user != NULL || cfg->group != NULL) && geteuid() == 0) {
    struct passwd *pw;
    gid_t gid;
    if (privileges_ids(cfg, &pw, &gid) != 0) {
      close(fd);
      unlink(path);
      return EXIT_USAGE;
    }
    rc = chown(path, pw != NULL ? pw->pw_uid : (uid_t)-1, gid);
  }
  if (rc == 0 && cfg->socket_mode != 0)
    rc = chmod(path, (mode_t)cfg->socket_mode);
  if (rc == 0)
    rc = lstat(path, &st);
  if (rc == 0)
    rc = listen(fd, 4096);
  if (rc != 0) {
    e = errno;
    close(fd);
    if (made)
      unlink(path);
    return fail_listen(spec, e,
                       e == EACCES || e == ENOENT
                           ? " (does the directory exist, and may this user "
                             "write to it?)"
                           : "");
  }
  add(ls, fd);
  l = &ls->v[ls->n - 1];
  snprintf(l->path, sizeof l->path, "%s", path);
  l->dev = st.st_dev;
  l->ino = st.st_ino;
  return EXIT_OK;
}

/* A --listen ADDR:PORT or [IPv6]:PORT (checked by the option's parser). */
static int bind_spec(struct listeners *ls, const struct config *cfg,
                     const char *spec) {
  struct sockaddr_storage ss;

  if (config_parse_addr(spec, &ss) != 0) /* the option's parser took it */
    return fail_listen(spec, EINVAL, "");
  return ss.ss_family == AF_INET6
             ? bind_tcp(ls, cfg, (struct sockaddr *)&ss,
                        sizeof(struct sockaddr_in6), 1, spec)
             : bind_tcp(ls, cfg, (struct sockaddr *)&ss,
                        sizeof(struct sockaddr_in), 0, spec);
}

int listen_open(const struct config *cfg, struct listeners *ls) {
  int fds[LISTEN_MAX], n, rc = EXIT_OK;
  char err[256];

  memset(ls, 0, sizeof *ls);
  n = activation_take(fds, LISTEN_MAX, err, sizeof err);
  if (n < 0) {
    fprintf(stderr, "mchost: socket activation: %s\n", err);
    return EXIT_USAGE;
  }
  if (n > 0) {
    /* The .socket unit's ListenStream= lines say where. */
    if (cfg->listen.n > 0)
      log_warn("socket activation: --listen is ignored; the .socket unit "
               "passed %d socket%s",
               n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++)
      add(ls, fds[i]);
    return EXIT_OK;
  }
  if ((unsigned)cfg->listen_host_port + cfg->listen.n > LISTEN_MAX) {
    fprintf(stderr, "mchost: --listen: at most %d listeners\n", LISTEN_MAX);
    return EXIT_USAGE;
  }
  if (cfg->listen_host_port)
    rc = bind_host_port(ls, cfg);
  for (unsigned i = 0; i < cfg->listen.n && rc == EXIT_OK; i++) {
    const char *spec = cfg->listen.v[i];
    rc = strncmp(spec, UNIX_PREFIX, UNIX_PREFIX_LEN) == 0
             ? bind_unix(ls, cfg, spec)
             : bind_spec(ls, cfg, spec);
  }
  if (rc != EXIT_OK)
    listen_close(ls);
  return rc;
}

void listen_close(struct listeners *ls) {
  for (unsigned i = 0; i < ls->n; i++) {
    struct listener *l = &ls->v[i];
    struct stat st;

    if (l->fd >= 0)
      close(l->fd);
    l->fd = -1;
    /* Not a file another server has put there since. */
    if (l->path[0] != '\0' && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino && unlink(l->path) != 0)
      log_warn("cannot remove unix:%s: %s", l->path, strerror(errno));
    l->path[0] = '\0';
  }
}
