/*
 * _par_gemm.h - row-major sgemm split into tiles of C that run on a session's threads.
 *
 * C[m, n] = alpha * op(A) . op(B) + beta * C, cut into a grid of tiles chosen from m, n and k
 * only (never from the thread count), one cblas_sgemm per tile: so the result is the same
 * whatever the number of threads, including none (par NULL runs the tiles in order).
 * Small products are one tile.
 */
#ifndef XAI_OPS_PAR_GEMM_H
#define XAI_OPS_PAR_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "par.h"

struct xai_gemm {
    bool ta, tb; /* op(A) = A^T, op(B) = B^T */
    int64_t m, n, k;
    float alpha;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    float beta;
    float *c;
    int64_t ldc;
    bool relu; /* then C = max(C, 0) (a fused Relu), tile by tile while it is in cache */
    /* NULL, or m x n floats of scratch: narrow products with a long k may then split k in two
     * instead of splitting m (see _par_gemm.c); the second half's product goes here first. */
    float *part;
};

/* Whether a product of this shape splits k (and so uses part when given). */
bool xai_par_sgemm_splits_k(int64_t m, int64_t n, int64_t k);

void xai_par_sgemm(xai_par *par, const struct xai_gemm *g);

#endif
