/* leaky_relu.c - LeakyRelu (opset 6+): y = x for x >= 0, alpha * x otherwise (alpha default
 * 0.01). Gradient as PyTorch's leaky_relu_backward: 1 where x > 0, alpha where x <= 0. */
#include "_util.h"

#include <stdlib.h>

struct params {
    float alpha;
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params p;
    xai_status st = xai_attr_float(nd, "alpha", 0.01f, &p.alpha, err);
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
    const float alpha = p->alpha;
    for (int64_t i = 0; i < n; i++) { /* both arms computed, so that it vectorises */
        float v = x[i], a = alpha * v;
        y[i] = v >= 0.f ? v : a;
    }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const struct params *p = r->p;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    const float alpha = p->alpha;
    for (int64_t i = 0; i < n; i++) {
        float g = gy[i], a = alpha * g;
        gx[i] += x[i] > 0.f ? g : a;
    }
}

const struct xai_op_def xai_op_leaky_relu = {
    .name = "LeakyRelu",
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
