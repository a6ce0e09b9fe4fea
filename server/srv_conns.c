/* srv_conns.c - connection phases and the sweeper; see srv_conns.h. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "srv_conns.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#define SWEEP_MS 100

struct srv_conn {
    int fd;
    enum srv_phase phase;
    double since;         /* when the phase began */
    bool swept, gone;     /* cut off by the sweeper; the client left during its job */
    xai_session *running; /* the session running the job, while it runs */
    struct srv_conn *prev, *next;
};

struct srv_conns {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct srv_conn *head;
    double limit;
    unsigned long long cut;
    int open;
    struct pollfd *pfd; /* the sweeper's poll set */
    size_t pfd_cap;
    bool stopping, thread_started;
    pthread_t thread;
};

static void sleep_until(struct srv_conns *cs, double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&cs->wake, &cs->lock, &ts);
}

static void *sweeper_main(void *arg)
{
    struct srv_conns *cs = arg;
    pthread_mutex_lock(&cs->lock);
    while (!cs->stopping) {
        sleep_until(cs, xai_monotonic_s() + SWEEP_MS / 1e3);
        if (cs->stopping) break;
        pthread_mutex_unlock(&cs->lock);
        srv_conns_sweep(cs, xai_monotonic_s());
        pthread_mutex_lock(&cs->lock);
    }
    pthread_mutex_unlock(&cs->lock);
    return NULL;
}

