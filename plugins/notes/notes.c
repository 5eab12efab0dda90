/*
 * notes - a JSON REST API on SQLite with a live feed: the app to copy.
 *
 *   GET    /            200 {"notes":"/notes","events":"/events"}
 *   GET    /notes       200 [{"id":1,"text":"hi","created":"2026-..."},...]
 *   GET    /notes/ID    200 {"id":...}; 404
 *   POST   /notes       {"text":"hi"} -> 201, Location: /notes/ID, the note;
 *                       400 (not JSON, no "text" string, empty or longer
 *                       than 1000 bytes), 415 (not application/json),
 *                       409 (max_notes notes stored already)
 *   DELETE /notes/ID    204; 404
 *   GET    /events      text/event-stream: every note created from now on,
 *                       by any client and any worker ("id: ID" and
 *                       "data: {note}"); a client that reconnects with
 *                       Last-Event-ID gets the ones it missed first
 *   Errors are JSON too: {"error":"..."}.
 *
 *   mchost --plugin build/plugins/notes.so --set db=/var/lib/notes.db
 *   curl -H 'Content-Type: application/json' -d '{"text":"hi"}' \
 *        localhost:3000/notes
 *   curl -N localhost:3000/events
 *
 * Settings (mc_config(): --set KEY=VALUE or the [plugin] section of the
 * --config file): db, the SQLite file (default notes.db, created if
 * missing); max_notes, how many notes it keeps at most (default 1000);
 * poll_ms, how often a feed looks for new notes unprompted (default 5000).
 *
 * Every SQLite call runs in mc_work(): on libuv's thread pool, so a slow
 * disk or a locked database never stops the worker's other requests. The
 * work function gets everything it needs in its job and calls no mc_*
 * function; the done function answers on the loop. Each pool thread opens
 * its own connection on its first job (a connection must not be used by
 * two threads at once). The workers are processes: the database is what
 * they share, so the feed reads new notes from it (a cursor per client),
 * never from the POST handler, which may run in another worker. After its
 * insert, a POST publishes "look now" on the channel "notes"
 * (mc_publish(), docs/messages.md), and every worker's open feeds look at
 * once. Messages are at most once, so each feed also looks every poll_ms
 * by itself: a lost message, or a row written by another program, costs
 * a delay, never a note. Between looks a feed checks every TICK_MS that
 * its client is still there (no SQLite for that), so the feed of a client
 * that left never holds up a stop or a reload. A client that does not read
 * stops its own polling (mc_response_on_drain()), so it costs the worker at
 * most one batch of events beyond MC_QUEUE_HIGH, never more. A feed lasts until
 * its client leaves, or its worker stops (a reload, a stop): then it asks
 * the client to come back soon (retry: 250) and ends
 * (mc_response_on_shutdown()), and an EventSource reconnects, to the new
 * generation, with Last-Event-ID and misses nothing.
 */
#include <mchost.h>

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

#define TEXT_MAX 1000
#define CHANNEL "notes"    /* "look now": a note was added */
#define POLL_MS 5000       /* poll_ms's default */
#define POLL_BATCH 100     /* notes per look at most */
#define HEARTBEAT_MS 15000 /* without news, a ": ping" comment this often */
/* Between looks, how often a feed checks that its client is still there,
 * so that a stop or a reload does not wait for the next look to end the
 * feed of a client that left (mchost calls no hook for it). */
#define TICK_MS 250
#define ERROR_MAX 256
/* A feed's first line, once its cursor is known: a client that posts
 * after reading it finds its note in the feed. */
#define FEED_OPEN "retry: 1000\n\n"

static const char *db_path = "notes.db"; /* mchost keeps mc_config()'s */
static int64_t max_notes = 1000;
static int64_t poll_ms = POLL_MS;

/* ---- SQLite, on pool threads ---- */

/* This thread's connection, and every connection opened, for
 * mc_shutdown(): no work runs then (mchost waits for every done()). */
struct conn_list {
  sqlite3 *db;
  struct conn_list *next;
};
static __thread sqlite3 *thread_db;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_list *conns;

static sqlite3 *db_open(char *err) {
  sqlite3 *db = NULL;
  struct conn_list *l;

  if (thread_db != NULL)
    return thread_db;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      (l = malloc(sizeof *l)) == NULL) {
    snprintf(err, ERROR_MAX, "cannot open %.160s: %s", db_path,
             db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return NULL;
  }
  /* another worker may be writing: wait for its lock, up to 5 s */
  sqlite3_busy_timeout(db, 5000);
  l->db = db;
  pthread_mutex_lock(&conns_lock);
  l->next = conns;
  conns = l;
  pthread_mutex_unlock(&conns_lock);
  return thread_db = db;
}

