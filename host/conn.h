/* conn.h - one HTTP/1.1 connection: reading, writes (and its parsing, in
 * parse.c; its timer and deadlines, in deadline.c). */
#ifndef MCHOST_CONN_H
#define MCHOST_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "arena.h"
#include "body.h"
#include "forwarded.h"
#include "llhttp.h"
#include "mchost.h"

/* The struct that embeds a member, from the member's address (a uv
 * handle or request inside a conn). */
#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

struct worker;
struct conn;
struct fetch;
struct file_send;

/* Header fields beyond this count get 431, whatever --max-header-size. */
#define CONN_MAX_HEADERS 100
/* Response header fields set by the plugin (mc_response_header()). */
#define CONN_RES_HEADERS_SIZE 4096
/* The worker's input buffer, and a connection's own when a read leaves
 * part of a request unparsed (pipelined requests wait in there). Large, so
 * that a big body takes few reads: only the pages a connection really
 * fills become resident memory. */
#define CONN_READ_SIZE 65536
/* Responses at least this large are written straight from the plugin's
 * buffer instead of being copied into `out` first. */
#define CONN_DIRECT_WRITE_MIN 16384

struct mc_request {
  struct conn *c;
  const char *method;
  const char *target;
  const char *path;
  const char *query;
  int version; /* 10 or 11 */
  int keep_alive;
  size_t nheaders;
  struct {
    const char *name, *value;
  } headers[CONN_MAX_HEADERS];
  char *body; /* owned by the conn, reused; NUL-terminated */
  size_t body_len, body_cap;
  char remote_addr[FORWARDED_ADDR_LEN]; /* the client (client.c) */
  int remote_port;
  const char *scheme;            /* "http" or "https" */
  char id[FORWARDED_ID_MAX + 1]; /* "" until client_request_id() */
  struct arena arena;            /* the SDK helpers' memory (request.h) */
  struct req_parsed *parsed;     /* what they parsed; NULL until one asks */
};

enum res_state {
  RES_IDLE,      /* no request being answered */
  RES_HANDLER,   /* mc_run() is running */
  RES_DEFERRED,  /* mc_run() returned, the plugin finishes later */
  RES_WORK,      /* deferred, and mc_work() runs: it cannot be answered
                    until its done callback */
  RES_STREAMING, /* head sent, body pieces follow (chunked, or length) */
  RES_FILE,      /* head sent, the host sends a file as the body (file.c);
                    the plugin is done with it */
  RES_DONE,      /* finished: the next request may be dispatched */
  RES_ABANDONED  /* answered 503 by the host at its deadline: the plugin
                    may still hold it, every call now fails */
};

struct mc_response {
  struct conn *c;
  enum res_state state;
  int status;
  int head_sent;
  int chunked;     /* streaming with chunked framing */
  uint64_t start;  /* where its head begins in the conn's output stream */
  int head_only;   /* HEAD request: framing but no body */
  uint64_t bytes;  /* body bytes sent, for the access log */
  uint64_t length; /* mc_response_begin_length()'s, else RES_NO_LENGTH */
  int aborted;     /* client went away before the response was finished */
  size_t hlen;     /* bytes used in headers */
  char headers[CONN_RES_HEADERS_SIZE];
  void (*later_cb)(mc_response *res, void *data);
  void *later_data;
  uint64_t timeout_ms; /* mc_response_timeout(), or RES_TIMEOUT_DEFAULT */
  void (*drain_cb)(mc_response *res, void *data); /* mc_response_on_drain */
  void *drain_data;
  void (*shutdown_cb)(mc_response *res, void *data); /* stream.c */
  void *shutdown_data;
  int told_shutdown;      /* its worker's stop reached it (stream.c) */
  struct file_send *file; /* RES_FILE: what is left to send (file.c) */
};

#define RES_TIMEOUT_DEFAULT UINT64_MAX
#define RES_NO_LENGTH UINT64_MAX

/* A growable byte buffer that is kept across requests. */
struct buf {
  char *data;
  size_t len, cap;
};

