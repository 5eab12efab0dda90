/* config.h - every option of mchost, its default, and its parser. */
#ifndef MCHOST_CONFIG_H
#define MCHOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "forwarded.h"
#include "mchost.h"

/* Exit codes, so that scripts and the master tell the failures apart. */
enum {
  EXIT_OK = 0,
  EXIT_RUNTIME = 1, /* cannot listen, cannot spawn, ... */
  EXIT_USAGE = 2,   /* bad flag or value */
  EXIT_PLUGIN = 3   /* the plugin cannot be loaded or refused to start */
};

enum config_kind {
  OPT_STRING,   /* kept as given */
  OPT_PORT,     /* 0..65535 */
  OPT_COUNT,    /* 1..1024 */
  OPT_UINT,     /* 0..UINT32_MAX */
  OPT_SIZE,     /* bytes, K/M/G suffixes */
  OPT_DURATION, /* seconds (decimals allowed) or with ms/s suffix */
  OPT_LOGLEVEL, /* error|warn|info|debug */
  OPT_FLAG,     /* no value; --name=yes|no|1|0|true|false also works */
  OPT_LIST,     /* repeatable; MCHOST_<NAME> holds a ':'-separated list */
  OPT_MS,       /* milliseconds (or with ms/s suffix) */
  OPT_FORMAT,   /* text|json */
  OPT_TRUST,    /* addresses and CIDRs, comma-separated; repeatable */
  OPT_HEADER,   /* X-Forwarded-For|Forwarded|X-Real-IP */
  OPT_ADDR,     /* ADDR:PORT, [IPv6]:PORT; kept as given */
  OPT_LISTEN,   /* OPT_ADDR or unix:PATH; repeatable (listen.h) */
  OPT_MODE,     /* octal permission bits (listen.h) */
  OPT_SETTING   /* KEY=VALUE for the plugin; repeatable; no variable */
};

#define CONFIG_LIST_MAX 32

struct config_list {
  const char *v[CONFIG_LIST_MAX];
  unsigned n;
};

/*
 * The one list of options: X(name, kind, field, metavar, default, help).
 * It gives the struct fields' parsers, --help, the MCHOST_<NAME> environment
 * variables and their tests. A NULL default means "computed" or "none".
 */
