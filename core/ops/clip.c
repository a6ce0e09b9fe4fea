/*
 * clip.c - Clip (opset 6+): y = min(max(x, min), max).
 *
 * Bounds: opsets 6-10 read the float attributes min and max (defaults: the lowest and highest
 * float); opset 11+ reads the optional inputs 1 (min) and 2 (max), each either omitted (no
 * bound) or a scalar constant known at load time. When min > max every output is max, as in
 * ONNX and torch.clamp.
 *
 * Gradient: passes where min <= x <= max, bounds included, and is 0 elsewhere (so everywhere
 * when min > max). This is torch.clamp's backward in PyTorch 1.13 (checked: clamp(x, -0.5, 0.5)
 * at x = +-0.5 has gradient 1). Note that F.hardtanh / nn.ReLU6, which PyTorch also exports
 * as Clip, exclude the bounds in their own backward; the exported graph cannot tell them apart,
 * and the two differ only for inputs exactly on a bound.
 */
#include "_util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

struct params {
    float lo, hi;
};

static xai_status read_bounds(const struct xai_node_def *nd, struct params *p, struct xai_err *err)
{
    if (nd->opset < 11) {
        xai_status st = xai_attr_float(nd, "min", -FLT_MAX, &p->lo, err);
        return st ? st : xai_attr_float(nd, "max", FLT_MAX, &p->hi, err);
    }
    xai_status st = xai_input_float(nd, 1, -INFINITY, &p->lo, err);
    return st ? st : xai_input_float(nd, 2, INFINITY, &p->hi, err);
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params p;
    xai_status st = read_bounds(nd, &p, err);
    if (st) return st;
    if (isnan(p.lo) || isnan(p.hi))
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (Clip): a bound is NaN", nd->name);
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
        float v = x[i] < p->lo ? p->lo : x[i];
        y[i] = v > p->hi ? p->hi : v;
    }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const struct params *p = r->p;
    const float *x = r->in[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) { /* branchless, so that it vectorises */
        float g = gx[i], s = g + gy[i];
        gx[i] = x[i] >= p->lo && x[i] <= p->hi ? s : g;
    }
}

const struct xai_op_def xai_op_clip = {
    .name = "Clip",
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
