/*
 * parse.c - what a request must look like to reach a plugin.
 *
 * llhttp (strict, no lenient flags) parses a conn's input; these callbacks
 * copy the request line and headers into the conn's header buffer, so that
 * nothing points into the input buffer once a read is parsed. They also
 * apply the size limits, and reject what llhttp lets through but RFC 9112
 * says a server must (or may) reject, because hops that read it differently
 * open the way to request smuggling. A rejection leaves the status to answer
 * with in c->error_status (see parse_error_status()), and conn.c sends it.
 * on_message_complete pauses the parser, so that conn.c hands the request
 * to the plugin outside llhttp's stack.
 */
#define _GNU_SOURCE /* memmem */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "conn.h"
#include "deconst.h"
#include "token.h"
#include "worker.h"

static struct conn *parser_conn(llhttp_t *p) { return p->data; }

static int reject(struct conn *c, int status) {
  c->error_status = status;
  return -1;
}

/* ---- the head: copied into hbuf ---- */

static int hbuf_put(struct conn *c, const char *at, size_t len, int status) {
  if (len >= c->hcap - c->hlen) {
    c->error_status = status;
    return -1;
  }
  memcpy(c->hbuf + c->hlen, at, len);
  c->hlen += len;
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  c->in_message = 1;
  c->hlen = 0;
  c->req->nheaders = 0;
  c->req->body_len = 0;
  c->req->method = c->req->target = NULL; /* an error log line says "-" */
  c->req->version = 11;
  c->hosts = 0;
  c->te_field = 0;
  c->expect = -1;
  c->continue_sent = 0;
  c->req->id[0] = '\0';
  if (c->trusted)
    client_request_begin(c);
  c->body.state = BODY_NONE;
  /* --header-timeout bounds the whole head from its first byte, and
   * --min-rate how slowly it may come (rate.c): a client that trickles one
   * byte at a time cannot hold a connection for long. */
  c->phase_start = uv_now(&c->w->loop);
  if (c->timer_kind != TIMER_HEADER)
    rate_begin_head(c);
  return 0;
}

/* Method and version are known before the headers: a request rejected in
 * its headers is still logged with its request line. */
static int on_method_complete(llhttp_t *p) {
  parser_conn(p)->req->method = llhttp_method_name((llhttp_method_t)p->method);
  return 0;
}

static int on_version_complete(llhttp_t *p) {
  parser_conn(p)->req->version = p->http_minor == 0 ? 10 : 11;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  return hbuf_put(c, at, len, MC_STATUS_URI_TOO_LONG);
}

/* ---- the absolute-form target (RFC 9112 3.2.2, RFC 3986 3.2) ---- */

static int is_unreserved(int ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
         ch == '~';
}

static int is_sub_delim(int ch) {
  return ch != '\0' && strchr("!$&'()*+,;=", ch) != NULL;
}

static int is_hex(int ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
         (ch >= 'A' && ch <= 'F');
}

/* IP-literal without its brackets: an IPv6 address, or IPvFuture
 * ("v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )). */
static int ip_literal_ok(const char *s, const char *e) {
  char addr[INET6_ADDRSTRLEN];
  struct in6_addr a6;

  if (s < e && (*s == 'v' || *s == 'V')) {
    const char *dot = ++s;
    while (dot < e && is_hex(*dot))
      dot++;
    if (dot == s || dot == e || *dot != '.' || dot + 1 == e)
      return 0;
    for (s = dot + 1; s < e; s++)
      if (!is_unreserved(*s) && !is_sub_delim(*s) && *s != ':')
        return 0;
    return 1;
  }
  if (e - s <= 0 || (size_t)(e - s) >= sizeof addr)
    return 0;
  memcpy(addr, s, (size_t)(e - s));
  addr[e - s] = '\0';
  return inet_pton(AF_INET6, addr, &a6) == 1;
}

/* The authority of an http(s) URI: host [ ":" port ], where the host is
 * not empty (RFC 9110 4.2.1), there is no userinfo (RFC 9110 4.2.4: a
 * recipient should treat it as an error; it is how phishing URIs hide
 * their host), and the port, if any, is a TCP port. */
