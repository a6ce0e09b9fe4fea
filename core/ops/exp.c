/* exp.c - Exp: y = exp(x); dy/dx = y. */
#include "_util.h"

#include <math.h>

static void forward(const struct xai_op_run *r)
{
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const float *y = r->out[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * y[i];
}

const struct xai_op_def xai_op_exp = {
    .name = "Exp",
    .opset_min = 6,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .bwd_out = true,
    .init = xai_op_init_none,
    .infer = xai_op_infer_same,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
