/*
 * _winograd.h - Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016) for 3x3 kernels with stride 1 and no dilation, any pads: F(4x4, 3x3), and
 * F(2x2, 3x3) for small maps (tile 2 below).
 *
 * The output is cut into tiles of t x t (t = 4, or 2); tile T of output channel m is
 *   Y = A^T [ sum_c U[m][c] (.) V[c][T] ] A,  U = G g G^T (a x a, a = t + 2, per (m, c)),
 *   V = B^T d B,
 * d the a x a input patch under the tile (zero outside the image). The elementwise products
 * summed over c are a^2 independent gemms, M_xi[M, T] = U_xi[M, C] . V_xi[C, T], one per
 * position xi of the tile: 36 multiplies per (tile, m, c) instead of the direct 144 for
 * F(4x4, 3x3), 16 instead of 36 for F(2x2, 3x3). The transforms cost O(C + M) per tile; they
 * run on rows of tiles, vectorised across tiles.
 *
 * Backward is the exact adjoint of that forward (so finite differences of the forward agree
 * with it): dM_xi = A dY A^T per tile, dV_xi[C, T] = U_xi^T . dM_xi, and B dV B^T (a x a) added
 * into dX under the tile. Neighbouring tiles' patches overlap by two pixels, so blocks of tile
 * rows run in two passes (even blocks, then odd ones), which keeps threads from writing the
 * same pixels and fixes the order of the additions whatever the thread count.
 *
 * Work is split into blocks of whole tile rows (over the batch), sized by the channel counts
 * only; blocks, or the channels and xi of one block, are the items of parallel loops.
 *
 * The weights are transformed once, at load (xai_wino_weights: 4x the weights' size for
 * F(4x4, 3x3), 16/9 for F(2x2, 3x3)). Blocks of at most WINO_NARROW_TILES tiles (small maps at
 * small batches) use each element of U for those few tiles only, so that streaming U from memory
 * bounds them: given the weights tap by tap (w9), such F(4x4, 3x3) blocks transform them during
 * the call instead, a block of gemm rows at a time into the thread's scratch (_winograd_u.c),
 * reading 9 floats per kernel instead of 36. F(2x2, 3x3) rounds about as plain convolution does;
 * F(4x4, 3x3) to about 1e-5 of the largest output.
 */
#ifndef XAI_OPS_WINOGRAD_H
#define XAI_OPS_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "_im2col.h"
#include "par.h"

/* Whether the window is one this path computes: 3x3 kernel, stride 1, no dilation. */
bool xai_wino_fits(const struct xai_win *g);

/* Positions per tile, (tile + 2)^2: 36 for tile 4, 16 for tile 2. */
int xai_wino_positions(int tile);

/* Transformed weights of one group: w [m][c][3][3] -> u [a^2][m][c] (xai_wino_positions(tile)
 * * m * c floats). F(4x4, 3x3): through w9, which gets the kernels tap by tap (w9 [9][m][c], 9 m c
 * floats: what xai_wino_job.w9 takes), in float (the same routine as the transform during a
 * call); w NULL: w9 holds them already; u NULL: only w9 is filled. F(2x2, 3x3): in double then
 * rounded, w9 unused. */
void xai_wino_weights(const float *w, int64_t m, int64_t c, int tile, float *w9, float *u);

/* One convolution (one group) over n batch items. Forward: x (c channels of item i at
 * x + i*xs) -> y (m channels at y + i*ys), y = conv + bias (bias NULL: none), overwritten.
 * Backward: gy (m channels at gy + i*ys) -> gx (c channels at gx + i*xs), ADDED to gx. */
struct xai_wino_job {
    const struct xai_win *g; /* g->c: input channels of the group */
    int64_t m, n;            /* output channels of the group, batch items */
    int tile;                /* 4: F(4x4, 3x3), 2: F(2x2, 3x3) */
    const float *u;          /* xai_wino_weights of the group */
    const float *w9;         /* NULL, or (F(4x4, 3x3)) the group's w9 from xai_wino_weights:
                                then blocks of few tiles transform the weights during the call */
    int64_t xs, ys;          /* floats from one batch item to the next, input and output side */
    xai_par *par;
    float *scratch; /* per thread: xai_wino_scratch floats, stride floats apart */
    size_t stride;
};

/* Floats of scratch one thread needs for a job on this window, m output channels, n items,
 * with w9 or without. */
size_t xai_wino_scratch(const struct xai_win *g, int64_t m, int64_t n, int tile, bool w9);
/* Whether a job on this window, m output channels and n items reads u (with w9, blocks of few
 * tiles do not: then u may be NULL). */
bool xai_wino_reads_u(const struct xai_win *g, int64_t m, int64_t n, int tile, bool w9);
/* relu: y = max(conv + bias, 0) (a fused Relu, op.h). */
void xai_wino_forward(const struct xai_wino_job *j, const float *x, const float *bias, bool relu,
                      float *y);
/* mask: NULL, or a fused Relu's output (laid out as gy): gy counts only where it is > 0. */
void xai_wino_backward(const struct xai_wino_job *j, const float *gy, const float *mask, float *gx);

#endif
