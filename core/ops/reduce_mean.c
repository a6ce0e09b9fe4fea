/* reduce_mean.c - ReduceMean: the mean over the listed axes (all when none are given), kept as
 * size 1 when keepdims (default). Axes come from the attribute before opset 18 and from the
 * optional constant int64 input 1 from 18, where noop_with_empty_axes = 1 with no axes makes
 * the op the identity. */
#include <stdlib.h>
#include <string.h>

#include "_layout.h"

struct params {
    int rank;
    uint32_t mask; /* reduced axes */
    bool keepdims;
};

static xai_status read_axes(const struct xai_node_def *nd, struct params *q, struct xai_err *err)
{
    int64_t axes[XAI_MAX_DIMS], noop = 0;
    int n;
    xai_status st = xai_lay_read_axes(nd, 18, axes, &n, err);
    if (st || (nd->opset >= 18 && (st = xai_attr_int(nd, "noop_with_empty_axes", 0, &noop, err))))
        return st;
    if (noop != 0 && noop != 1)
        return xai_lay_refuse(nd, "noop_with_empty_axes", "must be 0 or 1", err);
    if ((st = xai_lay_axes_mask(nd, "axis", axes, n, q->rank, &q->mask, err))) return st;
    if (n == 0 && !noop) q->mask = (1u << q->rank) - 1u;
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params q = {0};
    int64_t keep;
    xai_status st = xai_lay_check_io(nd, err);
    if (st) return st;
    q.rank = nd->in_shape[0].ndim;
    if ((st = xai_attr_int(nd, "keepdims", 1, &keep, err)) || (st = read_axes(nd, &q, err)))
        return st;
    if (keep != 0 && keep != 1) return xai_lay_refuse(nd, "keepdims", "must be 0 or 1", err);
    q.keepdims = keep == 1;
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = q;
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    xai_status st = xai_lay_check_rank("ReduceMean", &in[0], q->rank, err);
    if (st) return st;
    struct xai_shape s = {0};
    for (int k = 0; k < q->rank; k++) {
        bool red = q->mask >> k & 1u;
        if (red && !q->keepdims) continue;
        s.d[s.ndim++] = red ? 1 : in[0].d[k];
    }
    out[0] = s;
    return XAI_OK;
}

/* Strides of the output (in keepdims form) along the input's axes, 0 on reduced axes; returns
 * the number of input elements averaged into each output. */
static int64_t reduce_strides(const struct params *q, const struct xai_shape *in, int64_t *st)
{
    struct xai_shape kept = *in;
    int64_t count = 1;
    for (int k = 0; k < q->rank; k++)
        if (q->mask >> k & 1u) {
            count *= in->d[k];
            kept.d[k] = 1;
        }
    xai_lay_strides(&kept, st);
    for (int k = 0; k < q->rank; k++)
        if (q->mask >> k & 1u) st[k] = 0;
    return count;
}

static void forward(const struct xai_op_run *r)
{
    int64_t st[XAI_MAX_DIMS], n = xai_shape_numel(&r->out[0]->shape);
    int64_t count = reduce_strides(r->p, &r->in[0]->shape, st);
    float *y = r->out[0]->data;
    memset(y, 0, sizeof(float) * (size_t)n);
    xai_lay_scatter_add(&r->in[0]->shape, st, 0, r->in[0]->data, y);
    for (int64_t i = 0; count && i < n; i++) y[i] /= (float)count;
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0] || !r->gin[0]) return;
    int64_t st[XAI_MAX_DIMS];
    int64_t count = reduce_strides(r->p, &r->in[0]->shape, st);
    if (count)
        xai_lay_gather_add(&r->in[0]->shape, st, 0, r->gout[0]->data, 1.f / (float)count,
                           r->gin[0]->data);
}

const struct xai_op_def xai_op_reduce_mean = {
    .name = "ReduceMean",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
