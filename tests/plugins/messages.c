/* Fixture for messages between workers (mc_subscribe(), mc_publish()).
 * Every response carries X-Worker: its worker's id. In mc_init() each
 * worker subscribes to "log", "once" and "crash".
 *   /pub?tag=T&n=N      publishes N messages "T0" .. "T<N-1>" on "log";
 *                       200 "published N", or 500 "rc R" at the first error
 *   /big?n=N            publishes N messages of MC_MESSAGE_MAX bytes on
 *                       "log", each "B<i>" then 'x's, at most 16 ahead
 *                       of their copies coming back to this worker
 *   /log                what this worker got on "log", a line each:
 *                       "FROM_WORKER DATA" (big ones: "FROM_WORKER B<i>
 *                       LEN"); at most LOG_MAX lines are kept, then only
 *                       counted: the last line is "total N"
 *   /once?n=N           publishes N messages on "once", whose callback
 *                       unsubscribes itself at the first
 *   /late               publishes on "late", whose callback subscribes
 *                       another to "late" at its first call
 *   /count              "once C late L later R" (calls of the "once"
 *                       callback, of the "late" one and of the one it
 *                       subscribed)
 *   /errors             the results of refused calls, a line each
 *   /crash              publishes on "crash": every worker's callback
 *                       faults
 *   /block?ms=M         logs "messages: blocking", then the handler sleeps
 *                       M ms (the worker reads nothing)
 *   anything else       200 "ok\n" (the harness's readiness probe) */
#include <mchost.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

MC_PLUGIN();

#define LOG_MAX 2000
#define LINE_MAX_ 48

static char log_lines[LOG_MAX][LINE_MAX_];
static unsigned log_total, once_calls, late_calls, later_calls;
static long big_back; /* this worker's big messages come back to it */

static void on_log(const mc_message *m, void *arg) {
  (void)arg;
  if (log_total < LOG_MAX) {
    char *line = log_lines[log_total];
    if (m->len == MC_MESSAGE_MAX && m->from_worker == mc_worker_self()->id)
      big_back++;
    if (m->len == MC_MESSAGE_MAX) {
      size_t tag = strnlen(m->data, 16);
      snprintf(line, LINE_MAX_, "%u %.*s %zu", m->from_worker, (int)tag,
               (const char *)m->data, m->len);
    } else {
      snprintf(line, LINE_MAX_, "%u %.*s", m->from_worker, (int)m->len,
               (const char *)m->data);
    }
  }
  log_total++;
}

static void on_once(const mc_message *m, void *arg) {
  (void)m;
  once_calls++;
  mc_unsubscribe("once", on_once, arg);
}

static void on_later(const mc_message *m, void *arg) {
  (void)m;
  (void)arg;
  later_calls++;
}

/* Subscribes on_later to its own channel: from the next message on. */
static void on_late(const mc_message *m, void *arg) {
  (void)m;
  (void)arg;
  if (late_calls++ == 0)
    mc_subscribe("late", on_later, NULL);
}

static void on_crash(const mc_message *m, void *arg) {
  (void)m;
  (void)arg;
  *(volatile int *)NULL = 1;
}

int mc_init(const mc_worker *w) {
  (void)w;
  if (mc_subscribe("log", on_log, NULL) != 0 ||
      mc_subscribe("once", on_once, NULL) != 0 ||
      mc_subscribe("late", on_late, NULL) != 0 ||
      mc_subscribe("crash", on_crash, NULL) != 0)
    return -1;
  return 0;
}

static long qint(mc_request *req, const char *name, long def) {
  int64_t v;
  return mc_request_query_int(req, name, &v) == 0 ? (long)v : def;
}

static void answer(mc_response *res, const char *text, size_t len) {
  char id[16];
  snprintf(id, sizeof id, "%u", mc_worker_self()->id);
  mc_response_header(res, "X-Worker", id);
  mc_response_send(res, 200, text, len);
}

static void publish(mc_request *req, mc_response *res) {
  const char *tag = mc_request_query_get(req, "tag");
  long n = qint(req, "n", 1);
  char data[64], out[64];
  int len;
  for (long i = 0; i < n; i++) {
    int rc;
    len = snprintf(data, sizeof data, "%s%ld", tag ? tag : "m", i);
    if ((rc = mc_publish("log", data, (size_t)len)) != 0) {
      len = snprintf(out, sizeof out, "rc %d\n", rc);
      mc_response_send(res, 500, out, (size_t)len);
      return;
    }
  }
  len = snprintf(out, sizeof out, "published %ld\n", n);
  answer(res, out, (size_t)len);
}