static cJSON *note_json(sqlite3_stmt *st) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
  cJSON_AddStringToObject(o, "text", (const char *)sqlite3_column_text(st, 1));
  cJSON_AddStringToObject(o, "created",
                          (const char *)sqlite3_column_text(st, 2));
  return o;
}

enum op { OP_LIST, OP_GET, OP_CREATE, OP_DELETE };

/* One REST request's job: filled by mc_run(), done by job_work() on a pool
 * thread, answered by job_done() on the loop. */
struct job {
  enum op op;
  sqlite3_int64 id; /* GET, DELETE; CREATE: the new note's */
  char *text;       /* CREATE */
  int status;       /* the answer */
  char *body;       /* its JSON (cJSON's malloc), or NULL */
  char error[ERROR_MAX];
};

static const char *const sql[] = {
    [OP_LIST] = "SELECT id, text, created FROM notes ORDER BY id",
    [OP_GET] = "SELECT id, text, created FROM notes WHERE id = ?1",
    /* one statement, so that two workers cannot both take the last place */
    [OP_CREATE] = "INSERT INTO notes (text) SELECT ?1 WHERE "
                  "(SELECT count(*) FROM notes) < ?2 "
                  "RETURNING id, text, created",
    [OP_DELETE] = "DELETE FROM notes WHERE id = ?1",
};

static char *error_json(const char *message) {
  cJSON *o = cJSON_CreateObject();
  char *s;
  cJSON_AddStringToObject(o, "error", message);
  s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static void job_work(void *data) {
  struct job *j = data;
  sqlite3 *db = db_open(j->error);
  sqlite3_stmt *st = NULL;
  cJSON *out = NULL;
  int rc;

  j->status = 500;
  if (db == NULL ||
      sqlite3_prepare_v2(db, sql[j->op], -1, &st, NULL) != SQLITE_OK)
    goto fail;
  if (j->op == OP_CREATE) {
    sqlite3_bind_text(st, 1, j->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, max_notes);
  } else if (j->op != OP_LIST) {
    sqlite3_bind_int64(st, 1, j->id);
  }
  if (j->op == OP_LIST)
    out = cJSON_CreateArray();
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (j->op == OP_LIST) {
      cJSON_AddItemToArray(out, note_json(st));
    } else if (out == NULL) {
      out = note_json(st);
      j->id = sqlite3_column_int64(st, 0);
    }
  }
  if (rc != SQLITE_DONE)
    goto fail;
  if (j->op == OP_DELETE)
    j->status = sqlite3_changes(db) > 0 ? 204 : 404;
  else if (out != NULL)
    j->status = j->op == OP_CREATE ? 201 : 200;
  else if (j->op == OP_CREATE)
    j->status = 409;
  else
    j->status = 404;
  if (out != NULL)
    j->body = cJSON_PrintUnformatted(out);
  else if (j->status == 404)
    j->body = error_json("no such note");
  else if (j->status == 409)
    j->body = error_json("the notes are full (max_notes)");
  cJSON_Delete(out);
  sqlite3_finalize(st);
  return;
fail:
  if (j->error[0] == '\0')
    snprintf(j->error, sizeof j->error, "%s", sqlite3_errmsg(db));
  j->body = error_json("database error");
  cJSON_Delete(out);
  sqlite3_finalize(st);
}

/* ---- answering, on the loop ---- */

static void send_json(mc_response *res, int status, const char *json) {
  if (json == NULL) {
    mc_response_send(res, status, NULL, 0);
    return;
  }
  mc_response_header(res, "Content-Type", "application/json");
  mc_response_send(res, status, json, strlen(json));
}

static void send_error(mc_response *res, int status, const char *message) {
  char *json = error_json(message);
  send_json(res, status, json);
  free(json);
}

static void job_free(struct job *j) {
  free(j->text);
  free(j->body);
  free(j);
}

static void job_done(mc_response *res, void *data) {
  struct job *j = data;
  char location[64];
  int rc;

  if (j->error[0] != '\0')
    mc_log(MC_LOG_ERROR, "notes: %s", j->error);
  if (j->status == 201) {
    int n =
        snprintf(location, sizeof location, "/notes/%lld", (long long)j->id);
    mc_response_header(res, "Location", location);
    /* the feeds of every worker look now; if this is lost, at their next
     * poll */
    if ((rc = mc_publish(CHANNEL, location, (size_t)n)) != 0)
      mc_log(MC_LOG_DEBUG, "notes: mc_publish: %s", strerror(-rc));
  }
  /* the client may have left, or the deadline passed: then this fails,
   * and the job is freed all the same */
  send_json(res, j->status, j->status == 204 ? NULL : j->body);
  job_free(j);
}

