/* multipart.c - the incremental multipart parser (multipart.h) and, on top
 * of it, the SDK's multipart/form-data parts of a buffered body
 * (mc_request_part*()). */
#include "multipart.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "conn.h"
#include "mime.h"
#include "request.h"
#include "token.h"

enum {
  S_PREAMBLE,       /* looking for the first delimiter, ignoring bytes */
  S_AFTER_BOUNDARY, /* a delimiter matched: padding, CRLF or "--" next */
  S_PADDING,        /* spaces or tabs after the delimiter */
  S_BOUNDARY_LF,    /* its CR seen */
  S_CLOSE_DASH,     /* one '-' of the close delimiter seen */
  S_HEADER,         /* in a part's header line */
  S_HEADER_LF,      /* its CR seen */
  S_DATA,           /* in a part's content, looking for the delimiter */
  S_EPILOGUE,       /* after the close delimiter: ignored */
  S_STOPPED         /* an error: m->err */
};

/* bchars of RFC 2046 §5.1.1, space excepted (bcharsnospace). */
static int is_bchar(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
         (c != '\0' && strchr("'()+_,-./:=?", c) != NULL);
}

static int boundary_valid(const char *b, size_t len) {
  if (len == 0 || len > MULTIPART_BOUNDARY_MAX || b[len - 1] == ' ')
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!is_bchar((unsigned char)b[i]) && b[i] != ' ')
      return 0;
  return 1;
}

int multipart_boundary(const char *content_type, const char **boundary,
                       size_t *len) {
  const char *pos = content_type;
  struct mime_param p;
  int rc;

  while ((rc = mime_param_next(&pos, &p)) > 0) {
    /* A quoted boundary with a backslash escape holds a character that
     * boundaries may not have: taken as written, it fails the check. */
    if (mime_param_is(&p, "boundary")) {
      if (!boundary_valid(p.value, p.value_len))
        return -EINVAL;
      *boundary = p.value;
      *len = p.value_len;
      return 0;
    }
  }
  return -EINVAL;
}

int multipart_init(struct multipart *m, const char *boundary, size_t len,
                   const struct multipart_callbacks *cb, void *data) {
  if (!boundary_valid(boundary, len))
    return -EINVAL;
  m->cb = cb;
  m->data = data;
  m->err = 0;
  m->state = S_PREAMBLE;
  memcpy(m->delim, "\r\n--", 4);
  memcpy(m->delim + 4, boundary, len);
  m->dlen = 4 + len;
  /* The body's start counts as a line start: its first delimiter needs no
   * CRLF before it. */
  m->match = 2;
  m->hlen = m->htotal = 0;
  return 0;
}

static int stop(struct multipart *m, int err) {
  m->state = S_STOPPED;
  m->err = err;
  return err;
}

static int emit_data(struct multipart *m, const char *p, size_t n) {
  if (n == 0 || m->state != S_DATA || m->cb->on_data == NULL)
    return 0;
  return m->cb->on_data(m->data, p, n);
}

/* Looks for the delimiter in [*pp, end), passing what precedes it on as
 * content in S_DATA. Returns 1 when it matched whole (*pp after it), 0
 * when the input ran out (a partial match is kept in m->match), or a
 * callback's error. The delimiter's only CR is its first byte, so a
 * partial match that fails cannot hide the start of another. */
static int scan(struct multipart *m, const char **pp, const char *end) {
  const char *p = *pp, *start;
  int rc;

  if (m->match > 0) {
    while (p < end && m->match < m->dlen && *p == m->delim[m->match])
      p++, m->match++;
    if (m->match == m->dlen) {
      m->match = 0;
      *pp = p;
      return 1;
    }
    *pp = p;
    if (p == end)
      return 0;
    /* Not the delimiter after all: its bytes were content. */
    if ((rc = emit_data(m, m->delim, m->match)) != 0)
      return rc;
    m->match = 0;
  }
  for (start = p; p < end;) {
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    size_t k = 0, avail;
    if (cr == NULL)
      break;
    avail = (size_t)(end - cr);
    while (k < m->dlen && k < avail && cr[k] == m->delim[k])
      k++;
    if (k == m->dlen || k == avail) {
      if ((rc = emit_data(m, start, (size_t)(cr - start))) != 0)
        return rc;
      *pp = cr + k;
      if (k == m->dlen)
        return 1;
      m->match = k;
      return 0;
    }
    p = cr + 1;
  }
  *pp = end;
  return emit_data(m, start, (size_t)(end - start));
}