static int authority_ok(const char *s, const char *e) {
  const char *host_end;
  unsigned long port = 0;

  if (s < e && *s == '[') {
    const char *close = memchr(s, ']', (size_t)(e - s));
    if (close == NULL || !ip_literal_ok(s + 1, close))
      return 0;
    host_end = close + 1;
  } else {
    for (host_end = s; host_end < e && *host_end != ':'; host_end++) {
      if (*host_end == '%') {
        if (e - host_end < 3 || !is_hex(host_end[1]) || !is_hex(host_end[2]))
          return 0;
        host_end += 2;
      } else if (!is_unreserved(*host_end) && !is_sub_delim(*host_end)) {
        return 0;
      }
    }
    if (host_end == s)
      return 0;
  }
  if (host_end == e)
    return 1;
  if (*host_end != ':')
    return 0;
  for (const char *d = host_end + 1; d < e; d++) {
    if (*d < '0' || *d > '9')
      return 0;
    port = port * 10 + (unsigned long)(*d - '0');
    if (port > 65535)
      return 0;
  }
  return 1;
}

/* Where the path of an absolute-form target [t, end) begins (at its end
 * when it has none), or NULL when the target is not an http or https URI
 * with a valid authority. */
static const char *absolute_form_path(const char *t, const char *end) {
  const char *auth, *path;
  size_t scheme;

  for (scheme = 0; t + scheme < end && t[scheme] != ':'; scheme++)
    ;
  if (!((scheme == 4 && strncasecmp(t, "http", 4) == 0) ||
        (scheme == 5 && strncasecmp(t, "https", 5) == 0)))
    return NULL;
  auth = t + scheme;
  if (end - auth < 3 || memcmp(auth, "://", 3) != 0)
    return NULL;
  auth += 3;
  for (path = auth; path < end && *path != '/' && *path != '?';)
    path++;
  return authority_ok(auth, path) ? path : NULL;
}

static int on_url_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  const char *t = c->hbuf, *end = c->hbuf + c->hlen, *path = t, *q;

  /* llhttp (without strict mode) lets HTAB and FF into a target, where a
   * plugin or the next hop may take them for a separator. */
  for (const char *s = t; s < end; s++)
    if ((unsigned char)*s <= ' ' || *s == 0x7f)
      return reject(c, MC_STATUS_BAD_REQUEST);
  /* The asterisk-form is "*" and OPTIONS's alone (RFC 9112, 3.2.4); llhttp
   * takes any method, and anything after the '*'. */
  if (t[0] == '*' && (end - t != 1 || p->method != HTTP_OPTIONS))
    return reject(c, MC_STATUS_BAD_REQUEST);
  if (hbuf_put(c, "", 1, MC_STATUS_URI_TOO_LONG) != 0)
    return -1;
  c->req->target = t;
  /* absolute-form ("http://host/a?b", RFC 9112 3.2.2, which a server must
   * accept): the path starts after the authority, and is "/" if empty */
  if (t < end && t[0] != '/' && t[0] != '*' && p->method != HTTP_CONNECT &&
      (path = absolute_form_path(t, end)) == NULL)
    return reject(c, MC_STATUS_BAD_REQUEST);
  /* The path is a NUL-terminated copy of the target up to '?', so that
   * both can be handed out as C strings. */
  q = memchr(path, '?', (size_t)(end - path));
  c->req->query = q != NULL ? q + 1 : "";
  c->req->path = c->hbuf + c->hlen;
  if ((path == (q != NULL ? q : end) &&
       hbuf_put(c, "/", 1, MC_STATUS_URI_TOO_LONG) != 0) ||
      hbuf_put(c, path, (size_t)((q != NULL ? q : end) - path),
               MC_STATUS_URI_TOO_LONG) != 0 ||
      hbuf_put(c, "", 1, MC_STATUS_URI_TOO_LONG) != 0)
    return -1;
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  /* Trailer fields are dropped (RFC 9110, 6.5.1): after the head, a field
   * such as Content-Length must not join the ones the plugin sees. */
  if (p->flags & F_TRAILING)
    return 0;
  if (c->field_start == SIZE_MAX) {
    if (c->req->nheaders == CONN_MAX_HEADERS) {
      c->error_status = MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE;
      return -1;
    }
    c->field_start = c->hlen;
  }
  return hbuf_put(c, at, len, MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE);
}

