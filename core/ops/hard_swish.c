/* hard_swish.c - HardSwish (opset 14+): y = x * clamp(x/6 + 1/2, 0, 1).
 * Gradient as PyTorch 1.13's hardswish_backward: 0 for x < -3, x/3 + 1/2 for -3 <= x <= 3
 * (both ends included), 1 for x > 3. */
#include "_util.h"

static inline float hard_swish(float x)
{
    float t = x * (1.f / 6.f) + 0.5f;
    t = t < 0.f ? 0.f : t;
    t = t > 1.f ? 1.f : t;
    return x * t;
}

static inline float hard_swish_grad(float x)
{
    if (x < -3.f) return 0.f;
    if (x <= 3.f) return x * (1.f / 3.f) + 0.5f;
    return 1.f;
}

static void forward(const struct xai_op_run *r)
{
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = hard_swish(x[i]);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * hard_swish_grad(x[i]);
}

const struct xai_op_def xai_op_hard_swish = {
    .name = "HardSwish",
    .opset_min = 14,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = xai_op_init_none,
    .infer = xai_op_infer_same,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
