/*
 * _depthwise.h - direct depthwise convolution of one plane (one input channel, one kernel),
 * for convolutions with one input channel per group, where a gemm per group would be tiny.
 */
#ifndef XAI_OPS_DEPTHWISE_H
#define XAI_OPS_DEPTHWISE_H

#include "_im2col.h"

/* y[oh*ow] = bias + kernel wk[kh*kw] swept over x[h*w] with the window g (g->c ignored). */
void xai_dw_forward_plane(const struct xai_win *g, const float *x, const float *wk, float bias,
                          float *y);
/* gx[h*w] += the adjoint of xai_dw_forward_plane applied to gy[oh*ow]. */
void xai_dw_backward_plane(const struct xai_win *g, const float *gy, const float *wk, float *gx);

#endif
