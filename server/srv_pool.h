/*
 * srv_pool.h - the worker pool: a fixed set of threads taking jobs from one bounded FIFO queue.
 *
 * Each worker owns a context made by the server's init callback (its engine sessions: one
 * xai_session per model), so a job runs on that worker's sessions only. Admission is in two
 * steps, so the HTTP side can suspend its connection between them: srv_pool_reserve takes a place
 * or fails at once when `queue` jobs already wait beyond the idle workers (the server answers
 * 503), and srv_pool_commit enqueues the job into the reserved place and never fails.
 *
 * Deadlines: a job carries an absolute deadline (xai_monotonic_s). A watchdog thread expires jobs
 * still waiting when their deadline passes; a worker skips an expired job it dequeues; a running
 * job is stopped by its session's deadline (xai_session_set_deadline, set by the job itself).
 * Either way the job's done callback runs exactly once, from a pool thread, with job->expired set
 * when it never ran.
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include <stdbool.h>

#include "status.h"

struct srv_job {
    void (*run)(struct srv_job *job, void *worker_ctx); /* on a worker */
    void (*done)(struct srv_job *job);                  /* after run, or once expired */
    double deadline;                                    /* xai_monotonic_s seconds */
    double t_queued, t_started;                         /* set by the pool */
    bool expired;                                       /* set by the pool: never ran */
    struct srv_job *next;
};

struct srv_pool_hooks {
    /* Makes worker i's context; NULL fails the start (message in err). */
    void *(*init)(int i, void *arg, struct xai_err *err);
    void (*fini)(void *ctx, void *arg);
    void *arg;
};

struct srv_pool;

/* Starts `workers` threads (and the watchdog). INTERNAL or the init hook's error. */
xai_status srv_pool_start(int workers, int queue, const struct srv_pool_hooks *hooks,
                          struct srv_pool **out, struct xai_err *err);
/* Takes a place in the queue; false when it is full. */
bool srv_pool_reserve(struct srv_pool *p);
/* Gives back a reserved place unused. */
void srv_pool_unreserve(struct srv_pool *p);
/* Enqueues a job into a reserved place. */
void srv_pool_commit(struct srv_pool *p, struct srv_job *job);

struct srv_pool_stats {
    int queued, running, workers;
    double busy_seconds; /* total time workers spent running jobs */
};
void srv_pool_stats(struct srv_pool *p, struct srv_pool_stats *s);

/* Lets the workers finish every queued job, then joins them and frees the pool. */
void srv_pool_stop(struct srv_pool *p);

#endif