#define NO_DEADLINE UINT64_MAX

enum conn_timer {
  TIMER_NONE,
  TIMER_HEADER,    /* waiting for a request's headers: 408 */
  TIMER_BODY,      /* waiting for more of a body: 408 */
  TIMER_KEEPALIVE, /* idle between requests: close quietly */
  TIMER_LINGER,    /* closing: drain what the client still sends */
  TIMER_RESUME,    /* 0 ms: go on with the next request */
  TIMER_REQUEST,   /* the plugin's next step: a deferred response must
                      start (503 after), a stream must write (closed after) */
  TIMER_SEND,      /* output waits for the client: it must take some of it
                      every --send-timeout, or the connection ends */
  TIMER_WS,        /* a WebSocket's idle timeout (ws.c) */
  TIMER_WS_CLOSE   /* a WebSocket's close: bounds it even while output
                      waits for the client, as TIMER_LINGER does (ws.c) */
};

/* What a connection holds only while a request is in progress (from its
 * first byte until its response is out): taken from the worker's spares
 * by exchange_take() and given back by exchange_give() (exchange.c), so
 * that an idle keep-alive connection holds none of it. */
struct exchange {
  struct exchange *next; /* in the worker's spares */
  uv_timer_t later;      /* mc_response_later(); initialised once */
  uv_write_t wreq;
  uv_shutdown_t sreq;
  struct buf out;  /* parked here while spare, else the conn's `out` */
  struct buf wout; /* output in flight in wreq (write.c) */
  struct buf raw;  /* the request's bytes as received, with --crash-dir */
  mc_request req;
  mc_response res;
  char hbuf[]; /* the head: request line and header fields */
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer; /* the one timeout of the current phase */
  struct worker *w;
  struct conn *prev, *next; /* worker's list of open or free conns */
  llhttp_t parser;
  enum conn_timer timer_kind;
  int peer_port;
  uint64_t deadline; /* of timer_kind, in uv_now() ms; see conn_set_timer() */
  unsigned handles_open; /* uv handles not yet closed */
  unsigned closing : 1;
  unsigned close_after : 1; /* close once the output is written */
  unsigned reading : 1;
  unsigned writing : 1;
  unsigned in_process : 1; /* conn_process() is on the stack */
  unsigned request_ready : 1;
  unsigned continue_sent : 1;
  unsigned last_request : 1; /* the client said its request was its last,
                                and the request arrived whole */
  unsigned
      orphaned : 1; /* a plugin may still hold its response: never reused */
  unsigned work_pending : 1; /* mc_work() runs for its response */
  unsigned chunk_line : 1;   /* a chunk-size line is next (parse_chunk_line) */
  unsigned last_chunk : 1;   /* the chunk being parsed is the last one */
  unsigned proxy_wait : 1;   /* --proxy-protocol: its header is not read yet */
  unsigned trusted : 1;      /* the peer is a trusted proxy (client.c) */
  unsigned inflight : 1;     /* dispatched, not yet answered (board count) */
  unsigned raw_done : 1;     /* `raw` holds a dispatched request */
  unsigned nodelay : 1;      /* TCP_NODELAY set (write.c) */
  unsigned detached : 1;   /* no socket (mchost replay): output stays in out */
  unsigned in_message : 1; /* llhttp is inside a request (parse.c) */
  int error_status;      /* set by a parser callback that rejects the request */
  int expect;            /* index of the Expect header, or -1 */
  int hosts;             /* Host header fields seen */
  int te_field;          /* a Transfer-Encoding field was seen */
  unsigned value_pieces; /* of the header value being parsed */
  int value_at_end;      /* its last piece ended with the input */
  const char *exec_end;  /* end of the input llhttp is parsing */
  uint64_t requests;
  /* --min-rate (rate.c): when the head (its first byte) or the body
   * began, in uv_now() ms (NO_DEADLINE: no byte yet), the head's
   * --header-timeout deadline, and a body's progress when no rate is set */
  uint64_t phase_start, head_until;
  uint64_t rate_seen, rate_seen_at;
  struct body body;    /* read by the plugin itself (body.c) */
  uint64_t started_ns; /* the current request's dispatch (or the error that
                          answers it), for the access log and the metrics */
  uint64_t committed;  /* output bytes handed to the kernel or to uv_write */
  uint64_t taken_mark; /* bytes the kernel had taken at the last look
                          (TIMER_SEND) */
  void (*drain)(struct conn *c); /* conn_on_drain() */
  struct fetch *fetches;         /* mc_fetch()es for its response (fetch.c) */
  /* input: bytes [rpos, rlen) are received but not parsed, in rbuf: NULL
   * when there are none, the worker's read buffer while a read is parsed,
   * else the conn's own copy of the rest (exchange.c) */
  size_t rpos, rlen;
  char *rbuf;
  /* the current request's line and headers, NUL-separated (in x) */
  char *hbuf;
  size_t hlen, hcap;
  size_t field_start;
  /* the request in progress, and its response: in x, NULL while idle */
  struct exchange *x;
  mc_request *req;
  mc_response *res;
  /* the peer, where each request's client starts from (client.c) */
  char peer_addr[FORWARDED_ADDR_LEN]; /* and peer_port, above */
  const char *peer_scheme;
  /* output: `out` collects (in x while a request is in progress; see
   * write.c) */
  struct buf out;
  mc_ws *ws; /* the WebSocket this conn became (ws.c), or NULL */
};

