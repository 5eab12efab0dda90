/* parse.h - a conn's request parsing: the llhttp callbacks and the RFC 9112
 * rejections (parse.c). */
#ifndef MCHOST_PARSE_H
#define MCHOST_PARSE_H

#include "llhttp.h"

struct conn;

/* Parser settings shared by every connection of a worker. */
void parse_settings_init(llhttp_settings_t *s);

/* The status to answer a request that llhttp_execute() failed on with: the
 * one a callback chose, else one for llhttp's error. */
int parse_error_status(const struct conn *c, llhttp_errno_t err);

#endif
