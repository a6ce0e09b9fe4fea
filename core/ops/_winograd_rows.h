/*
 * _winograd_rows.h - the transforms of Winograd F(4x4, 3x3) (_winograd_rows.c) and F(2x2, 3x3)
 * (xai_wino2_*, _winograd2_rows.c) (see _winograd.h), on rows of tiles of one plane, vectorised
 * across the tiles; internal to _winograd*.c.
 */
#ifndef XAI_OPS_WINOGRAD_ROWS_H
#define XAI_OPS_WINOGRAD_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XAI_WINO_LINES 80 /* line buffers a transform uses, lp floats each */

/* One convolution's geometry, and how _winograd.c cuts it into blocks. */
struct xai_wgeo {
    int64_t c, m, h, w, oh, ow, ph, pw;
    int tile, np;   /* output tile side (4 or 2), positions per tile ((tile + 2)^2) */
    int64_t th, tw; /* tiles down, across */
    int64_t rows;   /* tile rows (over the batch) */
    int64_t per;    /* tile rows per block */
    int64_t grp;    /* tile rows per sweep of the transforms (at most) */
    int64_t blocks; /* blocks */
    int64_t lp;     /* floats of one line buffer (>= tile * tw + 2) */
    int64_t ub;     /* floats of weights transformed during a call, per thread (0: none) */
    size_t scratch; /* floats per thread: V and M of a block, ub, the line buffers */
    bool pf;        /* prefetch the next channel's rows (the tensors exceed the caches) */
};

/* The transforms run on g tile rows ty .. ty + g - 1 of one plane at once, their
 * tiles u = r * tw + t (r < g, t < tw) side by side; lp must hold g * (4 tw + 4) floats. */
/* V = B^T d B: v[xi * vs + u]. */
void xai_wino_in_rows(const struct xai_wgeo *q, const float *plane, int64_t ty, int64_t g, float *v,
                      int64_t vs, float *lines);
/* Output rows = A^T M A + bias (max(., 0) when relu), from m[xi * ms + u]. */
void xai_wino_out_rows(const struct xai_wgeo *q, const float *m, int64_t ms, float bias, bool relu,
                       float *plane, int64_t ty, int64_t g, float *lines);
/* dM = A dY A^T of one output-gradient plane: dm[xi * ms + u]. mask: NULL, or the plane of a
 * fused Relu's output, where dY counts only where the mask is > 0. */
void xai_wino_dy_rows(const struct xai_wgeo *q, const float *plane, const float *mask, int64_t ty,
                      int64_t g, float *dm, int64_t ms, float *lines);
/* dX += B dV B^T under each tile, from dv[xi * vs + u]. */
void xai_wino_dx_rows(const struct xai_wgeo *q, const float *dv, int64_t vs, float *plane,
                      int64_t ty, int64_t g, float *lines);

/* The same for F(2x2, 3x3) (xi < 16); lp must hold g * (2 tw + 2) floats. */
void xai_wino2_in_rows(const struct xai_wgeo *q, const float *plane, int64_t ty, int64_t g,
                       float *v, int64_t vs, float *lines);
void xai_wino2_out_rows(const struct xai_wgeo *q, const float *m, int64_t ms, float bias, bool relu,
                        float *plane, int64_t ty, int64_t g, float *lines);
void xai_wino2_dy_rows(const struct xai_wgeo *q, const float *plane, const float *mask, int64_t ty,
                       int64_t g, float *dm, int64_t ms, float *lines);
void xai_wino2_dx_rows(const struct xai_wgeo *q, const float *dv, int64_t vs, float *plane,
                       int64_t ty, int64_t g, float *lines);

/* F(4x4, 3x3) weights from w9[k][m][c] (xai_wino_weights), _winograd_u.c, position xi at
 * ub + xi * ps. Output-channel rows [m0, m0 + rows): ub[xi * ps + (m - m0) * c + c] = U_xi[m][c].
 * (A ps a few floats more than the plane keeps the planes' rows from mapping to the same cache
 * sets: 36 streams of stores at a multiple of 4 KB apart ran 3x slower.) */
void xai_wino_u_rows(const float *w9, int64_t m, int64_t c, int64_t m0, int64_t rows, float *ub,
                     int64_t ps);
/* Input-channel columns [c0, c0 + cols): ub[xi * ps + m * cols + c - c0] = U_xi[m][c]. */
void xai_wino_u_cols(const float *w9, int64_t m, int64_t c, int64_t c0, int64_t cols, float *ub,
                     int64_t ps);

#endif
