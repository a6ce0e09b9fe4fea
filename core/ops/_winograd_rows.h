/*
 * _winograd_rows.h - the transforms of Winograd F(4x4, 3x3) (_winograd_rows.c) and F(2x2, 3x3)
 * (xai_wino2_*, _winograd2_rows.c) (see _winograd.h), on one row of tiles of one plane at a
 * time, vectorised across the tiles; internal to _winograd*.c.
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
    int64_t blocks; /* blocks */
    int64_t lp;     /* floats of one line buffer (>= tile * tw + 2) */
    size_t scratch; /* floats per thread */
};

/* V = B^T d B for tile row ty of one input plane: v[xi * vs + t], t < tw. */
void xai_wino_in_row(const struct xai_wgeo *q, const float *plane, int64_t ty, float *v, int64_t vs,
                     float *lines);
/* Output rows of tile row ty of one plane = A^T M A + bias (max(., 0) when relu), from
 * m[xi * ms + t]. */
void xai_wino_out_row(const struct xai_wgeo *q, const float *m, int64_t ms, float bias, bool relu,
                      float *plane, int64_t ty, float *lines);
/* dM = A dY A^T for tile row ty of one output-gradient plane: dm[xi * ms + t]. mask: NULL, or
 * the plane of a fused Relu's output, where dY counts only where the mask is > 0. */
void xai_wino_dy_row(const struct xai_wgeo *q, const float *plane, const float *mask, int64_t ty,
                     float *dm, int64_t ms, float *lines);
/* dX += B dV B^T under each tile of tile row ty of one input-gradient plane, from dv[xi*vs+t]. */
void xai_wino_dx_row(const struct xai_wgeo *q, const float *dv, int64_t vs, float *plane,
                     int64_t ty, float *lines);

/* The same for F(2x2, 3x3): xi < 16. */
void xai_wino2_in_row(const struct xai_wgeo *q, const float *plane, int64_t ty, float *v,
                      int64_t vs, float *lines);
void xai_wino2_out_row(const struct xai_wgeo *q, const float *m, int64_t ms, float bias, bool relu,
                       float *plane, int64_t ty, float *lines);
void xai_wino2_dy_row(const struct xai_wgeo *q, const float *plane, const float *mask, int64_t ty,
                      float *dm, int64_t ms, float *lines);
void xai_wino2_dx_row(const struct xai_wgeo *q, const float *dv, int64_t vs, float *plane,
                      int64_t ty, float *lines);

#endif
