/* ws.h - a connection after the WebSocket handshake: the SDK's mc_ws_*
 * functions and what conn.c and worker.c hand over to them. */
#ifndef MCHOST_WS_H
#define MCHOST_WS_H

struct conn;
struct worker;

/* Reads the frames in the conn's input; called by conn_process() instead
 * of the HTTP parser once the conn is a WebSocket. */
void ws_input(struct conn *c);

/* The conn's timer fired in a WebSocket phase (TIMER_WS, TIMER_WS_CLOSE). */
void ws_on_timer(struct conn *c);

/* The conn is closed: tells the plugin (on_close) if it was not told yet,
 * and frees the WebSocket. From conn.c's last close callback. */
void ws_release(struct conn *c);

/* The worker is stopping: every open WebSocket's plugin is told
 * (on_shutdown), then the WebSocket is closed with 1001. */
void ws_stop_all(struct worker *w);

#endif
