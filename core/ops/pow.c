/*
 * pow.c - Pow (opset 7+) with a constant scalar exponent: y = x^p; dy/dx = p x^(p-1).
 *
 * The exponent (input 1) must be a scalar constant known at load time (float or integer);
 * a runtime or per-element exponent is refused. As in PyTorch 1.13's pow_backward, p = 0 has a
 * zero gradient everywhere, and p < 1 at x = 0 gives inf (NaN where the incoming gradient is 0).
 */
#include "_util.h"

#include <math.h>
#include <stdlib.h>

struct params {
    float p;
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params p;
    if (nd->n_in != 2 || !nd->in_present[1])
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (Pow): needs an exponent input", nd->name);
    xai_status st = xai_input_float(nd, 1, 1.f, &p.p, err);
    if (st) return st;
    struct params *q = malloc(sizeof *q);
    if (!q) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *q = p;
    *params = q;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    return xai_shape_broadcast(&in[0], &in[1], &out[0], err);
}

static void forward(const struct xai_op_run *r)
{
    const float e = ((const struct params *)r->p)->p;
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    if (e == 2.f)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = powf(x[i], e);
}

static void backward(const struct xai_op_run *r)
{
    const float e = ((const struct params *)r->p)->p;
    if (!r->gout[0] || e == 0.f) return;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    if (e == 2.f)
        for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * 2.f * x[i];
    else
        for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * e * powf(x[i], e - 1.f);
}

const struct xai_op_def xai_op_pow = {
    .name = "Pow",
    .opset_min = 7,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