/* One /big in progress at a time: how many to send, how many sent. */
static long big_n, big_sent;
/* Big messages on their way at most: the publisher keeps pace with its
 * own copies, so that only a worker that does not read falls behind. */
#define BIG_WINDOW 16

/* Publishes until done, until BIG_WINDOW of its messages have not come
 * back yet, or until the worker's backlog is full (-ENOBUFS): then again
 * 5 ms later, as a plugin that must not drop its own messages does. */
static void publish_big_more(mc_response *res, void *data) {
  static char buf[MC_MESSAGE_MAX];
  char out[64];
  int len, rc = 0;
  (void)data;
  memset(buf, 'x', sizeof buf);
  for (; big_sent < big_n && big_sent - big_back < BIG_WINDOW; big_sent++) {
    int tag = snprintf(buf, 16, "B%ld", big_sent);
    buf[tag] = '\0';
    if ((rc = mc_publish("log", buf, sizeof buf)) != 0)
      break;
  }
  if (rc == -ENOBUFS || (rc == 0 && big_sent < big_n)) {
    mc_response_later(res, 5, publish_big_more, NULL);
    return;
  }
  if (rc != 0) {
    len = snprintf(out, sizeof out, "rc %d after %ld\n", rc, big_sent);
    mc_response_send(res, 500, out, (size_t)len);
    return;
  }
  len = snprintf(out, sizeof out, "published %ld\n", big_n);
  answer(res, out, (size_t)len);
}

static void show_log(mc_response *res) {
  static char out[LOG_MAX * LINE_MAX_ + 64];
  size_t n = 0;
  for (unsigned i = 0; i < log_total && i < LOG_MAX; i++)
    n += (size_t)snprintf(out + n, sizeof out - n, "%s\n", log_lines[i]);
  n += (size_t)snprintf(out + n, sizeof out - n, "total %u\n", log_total);
  answer(res, out, n);
}

static void errors(mc_response *res) {
  static char big[MC_MESSAGE_MAX + 1];
  char channel[MC_CHANNEL_MAX + 2], out[512];
  int n;
  memset(channel, 'c', sizeof channel - 1);
  channel[sizeof channel - 1] = '\0';
  n = snprintf(
      out, sizeof out,
      "null channel %d\nempty channel %d\nlong channel %d\n"
      "longest channel %d\nnull data %d\ntoo big %d\n"
      "subscribe twice %d\nsubscribe null %d\nunsubscribe unknown %d\n",
      mc_publish(NULL, "x", 1), mc_publish("", "x", 1),
      mc_publish(channel, "x", 1),
      mc_publish(channel + 1, "x", 1) /* MC_CHANNEL_MAX bytes */,
      mc_publish("log", NULL, 1), mc_publish("log", big, sizeof big),
      mc_subscribe("log", on_log, NULL), mc_subscribe("log", NULL, NULL),
      mc_unsubscribe("log", on_once, NULL));
  answer(res, out, (size_t)n);
}

void mc_run(mc_request *req, mc_response *res) {
  const char *path = mc_request_path(req);
  char out[64];
  int n;

  if (strcmp(path, "/pub") == 0) {
    publish(req, res);
  } else if (strcmp(path, "/big") == 0) {
    big_n = qint(req, "n", 1);
    big_sent = big_back = 0;
    publish_big_more(res, NULL);
  } else if (strcmp(path, "/log") == 0) {
    show_log(res);
  } else if (strcmp(path, "/once") == 0) {
    long k = qint(req, "n", 1);
    for (long i = 0; i < k; i++)
      mc_publish("once", "o", 1);
    answer(res, "ok\n", 3);
  } else if (strcmp(path, "/late") == 0) {
    mc_publish("late", "l", 1);
    answer(res, "ok\n", 3);
  } else if (strcmp(path, "/count") == 0) {
    n = snprintf(out, sizeof out, "once %u late %u later %u\n", once_calls,
                 late_calls, later_calls);
    answer(res, out, (size_t)n);
  } else if (strcmp(path, "/errors") == 0) {
    errors(res);
  } else if (strcmp(path, "/crash") == 0) {
    mc_publish("crash", "boom", 4);
    answer(res, "ok\n", 3);
  } else if (strcmp(path, "/block") == 0) {
    long ms = qint(req, "ms", 1000);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    mc_log(MC_LOG_INFO, "messages: blocking %ld ms", ms);
    nanosleep(&ts, NULL);
    answer(res, "ok\n", 3);
  } else {
    answer(res, "ok\n", 3);
  }
}
