/* request.h - what the SDK's request helpers parsed (params.c, cookie.c,
 * multipart.c), kept per request in its arena. */
#ifndef MCHOST_REQUEST_H
#define MCHOST_REQUEST_H

#include "mchost.h"
#include "params.h"

/* Which lists have been parsed. */
enum {
  PARSED_QUERY = 1,
  PARSED_FORM = 2,
  PARSED_COOKIES = 4,
  PARSED_PARTS = 8
};

struct req_parsed {
  unsigned done;
  struct params query, form, cookies;
  struct {
    int err;
    size_t n;
    mc_part *v;
  } parts;
};

/* The request's parsed state, made in its arena on first use; NULL when
 * memory runs out. */
struct req_parsed *request_parsed(mc_request *req);

/* Forgets the last request's helpers: called when the next is dispatched. */
void request_reset(mc_request *req);

/* Frees that memory: called when the conn is released or freed. */
void request_free(mc_request *req);

#endif