static void run_job(mc_response *res, struct job *j) {
  if (mc_work(res, job_work, job_done, j) != 0) {
    job_free(j);
    send_error(res, 503, "busy, try again");
  }
}

/* The text of a POST body {"text": "..."} into *text (malloc'd): 0, or
 * the status to answer with, and why. */
static int parse_note(const mc_request *req, char **text, const char **why) {
  size_t len;
  const char *body = mc_request_body(req, &len);
  const char *type = mc_request_header(req, "Content-Type");
  cJSON *doc, *t;
  int status = 400;

  if (type == NULL || strncmp(type, "application/json", 16) != 0 ||
      (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
    *why = "send JSON (Content-Type: application/json)";
    return 415;
  }
  if ((doc = cJSON_ParseWithLength(body, len)) == NULL) {
    *why = "the body is not JSON";
    return 400;
  }
  t = cJSON_GetObjectItemCaseSensitive(doc, "text");
  if (!cJSON_IsObject(doc) || !cJSON_IsString(t))
    *why = "want an object with a \"text\" string";
  else if (t->valuestring[0] == '\0' || strlen(t->valuestring) > TEXT_MAX)
    *why = "\"text\" must be 1 to 1000 bytes";
  else if ((*text = strdup(t->valuestring)) == NULL)
    *why = "out of memory", status = 503;
  else
    status = 0;
  cJSON_Delete(doc);
  return status;
}

/* "/notes/ID" -> ID (1 or more), else 0. */
static sqlite3_int64 note_id(const char *path) {
  const char *p = path + strlen("/notes/");
  char *end;
  long long id;

  if (*p < '1' || *p > '9')
    return 0;
  errno = 0;
  id = strtoll(p, &end, 10);
  return *end == '\0' && errno == 0 ? id : 0;
}

/* ---- the live feed ---- */

struct feed {
  sqlite3_int64 cursor; /* the last note sent; -1: not known yet */
  char *out;            /* events to write (malloc'd), or NULL */
  size_t len;
  int full;      /* the last look found a whole batch */
  unsigned idle; /* looks without news since the last write */
  char error[ERROR_MAX];
  /* on the loop only (feed_work() never touches these): */
  mc_response *res;
  struct feed *prev, *next; /* this worker's feeds, for on_nudge() */
  enum { FEED_WAITING, FEED_LOOKING, FEED_DRAINING } state;
  int nudged;     /* a message came during the look or the drain */
  unsigned ticks; /* TICK_MS waited since the last look */
};

static struct feed *feeds;

static void feed_look(mc_response *res, void *data);
static void feed_tick(mc_response *res, void *data);

/* On a pool thread: the notes after the cursor, as events. */
static void feed_work(void *data) {
  struct feed *f = data;
  sqlite3 *db = db_open(f->error);
  sqlite3_stmt *st = NULL;
  size_t cap = 0;

  f->full = 0;
  if (db == NULL)
    return;
  if (f->cursor < 0) {
    /* a new client: from the newest note on */
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM notes", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      f->cursor = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (f->cursor >= 0 && (f->out = strdup(FEED_OPEN)) != NULL)
      f->len = strlen(FEED_OPEN);
    return;
  }
  if (sqlite3_prepare_v2(db,
                         "SELECT id, text, created FROM notes WHERE id > ?1 "
                         "ORDER BY id LIMIT ?2",
                         -1, &st, NULL) != SQLITE_OK) {
    snprintf(f->error, sizeof f->error, "%s", sqlite3_errmsg(db));
    return;
  }
  sqlite3_bind_int64(st, 1, f->cursor);
  sqlite3_bind_int(st, 2, POLL_BATCH);
  for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
    cJSON *note = note_json(st);
    char *json = cJSON_PrintUnformatted(note);
    size_t need = json ? strlen(json) + 64 : 0;
    cJSON_Delete(note);
    if (json == NULL)
      break;
    if (f->len + need > cap) {
      char *more = realloc(f->out, cap = 2 * (f->len + need));
      if (more == NULL) {
        free(json);
        break;
      }
      f->out = more;
    }
    f->cursor = sqlite3_column_int64(st, 0);
    f->len += (size_t)sprintf(f->out + f->len, "id: %lld\ndata: %s\n\n",
                              (long long)f->cursor, json);
    free(json);
    f->full = n + 1 == POLL_BATCH;
  }
  sqlite3_finalize(st);
}

