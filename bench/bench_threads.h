/*
 * bench_threads.h - how the benchmark programs thread their session: by default the session
 * gets as many threads of its own as OpenBLAS would use (OPENBLAS_NUM_THREADS, what bench/run
 * sets) and OpenBLAS runs single-threaded inside them, as a server's workers do; with
 * XAI_BLAS_THREADS=1 the session stays at one thread and OpenBLAS's own threads run inside
 * each sgemm (the engine's threading before it had its own).
 */
#ifndef XAI_BENCH_THREADS_H
#define XAI_BENCH_THREADS_H

#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "session.h"

/* Sets up s as above. *threads: the thread count; *blas: whether OpenBLAS's threads are used.
 * Returns 0, or 1 after printing the error (prefixed with prog). */
static inline int bench_threads(xai_session *s, const char *prog, int *threads, bool *blas)
{
    struct xai_err err = {{0}};
    *threads = openblas_get_num_threads();
    *blas = getenv("XAI_BLAS_THREADS") && atoi(getenv("XAI_BLAS_THREADS"));
    if (*blas) return 0;
    openblas_set_num_threads(1);
    if (!xai_session_set_threads(s, *threads, &err)) return 0;
    fprintf(stderr, "%s: %s\n", prog, err.msg);
    return 1;
}

#endif
