/*
 * par.h - a session's worker threads: parallel loops over a fixed list of work items.
 *
 * A loop runs fn(ctx, item, tid) once for every item in [0, n), on the caller (tid 0) and the
 * pool's threads (tid 1 .. threads-1), items claimed in order as threads become free. Ops
 * split their work into items by the problem's shape only, never by the number of threads,
 * and items write disjoint memory: so results are bit-identical whatever the thread count,
 * and the same as the serial loop a NULL pool runs. tid selects per-thread scratch.
 *
 * A pool belongs to one session and runs one loop at a time (the session's caller); it is not
 * shared between sessions. Workers spin briefly between loops, then sleep.
 */
#ifndef XAI_PAR_H
#define XAI_PAR_H

#include <stdint.h>

typedef struct xai_par xai_par;
typedef void (*xai_par_fn)(void *ctx, int64_t item, int tid);

/* A pool of threads workers in all (the caller counts as one): NULL when threads < 2 or on
 * failure (callers then run serially). */
xai_par *xai_par_new(int threads);
void xai_par_free(xai_par *p);
/* Threads a loop may use (1 for NULL). */
int xai_par_threads(const xai_par *p);
/* Runs fn for items 0..n-1 and returns when all are done. p NULL: in order on the caller. */
void xai_par_for(xai_par *p, int64_t n, xai_par_fn fn, void *ctx);

#endif
