/* concat.c - Concat: joins the inputs along `axis` (negative counts from the end). Every input
 * is differentiable; constant float inputs simply receive no gradient. */
#include <stdlib.h>
#include <string.h>

#include "_layout.h"

struct params {
    int axis; /* normalised */
};

static xai_status check_inputs(const struct xai_node_def *nd, struct xai_err *err)
{
    if (nd->n_in < 1 || nd->n_in > 32)
        return xai_fail(err, XAI_UNSUPPORTED, "node '%s' (%s): %d inputs, 1 to 32 supported",
                        nd->name, nd->op_type, nd->n_in);
    for (int i = 0; i < nd->n_in; i++) {
        const struct xai_const *c = nd->in_const[i];
        if (!nd->in_present[i] || (c && c->dtype != XAI_F32))
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s' (%s): input %d must be a float tensor (int64 shape "
                            "arithmetic must be folded at load time)",
                            nd->name, nd->op_type, i);
    }
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    int64_t axis;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = check_inputs(nd, err)) || (st = xai_attr_int(nd, "axis", 1, &axis, err)))
        return st;
    int a = xai_axis(axis, nd->in_shape[0].ndim);
    if (a < 0) return xai_lay_refuse(nd, "axis", "is out of range for the input rank", err);
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    p->axis = a;
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    out[0] = in[0];
    out[0].d[q->axis] = 0;
    for (int i = 0; i < n_in; i++) {
        bool ok = in[i].ndim == in[0].ndim;
        for (int k = 0; ok && k < in[0].ndim; k++) ok = k == q->axis || in[i].d[k] == in[0].d[k];
        if (!ok) {
            char a[96], b[96];
            return xai_fail(
                err, XAI_SHAPE_MISMATCH, "Concat: input shapes %s and %s differ off axis %d",
                xai_shape_str(&in[0], a, sizeof a), xai_shape_str(&in[i], b, sizeof b), q->axis);
        }
        out[0].d[q->axis] += in[i].d[q->axis];
    }
    return XAI_OK;
}

/* Elements before the axis (outer) and per unit of the axis (inner). */
static void split(const struct xai_shape *s, int axis, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= s->d[k];
    for (int k = axis + 1; k < s->ndim; k++) *inner *= s->d[k];
}

static void forward(const struct xai_op_run *r)
{
    const struct params *q = r->p;
    const struct xai_shape *os = &r->out[0]->shape;
    int64_t outer, inner, off = 0;
    split(os, q->axis, &outer, &inner);
    int64_t orow = os->d[q->axis] * inner;
    for (int i = 0; i < r->n_in; i++) {
        int64_t chunk = r->in[i]->shape.d[q->axis] * inner;
        const float *x = r->in[i]->data;
        float *y = r->out[0]->data;
        for (int64_t o = 0; chunk && o < outer; o++)
            memcpy(y + o * orow + off, x + o * chunk, sizeof(float) * (size_t)chunk);
        off += chunk;
    }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const struct params *q = r->p;
    const struct xai_shape *os = &r->out[0]->shape;
    int64_t outer, inner, off = 0;
    split(os, q->axis, &outer, &inner);
    int64_t orow = os->d[q->axis] * inner;
    const float *gy = r->gout[0]->data;
    for (int i = 0; i < r->n_in; i++) {
        int64_t chunk = r->in[i]->shape.d[q->axis] * inner;
        float *gx = r->gin[i] ? r->gin[i]->data : NULL;
        for (int64_t o = 0; gx && o < outer; o++)
            for (int64_t j = 0; j < chunk; j++) gx[o * chunk + j] += gy[o * orow + off + j];
        off += chunk;
    }
}

/* Incremental inference: 4-D inputs joined on channels, each cropped alike. */
static bool pointwise(const void *pp, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out)
{
    const struct params *p = pp;
    return p->axis == 1 && out->ndim == 4;
}

const struct xai_op_def xai_op_concat = {
    .name = "Concat",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 0xffffffffu,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .pointwise = pointwise,
};
