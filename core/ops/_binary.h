/*
 * _binary.h - elementwise binary ops with numpy multidirectional broadcasting (Add, Sub, Mul,
 * Div), shared by their op files.
 *
 * The output is walked as rows: the broadcast plan drops size-1 dimensions and merges adjacent
 * dimensions that both inputs step through uniformly, so "same shape" becomes one row over the
 * whole tensor and "[N,C,H,W] op [C,1,1]" (or a scalar) becomes rows of H*W in which the
 * constant operand is fixed. Along a row each input either advances (stride 1) or stays put
 * (stride 0, broadcast). The op supplies row kernels (see _binary_rows.h).
 *
 * Forward honours a fused Relu (op.h: xai_op_run.relu) for the ops that declare fuse_relu.
 * Backward accumulates each wanted input's gradient through the same walk; where an input is
 * broadcast, the output gradients it fed are summed back into its element.
 */
#ifndef XAI_OPS_BINARY_H
#define XAI_OPS_BINARY_H

#include "_util.h"

/* y[i] = f(a[i*sa], b[i*sb]) for i < n; sa, sb are 0 or 1. */
typedef void (*xai_bin_fwd_row)(const float *a, int64_t sa, const float *b, int64_t sb, float *y,
                                int64_t n);
/* Accumulates d(output)/d(input) * gy[i] into g, the gradient of a (stride sa) or of b
 * (stride sb) depending on the kernel; a stride of 0 sums the whole row into g[0]. */
typedef void (*xai_bin_grad_row)(const float *gy, const float *a, int64_t sa, const float *b,
                                 int64_t sb, float *g, int64_t n);

struct xai_binary_rows {
    xai_bin_fwd_row fwd;
    xai_bin_grad_row grad_a, grad_b;
};

/* No attributes; refuses int64 constant operands (float-only engine). */
xai_status xai_binary_init(const struct xai_node_def *nd, void **params, struct xai_err *err);
/* Output shape: the broadcast of the two input shapes. */
xai_status xai_binary_infer(const void *p, const struct xai_shape *in, int n_in,
                            struct xai_shape *out, int n_out, int64_t batch, struct xai_err *err);
/* pointwise: each input has the output's h and w (4-D), or size 1 along both (broadcast). */
bool xai_binary_pointwise(const void *p, const struct xai_shape *in, int n_in,
                          const struct xai_shape *out);
void xai_binary_forward(const struct xai_op_run *r, const struct xai_binary_rows *k);
void xai_binary_backward(const struct xai_op_run *r, const struct xai_binary_rows *k);

#endif
