/*
 * _softmax.h - what Softmax and LogSoftmax share: the axis attribute and how it splits the
 * input into [outer, len, inner] blocks.
 *
 * Opsets 1-12 coerce the input to 2-D at `axis` (default 1): each row of
 * len = d[axis] * ... * d[ndim-1] elements is normalised on its own (inner = 1).
 * Opset 13+ normalises along the single dimension `axis` (default -1): len = d[axis], inner =
 * the product of the dimensions after it.
 *
 * forward/backward process one outer block at a time with two vectors of `inner` floats in
 * scratch, so the passes run over contiguous memory whatever the axis.
 */
#ifndef XAI_OPS_SOFTMAX_H
#define XAI_OPS_SOFTMAX_H

#include "_util.h"

struct xai_softmax_layout {
    int64_t outer, len, inner;
};

xai_status xai_softmax_init(const struct xai_node_def *nd, void **params, struct xai_err *err);
/* Output shape: the input's; fails when the axis is out of range for it. */
xai_status xai_softmax_infer(const void *p, const struct xai_shape *in, int n_in,
                             struct xai_shape *out, int n_out, int64_t batch, struct xai_err *err);
/* 2 * inner floats. */
size_t xai_softmax_scratch(const void *p, const struct xai_shape *in, int n_in,
                           const struct xai_shape *out);
/* The split of shape s (whose axis infer has checked). */
struct xai_softmax_layout xai_softmax_layout(const void *p, const struct xai_shape *s);
/* m[j] = max over k of x[k * inner + j], for one block. */
void xai_softmax_block_max(const float *x, const struct xai_softmax_layout *l, float *m);

#endif