static int on_header_field_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  const char *name;
  size_t len;

  if (p->flags & F_TRAILING) /* dropped, and field_start is not set */
    return 0;
  name = c->hbuf + c->field_start;
  len = c->hlen - c->field_start;
  /* RFC 9112 5.1: whitespace between a field name and its colon must be
   * rejected, for proxies disagree on what the name is; llhttp (without
   * strict mode) also takes it inside a name ("X Y: z"). */
  if (len == 0 || memchr(name, ' ', len) != NULL ||
      memchr(name, '\t', len) != NULL)
    return reject(c, MC_STATUS_BAD_REQUEST);
  /* Spotted here, by length first, so that no request pays for a search.
   * A second Expect would go unchecked: the plugin finds the first. */
  if (len == 6 && strncasecmp(name, "expect", 6) == 0) {
    if (c->expect >= 0)
      return reject(c, MC_STATUS_EXPECTATION_FAILED);
    c->expect = (int)c->req->nheaders;
  } else if (len == 4 && strncasecmp(name, "host", 4) == 0)
    c->hosts++;
  else if (len == 17 && strncasecmp(name, "transfer-encoding", 17) == 0)
    c->te_field = 1;
  if (hbuf_put(c, "", 1, MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE) != 0)
    return -1;
  c->req->headers[c->req->nheaders].name = c->hbuf + c->field_start;
  c->value_pieces = 0;
  c->req->headers[c->req->nheaders].value = c->hbuf + c->hlen;
  c->field_start = SIZE_MAX;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  if (p->flags & F_TRAILING)
    return 0;
  /* An obs-fold (a value continued on a line that starts with a space) is
   * accepted by llhttp, which skips the line break and hands the rest over
   * as one more piece of the value. A value also comes in pieces when it
   * spans two reads, but then the earlier piece ended with the input. RFC
   * 9112 5.2 lets a server reject obs-fold: proxies unfold it differently. */
  if (c->value_pieces++ > 0 && !c->value_at_end)
    return reject(c, MC_STATUS_BAD_REQUEST);
  c->value_at_end = at + len == c->exec_end;
  return hbuf_put(c, at, len, MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE);
}

static int on_header_value_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  const char *start = c->req->headers[c->req->nheaders].value;
  if (p->flags & F_TRAILING)
    return 0;
  /* llhttp skips leading whitespace; trailing whitespace is ours to drop. */
  c->hlen = (size_t)(token_trim_ows(start, c->hbuf + c->hlen) - c->hbuf);
  if (hbuf_put(c, "", 1, MC_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE) != 0)
    return -1;
  c->req->nheaders++;
  return 0;
}

/* The status a complete head is rejected with, or 0: the framing and the
 * Host that RFC 9112 requires, and the body size limit. */
static int head_status(const struct conn *c, const llhttp_t *p, int has_body) {
  if (p->http_major != 1)
    return MC_STATUS_HTTP_VERSION_NOT_SUPPORTED;
  /* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host. */
  if (c->hosts > 1 || (c->hosts == 0 && p->http_minor == 1))
    return MC_STATUS_BAD_REQUEST;
  /* Request smuggling: a message with both framings has no single length
   * that every hop agrees on (RFC 9112, 6.3). */
  if ((p->flags & F_TRANSFER_ENCODING) && (p->flags & F_CONTENT_LENGTH))
    return MC_STATUS_BAD_REQUEST;
  if ((p->flags & F_TRANSFER_ENCODING) && !(p->flags & F_CHUNKED))
    return MC_STATUS_NOT_IMPLEMENTED;
  /* CONNECT asks for a tunnel, which mchost does not open: refused here
   * unless the plugin opted in (MC_PLUGIN_ACCEPTS_CONNECT()), so that no
   * catch-all handler's 200 tells a client its tunnel is open. */
  if (p->method == HTTP_CONNECT && !c->w->plugin.connect)
    return MC_STATUS_NOT_IMPLEMENTED;
  /* llhttp reads no body for CONNECT: what follows is the tunnel's. A
   * CONNECT request has no content (RFC 9110, 9.3.6). */
  if (p->method == HTTP_CONNECT && has_body)
    return MC_STATUS_BAD_REQUEST;
  /* llhttp ignores a Transfer-Encoding field without a coding, which the
   * next hop may not; and in HTTP/1.0 the field means faulty framing (RFC
   * 9112, 6.1). */
  if (c->te_field && (!(p->flags & F_TRANSFER_ENCODING) || p->http_minor == 0))
    return MC_STATUS_BAD_REQUEST;
  /* A plugin that reads bodies itself sets the limit per request. */
  if ((p->flags & F_CONTENT_LENGTH) &&
      p->content_length > c->w->cfg->max_body && !c->w->plugin.reads_body)
    return MC_STATUS_CONTENT_TOO_LARGE;
  return 0;
}