#define CONFIG_OPTIONS(X)                                                      \
  X("plugin", OPT_STRING, plugin, "FILE", NULL,                                \
    "the plugin shared object to serve (required)")                            \
  X("set", OPT_SETTING, settings, "KEY=VALUE", NULL,                           \
    "a setting for the plugin, read with mc_config(KEY) (repeatable)")         \
  X("config", OPT_STRING, config, "FILE", NULL,                                \
    "read options, and the plugin's settings under [plugin], from FILE "       \
    "(docs/configuration.md)")                                                 \
  X("host", OPT_STRING, host, "ADDR", "0.0.0.0", "address to listen on")       \
  X("port", OPT_PORT, port, "N", "3000",                                       \
    "TCP port to listen on; 0 picks a free one")                               \
  X("listen", OPT_LISTEN, listen, "ADDR", NULL,                                \
    "listen on ADDR:PORT, [IPv6]:PORT or unix:PATH (repeatable; without "      \
    "--host/--port, instead of them)")                                         \
  X("socket-mode", OPT_MODE, socket_mode, "MODE", NULL,                        \
    "permissions of unix: sockets, octal (e.g. 0660; default: umask)")         \
  X("defer-accept", OPT_DURATION, defer_accept_ms, "S", "1",                   \
    "seconds the kernel holds a new connection that has sent nothing before "  \
    "a worker sees it (0 = at once)")                                          \
  X("proxy-protocol", OPT_FLAG, proxy_protocol, "", NULL,                      \
    "connections start with a PROXY protocol header, v1 or v2")                \
  X("trusted-proxies", OPT_TRUST, trusted_proxies, "CIDR,...", NULL,           \
    "proxies whose headers name the client (addresses, CIDRs, unix)")          \
  X("client-header", OPT_HEADER, client_header, "NAME", "X-Forwarded-For",     \
    "what trusted proxies name the client in (or Forwarded, X-Real-IP)")       \
  X("workers", OPT_COUNT, workers, "N", NULL,                                  \
    "worker processes (default: number of CPUs)")                              \
  X("kill-timeout", OPT_DURATION, kill_timeout_ms, "S", "30",                  \
    "seconds a stopping worker may take before SIGKILL")                       \
  X("request-timeout", OPT_DURATION, request_timeout_ms, "S", "30",            \
    "seconds a handler may run before its client gets 503 (0 = off)")          \
  X("header-timeout", OPT_DURATION, header_timeout_ms, "S", "10",              \
    "seconds to receive a request's headers (408 after)")                      \
  X("min-rate", OPT_SIZE, min_rate, "BYTES/S", "240",                          \
    "slowest request head or body after the grace period (408; 0 = off)")      \
  X("min-rate-grace", OPT_DURATION, min_rate_grace_ms, "S", "5",               \
    "seconds a request may fall behind --min-rate (docs/uploads.md)")          \
  X("keepalive-timeout", OPT_DURATION, keepalive_timeout_ms, "S", "65",        \
    "seconds an idle keep-alive connection stays open (longer than a "         \
    "balancer's idle timeout)")                                                \
  X("stream-timeout", OPT_DURATION, stream_timeout_ms, "S", "60",              \
    "seconds a streamed response may write nothing before it is closed")       \
  X("send-timeout", OPT_DURATION, send_timeout_ms, "S", "60",                  \
    "seconds a client may take none of its response before it is dropped")     \
  X("max-body", OPT_SIZE, max_body, "SIZE", "1M",                              \
    "largest body buffered for mc_run() (413 above; docs/uploads.md)")         \
  X("max-header-size", OPT_SIZE, max_header_size, "SIZE", "8K",                \
    "largest request line + headers (414/431 above)")                          \
  X("ws-max-message", OPT_SIZE, ws_max_message, "SIZE", "1M",                  \
    "largest WebSocket message a client may send (1009 above; 0 = no limit)")  \
  X("ws-idle-timeout", OPT_DURATION, ws_idle_timeout_ms, "S", "60",            \
    "seconds a WebSocket client may stay silent (pinged at half; 0 = off)")    \
  X("max-connections", OPT_UINT, max_connections, "N", "0",                    \
    "open connections per worker (0 = as many as the fd limit allows)")        \
  X("log-level", OPT_LOGLEVEL, log_level, "L", "info",                         \
    "error, warn, info or debug")                                              \
  X("reload", OPT_FLAG, reload, "", NULL,                                      \
    "reload when the plugin or a watched source changes")                      \
  X("no-reload", OPT_FLAG, no_reload, "", NULL,                                \
    "never reload on changes (wins over --dev and MCHOST_ENV)")                \
  X("no-yield", OPT_FLAG, no_yield, "", NULL,                                  \
    "never let other processes run before waiting for events")                 \
  X("dev", OPT_FLAG, dev, "", NULL,                                            \
    "development: --reload, --log-level debug, --crash-dir, errors shown "     \
    "in the browser")                                                          \
  X("crash-dir", OPT_STRING, crash_dir, "DIR", NULL,                           \
    "write a replayable bundle per crash or timeout here (--dev: "             \
    "mchost-crashes; off = none)")                                             \
  X("crash-max", OPT_SIZE, crash_max, "SIZE", "64M",                           \
    "largest total size of --crash-dir; the oldest bundles go first")          \
  X("crash-keep-secrets", OPT_FLAG, crash_keep_secrets, "", NULL,              \
    "keep Authorization and Cookie values in crash bundles")                   \
  X("watch", OPT_LIST, watch, "DIR", NULL,                                     \
    "also watch this source directory, recursively (repeatable)")              \
  X("ext", OPT_STRING, ext, "LIST", "c,h",                                     \
    "extensions of the watched sources that count as changes")                 \
  X("cooldown", OPT_MS, cooldown_ms, "MS", "100",                              \
    "quiet time after the last change before a reload")                        \
  X("build", OPT_STRING, build, "CMD", NULL,                                   \
    "rebuilds the plugin after a source change (run by /bin/sh)")              \
  X("log-format", OPT_FORMAT, log_format, "F", "text",                         \
    "text or json, for both logs")                                             \
  X("access-log", OPT_STRING, access_log, "FILE", NULL,                        \
    "log each request to FILE ('-' = stdout); reopened on SIGUSR1")            \
  X("max-requests", OPT_UINT, max_requests, "N", "0",                          \
    "replace a worker after N requests, gracefully (0 = never)")               \
  X("max-requests-jitter", OPT_UINT, max_requests_jitter, "N", "0",            \
    "add 0..N to --max-requests per worker, so they do not retire together")   \
  X("admin", OPT_ADDR, admin, "ADDR:PORT", NULL,                               \
    "serve /healthz, /readyz and /metrics here, from the master (off)")        \
  X("drain-delay", OPT_DURATION, drain_delay_ms, "S", "0",                     \
    "on TERM, fail /readyz and keep serving S seconds before stopping")        \
  X("user", OPT_STRING, user, "USER", NULL,                                    \
    "run as USER after binding the port (when started as root)")               \
  X("group", OPT_STRING, group, "GROUP", NULL,                                 \
    "run as GROUP after binding (default: USER's group)")

struct settings;

