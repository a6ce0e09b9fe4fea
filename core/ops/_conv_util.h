/*
 * _conv_util.h - attributes and geometry shared by Conv and ConvTranspose.
 *
 * Nodes with one or two spatial axes are handled as 2-D: a 1-D node ([N, C, W]) uses the w
 * axis, with an h axis of size 1, kernel 1, stride 1, no padding.
 */
#ifndef XAI_OPS_CONV_UTIL_H
#define XAI_OPS_CONV_UTIL_H

#include "_im2col.h"
#include "op.h"

enum xai_auto_pad {
    XAI_AUTOPAD_NOTSET,
    XAI_AUTOPAD_VALID,
    XAI_AUTOPAD_SAME_UPPER,
    XAI_AUTOPAD_SAME_LOWER,
};

struct xai_conv_attrs {
    int nsp; /* spatial axes of the node: 1 or 2 */
    int64_t group;
    int64_t k[2], s[2], d[2]; /* kernel, strides, dilations of axes (h, w) */
    int64_t pb[2], pe[2];     /* explicit begin and end pads of axes (h, w) */
    enum xai_auto_pad auto_pad;
};

/* Checks that input idx is a constant float tensor of rank 3 or 4 (the weights) and sets
 * a->nsp from its rank. */
xai_status xai_conv_weights(const struct xai_node_def *nd, int idx, struct xai_conv_attrs *a,
                            struct xai_err *err);
/* Checks an optional bias input: absent, or a constant float vector of n values. */
xai_status xai_conv_bias(const struct xai_node_def *nd, int idx, int64_t n, bool *has,
                         struct xai_err *err);
/* Reads group, kernel_shape (checked against the weights' shape w), strides, dilations, pads
 * and auto_pad. a->nsp must be set. */
xai_status xai_conv_attrs_read(const struct xai_node_def *nd, const struct xai_shape *w,
                               struct xai_conv_attrs *a, struct xai_err *err);
/* Reads an int attribute of one value per spatial axis, each >= min, into out[] indexed by
 * axis (h, w); leaves out unchanged when the attribute is absent. */
xai_status xai_conv_axes(const struct xai_node_def *nd, const struct xai_conv_attrs *a,
                         const char *name, int64_t min, int64_t *out, struct xai_err *err);
/* Checks that x is [N, c, (H,) W] and returns its spatial size as (h, w). */
xai_status xai_conv_input(const char *op, const struct xai_conv_attrs *a, const struct xai_shape *x,
                          int64_t c, int64_t *h, int64_t *w, struct xai_err *err);
/* The window of a convolution over c channels of h x w: output size and begin pads after
 * auto_pad. Fails when the padded input is smaller than the dilated kernel. */
xai_status xai_conv_window(const char *op, const struct xai_conv_attrs *a, int64_t c, int64_t h,
                           int64_t w, struct xai_win *g, struct xai_err *err);
/* [n, c, (h,) w] */
struct xai_shape xai_conv_shape(const struct xai_conv_attrs *a, int64_t n, int64_t c, int64_t h,
                                int64_t w);
/* For xai_op_def.window: the window of a 2-D convolution on input x (false for 1-D nodes or
 * when the kernel does not fit), and in *unpadded the same attributes without padding. */
bool xai_conv_crop_window(const struct xai_conv_attrs *a, const struct xai_shape *x,
                          struct xai_op_window *w, struct xai_conv_attrs *unpadded);
/* Kernel 1x1, stride 1, no padding: the column matrix is the image itself. */
bool xai_win_is_pointwise(const struct xai_win *g);

#endif