/* The request has an Expect field (c->expect). Returns 0, or -1 when it is
 * rejected. */
static int expect_continue(struct conn *c, int has_body) {
  const char *expect = c->req->headers[c->expect].value;

  if (strcasecmp(expect, "100-continue") != 0)
    return reject(c, MC_STATUS_EXPECTATION_FAILED);
  /* Only a client that waits for it gets an interim response, and only
   * if the body is welcome: too large was answered 413 before, and a
   * plugin that reads bodies itself accepts it or not (body.c). */
  if (c->req->version == 11 && has_body && c->w->plugin.reads_body) {
    c->body.expect = 1;
  } else if (c->req->version == 11 && has_body) {
    parse_send_continue(c);
  }
  return 0;
}

void parse_send_continue(struct conn *c) {
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  uv_buf_t b = uv_buf_init(DECONST(char *, cont), sizeof cont - 1);
  /* An interim response must come before the final one: a plugin that
   * began its response before taking the body has already told the client
   * to go on, and a 100 now would land inside that response. */
  if (c->res->head_sent)
    return;
  conn_output(c, &b, 1);
  conn_flush(c);
  c->continue_sent = 1;
}

static int on_headers_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  mc_request *req = c->req;
  int has_body = (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) ||
                 ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
  int status;

  /* First: a request rejected here is logged with its client. */
  if (c->trusted)
    client_request_headers(c);
  status = head_status(c, p, has_body);
  if (status == MC_STATUS_CONTENT_TOO_LARGE)
    body_log_too_large(c, p->content_length, c->w->cfg->max_body, "--max-body");
  if (status != 0)
    return reject(c, status);
  req->method = llhttp_method_name((llhttp_method_t)p->method);
  req->version = p->http_minor == 0 ? 10 : 11;
  req->keep_alive = llhttp_should_keep_alive(p);
  /* What a client sends after a CONNECT is meant for the tunnel. */
  if (c->w->stopping || p->method == HTTP_CONNECT)
    req->keep_alive = 0;
  c->body.expect = 0;
  if (c->expect >= 0 && expect_continue(c, has_body) != 0)
    return -1;
  if (p->flags & F_CHUNKED) {
    c->last_chunk = 0;
    c->chunk_line = 1;
  }
  if (has_body && c->w->plugin.reads_body)
    return body_head_complete(c);
  if ((p->flags & F_CONTENT_LENGTH) &&
      body_reserve(req, p->content_length) != 0)
    return reject(c, MC_STATUS_INTERNAL_SERVER_ERROR);
  if (has_body)
    rate_begin_body(c);
  else
    conn_set_timer(c, TIMER_NONE, 0);
  return p->flags & F_CHUNKED ? HPE_PAUSED : 0;
}

/* ---- the body and the end of the message ---- */

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = parser_conn(p);
  mc_request *req = c->req;

  if (c->body.state != BODY_NONE)
    return body_on_piece(c, at, len);
  if (req->body_len + len > c->w->cfg->max_body) {
    body_log_too_large(c, req->body_len + len, c->w->cfg->max_body,
                       "--max-body");
    return reject(c, MC_STATUS_CONTENT_TOO_LARGE);
  }
  return body_append(req, at, len) == 0
             ? 0
             : reject(c, MC_STATUS_INTERNAL_SERVER_ERROR);
}

/* ---- chunked bodies: the chunk-size lines ---- */

/* A chunk-size line follows the head of a chunked request and each chunk:
 * llhttp pauses there, and conn.c runs parse_chunk_line() on it first. */