xai_status srv_conns_start(double limit_s, bool sweep_thread, struct srv_conns **out,
                           struct xai_err *err)
{
    *out = NULL;
    struct srv_conns *cs = calloc(1, sizeof *cs);
    if (!cs) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the connection registry");
    pthread_condattr_t ca;
    bool ok = !pthread_condattr_init(&ca);
    ok = ok && !pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    ok = ok && !pthread_mutex_init(&cs->lock, NULL);
    ok = ok && !pthread_cond_init(&cs->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (!ok) {
        free(cs);
        return xai_fail(err, XAI_INTERNAL, "cannot make the connection registry's locks");
    }
    cs->limit = limit_s;
    if (sweep_thread && pthread_create(&cs->thread, NULL, sweeper_main, cs)) {
        srv_conns_stop(cs);
        return xai_fail(err, XAI_INTERNAL, "cannot start the connection sweeper");
    }
    cs->thread_started = sweep_thread;
    *out = cs;
    return XAI_OK;
}

void srv_conns_stop(struct srv_conns *cs)
{
    if (!cs) return;
    pthread_mutex_lock(&cs->lock);
    cs->stopping = true;
    pthread_cond_broadcast(&cs->wake);
    pthread_mutex_unlock(&cs->lock);
    if (cs->thread_started) pthread_join(cs->thread, NULL);
    while (cs->head) {
        struct srv_conn *c = cs->head;
        cs->head = c->next;
        free(c);
    }
    free(cs->pfd);
    pthread_cond_destroy(&cs->wake);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}

struct srv_conn *srv_conn_open(struct srv_conns *cs, int fd)
{
    struct srv_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    c->phase = SRV_PHASE_HEAD;
    c->since = xai_monotonic_s();
    pthread_mutex_lock(&cs->lock);
    c->next = cs->head;
    if (cs->head) cs->head->prev = c;
    cs->head = c;
    cs->open++;
    pthread_mutex_unlock(&cs->lock);
    return c;
}

void srv_conn_close(struct srv_conns *cs, struct srv_conn *c)
{
    if (!c) return;
    pthread_mutex_lock(&cs->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        cs->head = c->next;
    if (c->next) c->next->prev = c->prev;
    cs->open--;
    pthread_mutex_unlock(&cs->lock);
    free(c);
}

void srv_conn_phase(struct srv_conns *cs, struct srv_conn *c, enum srv_phase p)
{
    if (!c) return;
    double now = xai_monotonic_s();
    pthread_mutex_lock(&cs->lock);
    c->phase = p;
    c->since = now;
    pthread_mutex_unlock(&cs->lock);
}

static bool flag(struct srv_conns *cs, const struct srv_conn *c, bool gone)
{
    if (!c) return false;
    pthread_mutex_lock(&cs->lock);
    bool v = gone ? c->gone : c->swept;
    pthread_mutex_unlock(&cs->lock);
    return v;
}

bool srv_conn_swept(struct srv_conns *cs, const struct srv_conn *c)
{
    return flag(cs, c, false);
}

bool srv_conn_gone(struct srv_conns *cs, const struct srv_conn *c)
{
    return flag(cs, c, true);
}

/* Whether poll's revents say the peer has closed or reset its end (pending data or not). */
static bool left(short revents)
{
    return revents & (POLLRDHUP | POLLHUP | POLLERR);
}

static bool peer_left(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR) {
    }
    return n > 0 && left(p.revents);
}

/* Bytes received on fd and not read yet. */
static int unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

bool srv_conn_run(struct srv_conns *cs, struct srv_conn *c, xai_session *s)
{
    if (!c) return true;
    pthread_mutex_lock(&cs->lock);
    if (!c->gone && peer_left(c->fd)) c->gone = true;
    if (!c->gone) c->running = s;
    bool run = !c->gone;
    pthread_mutex_unlock(&cs->lock);
    return run;
}

void srv_conn_ran(struct srv_conns *cs, struct srv_conn *c)
{
    if (!c) return;
    pthread_mutex_lock(&cs->lock);
    c->running = NULL;
    pthread_mutex_unlock(&cs->lock);
}

/* Closes the connection under libmicrohttpd: shut down, and reset rather than close politely,
 * so that what the kernel still holds for a slow reader is dropped at libmicrohttpd's close()
 * instead of trickling out after it. */
static void cut(struct srv_conn *c)
{
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    shutdown(c->fd, SHUT_RDWR);
}

/* One connection, with poll's revents for its socket; called under the lock. Whether it was cut
 * off or marked gone. */
static bool sweep_one(struct srv_conns *cs, struct srv_conn *c, double now, short revents)
{
    if (c->gone || c->swept) return false;
    if (c->phase == SRV_PHASE_JOB) {
        if (!left(revents)) return false;
        c->gone = true;
        if (c->running) xai_session_set_deadline(c->running, 1e-9); /* long past */
        return true;
    }
    /* A head or body whose client has left, all it sent already read: it can never complete.
     * (libmicrohttpd may not notice when the end arrived with the last bytes.) Not an answer
     * being sent: its client may close as soon as it has read the last byte, before
     * libmicrohttpd reports the request complete; a client leaving mid-answer fails the send. */
    if (c->phase != SRV_PHASE_SEND && left(revents) && !unread(c->fd)) {
        c->gone = true;
        cut(c);
        return true;
    }
    if (now - c->since <= cs->limit) return false;
    c->swept = true;
    cs->cut++;
    cut(c);
    return true;
}

/* The poll set for n connections; false when out of memory (the sweep then only times). */
static bool poll_set(struct srv_conns *cs, size_t n)
{
    if (n <= cs->pfd_cap) return true;
    size_t cap = n < 64 ? 64 : n * 2;
    struct pollfd *p = realloc(cs->pfd, cap * sizeof *p);
    if (!p) return false;
    cs->pfd = p;
    cs->pfd_cap = cap;
    return true;
}

int srv_conns_sweep(struct srv_conns *cs, double now)
{
    int hits = 0;
    size_t n = 0, i = 0;
    pthread_mutex_lock(&cs->lock);
    for (struct srv_conn *c = cs->head; c; c = c->next) n++;
    bool polled = n && poll_set(cs, n);
    for (struct srv_conn *c = cs->head; polled && c; c = c->next)
        cs->pfd[i++] = (struct pollfd){.fd = c->fd, .events = POLLIN | POLLRDHUP};
    if (polled)
        while (poll(cs->pfd, n, 0) < 0 && errno == EINTR) {
        }
    i = 0;
    for (struct srv_conn *c = cs->head; c; c = c->next, i++)
        hits += sweep_one(cs, c, now, polled ? cs->pfd[i].revents : 0);
    pthread_mutex_unlock(&cs->lock);
    return hits;
}

unsigned long long srv_conns_cut(struct srv_conns *cs)
{
    pthread_mutex_lock(&cs->lock);
    unsigned long long n = cs->cut;
    pthread_mutex_unlock(&cs->lock);
    return n;
}

int srv_conns_open(struct srv_conns *cs)
{
    pthread_mutex_lock(&cs->lock);
    int n = cs->open;
    pthread_mutex_unlock(&cs->lock);
    return n;
}
