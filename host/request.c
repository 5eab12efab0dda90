/* request.c - the SDK's request accessors. The data lives in the conn. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "conn.h"
#include "request.h"

MC_EXTERN const char *mc_request_method(const mc_request *req) {
  return req->method;
}

MC_EXTERN const char *mc_request_target(const mc_request *req) {
  return req->target;
}

MC_EXTERN const char *mc_request_path(const mc_request *req) {
  return req->path;
}

MC_EXTERN const char *mc_request_query(const mc_request *req) {
  return req->query;
}

MC_EXTERN int mc_request_version(const mc_request *req) { return req->version; }

MC_EXTERN const char *mc_request_header(const mc_request *req,
                                        const char *name) {
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value;
  return NULL;
}

MC_EXTERN size_t mc_request_header_count(const mc_request *req) {
  return req->nheaders;
}

MC_EXTERN int mc_request_header_at(const mc_request *req, size_t i,
                                   const char **name, const char **value) {
  if (i >= req->nheaders)
    return -ERANGE;
  *name = req->headers[i].name;
  *value = req->headers[i].value;
  return 0;
}

MC_EXTERN const void *mc_request_body(const mc_request *req, size_t *len) {
  if (len != NULL)
    *len = req->body_len;
  return req->body_len > 0 ? req->body : "";
}

MC_EXTERN const char *mc_request_remote_addr(const mc_request *req) {
  return req->remote_addr;
}

MC_EXTERN int mc_request_remote_port(const mc_request *req) {
  return req->remote_port;
}

MC_EXTERN const char *mc_request_scheme(const mc_request *req) {
  return req->scheme;
}

MC_EXTERN const char *mc_request_id(const mc_request *req) {
  return client_request_id(req->c);
}

MC_EXTERN int mc_request_keep_alive(const mc_request *req) {
  return req->keep_alive;
}

/* ---- the helpers' per-request state (request.h) ---- */

struct req_parsed *request_parsed(mc_request *req) {
  if (req->parsed == NULL &&
      (req->parsed = arena_alloc(&req->arena, sizeof *req->parsed)) != NULL)
    memset(req->parsed, 0, sizeof *req->parsed);
  return req->parsed;
}

void request_reset(mc_request *req) {
  arena_reset(&req->arena);
  req->parsed = NULL;
}

void request_free(mc_request *req) {
  arena_free(&req->arena);
  req->parsed = NULL;
}