struct config {
  const char *plugin;
  struct settings *settings; /* --set: settings_current() (settings.h) */
  const char *config;        /* --config FILE (conffile.h) */
  const char *host;
  uint64_t port;
  struct config_list listen;
  uint64_t socket_mode; /* 0: as the umask leaves it */
  uint64_t defer_accept_ms;
  uint64_t proxy_protocol;
  struct trusted_proxies trusted_proxies;
  uint64_t client_header; /* enum forwarded_kind */
  uint64_t workers;
  uint64_t kill_timeout_ms;
  uint64_t request_timeout_ms;
  uint64_t header_timeout_ms;
  uint64_t min_rate;
  uint64_t min_rate_grace_ms;
  uint64_t keepalive_timeout_ms;
  uint64_t stream_timeout_ms;
  uint64_t send_timeout_ms;
  uint64_t max_body;
  uint64_t max_header_size;
  uint64_t ws_max_message;
  uint64_t ws_idle_timeout_ms;
  uint64_t max_connections;
  uint64_t log_level;
  uint64_t reload;
  uint64_t no_reload;
  uint64_t no_yield;
  uint64_t dev;
  const char *crash_dir; /* NULL: no bundles ("off" is read as NULL) */
  uint64_t crash_max;
  uint64_t crash_keep_secrets;
  struct config_list watch;
  const char *ext;
  uint64_t cooldown_ms;
  const char *build;
  uint64_t log_format; /* 0 text, 1 json */
  const char *access_log;
  uint64_t max_requests;
  uint64_t max_requests_jitter;
  const char *admin;
  uint64_t drain_delay_ms;
  const char *user;
  const char *group;
  /* derived by config_load(): --reload, --dev or MCHOST_ENV=dev*, unless
   * --no-reload */
  int reload_on;
  /* derived: --host:--port is listened on (no --listen, or either given) */
  int listen_host_port;
  uint64_t set; /* bit i: option i was given (flag, environment, file) */
  int show_help;
  int show_version;
};

/* Each option's index in CONFIG_OPTIONS: CONFIG_OPT_max_body, ... */
enum config_option {
#define X(name, kind, field, metavar, def, help) CONFIG_OPT_##field,
  CONFIG_OPTIONS(X)
#undef X
      CONFIG_NOPTIONS
};
_Static_assert(CONFIG_NOPTIONS <= 64, "struct config's set is a 64-bit mask");

/* Parsers: 0, -EINVAL (not that kind of value) or -ERANGE. Print nothing. */
int config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int config_parse_size(const char *s, uint64_t *out);
int config_parse_duration(const char *s, uint64_t *out_ms);
int config_parse_log_level(const char *s, uint64_t *out);
int config_parse_bool(const char *s, uint64_t *out);
/* A decimal integer with an optional sign ("-12", "+7"), into int64_t. */
int config_parse_int64(const char *s, int64_t *out);
/* "ADDR:PORT" with a numeric IPv4 address, or "[IPv6]:PORT", into *out
 * (a sockaddr_in or sockaddr_in6; port 0 picks a free one). */
struct sockaddr_storage;
int config_parse_addr(const char *s, struct sockaddr_storage *out);

/* Fills cfg from defaults, then MCHOST_* variables, then argv[first..argc),
 * then the --config file for what those did not give (conffile.h).
 * On a bad option writes one message (without "mchost: ") to err and returns
 * -EINVAL; the caller prints it and exits with EXIT_USAGE. */
int config_load(struct config *cfg, int argc, char **argv, int first, char *err,
                size_t errlen);

/* The options by index (enum config_option), for the --config file. */
int config_option_find(const char *name); /* exact name; -1 if none */
const char *config_option_name(int i);
enum config_kind config_option_kind(int i);
/* Parses value into option i of cfg: 0, or -EINVAL / -ERANGE as the flag. */
int config_option_apply(struct config *cfg, int i, const char *value);
/* The option closest to name[0..len) ("prot": port, "max_body":
 * max-body), or -1 when none is close enough to be meant. */
int config_closest(const char *name, size_t len);

/* Logs one warning for each MCHOST_* environment variable that is not an
 * option's (nor one mchost's tests and tools read), with the closest
 * option's variable: MCHOST_MAXBODY, did you mean MCHOST_MAX_BODY? */
void config_warn_unknown_env(void);

/* Writes one message into err (errlen bytes); returns -EINVAL. */
int config_fail(char *err, size_t errlen, const char *fmt, ...) MC_PRINTF(3, 4);

/* What a value of kind k must be, for messages and the docs:
 * "a size (try 512, 64K or 1M)". */
const char *config_kind_value(enum config_kind k);

/* The environment variable of an option: MCHOST_MAX_BODY for "max-body". */
void config_env_name(const char *opt, char *out, size_t outlen);

#endif
