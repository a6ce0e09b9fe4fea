/*
 * test_srv_pool.c - the worker pool: admission (queue places beyond the idle workers, 503 when
 * full), FIFO order, per-worker contexts, jobs expired by the watchdog while waiting or skipped
 * when dequeued late (done runs once, run never), busy time, a failing init, and stop.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "session.h"
#include "srv_pool.h"

struct tjob {
    struct srv_job job;
    atomic_int *gate; /* run waits while *gate == 0 */
    atomic_int ran, done, order;
    int worker;
};

static atomic_int sequence;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void run(struct srv_job *job, void *ctx)
{
    struct tjob *t = (struct tjob *)job;
    t->worker = *(int *)ctx;
    while (t->gate && !atomic_load(t->gate)) sleep_ms(1);
    atomic_store(&t->ran, 1);
}

static void done(struct srv_job *job)
{
    struct tjob *t = (struct tjob *)job;
    atomic_store(&t->order, atomic_fetch_add(&sequence, 1) + 1);
    atomic_fetch_add(&t->done, 1);
}

static void *init(int i, void *arg, struct xai_err *err)
{
    if (arg && i == *(int *)arg) {
        xai_fail(err, XAI_NO_MEMORY, "worker %d fails on purpose", i);
        return NULL;
    }
    int *ctx = malloc(sizeof *ctx);
    *ctx = 100 + i;
    return ctx;
}

static void fini(void *ctx, void *arg)
{
    free(ctx);
}

static void prepare(struct tjob *t, atomic_int *gate, double deadline_in)
{
    memset(t, 0, sizeof *t);
    t->job.run = run;
    t->job.done = done;
    t->job.deadline = xai_monotonic_s() + deadline_in;
    t->gate = gate;
}

static void wait_for(struct srv_pool *p, int running, int queued)
{
    for (int i = 0; i < 5000; i++) {
        struct srv_pool_stats s;
        srv_pool_stats(p, &s);
        if (s.running == running && s.queued == queued) return;
        sleep_ms(1);
    }
    fail_msg("the pool never reached running %d, queued %d", running, queued);
}

static void wait_done(struct tjob *t)
{
    for (int i = 0; i < 5000 && !atomic_load(&t->done); i++) sleep_ms(1);
    assert_int_equal(atomic_load(&t->done), 1);
}

static void test_admission(void **state)
{
    struct srv_pool_hooks hooks = {init, fini, NULL};
    struct srv_pool *p;
    struct xai_err err = {{0}};
    assert_int_equal(srv_pool_start(1, 1, &hooks, &p, &err), XAI_OK);
    wait_for(p, 0, 0);
    atomic_int gate = 0;
    struct tjob a, b, c;
    prepare(&a, &gate, 60);
    prepare(&b, NULL, 60);
    prepare(&c, NULL, 60);
    assert_true(srv_pool_reserve(p)); /* the idle worker's */
    srv_pool_commit(p, &a.job);
    wait_for(p, 1, 0);
    assert_true(srv_pool_reserve(p)); /* the one queue place */
    assert_false(srv_pool_reserve(p));
    srv_pool_commit(p, &b.job);
    assert_false(srv_pool_reserve(p));
    atomic_store(&gate, 1);
    wait_done(&a);
    wait_done(&b);
    assert_true(atomic_load(&a.order) < atomic_load(&b.order));
    assert_int_equal(a.worker, 100);
    assert_true(srv_pool_reserve(p));
    srv_pool_unreserve(p);
    assert_true(srv_pool_reserve(p));
    srv_pool_commit(p, &c.job);
    wait_done(&c);
    assert_true(a.ran && b.ran && c.ran);
    assert_false(a.job.expired || b.job.expired || c.job.expired);
    struct srv_pool_stats s;
    srv_pool_stats(p, &s);
    assert_int_equal(s.workers, 1);
    assert_true(s.busy_seconds > 0);
    srv_pool_stop(p);
}

static void test_expiry(void **state)
{
    struct srv_pool_hooks hooks = {init, fini, NULL};
    struct srv_pool *p;
    struct xai_err err = {{0}};
    assert_int_equal(srv_pool_start(1, 4, &hooks, &p, &err), XAI_OK);
    wait_for(p, 0, 0);
    atomic_int gate = 0;
    struct tjob a, b, late;
    prepare(&a, &gate, 60);
    prepare(&b, NULL, 0.05);
    assert_true(srv_pool_reserve(p));
    srv_pool_commit(p, &a.job);
    wait_for(p, 1, 0);
    assert_true(srv_pool_reserve(p));
    double t0 = xai_monotonic_s();
    srv_pool_commit(p, &b.job);
    wait_done(&b); /* the watchdog answers it while the only worker is busy */
    double waited = xai_monotonic_s() - t0;
    assert_true(waited >= 0.04 && waited < 2.0);
    assert_true(b.job.expired);
    assert_false(atomic_load(&b.ran));
    assert_false(atomic_load(&a.done));
    /* a job whose deadline passed before a worker reaches it is not run */
    prepare(&late, NULL, -1);
    assert_true(srv_pool_reserve(p));
    srv_pool_commit(p, &late.job);
    atomic_store(&gate, 1);
    wait_done(&a);
    wait_done(&late);
    assert_true(late.job.expired);
    assert_false(atomic_load(&late.ran));
    assert_int_equal(atomic_load(&b.done), 1);
    srv_pool_stop(p);
}

static void test_many_workers(void **state)
{
    struct srv_pool_hooks hooks = {init, fini, NULL};
    struct srv_pool *p;
    struct xai_err err = {{0}};
    enum { N = 40 };
    struct tjob *jobs = calloc(N, sizeof *jobs);
    assert_int_equal(srv_pool_start(4, N, &hooks, &p, &err), XAI_OK);
    for (int i = 0; i < N; i++) {
        prepare(&jobs[i], NULL, 60);
        assert_true(srv_pool_reserve(p));
        srv_pool_commit(p, &jobs[i].job);
    }
    srv_pool_stop(p); /* finishes the queue first */
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&jobs[i].done), 1);
        assert_true(jobs[i].worker >= 100 && jobs[i].worker < 104);
    }
    free(jobs);
}

static void test_failing_init(void **state)
{
    int fail_at = 2;
    struct srv_pool_hooks hooks = {init, fini, &fail_at};
    struct srv_pool *p = (struct srv_pool *)1;
    struct xai_err err = {{0}};
    assert_int_equal(srv_pool_start(3, 1, &hooks, &p, &err), XAI_NO_MEMORY);
    assert_null(p);
    assert_non_null(strstr(err.msg, "worker 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admission),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_many_workers),
        cmocka_unit_test(test_failing_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
