/* request_fake.h - a request as the conn would hand it to a plugin, made
 * by hand for the unit tests of the SDK's request helpers: a target, some
 * header fields and a body, and nothing else of a connection. */
#ifndef MCHOST_TEST_REQUEST_FAKE_H
#define MCHOST_TEST_REQUEST_FAKE_H

#include <string.h>

#include "conn.h"
#include "deconst.h"
#include "request.h"

/* Sets *req to a fresh request (the previous one's helpers forgotten, as
 * at dispatch) with `query` (without '?'), the header fields in `fields`
 * ("name", "value", ..., NULL) and `len` bytes of `body`. The strings are
 * not copied. */
static inline void fake_request(mc_request *req, const char *query,
                                const char *const *fields, const char *body,
                                size_t len) {
  request_reset(req);
  req->method = "POST";
  req->target = req->path = "/";
  req->query = query;
  req->version = 11;
  req->nheaders = 0;
  for (size_t i = 0; fields != NULL && fields[i] != NULL; i += 2) {
    req->headers[req->nheaders].name = fields[i];
    req->headers[req->nheaders++].value = fields[i + 1];
  }
  req->body = DECONST(char *, body); /* the helpers only read it */
  req->body_len = len;
}

#endif
