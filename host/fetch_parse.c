/*
 * fetch_parse.c - the response to an mc_fetch(), parsed with llhttp
 * (HTTP_RESPONSE) and kept for the plugin's callback: the status, the
 * header fields as "name\0value\0" each, and the decoded body (whatever
 * its framing: Content-Length, chunked or until the upstream closes).
 * fetch.c feeds it what the socket reads; tests/fuzz/fetchresp_fuzz.c
 * feeds it without a socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "token.h"

int fetch_buf_add(struct buf *b, const char *s, size_t len) {
  if (buf_grow(&b->data, &b->cap, b->len + len + 1, 256) != 0)
    return -ENOMEM;
  memcpy(b->data + b->len, s, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

static struct fetch_response *of(llhttp_t *p) { return p->data; }

/* A field name, a piece of its value (a value spanning two reads comes in
 * two), or the NUL that ends either. Trailers are not headers: dropped. */
static int on_head_piece(llhttp_t *p, const char *at, size_t len) {
  if (p->flags & F_TRAILING)
    return 0;
  return fetch_buf_add(&of(p)->head, at, len) != 0 ? -1 : 0;
}

static int on_field_complete(llhttp_t *p) { return on_head_piece(p, "", 1); }

/* llhttp skips a value's leading whitespace; its trailing whitespace is
 * dropped here, once, so that the stored head is only ever read. The NUL
 * after the field name stops the trim. */
static int on_value_complete(llhttp_t *p) {
  struct fetch_response *r = of(p);
  const char *h = r->head.data;
  if (p->flags & F_TRAILING)
    return 0;
  r->head.len = (size_t)(token_trim_ows(h, h + r->head.len) - h);
  r->nfields++;
  return on_head_piece(p, "", 1);
}

/* llhttp takes a status of one or two digits too; the SDK promises a
 * plugin 100..999, as RFC 9110 (15) has three digits. A response to HEAD,
 * a 1xx, a 204 and a 304 end with their head (RFC 9110, 6.4.1): llhttp
 * would read what a Content-Length or Transfer-Encoding there announces.
 * (llhttp clears the skip after each message: an interim one's does not
 * reach the final response.) */
static int on_headers_complete(llhttp_t *p) {
  unsigned status = p->status_code;
  if (status < 100 || status > 999)
    return -1;
  return of(p)->head_only || status < 200 || status == 204 || status == 304;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  return fetch_buf_add(&of(p)->body, at, len) != 0 ? -1 : 0;
}

static int on_message_complete(llhttp_t *p) {
  struct fetch_response *r = of(p);
  if (p->status_code >= 100 && p->status_code < 200 &&
      p->status_code != MC_STATUS_SWITCHING_PROTOCOLS) {
    r->head.len = r->body.len = r->nfields = 0; /* interim: the next one */
    return 0;
  }
  r->complete = 1;
  return HPE_PAUSED;
}

void fetch_parse_init(struct fetch_response *r, int head_only) {
  memset(r, 0, sizeof *r);
  r->head_only = head_only;
  llhttp_settings_init(&r->settings);
  r->settings.on_header_field = on_head_piece;
  r->settings.on_header_field_complete = on_field_complete;
  r->settings.on_header_value = on_head_piece;
  r->settings.on_header_value_complete = on_value_complete;
  r->settings.on_headers_complete = on_headers_complete;
  r->settings.on_body = on_body;
  r->settings.on_message_complete = on_message_complete;
  llhttp_init(&r->parser, HTTP_RESPONSE, &r->settings);
  r->parser.data = r;
}

int fetch_parse_feed(struct fetch_response *r, const char *data, size_t len) {
  llhttp_errno_t e = llhttp_execute(&r->parser, data, len);
  if (r->complete)
    return 1;
  if (e != HPE_OK)
    return e == HPE_USER ? -ENOMEM : -EBADMSG;
  return 0;
}

int fetch_parse_finish(struct fetch_response *r) {
  if (!r->complete)
    llhttp_finish(&r->parser); /* completes a body read until close */
  return r->complete ? 1 : -EBADMSG;
}

void fetch_parse_result(const struct fetch_response *r, mc_fetch_result *out) {
  out->status = (int)r->parser.status_code;
  out->body = r->body.data != NULL ? r->body.data : "";
  out->body_len = r->body.len;
  out->priv = r;
}

void fetch_parse_free(struct fetch_response *r) {
  free(r->head.data);
  free(r->body.data);
  r->head = r->body = (struct buf){0};
}

MC_EXTERN const char *mc_fetch_header(const mc_fetch_result *r,
                                      const char *name) {
  const struct fetch_response *resp = r != NULL ? r->priv : NULL;
  const char *s;

  if (resp == NULL || name == NULL)
    return NULL;
  s = resp->head.data;
  for (size_t i = 0; i < resp->nfields; i++) {
    const char *v = s + strlen(s) + 1;
    if (strcasecmp(s, name) == 0)
      return v;
    s = v + strlen(v) + 1;
  }
  return NULL;
}
