/* parse.h - a conn's request parsing: the llhttp callbacks and the RFC 9112
 * rejections (parse.c). */
#ifndef MCHOST_PARSE_H
#define MCHOST_PARSE_H

#include <stddef.h>

#include "llhttp.h"

struct conn;

/* Longest chunk-size line (size, extensions, CRLF) a request may send. */
#define PARSE_CHUNK_LINE_MAX 4096

/* Parser settings shared by every connection of a worker. */
void parse_settings_init(llhttp_settings_t *s);

/* Sends "100 Continue" now: the body of the request is welcome. */
void parse_send_continue(struct conn *c);

/* The status to answer a request that llhttp_execute() failed on with: the
 * one a callback chose, else one for llhttp's error. */
int parse_error_status(const struct conn *c, llhttp_errno_t err);

/* Prepares the chunk-size line at the start of buf[0..*len) for llhttp,
 * which takes neither the whitespace that RFC 9112 7.1.1 allows around a
 * chunk extension's ";" and "=" (BWS) nor more than one extension: a line
 * that follows the RFC's grammar is rewritten in place to the size alone
 * (the host hands no extension to a plugin), and *len shrinks by the bytes
 * removed. Returns 0, -EAGAIN when the line has not arrived whole, or
 * -EINVAL when it breaks the grammar or is longer than
 * PARSE_CHUNK_LINE_MAX. A line that does not end in CRLF is left for
 * llhttp to refuse. */
int parse_chunk_line(char *buf, size_t *len);

#endif
