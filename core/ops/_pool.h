/* _pool.h - window geometry shared by MaxPool and AveragePool (1 to 3 spatial dimensions).
 *
 * Output size per spatial dimension, with ek = (k - 1) * d + 1 the dilated kernel extent:
 *   NOTSET      floor((in + pb + pe - ek) / s) + 1, or ceil(...) + 1 with ceil_mode; with
 *               ceil_mode a last window that would start beyond in + pb (entirely in the end
 *               padding) is dropped, as PyTorch does.
 *   VALID       floor((in - ek) / s) + 1, no padding.
 *   SAME_UPPER  ceil(in / s), total padding max(0, (out - 1) * s + ek - in), the odd extra at
 *   SAME_LOWER  the end (UPPER) or the beginning (LOWER).
 * ceil_mode only applies to NOTSET.
 */
#ifndef XAI_OPS_POOL_H
#define XAI_OPS_POOL_H

#include "op.h"

#define XAI_POOL_DIMS 3

enum xai_auto_pad { XAI_PAD_NOTSET, XAI_PAD_VALID, XAI_PAD_SAME_UPPER, XAI_PAD_SAME_LOWER };

/* The attributes, as read at init. */
struct xai_pool_attrs {
    int nsp; /* spatial dimensions (input rank - 2) */
    int auto_pad;
    int ceil_mode;
    int64_t k[XAI_POOL_DIMS], s[XAI_POOL_DIMS], d[XAI_POOL_DIMS];
    int64_t pb[XAI_POOL_DIMS], pe[XAI_POOL_DIMS];
};

/* Geometry of one run. Spatial dimensions are right-aligned into three: missing leading ones
 * have size 1, kernel 1, stride 1, no padding. */
struct xai_pool_geom {
    int64_t planes; /* N * C */
    int64_t in[XAI_POOL_DIMS], out[XAI_POOL_DIMS];
    int64_t k[XAI_POOL_DIMS], s[XAI_POOL_DIMS], d[XAI_POOL_DIMS];
    int64_t pb[XAI_POOL_DIMS], pe[XAI_POOL_DIMS];
};

/* The window of one output position along one dimension: tap j is at input index
 * start + j * d; taps [j0, j1) lie inside the input, taps [0, jp) inside the padded input
 * (the part of a ceil_mode window beyond the end padding is outside both). */
struct xai_pool_win {
    int64_t start, j0, j1, jp;
};

/* Reads kernel_shape, strides, dilations, pads, auto_pad and ceil_mode, refusing bad or
 * unsupported values with a message naming the node and attribute. */
xai_status xai_pool_read(const struct xai_node_def *nd, struct xai_pool_attrs *a,
                         struct xai_err *err);

/* Geometry for an input shape; fails when the rank is wrong or a window does not fit. */
xai_status xai_pool_geom(const char *op, const struct xai_pool_attrs *a, const struct xai_shape *in,
                         struct xai_pool_geom *g, struct xai_err *err);

/* infer: [N, C, out...]. */
xai_status xai_pool_infer(const char *op, const struct xai_pool_attrs *a,
                          const struct xai_shape *in, struct xai_shape *out, struct xai_err *err);

/* For xai_op_def.window: the window of a 2-D pool for input shape in (false for other ranks or
 * when the kernel does not fit; pad is left to the op), and in *unpadded the same attributes
 * without padding or ceil_mode. */
bool xai_pool_crop_window(const struct xai_pool_attrs *a, const struct xai_shape *in,
                          struct xai_op_window *w, struct xai_pool_attrs *unpadded);

/* Calls fn for every plane and every output position (o is the plane-local output index,
 * w the three windows). */
typedef void (*xai_pool_fn)(void *ctx, int64_t plane, int64_t o, const struct xai_pool_win *w);
void xai_pool_visit(const struct xai_pool_geom *g, xai_pool_fn fn, void *ctx);

/* Plane-local index of the first maximum in the window, or -1 when no tap is inside. */
int64_t xai_pool_argmax(const float *xp, const struct xai_pool_geom *g,
                        const struct xai_pool_win *w);
/* Sum of the taps inside the input. */
float xai_pool_sum(const float *xp, const struct xai_pool_geom *g, const struct xai_pool_win *w);
/* Adds v to every tap inside the input. */
void xai_pool_spread(float *gxp, const struct xai_pool_geom *g, const struct xai_pool_win *w,
                     float v);
/* Number of taps inside the input, or inside the padded input when include_pad. */
int64_t xai_pool_count(const struct xai_pool_win *w, bool include_pad);

/* The plain 2-D case that MaxPool and AveragePool run without the per-position window walk:
 * one or two spatial dimensions (or a third of size 1 with kernel 1 and no padding), no
 * dilation. Then the window of output position o along an axis is the taps
 * [o * s - pb, o * s - pb + k), clipped to the input by xai_pool_clip. */
bool xai_pool_is_plain_2d(const struct xai_pool_geom *g);

/* Taps [*a, *b) of the window starting at `start` with k taps, clipped to 0..n-1; *b <= *a
 * when none is inside. */
static inline void xai_pool_clip(int64_t start, int64_t k, int64_t n, int64_t *a, int64_t *b)
{
    *a = start < 0 ? 0 : start;
    *b = start + k > n ? n : start + k;
}

#endif
