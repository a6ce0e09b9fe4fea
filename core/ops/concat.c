/* concat.c - Concat: joins the inputs along `axis` (negative counts from the end). Every input
 * is differentiable; constant float inputs simply receive no gradient. */
#include <stdlib.h>
#include <string.h>

#include "_layout.h"

#define CAT_MAX_IN 32 /* inputs */

struct params {
    int axis; /* normalised */
};

static xai_status check_inputs(const struct xai_node_def *nd, struct xai_err *err)
{
    if (nd->n_in < 1 || nd->n_in > CAT_MAX_IN)
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

/* Items of the parallel loops: (outer index o, input i), in that order. */
struct cat_ctx {
    const struct xai_op_run *r;
    int64_t inner, orow;
    int64_t off[CAT_MAX_IN]; /* each input's offset in an output row */
};

static void cat_setup(const struct xai_op_run *r, struct cat_ctx *c, int64_t *outer)
{
    const struct params *q = r->p;
    const struct xai_shape *os = &r->out[0]->shape;
    split(os, q->axis, outer, &c->inner);
    c->r = r;
    c->orow = os->d[q->axis] * c->inner;
    int64_t off = 0;
    for (int i = 0; i < r->n_in && i < CAT_MAX_IN; i++) {
        c->off[i] = off;
        off += r->in[i]->shape.d[q->axis] * c->inner;
    }
}

static void fwd_item(void *ctx, int64_t k, int tid)
{
    const struct cat_ctx *c = ctx;
    const struct params *q = c->r->p;
    int64_t o = k / c->r->n_in, i = k % c->r->n_in;
    int64_t chunk = c->r->in[i]->shape.d[q->axis] * c->inner;
    if (chunk)
        memcpy(c->r->out[0]->data + o * c->orow + c->off[i], c->r->in[i]->data + o * chunk,
               sizeof(float) * (size_t)chunk);
}

static void bwd_item(void *ctx, int64_t k, int tid)
{
    const struct cat_ctx *c = ctx;
    const struct params *q = c->r->p;
    int64_t o = k / c->r->n_in, i = k % c->r->n_in;
    if (!c->r->gin[i]) return;
    int64_t chunk = c->r->in[i]->shape.d[q->axis] * c->inner;
    float *gx = c->r->gin[i]->data + o * chunk;
    const float *gy = c->r->gout[0]->data + o * c->orow + c->off[i];
    for (int64_t j = 0; j < chunk; j++) gx[j] += gy[j];
}

static void forward(const struct xai_op_run *r)
{
    struct cat_ctx c;
    int64_t outer;
    cat_setup(r, &c, &outer);
    xai_par_for(r->par, outer * r->n_in, fwd_item, &c);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    struct cat_ctx c;
    int64_t outer;
    cat_setup(r, &c, &outer);
    xai_par_for(r->par, outer * r->n_in, bwd_item, &c);
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
