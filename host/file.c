/*
 * file.c - mc_response_file(): a response whose body is a file, which the
 * kernel sends from the page cache to the socket (sendfile(2)) without it
 * passing through the worker's memory, as nginx's static module does.
 *
 * The head goes out through the connection's usual output. Once all of it
 * is in the kernel, the body follows in sendfile() calls of at most
 * FILE_TURN_MAX bytes per turn of the loop, so that a fast client of a
 * large file does not hold up the worker's other connections. When the
 * socket is full, a poll handle waits for room on a duplicate of the
 * socket's descriptor: libuv gives a descriptor one watcher, the
 * connection's uv_tcp_t, while epoll registers a second descriptor of the
 * same socket on its own. The duplicate is closed before the socket is
 * (file_conn_closing()), since epoll forgets a socket only once every
 * descriptor of it is closed.
 */
#define _GNU_SOURCE /* F_DUPFD_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cond.h"
#include "conn.h"
#include "log.h"
#include "utc.h"
#include "worker.h"

/* What one turn of the loop sends of a file before the others get theirs
 * (nginx's sendfile_max_chunk). */
#define FILE_TURN_MAX (2u << 20)
/* A body up to this size is read into the response's one write: fewer
 * system calls than a write and a sendfile(), and no second segment. */
#define FILE_COPY_MAX 16384

struct file_send {
  uv_poll_t poll; /* on sock, once the socket was full */
  struct conn *c;
  int fd;            /* the file */
  int sock;          /* the socket's duplicate for `poll`, or -1 */
  uint64_t off, end; /* bytes [off, end) of the file are still to send */
};

static void file_pump(struct conn *c);

static void free_on_close(uv_handle_t *h) { free(h->data); }

/* Lets go of the file, and ends the response: complete when every byte
 * went out, else cut (the connection ends, as for a short stream). */
static void file_release(struct conn *c) {
  struct file_send *f = c->res->file;

  c->res->file = NULL;
  c->res->state = RES_STREAMING;
  if (c->drain == file_pump)
    c->drain = NULL;
  close(f->fd);
  if (f->sock >= 0) {
    uv_close((uv_handle_t *)&f->poll, free_on_close); /* leaves epoll now */
    close(f->sock);
  } else {
    free(f);
  }
  response_end_stream(c->res);
}

void file_conn_closing(struct conn *c) {
  c->res->aborted = 1;
  file_release(c);
}

static void file_on_writable(uv_poll_t *p, int status, int events) {
  struct file_send *f = p->data;
  (void)events;
  if (status < 0) {
    f->c->res->aborted = 1;
    conn_close(f->c);
    return;
  }
  f->c->writing = 0;
  file_pump(f->c);
}

/* Waits for the socket to take more: the poll stays on until the file is
 * sent. Meanwhile the conn counts as writing, as with a uv_write() in
 * flight: nothing else is written or dispatched, and the client must take
 * some of the file every --send-timeout (deadline.c). */