/* One complete header line, in m->line: "name: value". */
static int header_line(struct multipart *m) {
  char *line = m->line, *colon;
  const char *value, *end = line + m->hlen;

  for (colon = line; colon < end && token_is_tchar((unsigned char)*colon);)
    colon++;
  if (colon == line || colon == end || *colon != ':')
    return -EBADMSG; /* also a folded line, which starts with a space */
  *colon = '\0';
  value = token_skip_ows_to(colon + 1, end);
  end = token_trim_ows(value, end);
  line[end - line] = '\0';
  return m->cb->on_header == NULL ? 0 : m->cb->on_header(m->data, line, value);
}

/* One byte outside the delimiter searches. */
static int step(struct multipart *m, unsigned char c) {
  if ((m->state == S_HEADER || m->state == S_HEADER_LF) &&
      ++m->htotal > MULTIPART_HEADER_MAX)
    return -E2BIG;
  switch (m->state) {
  case S_AFTER_BOUNDARY:
  case S_PADDING:
    if (token_is_ows((char)c))
      m->state = S_PADDING;
    else if (c == '\r')
      m->state = S_BOUNDARY_LF;
    else if (c == '-' && m->state == S_AFTER_BOUNDARY)
      m->state = S_CLOSE_DASH;
    else
      return -EBADMSG;
    return 0;
  case S_CLOSE_DASH:
    if (c != '-')
      return -EBADMSG;
    m->state = S_EPILOGUE;
    return 0;
  case S_BOUNDARY_LF:
    if (c != '\n')
      return -EBADMSG;
    m->state = S_HEADER;
    m->hlen = m->htotal = 0;
    return m->cb->on_part == NULL ? 0 : m->cb->on_part(m->data);
  case S_HEADER:
    if (c == '\r') {
      m->state = S_HEADER_LF;
      return 0;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return -EBADMSG;
    m->line[m->hlen++] = (char)c;
    return 0;
  case S_HEADER_LF:
    if (c != '\n')
      return -EBADMSG;
    m->state = S_HEADER;
    if (m->hlen > 0) {
      int rc = header_line(m);
      m->hlen = 0;
      return rc;
    }
    m->state = S_DATA;
    return m->cb->on_header_end == NULL ? 0 : m->cb->on_header_end(m->data);
  default:
    return -EBADMSG;
  }
}

int multipart_feed(struct multipart *m, const char *p, size_t len) {
  const char *end = p + len;
  int rc;

  while (p < end && m->state != S_STOPPED && m->state != S_EPILOGUE) {
    if (m->state == S_PREAMBLE || m->state == S_DATA) {
      int in_part = m->state == S_DATA;
      if ((rc = scan(m, &p, end)) < 0)
        return stop(m, rc);
      if (rc == 1) {
        m->state = S_AFTER_BOUNDARY;
        if (in_part && m->cb->on_part_end != NULL &&
            (rc = m->cb->on_part_end(m->data)) != 0)
          return stop(m, rc);
      }
    } else if ((rc = step(m, (unsigned char)*p++)) != 0) {
      return stop(m, rc);
    }
  }
  return m->state == S_STOPPED ? m->err : 0;
}

int multipart_finish(struct multipart *m) {
  if (m->state == S_STOPPED)
    return m->err;
  return m->state == S_EPILOGUE ? 0 : stop(m, -EBADMSG);
}

/* ---- the SDK: multipart/form-data parts of a buffered body ---- */

struct form {
  struct arena *arena;
  mc_part *v;
  size_t n, cap;
  int has_data; /* the current part's content has begun */
};

static int form_on_part(void *data) {
  struct form *f = data;
  if (f->n == MC_PARTS_MAX)
    return -E2BIG;
  if (f->n == f->cap) {
    size_t cap = f->cap == 0 ? 8 : 2 * f->cap;
    mc_part *v = arena_alloc(f->arena, cap * sizeof *v);
    if (v == NULL)
      return -ENOMEM;
    if (f->n > 0)
      memcpy(v, f->v, f->n * sizeof *v);
    f->v = v;
    f->cap = cap;
  }
  memset(&f->v[f->n], 0, sizeof f->v[f->n]);
  f->v[f->n++].data = "";
  f->has_data = 0;
  return 0;
}

/* Content-Disposition: form-data; name="..."[; filename="..."]. */
static int form_disposition(struct form *f, mc_part *part, const char *value) {
  const char *pos = value;
  struct mime_param p;
  int rc;

  if (part->name != NULL || !mime_is(value, "form-data"))
    return -EBADMSG;
  while ((rc = mime_param_next(&pos, &p)) > 0) {
    const char **to = mime_param_is(&p, "name")       ? &part->name
                      : mime_param_is(&p, "filename") ? &part->filename
                                                      : NULL;
    if (to != NULL && (*to = mime_param_value(&p, f->arena)) == NULL)
      return -ENOMEM;
  }
  return rc < 0 ? rc : part->name == NULL ? -EBADMSG : 0;
}

static int form_on_header(void *data, const char *name, const char *value) {
  struct form *f = data;
  mc_part *part = &f->v[f->n - 1];

  if (strcasecmp(name, "Content-Disposition") == 0)
    return form_disposition(f, part, value);
  if (strcasecmp(name, "Content-Type") == 0) {
    if (part->content_type != NULL)
      return -EBADMSG;
    part->content_type = arena_strndup(f->arena, value, strlen(value));
    return part->content_type == NULL ? -ENOMEM : 0;
  }
  return 0;
}

static int form_on_header_end(void *data) {
  struct form *f = data;
  return f->v[f->n - 1].name == NULL ? -EBADMSG : 0;
}

static int form_on_data(void *data, const char *p, size_t n) {
  struct form *f = data;
  mc_part *part = &f->v[f->n - 1];

  if (!f->has_data) {
    part->data = p;
    f->has_data = 1;
  } else if (p != (const char *)part->data + part->len) {
    /* A whole body is fed at once, so its pieces follow each other: this
     * would be a parser bug, and the part would not be one string. */
    return -EIO;
  }
  part->len += n;
  return 0;
}

static const struct multipart_callbacks form_callbacks = {
    .on_part = form_on_part,
    .on_header = form_on_header,
    .on_header_end = form_on_header_end,
    .on_data = form_on_data,
};

/* Parses the body into r->parts, or sets its error. */
static void form_parse(mc_request *req, struct req_parsed *r) {
  const char *type = mc_request_header(req, "Content-Type");
  struct form f = {.arena = &req->arena};
  struct multipart m;
  const char *boundary;
  size_t blen;
  int rc;

  if (type == NULL || !mime_is(type, "multipart/form-data"))
    rc = -ENOTSUP;
  else if ((rc = multipart_boundary(type, &boundary, &blen)) == 0 &&
           (rc = multipart_init(&m, boundary, blen, &form_callbacks, &f)) ==
               0 &&
           (rc = multipart_feed(&m, req->body_len > 0 ? req->body : "",
                                req->body_len)) == 0)
    rc = multipart_finish(&m);
  if (rc < 0) {
    r->parts.err = rc;
    return;
  }
  r->parts.v = f.v;
  r->parts.n = f.n;
}

static struct req_parsed *parts(mc_request *req) {
  struct req_parsed *r = request_parsed(req);
  if (r != NULL && !(r->done & PARSED_PARTS)) {
    form_parse(req, r);
    r->done |= PARSED_PARTS;
  }
  return r;
}

MC_EXTERN int mc_request_part_count(mc_request *req) {
  struct req_parsed *r = parts(req);
  if (r == NULL)
    return -ENOMEM;
  return r->parts.err < 0 ? r->parts.err : (int)r->parts.n;
}

MC_EXTERN int mc_request_part_at(mc_request *req, size_t i,
                                 const mc_part **part) {
  struct req_parsed *r = parts(req);
  if (r == NULL)
    return -ENOMEM;
  if (r->parts.err < 0)
    return r->parts.err;
  if (i >= r->parts.n)
    return -ERANGE;
  *part = &r->parts.v[i];
  return 0;
}

MC_EXTERN const mc_part *mc_request_part(mc_request *req, const char *name) {
  struct req_parsed *r = parts(req);
  for (size_t i = 0; r != NULL && i < r->parts.n; i++)
    if (strcmp(r->parts.v[i].name, name) == 0)
      return &r->parts.v[i];
  return NULL;
}
