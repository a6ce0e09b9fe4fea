/* par.c - see par.h. One loop at a time: the caller publishes it by bumping `gen`, workers
 * claim items from `next`, and the caller waits until every worker has left the loop (so the
 * loop's context, often on the caller's stack, is never read after xai_par_for returns). */
#include "par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Polls of a shared flag before sleeping on the condition variable: about 20-50 us, enough
 * to bridge the gap between an op's loops without holding a core for long. */
#define PAR_SPIN 4000

struct xai_par {
    int n; /* threads, the caller included */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    /* the current loop: written by the caller before gen is bumped */
    xai_par_fn fn;
    void *ctx;
    int64_t items;
    atomic_llong next;
    atomic_int gen;  /* loop generation */
    atomic_int busy; /* workers not yet out of the current loop */
    atomic_bool quit;
};

struct worker_arg {
    xai_par *p;
    int tid;
};

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_items(xai_par *p, int tid)
{
    for (;;) {
        long long i = atomic_fetch_add(&p->next, 1);
        if (i >= p->items) return;
        p->fn(p->ctx, i, tid);
    }
}

/* Waits for a generation other than seen (or quit); returns it. */
static int wait_gen(xai_par *p, int seen)
{
    for (int k = 0; k < PAR_SPIN; k++) {
        int g = atomic_load(&p->gen);
        if (g != seen || atomic_load(&p->quit)) return g;
        relax();
    }
    pthread_mutex_lock(&p->mu);
    int g;
    while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->quit))
        pthread_cond_wait(&p->wake, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker(void *arg)
{
    struct worker_arg *a = arg;
    xai_par *p = a->p;
    int tid = a->tid, seen = 0;
    free(a);
    for (;;) {
        seen = wait_gen(p, seen);
        if (atomic_load(&p->quit)) return NULL;
        run_items(p, tid);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void stop_workers(xai_par *p, int started)
{
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < started; i++) pthread_join(p->th[i], NULL);
}

xai_par *xai_par_new(int threads)
{
    if (threads < 2) return NULL;
    xai_par *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->th = calloc((size_t)threads, sizeof *p->th);
    if (!p->th || pthread_mutex_init(&p->mu, NULL)) {
        free(p->th);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = threads;
    int started = 0;
    for (; started < threads - 1; started++) {
        struct worker_arg *a = malloc(sizeof *a);
        if (a) *a = (struct worker_arg){p, started + 1};
        if (!a || pthread_create(&p->th[started], NULL, worker, a)) {
            free(a);
            break;
        }
    }
    if (started < threads - 1) {
        stop_workers(p, started);
        xai_par_free(p);
        return NULL;
    }
    return p;
}

void xai_par_free(xai_par *p)
{
    if (!p) return;
    if (!atomic_load(&p->quit)) stop_workers(p, p->n - 1);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->th);
    free(p);
}

int xai_par_threads(const xai_par *p)
{
    return p ? p->n : 1;
}

void xai_par_for(xai_par *p, int64_t n, xai_par_fn fn, void *ctx)
{
    if (!p || n <= 1) {
        for (int64_t i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->items = n;
    atomic_store(&p->next, 0);
    atomic_store(&p->busy, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_items(p, 0);
    for (int k = 0; k < PAR_SPIN && atomic_load(&p->busy) > 0; k++) relax();
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->busy) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