/* Sets up a connection for an accepted socket fd, from the client at peer
 * (as accept4() gave it: IPv4 or IPv6; anything else shows no address).
 * Returns 0 or a negative errno (the fd is closed then). */
int conn_start(struct conn *c, struct worker *w, int fd,
               const struct sockaddr *peer);

/* A conn without a socket, for `mchost replay`: conn_feed() gives it
 * input, and its output collects in c->out. Returns 0 or a libuv error. */
int conn_start_detached(struct conn *c, struct worker *w);
/* Parses and dispatches what fits of data[0..len) (conn_start_detached()
 * conns only). Returns the bytes taken: 0 while a response is pending. */
size_t conn_feed(struct conn *c, const char *data, size_t len);

/* Starts closing; memory is released by the worker once every handle is
 * closed and no response is left that a plugin may still finish. */
void conn_close(struct conn *c);

/* ---- exchange.c: what a request in progress holds ---- */

/* Gives c an exchange (a spare one, else a new one). Returns 0 or -ENOMEM
 * (nothing changed). */
int exchange_take(struct conn *c);
/* Gives c's exchange back if nothing is in progress any more: no request
 * begun or answered, no input or output waiting. */
void exchange_release_idle(struct conn *c);
/* Sets up a conn that holds no exchange (a new one). */
void exchange_idle(struct conn *c);
/* Gives c's exchange back whatever its state (the conn is released). */
void exchange_give(struct conn *c);
/* Frees the worker's spare exchanges (their timers closed by then). */
void exchange_free_spares(struct worker *w);

/* The input buffer for a read on c: its own rest buffer, or the worker's
 * read buffer when it has no unparsed input. */
uv_buf_t exchange_read_buffer(struct conn *c);
/* After input was parsed: what is left unparsed moves from the worker's
 * read buffer to a buffer of c's own, and an own buffer whose bytes are
 * all parsed is freed. */
void exchange_keep_rest(struct conn *c);
/* Frees what a closed conn still holds (input, exchange, crash copy). */
void conn_free_buffers(struct conn *c);

/* ---- deadline.c: the conn's one timer ---- */

/* Called after each plugin callback: a response the plugin keeps open gets
 * its deadline, if it has none yet (deferred: --request-timeout; streamed:
 * --stream-timeout; or mc_response_timeout()). */
void conn_watch_deferred(struct conn *c);

/* The plugin made progress (a piece written: restart 0 pushes a running
 * deadline) or set a new limit (restart 1 arms it from now). */
