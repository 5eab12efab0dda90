/* stream.h - what a streamed response learns when its worker stops. */
#ifndef MCHOST_STREAM_H
#define MCHOST_STREAM_H

struct conn;
struct worker;

/* The worker is stopping: every open stream's plugin is told
 * (mc_response_on_shutdown()), then a stream still open is ended for its
 * client, and aborted for the plugin. */
void stream_stop_all(struct worker *w);

/* mc_response_begin() while the worker stops: the stream is told as the
 * others were, on the next turn of the loop (once the plugin could set its
 * hook). */
void stream_begun_stopping(struct conn *c);

#endif
