/* erf.c - Erf (opset 9+, used by exported GELU): y = erf(x); dy/dx = 2/sqrt(pi) exp(-x^2). */
#include "_util.h"

#include <math.h>

#define TWO_OVER_SQRT_PI 1.1283791670955126f

static void forward(const struct xai_op_run *r)
{
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = erff(x[i]);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * TWO_OVER_SQRT_PI * expf(-x[i] * x[i]);
}

const struct xai_op_def xai_op_erf = {
    .name = "Erf",
    .opset_min = 9,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = xai_op_init_none,
    .infer = xai_op_infer_same,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