static int on_chunk_header(llhttp_t *p) {
  parser_conn(p)->last_chunk = p->content_length == 0;
  return 0;
}

static int on_chunk_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  if (c->last_chunk)
    return 0;
  c->chunk_line = 1;
  return HPE_PAUSED;
}

/* chunk-ext-val = token / quoted-string (RFC 9110 5.6.4); returns where
 * it ends, or NULL. */
static const char *ext_value_end(const char *s, const char *e) {
  if (s < e && *s == '"') {
    for (s++; s < e; s++) {
      if (*s == '"')
        return s + 1;
      if (*s == '\\' && ++s == e)
        return NULL;
      if ((unsigned char)*s < 0x20 && *s != '\t')
        return NULL;
      if (*s == 0x7f)
        return NULL;
    }
    return NULL;
  }
  const char *v = s;
  while (s < e && token_is_tchar((unsigned char)*s))
    s++;
  return s > v ? s : NULL;
}

int parse_chunk_line(char *buf, size_t *len) {
  const char *lf = memchr(
      buf, '\n', *len < PARSE_CHUNK_LINE_MAX ? *len : PARSE_CHUNK_LINE_MAX);
  const char *s = buf, *e, *size_end;

  if (lf == NULL)
    return *len < PARSE_CHUNK_LINE_MAX ? -EAGAIN : -EINVAL;
  if (lf == buf || lf[-1] != '\r')
    return 0;
  e = lf - 1;
  while (s < e && is_hex(*s))
    s++;
  size_end = s;
  if (size_end == buf || size_end == e)
    return 0; /* no size, or no extension: llhttp's */
  /* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
   */
  while (s < e) {
    const char *name;
    s = token_skip_ows_to(s, e);
    if (s == e || *s != ';')
      return -EINVAL;
    s = token_skip_ows_to(s + 1, e);
    for (name = s; s < e && token_is_tchar((unsigned char)*s);)
      s++;
    if (s == name)
      return -EINVAL;
    const char *after = token_skip_ows_to(s, e);
    if (after < e && *after == '=') {
      s = ext_value_end(token_skip_ows_to(after + 1, e), e);
      if (s == NULL)
        return -EINVAL;
    }
  }
  /* "SIZE\r\n" and what follows it, moved up over the extensions */
  memmove(buf + (size_end - buf), e, (size_t)(buf + *len - e));
  *len -= (size_t)(e - size_end);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  struct conn *c = parser_conn(p);
  c->in_message = 0;
  if (c->body.state != BODY_NONE)
    return body_message_complete(c);
  if (c->req->body != NULL)
    c->req->body[c->req->body_len] = '\0';
  c->request_ready = 1;
  /* What the client asked, not what the server decided (a drain also ends
   * keep-alive): only then may the connection end without lingering. */
  c->last_request = !llhttp_should_keep_alive(p);
  conn_set_timer(c, TIMER_NONE, 0);
  return HPE_PAUSED;
}

void parse_settings_init(llhttp_settings_t *s) {
  llhttp_settings_init(s);
  s->on_message_begin = on_message_begin;
  s->on_method_complete = on_method_complete;
  s->on_version_complete = on_version_complete;
  s->on_url = on_url;
  s->on_url_complete = on_url_complete;
  s->on_header_field = on_header_field;
  s->on_header_field_complete = on_header_field_complete;
  s->on_header_value = on_header_value;
  s->on_header_value_complete = on_header_value_complete;
  s->on_headers_complete = on_headers_complete;
  s->on_body = on_body;
  s->on_chunk_header = on_chunk_header;
  s->on_chunk_complete = on_chunk_complete;
  s->on_message_complete = on_message_complete;
}

int parse_error_status(const struct conn *c, llhttp_errno_t err) {
  if (c->error_status != 0)
    return c->error_status;
  switch (err) {
  case HPE_INVALID_TRANSFER_ENCODING:
    return MC_STATUS_NOT_IMPLEMENTED;
  case HPE_INVALID_VERSION:
    return MC_STATUS_HTTP_VERSION_NOT_SUPPORTED;
  default:
    return MC_STATUS_BAD_REQUEST;
  }
}
