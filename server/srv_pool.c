/*
 * srv_pool.c - worker threads, the bounded queue and the deadline watchdog; see srv_pool.h.
 *
 * One mutex guards the queue and the counters. Admission: a job may wait when
 *   waiting + reserved < queue + idle
 * i.e. `queue` places beyond the workers that are idle and about to take the first jobs. Workers
 * wait on `work`; the watchdog waits on `watch` until the head job's deadline (jobs share one
 * deadline offset, so the head is always the first to expire).
 */
#include "srv_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "session.h"

struct worker {
    struct srv_pool *pool;
    pthread_t thread;
    void *ctx;
    bool started;
};

struct srv_pool {
    pthread_mutex_t lock;
    pthread_cond_t work, watch;
    struct srv_job *head, *tail;
    int waiting, reserved, idle, running, queue, n_workers;
    double busy;
    bool stopping;
    struct srv_pool_hooks hooks;
    pthread_t watchdog;
    bool watchdog_started;
    struct worker *workers;
};

static struct srv_job *pop(struct srv_pool *p)
{
    struct srv_job *j = p->head;
    p->head = j->next;
    if (!p->head) p->tail = NULL;
    p->waiting--;
    return j;
}

/* Runs (or skips, when expired) one dequeued job; called without the lock. */
static void execute(struct srv_pool *p, struct worker *w, struct srv_job *j)
{
    double t0 = xai_monotonic_s();
    j->t_started = t0;
    j->expired = t0 >= j->deadline;
    if (!j->expired) j->run(j, w->ctx);
    double spent = xai_monotonic_s() - t0;
    pthread_mutex_lock(&p->lock);
    p->busy += spent;
    pthread_mutex_unlock(&p->lock);
    j->done(j);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct srv_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (!p->head) break; /* stopping, and nothing left */
        struct srv_job *j = pop(p);
        p->running++;
        pthread_mutex_unlock(&p->lock);
        execute(p, w, j);
        pthread_mutex_lock(&p->lock);
        p->running--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static struct timespec abs_time(double monotonic_s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)monotonic_s;
    ts.tv_nsec = (long)((monotonic_s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return ts;
}

static void *watchdog_main(void *arg)
{
    struct srv_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping || p->head) {
        if (!p->head) {
            pthread_cond_wait(&p->watch, &p->lock);
            continue;
        }
        if (xai_monotonic_s() < p->head->deadline) {
            struct timespec ts = abs_time(p->head->deadline);
            pthread_cond_timedwait(&p->watch, &p->lock, &ts);
            continue;
        }
        struct srv_job *j = pop(p);
        j->t_started = xai_monotonic_s();
        j->expired = true;
        pthread_mutex_unlock(&p->lock);
        j->done(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static xai_status sync_init(struct srv_pool *p, struct xai_err *err)
{
    pthread_condattr_t ca;
    bool ok = !pthread_condattr_init(&ca) && !pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) &&
              !pthread_mutex_init(&p->lock, NULL) && !pthread_cond_init(&p->work, NULL) &&
              !pthread_cond_init(&p->watch, &ca);
    pthread_condattr_destroy(&ca);
    return ok ? XAI_OK : xai_fail(err, XAI_INTERNAL, "cannot make the pool's locks");
}

static xai_status start_threads(struct srv_pool *p, struct xai_err *err)
{
    for (int i = 0; i < p->n_workers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        if (!(w->ctx = p->hooks.init(i, p->hooks.arg, err))) return XAI_NO_MEMORY;
        if (pthread_create(&w->thread, NULL, worker_main, w))
            return xai_fail(err, XAI_INTERNAL, "cannot start worker thread %d", i);
        w->started = true;
    }
    if (pthread_create(&p->watchdog, NULL, watchdog_main, p))
        return xai_fail(err, XAI_INTERNAL, "cannot start the watchdog thread");
    p->watchdog_started = true;
    return XAI_OK;
}

xai_status srv_pool_start(int workers, int queue, const struct srv_pool_hooks *hooks,
                          struct srv_pool **out, struct xai_err *err)
{
    *out = NULL;
    struct srv_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc((size_t)workers, sizeof *p->workers))) {
        free(p);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the worker pool");
    }
    p->n_workers = workers;
    p->queue = queue;
    p->hooks = *hooks;
    xai_status st = sync_init(p, err);
    if (st) { /* nothing started; the locks may be half made, so they are not destroyed */
        free(p->workers);
        free(p);
        return st;
    }
    if ((st = start_threads(p, err))) {
        srv_pool_stop(p);
        return st;
    }
    *out = p;
    return XAI_OK;
}

bool srv_pool_reserve(struct srv_pool *p)
{
    pthread_mutex_lock(&p->lock);
    bool ok = !p->stopping && p->waiting + p->reserved < p->queue + p->idle;
    if (ok) p->reserved++;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void srv_pool_unreserve(struct srv_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->reserved--;
    pthread_mutex_unlock(&p->lock);
}

void srv_pool_commit(struct srv_pool *p, struct srv_job *j)
{
    j->next = NULL;
    j->expired = false;
    j->t_queued = xai_monotonic_s();
    pthread_mutex_lock(&p->lock);
    p->reserved--;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->waiting++;
    pthread_cond_signal(&p->work);
    pthread_cond_signal(&p->watch);
    pthread_mutex_unlock(&p->lock);
}

void srv_pool_stats(struct srv_pool *p, struct srv_pool_stats *s)
{
    pthread_mutex_lock(&p->lock);
    *s = (struct srv_pool_stats){p->waiting, p->running, p->n_workers, p->busy};
    pthread_mutex_unlock(&p->lock);
}

void srv_pool_stop(struct srv_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->watch);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_workers; i++) {
        if (p->workers[i].started) pthread_join(p->workers[i].thread, NULL);
        if (p->workers[i].ctx) p->hooks.fini(p->workers[i].ctx, p->hooks.arg);
    }
    if (p->watchdog_started) pthread_join(p->watchdog, NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->watch);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}
