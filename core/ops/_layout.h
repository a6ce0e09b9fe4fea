/* _layout.h - helpers for the shape and layout ops (Reshape, Transpose, Slice, Pad, ...):
 * strided walks over tensors, axis lists, plain copies, and init-time refusals. */
#ifndef XAI_OPS_LAYOUT_H
#define XAI_OPS_LAYOUT_H

#include "op.h"

/* Largest magnitude accepted for sizes, pads and batch-proportional values read at init, so
 * that shape arithmetic (including value * batch) cannot overflow. */
#define XAI_LAY_MAX_EXTENT ((int64_t)1 << 31)

/* Row-major strides of s (in elements). */
void xai_lay_strides(const struct xai_shape *s, int64_t *st);

/* Offset, in a tensor with strides st, of the element whose row-major index in shape s is
 * flat. Walks over s usually call it once per innermost row and step by st[ndim-1]. */
int64_t xai_lay_offset(const struct xai_shape *s, const int64_t *st, int64_t flat);

/* y[j] (+)= x[base + sum_k idx_k * st[k]] for every row-major j over shape s: a strided
 * gather (add = false) or its adjoint, a scatter-add into x (xai_lay_scatter_add). */
void xai_lay_gather(const struct xai_shape *s, const int64_t *st, int64_t base, const float *x,
                    float *y);
void xai_lay_scatter_add(const struct xai_shape *s, const int64_t *st, int64_t base,
                         const float *gy, float *gx);

/* y[j] += alpha * x[base + offset(j)] over shape s (the adjoint of a scatter-add). */
void xai_lay_gather_add(const struct xai_shape *s, const int64_t *st, int64_t base, const float *x,
                        float alpha, float *y);

/* forward/backward of ops that only relabel the shape (Reshape, Flatten, Squeeze,
 * Unsqueeze): y = x, and gx += gy. */
void xai_lay_copy_forward(const struct xai_op_run *r);
void xai_lay_copy_backward(const struct xai_op_run *r);

/* Refusal at init: "node 'n' (Op): attribute 'attr' <why>", status UNSUPPORTED. */
xai_status xai_lay_refuse(const struct xai_node_def *nd, const char *attr, const char *why,
                          struct xai_err *err);

/* Checks that the node has exactly one output and a present input 0 (so that init may look at
 * nd->in_shape[0]). */
xai_status xai_lay_check_io(const struct xai_node_def *nd, struct xai_err *err);

/* Normalises n axes against rank into a bit mask; fails (naming node and `what`) on an axis
 * out of range or repeated. */
xai_status xai_lay_axes_mask(const struct xai_node_def *nd, const char *what, const int64_t *axes,
                             int n, int rank, uint32_t *mask, struct xai_err *err);

/* Reads an axes list: from attribute "axes" when opset < input_opset, else from constant
 * int64 input 1. *n is 0 when absent. */
xai_status xai_lay_read_axes(const struct xai_node_def *nd, int input_opset, int64_t *axes, int *n,
                             struct xai_err *err);

/* Fails with SHAPE_MISMATCH when the input rank differs from the rank seen at init. */
xai_status xai_lay_check_rank(const char *op, const struct xai_shape *in, int rank,
                              struct xai_err *err);

#endif