/* While a look runs (mc_work(), from feed_stop() only) the feed cannot
 * end: its feed_write() ends it. */
static void feed_end(mc_response *res, struct feed *f) {
  if (mc_response_end(res) == -EBUSY)
    return;
  if (f->prev != NULL)
    f->prev->next = f->next;
  else
    feeds = f->next;
  if (f->next != NULL)
    f->next->prev = f->prev;
  free(f->out);
  free(f);
}

/* On the loop: writes what the look found, then waits for the next look,
 * or for the client to take what is queued. */
static void feed_write(mc_response *res, void *data) {
  struct feed *f = data;
  int rc = 0;

  if (f->error[0] != '\0') {
    mc_log(MC_LOG_ERROR, "notes: feed: %s", f->error);
    feed_end(res, f);
    return;
  }
  if (f->len == 0 && ++f->idle * poll_ms >= HEARTBEAT_MS) {
    /* a comment: keeps proxies and --stream-timeout from taking the
     * connection for idle, and finds clients that are gone */
    rc = mc_response_write(res, ": ping\n\n", 8);
    f->idle = rc == 0 ? 0 : f->idle;
  } else if (f->len > 0) {
    rc = mc_response_write(res, f->out, f->len);
    if (rc == 0) {
      f->len = 0;
      f->idle = 0;
    }
  }
  if (rc == -EAGAIN) {
    /* the client is behind: look again once it took most of the queue */
    f->state = FEED_DRAINING;
    rc = mc_response_on_drain(res, feed_write, f);
    if (rc == 0)
      return;
    if (rc == -EALREADY) {
      mc_response_later(res, 0, feed_write, f);
      return;
    }
  }
  if (rc != 0 || mc_response_aborted(res)) {
    feed_end(res, f);
    return;
  }
  f->state = FEED_WAITING;
  f->ticks = 0;
  if (f->full || f->nudged)
    mc_response_later(res, 0, feed_look, f);
  else
    mc_response_later(res, poll_ms < TICK_MS ? (unsigned)poll_ms : TICK_MS,
                      feed_tick, f);
}

/* Waiting: look once poll_ms has passed or the client left (the look ends
 * the feed), else wait on. */
static void feed_tick(mc_response *res, void *data) {
  struct feed *f = data;
  if (mc_response_aborted(res) || ++f->ticks * TICK_MS >= poll_ms)
    feed_look(res, f);
  else
    mc_response_later(res, TICK_MS, feed_tick, f);
}

/* "Look now", from any worker: a waiting feed looks at once (this replaces
 * its tick), a busy one right after. */
static void on_nudge(const mc_message *msg, void *arg) {
  (void)msg;
  (void)arg;
  for (struct feed *f = feeds; f != NULL; f = f->next) {
    if (f->state == FEED_WAITING)
      mc_response_later(f->res, 0, feed_look, f);
    else
      f->nudged = 1;
  }
}

/* The worker stops: the client comes back soon, to the next generation,
 * which serves already. While a look runs, mchost ends the stream for the
 * client, and feed_write() finds it aborted. */
static void feed_stop(mc_response *res, void *data) {
  mc_response_write(res, "retry: 250\n\n", 12);
  feed_end(res, data);
}

static void feed_look(mc_response *res, void *data) {
  struct feed *f = data;
  f->state = FEED_LOOKING;
  f->nudged = 0;
  if (mc_response_aborted(res) || mc_work(res, feed_work, feed_write, f) != 0)
    feed_end(res, f);
}

static void feed_start(mc_request *req, mc_response *res) {
  const char *last = mc_request_header(req, "Last-Event-ID");
  struct feed *f = calloc(1, sizeof *f);

  if (f == NULL) {
    send_error(res, 503, "out of memory");
    return;
  }
  f->res = res;
  f->state = FEED_LOOKING;
  f->next = feeds;
  if (feeds != NULL)
    feeds->prev = f;
  feeds = f;
  /* a client coming back: from the last note it saw */
  f->cursor = -1;
  if (last != NULL && last[0] >= '0' && last[0] <= '9' &&
      strspn(last, "0123456789") == strlen(last) && strlen(last) < 19)
    f->cursor = strtoll(last, NULL, 10);
  mc_response_header(res, "Content-Type", "text/event-stream");
  mc_response_header(res, "Cache-Control", "no-cache");
  if (mc_response_begin(res, 200) != 0 ||
      (f->cursor >= 0 &&
       mc_response_write(res, FEED_OPEN, strlen(FEED_OPEN)) != 0) ||
      mc_response_on_shutdown(res, feed_stop, f) != 0) {
    feed_end(res, f);
    return;
  }
  feed_look(res, f);
}

