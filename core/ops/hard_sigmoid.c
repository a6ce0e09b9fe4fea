/* hard_sigmoid.c - HardSigmoid (opset 6+): y = clamp(alpha * x + beta, 0, 1), alpha default
 * 0.2, beta 0.5. Gradient alpha strictly inside the linear part (0 < alpha x + beta < 1), 0 at
 * and beyond its ends, as PyTorch's hardsigmoid_backward (-3 < x < 3). */
#include "_util.h"

#include <stdlib.h>

struct params {
    float alpha, beta;
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params p;
    xai_status st = xai_attr_float(nd, "alpha", 0.2f, &p.alpha, err);
    if (!st) st = xai_attr_float(nd, "beta", 0.5f, &p.beta, err);
    if (st) return st;
    struct params *q = malloc(sizeof *q);
    if (!q) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *q = p;
    *params = q;
    return XAI_OK;
}

static void forward(const struct xai_op_run *r)
{
    const struct params *p = r->p;
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) {
        float t = p->alpha * x[i] + p->beta;
        t = t < 0.f ? 0.f : t;
        y[i] = t > 1.f ? 1.f : t;
    }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const struct params *p = r->p;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) {
        float t = p->alpha * x[i] + p->beta, g = gx[i], s = g + p->alpha * gy[i];
        gx[i] = t > 0.f && t < 1.f ? s : g; /* branchless, so that it vectorises */
    }
}

const struct xai_op_def xai_op_hard_sigmoid = {
    .name = "HardSigmoid",
    .opset_min = 6,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = init,
    .infer = xai_op_infer_same,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