void conn_response_progress(struct conn *c, int restart);

/* A write is in flight: from now on the client's pace decides (the client
 * must take some output every --send-timeout), not an idle or response
 * deadline; a request still being received keeps its own. */
void conn_wait_client(struct conn *c);

/* What the kernel has taken of the output so far. */
static inline uint64_t conn_taken(const struct conn *c) {
  return c->committed - c->tcp.write_queue_size;
}

/* Parses and dispatches what was received (conn.c). */
void conn_process(struct conn *c);

/* The plugin crashed in the middle of a streamed response: a 500 if none
 * of it has left yet, else what is buffered goes out and the connection
 * ends, which tells the client the body is cut short. */
void conn_abort_stream(struct conn *c);

/* Enters a phase, with its timeout on the conn's one timer; TIMER_NONE, or
 * 0 ms for anything but TIMER_RESUME, means no timeout. */
void conn_set_timer(struct conn *c, enum conn_timer kind, uint64_t ms);

/* Called by response.c when a response is finished. */
void conn_response_done(struct conn *c);

/* The server ends the connection once its output is out: at once, or
 * after a lingering half-close (conn.c). */
void conn_linger(struct conn *c);

/* ---- write.c: the output ---- */

/* Queues output; writes directly when it is large. Returns 0 or -EPIPE. */
int conn_output(struct conn *c, const uv_buf_t *bufs, unsigned n);
/* Writes queued output now (one vectored write when possible). */
void conn_flush(struct conn *c);
/* Sets TCP_NODELAY before a write that follows an earlier one (write.c):
 * for a writer that bypasses conn_output(), such as sendfile(). */
void conn_nodelay_before_write(struct conn *c);
/* Grows the heap block *data, of *cap bytes, to hold at least `need`,
 * doubling from `first` bytes (from *cap once it has some). Returns 0, or
 * -ENOMEM with *data and *cap as they were. */
int buf_grow(char **data, size_t *cap, size_t need, size_t first);
/* Appends to a buffer, growing it. Returns 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t len);

/* ---- the output queue (backpressure), for responses and upgraded
 * connections alike ----
 * Bytes accepted for the client but not yet handed to the kernel: what
 * `out` collects plus what libuv still holds of the write in flight. A
 * writer that may produce without bound (a stream, WebSocket frames) stops
 * taking data once it holds CONN_QUEUE_HIGH bytes and goes on when
 * conn_on_drain() says so. */
#define CONN_QUEUE_HIGH MC_QUEUE_HIGH
#define CONN_QUEUE_LOW MC_QUEUE_LOW
size_t conn_queued(const struct conn *c);

/* Calls fn(c) once, from the loop, when a write completes and leaves at
 * most CONN_QUEUE_LOW bytes queued, or when the connection closes (then
 * c->closing is set and nothing more can be sent). One hook per conn: a
 * second call replaces the first. Returns 0; -EALREADY when the queue is
 * already at or below CONN_QUEUE_LOW (fn is not called: write now);
 * -EPIPE when the connection is closing (fn is not called). */
int conn_on_drain(struct conn *c, void (*fn)(struct conn *c));

/* response.c: head and error responses */
int response_send_error(struct conn *c, int status);
/* The last chunk of a chunked stream, unless it has no body (HEAD) or
 * nobody reads it any more (closing, aborted). 0, or conn_output()'s
 * error. */
int response_last_chunk(mc_response *res);
void response_reset(mc_response *res, struct conn *c);
/* 1 while the response can still be answered (not begun nor deferred to
 * a running mc_work()). */
int response_can_answer(const mc_response *res);
/* Ends a response whose head is out (RES_STREAMING, or RES_FILE once the
 * file is sent or abandoned), as mc_response_end() does. */
int response_end_stream(mc_response *res);

/* file.c: a file as the body */
/* The connection closes while its response sends a file: the file is
 * abandoned and the response ended, before the socket is closed. */
void file_conn_closing(struct conn *c);

#endif