/* ---- routes ---- */

void mc_run(mc_request *req, mc_response *res) {
  const char *method = mc_request_method(req);
  const char *path = mc_request_path(req);
  struct job *j;

  if (strcmp(path, "/") == 0) {
    send_json(res, 200, "{\"notes\":\"/notes\",\"events\":\"/events\"}");
    return;
  }
  if (strcmp(path, "/events") == 0) {
    if (strcmp(method, "GET") != 0) {
      mc_response_header(res, "Allow", "GET");
      send_error(res, 405, "method not allowed");
      return;
    }
    feed_start(req, res);
    return;
  }
  if ((j = calloc(1, sizeof *j)) == NULL) {
    send_error(res, 503, "out of memory");
    return;
  }
  if (strcmp(path, "/notes") == 0 && strcmp(method, "GET") == 0) {
    j->op = OP_LIST;
  } else if (strcmp(path, "/notes") == 0 && strcmp(method, "POST") == 0) {
    const char *why = NULL;
    int status = parse_note(req, &j->text, &why);
    j->op = OP_CREATE;
    if (status != 0) {
      send_error(res, status, why);
      job_free(j);
      return;
    }
  } else if (strncmp(path, "/notes/", 7) == 0 && note_id(path) > 0 &&
             (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0)) {
    j->op = method[0] == 'G' ? OP_GET : OP_DELETE;
    j->id = note_id(path);
  } else {
    int known = strcmp(path, "/notes") == 0 ||
                (strncmp(path, "/notes/", 7) == 0 && note_id(path) > 0);
    if (known)
      mc_response_header(res, "Allow",
                         path[6] == '\0' ? "GET, POST" : "GET, DELETE");
    send_error(res, known ? 405 : 404,
               known ? "method not allowed" : "not found");
    job_free(j);
    return;
  }
  run_job(res, j);
}

/* ---- start and stop ---- */

/* Reads the settings and makes sure the table exists: once per worker,
 * before any request (blocking here is fine). */
int mc_init(const mc_worker *w) {
  sqlite3 *conn = NULL;
  char *err = NULL;
  int rc;

  if (mc_config("db") != NULL)
    db_path = mc_config("db");
  rc = mc_config_int("max_notes", &max_notes);
  if ((rc != 0 && rc != -ENOENT) || max_notes < 1) {
    mc_log(MC_LOG_ERROR, "notes: max_notes '%s': want a number >= 1",
           mc_config("max_notes"));
    return 1;
  }
  rc = mc_config_int("poll_ms", &poll_ms);
  if ((rc != 0 && rc != -ENOENT) || poll_ms < 1 || poll_ms > 3600000) {
    mc_log(MC_LOG_ERROR, "notes: poll_ms '%s': want 1 to 3600000",
           mc_config("poll_ms"));
    return 1;
  }
  if ((rc = mc_subscribe(CHANNEL, on_nudge, NULL)) != 0) {
    mc_log(MC_LOG_ERROR, "notes: mc_subscribe: %s", strerror(-rc));
    return 1;
  }
  rc = sqlite3_open(db_path, &conn);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(conn, 5000);
    /* WAL: readers never wait for the writer, across workers too */
    rc = sqlite3_exec(conn,
                      "PRAGMA journal_mode = WAL;"
                      /* AUTOINCREMENT: an id is never used twice, so a
                       * feed's cursor misses no note */
                      "CREATE TABLE IF NOT EXISTS notes ("
                      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                      " text TEXT NOT NULL,"
                      " created TEXT NOT NULL"
                      "  DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))",
                      NULL, NULL, &err);
  }
  if (rc != SQLITE_OK)
    mc_log(MC_LOG_ERROR, "notes: %s: %s", db_path,
           err ? err : sqlite3_errmsg(conn));
  else if (w->id == 1)
    mc_log(MC_LOG_INFO, "notes: %s, at most %" PRId64 " notes", db_path,
           max_notes);
  sqlite3_free(err);
  sqlite3_close(conn);
  return rc == SQLITE_OK ? 0 : 1;
}

void mc_shutdown(void) {
  mc_unsubscribe(CHANNEL, on_nudge, NULL);
  while (conns != NULL) {
    struct conn_list *l = conns;
    conns = l->next;
    sqlite3_close(l->db);
    free(l);
  }
}
