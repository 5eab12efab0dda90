/* mchost/status.h - a part of <mchost.h>: never include it on its own.
 *
 * The status codes mchost names: MC_STATUS_MAP and enum mc_status. */
#ifndef MCHOST_H
#error "mchost/status.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_STATUS_H)
#define MCHOST_SDK_STATUS_H

/* ---- status codes ---- */

/*
 * The status codes mchost names, one list: X(code, NAME, reason phrase).
 * It gives enum mc_status (MC_STATUS_OK = 200, ...), and the host takes
 * its status lines' reason phrases from it; a plugin may expand it too,
 * with a macro X of its own. These are names, not a limit: a response
 * may have any status from 200 to 599 (mc_response_send()), and one not
 * listed here gets an empty reason phrase ("HTTP/1.1 299 ").
 */
#define MC_STATUS_MAP(X)                                                       \
  X(100, CONTINUE, "Continue")                                                 \
  X(101, SWITCHING_PROTOCOLS, "Switching Protocols")                           \
  X(200, OK, "OK")                                                             \
  X(201, CREATED, "Created")                                                   \
  X(202, ACCEPTED, "Accepted")                                                 \
  X(204, NO_CONTENT, "No Content")                                             \
  X(206, PARTIAL_CONTENT, "Partial Content")                                   \
  X(301, MOVED_PERMANENTLY, "Moved Permanently")                               \
  X(302, FOUND, "Found")                                                       \
  X(303, SEE_OTHER, "See Other")                                               \
  X(304, NOT_MODIFIED, "Not Modified")                                         \
  X(307, TEMPORARY_REDIRECT, "Temporary Redirect")                             \
  X(308, PERMANENT_REDIRECT, "Permanent Redirect")                             \
  X(400, BAD_REQUEST, "Bad Request")                                           \
  X(401, UNAUTHORIZED, "Unauthorized")                                         \
  X(403, FORBIDDEN, "Forbidden")                                               \
  X(404, NOT_FOUND, "Not Found")                                               \
  X(405, METHOD_NOT_ALLOWED, "Method Not Allowed")                             \
  X(406, NOT_ACCEPTABLE, "Not Acceptable")                                     \
  X(408, REQUEST_TIMEOUT, "Request Timeout")                                   \
  X(409, CONFLICT, "Conflict")                                                 \
  X(410, GONE, "Gone")                                                         \
  X(411, LENGTH_REQUIRED, "Length Required")                                   \
  X(412, PRECONDITION_FAILED, "Precondition Failed")                           \
  X(413, CONTENT_TOO_LARGE, "Content Too Large")                               \
  X(414, URI_TOO_LONG, "URI Too Long")                                         \
  X(415, UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")                     \
  X(416, RANGE_NOT_SATISFIABLE, "Range Not Satisfiable")                       \
  X(417, EXPECTATION_FAILED, "Expectation Failed")                             \
  X(418, IM_A_TEAPOT, "I'm a teapot")                                          \
  X(422, UNPROCESSABLE_CONTENT, "Unprocessable Content")                       \
  X(426, UPGRADE_REQUIRED, "Upgrade Required")                                 \
  X(428, PRECONDITION_REQUIRED, "Precondition Required")                       \
  X(429, TOO_MANY_REQUESTS, "Too Many Requests")                               \
  X(431, REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large")   \
  X(500, INTERNAL_SERVER_ERROR, "Internal Server Error")                       \
  X(501, NOT_IMPLEMENTED, "Not Implemented")                                   \
  X(502, BAD_GATEWAY, "Bad Gateway")                                           \
  X(503, SERVICE_UNAVAILABLE, "Service Unavailable")                           \
  X(504, GATEWAY_TIMEOUT, "Gateway Timeout")                                   \
  X(505, HTTP_VERSION_NOT_SUPPORTED, "HTTP Version Not Supported")

enum mc_status {
#define MC_STATUS_ENUM_(code, name, reason) MC_STATUS_##name = code,
  MC_STATUS_MAP(MC_STATUS_ENUM_)
#undef MC_STATUS_ENUM_
};

#endif /* MCHOST_SDK_STATUS_H */
