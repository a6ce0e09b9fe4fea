/* sqrt.c - Sqrt: y = sqrt(x); dy/dx = 1 / (2 y). As in PyTorch 1.13 (grad / (2 * result)), the
 * gradient at x = 0 is inf, or NaN where the incoming gradient is 0; x < 0 gives NaN. */
#include "_util.h"

#include <math.h>

static void forward(const struct xai_op_run *r)
{
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const float *y = r->out[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += gy[i] / (2.f * y[i]);
}

const struct xai_op_def xai_op_sqrt = {
    .name = "Sqrt",
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