static int file_wait(struct conn *c, struct file_send *f) {
  int fd, err;

  if (f->sock < 0) {
    if ((err = uv_fileno((uv_handle_t *)&c->tcp, &fd)) != 0)
      return err;
    if ((f->sock = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
      return -errno;
    if ((err = uv_poll_init_socket(&c->w->loop, &f->poll, f->sock)) != 0) {
      close(f->sock);
      f->sock = -1;
      return err;
    }
    f->poll.data = f;
    if ((err = uv_poll_start(&f->poll, UV_WRITABLE, file_on_writable)) != 0)
      return err;
  }
  c->writing = 1;
  conn_wait_client(c);
  return 0;
}

static void file_pump(struct conn *c) {
  struct file_send *f = c->res->file;
  uint64_t turn = 0;
  int sock, err;

  /* The head first: all of it in the kernel before the first byte of the
   * file goes behind it. */
  if (c->out.len > 0 && !c->writing)
    conn_flush(c);
  if (c->closing)
    return; /* conn_close() released the file */
  if (c->writing || c->out.len > 0) {
    c->drain = file_pump;
    return;
  }
  conn_nodelay_before_write(c);
  uv_fileno((uv_handle_t *)&c->tcp, &sock);
  while (f->off < f->end && turn < FILE_TURN_MAX) {
    uint64_t want = f->end - f->off;
    off_t off = (off_t)f->off;
    ssize_t n;

    if (want > FILE_TURN_MAX - turn)
      want = FILE_TURN_MAX - turn;
    n = sendfile(sock, f->fd, &off, (size_t)want);
    if (n > 0) {
      f->off += (uint64_t)n;
      turn += (uint64_t)n;
      c->committed += (uint64_t)n;
      c->res->bytes += (uint64_t)n;
    } else if (n == 0) {
      log_warn("%s %s: the file ended %llu bytes short of its size at the "
               "start of the response (it shrank); closing the connection",
               c->req->method, c->req->target,
               (unsigned long long)(f->end - f->off));
      conn_close(c);
      return;
    } else if (errno == EAGAIN) {
      break;
    } else if (errno != EINTR) {
      c->res->aborted = 1; /* EPIPE, ECONNRESET: the client left */
      conn_close(c);
      return;
    }
  }
  if (f->off == f->end) {
    file_release(c);
    return;
  }
  if ((err = file_wait(c, f)) != 0) {
    log_warn("%s %s: cannot wait for the client to take the file: %s",
             c->req->method, c->req->target, uv_strerror(err));
    conn_close(c);
  }
}

/* ---- the head ---- */

/* 1 when the plugin set this header itself. */
static int has_header(const mc_response *res, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < res->hlen;) {
    const char *line = res->headers + i, *eol;
    if (strncasecmp(line, name, len) == 0 && line[len] == ':')
      return 1;
    eol = memchr(line, '\n', res->hlen - i);
    i = (size_t)(eol - res->headers) + 1;
  }
  return 0;
}

/* The status for this request: 200 with the whole file, 206 with
 * `*length` bytes from `*first` and its Content-Range, 304, 412 or 416;
 * headers that go with it are added. Returns the status, or
 * mc_response_header()'s error (-ENOSPC, or -EINVAL for a type with a
 * line break). */
static int choose(mc_response *res, const struct stat *st, const char *type,
                  uint64_t *first, uint64_t *length) {
  const mc_request *req = res->c->req;
  int get = res->c->parser.method == HTTP_GET;
  uint64_t size = (uint64_t)st->st_size, last;
  char etag[COND_ETAG_MAX], date[UTC_HTTP_LEN + 1], range[80];
  struct cond_request cr = {
      .if_match = mc_request_header(req, "If-Match"),
      .if_unmodified_since = mc_request_header(req, "If-Unmodified-Since"),
      .if_none_match = mc_request_header(req, "If-None-Match"),
      .if_modified_since = mc_request_header(req, "If-Modified-Since"),
      .get_or_head = get || res->head_only};
  enum cond_result verdict;
  int rc, err;

  if (type == NULL)
    type = "application/octet-stream";
  cond_etag(etag, (int64_t)st->st_mtime, size);
  utc_http(date, st->st_mtime);
  verdict = cond_evaluate(&cr, etag, (int64_t)st->st_mtime);
  if (verdict == COND_FAILED)
    return MC_STATUS_PRECONDITION_FAILED;
  if ((rc = mc_response_header(res, "ETag", etag)) != 0 ||
      (rc = mc_response_header(res, "Last-Modified", date)) != 0)
    return rc;
  if (verdict == COND_NOT_MODIFIED)
    return MC_STATUS_NOT_MODIFIED;
  if (!has_header(res, "content-type") &&
      (rc = mc_response_header(res, "Content-Type", type)) != 0)
    return rc;
  if ((rc = mc_response_header(res, "Accept-Ranges", "bytes")) != 0)
    return rc;
  *first = 0;
  *length = size;
  /* Only GET has ranges (RFC 9110, 14.2); If-Range may call them off. */
  if (!get || !cond_if_range(mc_request_header(req, "If-Range"), etag,
                             (int64_t)st->st_mtime))
    return MC_STATUS_OK;
  rc = mc_request_range(req, size, first, &last);
  if (rc == -ERANGE) {
    snprintf(range, sizeof range, "bytes */%llu", (unsigned long long)size);
    rc = MC_STATUS_RANGE_NOT_SATISFIABLE;
  } else if (rc == 0) {
    snprintf(range, sizeof range, "bytes %llu-%llu/%llu",
             (unsigned long long)*first, (unsigned long long)last,
             (unsigned long long)size);
    *length = last - *first + 1;
    rc = MC_STATUS_PARTIAL_CONTENT;
  } else {
    return MC_STATUS_OK; /* none, or one to ignore: the whole file */
  }
  if ((err = mc_response_header(res, "Content-Range", range)) != 0)
    return err;
  return rc;
}

/* ---- the body ---- */

static ssize_t read_at(int fd, char *buf, uint64_t len, uint64_t off) {
  ssize_t n;
  while ((n = pread(fd, buf, (size_t)len, (off_t)off)) < 0 && errno == EINTR)
    ;
  return n < 0 ? -errno : n;
}

/* A body read into memory: a small one, which goes out with its head in
 * one write, or any body of a conn without a socket (mchost replay).
 * Returns 0, or -errno of pread() when nothing was sent. */
static int file_copy(mc_response *res, int fd, int status, uint64_t first,
                     uint64_t length) {
  char piece[FILE_COPY_MAX];
  uint64_t done = 0;
  ssize_t n;
  int rc;

  if (length <= sizeof piece) {
    if ((n = read_at(fd, piece, length, first)) < 0)
      return (int)n;
    if ((uint64_t)n == length)
      return mc_response_send(res, status, piece, (size_t)n);
  }
  /* In pieces; or shorter than at fstat(): then the body ends short, and
   * so does the connection. */
  if ((rc = mc_response_begin_length(res, status, length)) != 0)
    return rc;
  while (done < length) {
    uint64_t want = length - done < sizeof piece ? length - done : sizeof piece;
    if ((n = read_at(fd, piece, want, first + done)) <= 0)
      break;
    res->bytes += (uint64_t)n;
    done += (uint64_t)n;
    if (conn_output(res->c, &(uv_buf_t){piece, (size_t)n}, 1) != 0)
      break;
  }
  response_end_stream(res);
  return 0;
}

/* 0 when res may be answered with fd, else why not. */
static int answerable(const mc_response *res, int fd, struct stat *st) {
  if (!response_can_answer(res))
    return -EALREADY;
  if (res->c->closing)
    return -EPIPE;
  if (fstat(fd, st) != 0)
    return -errno;
  return S_ISREG(st->st_mode) ? 0 : -EINVAL;
}

/* Answers with the file (fd is closed here, or once it is sent), in
 * `status`. Returns as mc_response_file(). */
static int answer(mc_response *res, int fd, int status, uint64_t first,
                  uint64_t length) {
  struct file_send *f;
  int rc;

  if (status != MC_STATUS_OK && status != MC_STATUS_PARTIAL_CONTENT) {
    rc = mc_response_send(res, status, NULL, 0);
  } else if (res->head_only) {
    if ((rc = mc_response_begin_length(res, status, length)) == 0)
      rc = response_end_stream(res);
  } else if (length <= FILE_COPY_MAX || res->c->detached) {
    rc = file_copy(res, fd, status, first, length);
  } else if ((f = calloc(1, sizeof *f)) == NULL) {
    rc = -ENOMEM;
  } else if ((rc = mc_response_begin_length(res, status, length)) != 0) {
    free(f);
  } else {
    f->c = res->c;
    f->fd = fd;
    f->sock = -1;
    f->off = first;
    f->end = first + length;
    res->file = f;
    res->state = RES_FILE;
    file_pump(res->c);
    return 0;
  }
  close(fd);
  return rc;
}

MC_EXTERN int mc_response_file(mc_response *res, int fd, const char *type) {
  struct stat st;
  uint64_t first = 0, length = 0;
  size_t hlen = res->hlen;
  int rc = answerable(res, fd, &st);

  if (rc == 0 && (rc = choose(res, &st, type, &first, &length)) > 0)
    rc = answer(res, fd, rc, first, length);
  else
    close(fd);
  /* Nothing was sent: the headers as the plugin left them, for its own
   * answer. */
  if (rc != 0 && response_can_answer(res))
    res->hlen = hlen;
  return rc;
}
