/*
 * srv_conns.h - every open connection's phase, and a sweeper thread that enforces the time limits
 * libmicrohttpd does not. Its own timeout closes a connection that stays *silent* that long; a
 * client that sends (or reads) a byte now and then would hold its connection forever.
 *
 * Phases of a connection, in a loop for keep-alive:
 *   HEAD  from the connection's start, or its previous answer, until a request's head is parsed
 *   BODY  until the request's body is complete
 *   JOB   suspended while the job waits for and runs on a worker (--deadline-ms bounds it)
 *   SEND  from the answer queued until it is sent
 * HEAD, BODY and SEND may each last `limit` seconds (--read-timeout). Past it, the sweeper shuts
 * the socket down (shutdown(2), with SO_LINGER 0 so that the close resets it): libmicrohttpd's
 * thread then sees the peer gone and closes the connection itself; the descriptor stays
 * libmicrohttpd's. The sweeper also polls every socket (one poll(2) for all): in JOB, a client
 * that has closed or reset its end is marked gone, and the session running its job (if one is)
 * is given a deadline in the past, so the engine stops at its next node; in HEAD or BODY, a
 * client that has left with everything it sent already read is marked gone and cut off at once
 * (libmicrohttpd 0.9.75 may miss an end of stream that arrives with the last bytes).
 *
 * Safety: an entry is added by libmicrohttpd's connection-start notification and removed by its
 * close notification, which libmicrohttpd makes before it closes the descriptor; the sweeper
 * touches a descriptor only under the registry's lock, so never one closed (and perhaps reused).
 */
#ifndef SRV_CONNS_H
#define SRV_CONNS_H

#include <stdbool.h>

#include "session.h"
#include "status.h"

enum srv_phase { SRV_PHASE_HEAD, SRV_PHASE_BODY, SRV_PHASE_JOB, SRV_PHASE_SEND };

struct srv_conns;
struct srv_conn;

/* The registry, and its sweeper thread (every 100 ms) unless sweep_thread is false (tests call
 * srv_conns_sweep themselves). INTERNAL, NO_MEMORY. */
xai_status srv_conns_start(double limit_s, bool sweep_thread, struct srv_conns **out,
                           struct xai_err *err);
/* Stops the sweeper and frees the registry; entries still in it are freed too. */
void srv_conns_stop(struct srv_conns *cs);

/* A new connection on socket fd, in phase HEAD; NULL when out of memory (the connection then
 * has no time limits but libmicrohttpd's). */
struct srv_conn *srv_conn_open(struct srv_conns *cs, int fd);
/* The connection is closing: forget it (before its descriptor is closed). c may be NULL. */
void srv_conn_close(struct srv_conns *cs, struct srv_conn *c);
/* Enters phase p now. c may be NULL. */
void srv_conn_phase(struct srv_conns *cs, struct srv_conn *c, enum srv_phase p);
/* Whether the sweeper cut the connection off (its request is logged 408). */
bool srv_conn_swept(struct srv_conns *cs, const struct srv_conn *c);
/* Whether the client closed or reset its end while its job waited or ran, or left a head or
 * body unfinished (its request is logged 499). */
bool srv_conn_gone(struct srv_conns *cs, const struct srv_conn *c);

/* On the worker: session s runs the connection's job from now on. False (s not attached) when
 * the client has already gone: the job need not run. */
bool srv_conn_run(struct srv_conns *cs, struct srv_conn *c, xai_session *s);
/* The job has finished with its session. */
void srv_conn_ran(struct srv_conns *cs, struct srv_conn *c);

/* One sweep at monotonic time now: cuts off connections past the limit, marks (and for a head
 * or body, cuts off) those whose client has gone. Returns how many it cut off or marked. */
int srv_conns_sweep(struct srv_conns *cs, double now);
/* Connections cut off by the sweeper since the start, and open now (for /metrics). */
unsigned long long srv_conns_cut(struct srv_conns *cs);
int srv_conns_open(struct srv_conns *cs);

#endif
