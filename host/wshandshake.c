/*
 * wshandshake.c - the WebSocket opening handshake (RFC 6455, 4.2.1 and
 * 4.2.2): what a client's upgrade request must hold, and the key the
 * server proves it read it with.
 */
#include "wshandshake.h"

#include <string.h>
#include <strings.h>

#include "base64.h"
#include "conn.h"
#include "sha1.h"
#include "token.h"

/* RFC 6455, 1.3: appended to the client's key before hashing. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* 1 when the comma-separated list `v` holds `token` (case-insensitive).
 * An Upgrade entry may carry a version ("websocket/13" is not "websocket"). */
static int has_token(const char *v, const char *token) {
  size_t tlen = strlen(token);

  while (*v != '\0') {
    size_t n;
    while (token_is_ows(*v) || *v == ',')
      v++;
    n = (size_t)(token_trim_ows(v, v + strcspn(v, ",")) - v);
    if (n == tlen && strncasecmp(v, token, tlen) == 0)
      return 1;
    v += strcspn(v, ",");
  }
  return 0;
}

/* 1 when any field called `name` holds `token`. */
static int fields_have(const mc_request *req, const char *name,
                       const char *token) {
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0 &&
        has_token(req->headers[i].value, token))
      return 1;
  return 0;
}

/* The value of the one field called `name`, or NULL when there is none or
 * more than one. */
static const char *only_field(const mc_request *req, const char *name) {
  const char *value = NULL;
  for (size_t i = 0; i < req->nheaders; i++) {
    if (strcasecmp(req->headers[i].name, name) != 0)
      continue;
    if (value != NULL)
      return NULL;
    value = req->headers[i].value;
  }
  return value;
}

MC_EXTERN int mc_request_is_websocket(const mc_request *req) {
  return fields_have(req, "Upgrade", "websocket");
}

void wshandshake_accept(const char *key, size_t len,
                        char accept[WSHANDSHAKE_ACCEPT_LEN + 1]) {
  char in[64 + sizeof WS_GUID];
  uint8_t digest[SHA1_LEN];

  if (len > 64)
    len = 64;
  memcpy(in, key, len);
  memcpy(in + len, WS_GUID, sizeof WS_GUID - 1);
  sha1(in, len + sizeof WS_GUID - 1, digest);
  base64_encode(digest, SHA1_LEN, accept);
}

int wshandshake_check(const mc_request *req,
                      char accept[WSHANDSHAKE_ACCEPT_LEN + 1],
                      const char **why) {
  const char *key = only_field(req, "Sec-WebSocket-Key");
  const char *version = only_field(req, "Sec-WebSocket-Version");
  uint8_t raw[18];

  *why = NULL;
  if (strcmp(req->method, "GET") != 0)
    *why = "not a GET";
  else if (req->version < 11)
    *why = "not HTTP/1.1";
  else if (!fields_have(req, "Upgrade", "websocket"))
    *why = "no Upgrade: websocket";
  else if (!fields_have(req, "Connection", "upgrade"))
    *why = "no Connection: Upgrade";
  else if (key == NULL || strlen(key) != 24 ||
           base64_decode(key, 24, raw) != 16)
    *why = "Sec-WebSocket-Key is not one base64 nonce of 16 bytes";
  if (*why != NULL)
    return MC_STATUS_BAD_REQUEST;
  if (version == NULL || strcmp(version, "13") != 0) {
    *why = "Sec-WebSocket-Version is not 13";
    return MC_STATUS_UPGRADE_REQUIRED;
  }
  wshandshake_accept(key, 24, accept);
  return 0;
}
