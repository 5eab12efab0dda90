/* mchost/request.h - a part of <mchost.h>: never include it on its own.
 *
 * The request: method, target, headers, the buffered body, and the
 * client (address, scheme, request ID, keep-alive). */
#ifndef MCHOST_H
#error "mchost/request.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_REQUEST_H)
#define MCHOST_SDK_REQUEST_H

/* ---- request ---- */

/* "GET", "POST", ... as sent by the client. */
MC_EXTERN const char *mc_request_method(const mc_request *req);

/* The request target as sent: "/a/b?x=1". */
MC_EXTERN const char *mc_request_target(const mc_request *req);

/* The path part of the target, not percent-decoded: "/a/b". */
MC_EXTERN const char *mc_request_path(const mc_request *req);

/* The query after '?', without it: "x=1"; "" when there is none. */
MC_EXTERN const char *mc_request_query(const mc_request *req);

/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
MC_EXTERN int mc_request_version(const mc_request *req);

/* The value of the first header called `name` (case-insensitive), with
 * surrounding whitespace removed, or NULL when there is none. */
MC_EXTERN const char *mc_request_header(const mc_request *req,
                                        const char *name);

/* Number of header fields, in the order received. */
MC_EXTERN size_t mc_request_header_count(const mc_request *req);

/* The i-th header field (0-based). Returns 0, or -ERANGE when i is past the
 * last one (then *name and *value are left alone). */
MC_EXTERN int mc_request_header_at(const mc_request *req, size_t i,
                                   const char **name, const char **value);

/* The request body, decoded from chunked transfer coding, and its length in
 * *len (which may be NULL). Never NULL: an empty body is "" with length 0.
 * Bounded by --max-body: larger requests get 413 and never reach mc_run.
 * With MC_PLUGIN_READS_BODY(), a body is there only once
 * mc_request_buffer_body() completed; a streamed one is never buffered. */
MC_EXTERN const void *mc_request_body(const mc_request *req, size_t *len);

/* The client's address ("127.0.0.1", "::1") and port. That is the peer of
 * the connection, unless mchost was told to believe a proxy in front of it
 * (docs/deploying-behind-a-proxy.md): then the address a PROXY protocol
 * header (--proxy-protocol) or a trusted proxy's X-Forwarded-For,
 * Forwarded or X-Real-IP header (--trusted-proxies) names. The port is 0
 * when that header gave none. "unix:" and 0 for a peer on a Unix socket
 * (--listen unix:PATH) that no PROXY header or trusted proxy names. The
 * string lives as long as the request. */
MC_EXTERN const char *mc_request_remote_addr(const mc_request *req);
MC_EXTERN int mc_request_remote_port(const mc_request *req);

/* "http", or "https" when a trusted proxy says that the client spoke TLS
 * to it (X-Forwarded-Proto, Forwarded proto=, or the SSL TLV of a PROXY v2
 * header). A static string. */
MC_EXTERN const char *mc_request_scheme(const mc_request *req);

/* The request's ID, as the access log and the crash and timeout log lines
 * show it: the X-Request-Id of a trusted proxy (--trusted-proxies; 1 to
 * 200 token characters or "/=:@", else ignored), or else 32 hex digits
 * made by the worker, unique per worker and time. Never NULL; lives as
 * long as the request. The response does not carry it unless the plugin
 * adds it: mc_response_header(res, "X-Request-Id", mc_request_id(req)). */
MC_EXTERN const char *mc_request_id(const mc_request *req);

/* 1 when the connection stays open after this response, 0 when it closes.
 * With MC_PLUGIN_READS_BODY(), 0 until the body is read whole: a response
 * that leaves part of the body unread ends the connection. */
MC_EXTERN int mc_request_keep_alive(const mc_request *req);

#endif /* MCHOST_SDK_REQUEST_H */
