/* relu.c - Relu: y = max(x, 0); dy/dx = 1 where x > 0. */
#include "_util.h"

static void forward(const struct xai_op_run *r)
{
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) { /* gy read unconditionally, so that it vectorises */
        float g = gy[i];
        gx[i] += x[i] > 0.f ? g : 0.f;
    }
}

const struct xai_op_def xai_op_relu = {
    .name = "Relu",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = xai_op_init_none,
    .infer = xai_op_infer_same,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
