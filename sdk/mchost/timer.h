/* mchost/timer.h - a part of <mchost.h>: never include it on its own.
 *
 * Timers of the worker: mc_timer_start(), mc_timer_stop(). */
#ifndef MCHOST_H
#error "mchost/timer.h is part of <mchost.h>: include <mchost.h> instead"
#elif !defined(MCHOST_SDK_TIMER_H)
#define MCHOST_SDK_TIMER_H

/* ---- timers ----
 *
 * Work of the worker itself, not of one request: a heartbeat to every
 * WebSocket the plugin holds, a cache refreshed every minute, a batch of
 * writes flushed every second (mc_response_later() is the timer of one
 * response). As Kore's kore_timer_add() or Node's setInterval(), and
 * unlike a uv_timer_t on mc_worker.loop, the callback runs under the crash
 * guard. */

typedef struct mc_timer mc_timer;

/* Called on the loop, under the crash guard with --request-timeout. It may
 * call any mc_* function, mc_timer_stop(t) included. A fault or a hang
 * here has no request to answer: it is reported as any other, the timer
 * fires no more, and the worker retires. */
typedef void (*mc_timer_fn)(mc_timer *t, void *arg);

/* Calls cb(t, arg) `ms` milliseconds from now, then every `repeat` ms if
 * repeat is not 0, until mc_timer_stop(). The first call comes from the
 * loop, never from inside mc_timer_start(), even with ms 0. A timer does
 * not keep a stopping worker up: once its connections are done, the
 * worker ends (mc_shutdown() is called) and its timers fire no more. Usable
 * from mc_init() on. *out gets the timer, mchost's until mc_timer_stop(),
 * which the plugin calls for a one-shot timer too, after it fired or
 * before (a worker's remaining timers are freed when it exits).
 * -EINVAL: out or cb is NULL; -ENOMEM. */
MC_EXTERN int mc_timer_start(mc_timer **out, uint64_t ms, uint64_t repeat,
                             mc_timer_fn cb, void *arg);

/* Stops the timer and frees it: cb is not called for it again, and t must
 * not be used after. May be called from inside cb, for t itself or another
 * timer. -EINVAL: t is NULL. */
MC_EXTERN int mc_timer_stop(mc_timer *t);

#endif /* MCHOST_SDK_TIMER_H */
