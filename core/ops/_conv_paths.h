/*
 * _conv_paths.h - the ways conv.c computes a convolution (it picks one per node and shape):
 *   gemm      im2col + sgemm, per batch item by bands of output rows, or several items of
 *             small feature maps side by side in one gemm (_conv_gemm.c);
 *   shift     stride 1, few output channels: one sgemm per kernel tap over shifted views of
 *             a zero-padded copy, no im2col (_conv_shift.c);
 *   Winograd  3x3 stride 1 (_winograd.h); depthwise direct loops (_depthwise.h);
 *   direct    layers with few input channels and strides of 2 or more (RGB stems): the
 *             forward from phase-split input rows (_conv_direct.c), the backward of 5- to
 *             8-wide kernels over dY's nonzero elements (_conv_direct_bwd.c).
 * Each runs all batch items and all groups, and splits its work between the session's
 * threads by shape only (par.h), so its results do not depend on the thread count: batch
 * items in parallel when there are several, otherwise bands, gemm tiles or channels.
 */
#ifndef XAI_OPS_CONV_PATHS_H
#define XAI_OPS_CONV_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "_im2col.h"
#include "par.h"

struct xai_conv_job {
    const struct xai_win *g; /* one group: g->c input channels */
    int64_t m, group, n;     /* output channels (all groups), groups, batch items */
    const float *w, *b;      /* weights [m][c * kh * kw], bias (NULL: none) */
    const float *wp, *wtp;   /* NULL, or w and its transpose packed for _pgemm.h, group after
                                group: products of at most CONV_PGEMM_COLS columns use them */
    bool relu;               /* forward: y = max(conv + b, 0) (a fused Relu, op.h) */
    xai_par *par;
    float *scratch; /* thread tid's block: scratch + tid * stride */
    size_t stride;
};

/* Floats of scratch per thread. */
size_t xai_conv_gemm_scratch(const struct xai_win *g, int64_t m, int64_t group, int64_t n);
/* y = conv(x) + b, overwritten; backward: gx += the adjoint applied to gy. */
void xai_conv_gemm_forward(const struct xai_conv_job *j, const float *x, float *y);
void xai_conv_gemm_backward(const struct xai_conv_job *j, const float *gy, float *gx);
/* Whether this path's products for n items have at most CONV_PGEMM_COLS columns (one item of
 * a map that small: several items go side by side into wider products). */
bool xai_conv_gemm_narrow(const struct xai_win *g, int64_t n);

/* The direct forward (_conv_direct.c): few input channels, stride 2 or more; avx512: the CPU
 * runs AVX-512F (xai_pgemm_on()). Backward: another path. */
bool xai_conv_direct_fits(const struct xai_win *g, int64_t m, int64_t group, bool avx512);
size_t xai_conv_direct_scratch(const struct xai_win *g);
void xai_conv_direct_forward(const struct xai_conv_job *j, const float *x, float *y);
/* The direct backward over dY's nonzero elements (_conv_direct_bwd.c): those layers with
 * kernels 5 to 8 wide. mask: NULL, or a fused Relu's output (gy counts where it is > 0: gy is
 * zeroed in place elsewhere); gx += the adjoint applied to gy. Its scratch holds the packed
 * weights at thread 0's. */
bool xai_conv_direct_bwd_fits(const struct xai_win *g, int64_t m, int64_t group, bool avx512);
size_t xai_conv_direct_bwd_scratch(const struct xai_win *g, int64_t m);
void xai_conv_direct_backward(const struct xai_conv_job *j, float *gy, const float *mask,
                              float *gx);

bool xai_conv_shift_fits(const struct xai_win *g, int64_t m, int64_t group, int64_t n);
size_t xai_conv_shift_scratch(const struct xai_win *g, int64_t m);
void xai_conv_shift_forward(const struct xai_conv_job *j, const float *x, float *y);
void xai_conv_shift_backward(const struct xai_conv_job *j, const float *gy, float *gx);

#endif
