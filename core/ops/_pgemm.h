/*
 * _pgemm.h - narrow sgemm products on constant matrices packed once, with an own AVX-512
 * kernel.
 *
 * At batch 1 the convolutions of small maps are products W[m, k] . B[k, n] with a few dozen
 * columns (ResNet's last stage at 224 x 224: 512 x 4608 weights, 49 columns), and their
 * backward W^T . dY likewise. OpenBLAS packs W into its own layout on every call before it
 * computes, so the weights' trip from memory (9.4 MB per convolution) and the arithmetic come
 * one after the other. Here op(W) is packed once, in panels of 16 rows, k-major
 * (ap[p][k][16] = op(W)[16p + r][k], zero rows past m), and the kernel streams the panels
 * (prefetching ahead) while it computes C = op(W) . B: 16 rows of C as one AVX-512 vector,
 * B's elements broadcast, up to 28 columns' accumulators in registers.
 *
 * Each element of C is computed by one thread in a fixed order (the loop's items are panels
 * by blocks of up to 64 columns), so results do not depend on the thread count. Any n works;
 * callers keep it to narrow products (_conv_gemm.c: CONV_PGEMM_COLS), where it beats
 * OpenBLAS. Callers check xai_pgemm_on() first (x86-64 with AVX-512F, and XAI_PGEMM=0 not
 * set), and otherwise use OpenBLAS on the unpacked matrix.
 */
#ifndef XAI_OPS_PGEMM_H
#define XAI_OPS_PGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "par.h"

bool xai_pgemm_on(void);
/* Floats of the packed form of an m x k matrix (a multiple of 16). */
size_t xai_pgemm_floats(int64_t m, int64_t k);
/* op(a) (m x k) -> ap: a is m x k row-major, or (trans) k x m row-major. ap: 64-byte aligned. */
void xai_pgemm_pack(const float *a, int64_t m, int64_t k, bool trans, float *ap);

/* C[m, n] = op(W) . B (+ C when add; then max(., 0) when relu), B k x n (ldb), from op(W)
 * packed in ap. */
void xai_pgemm(xai_par *par, const float *ap, int64_t m, int64_t k, const float *b, int64_t ldb,
               int64_t n, bool add, bool relu, float *c, int64_t ldc);

#endif
