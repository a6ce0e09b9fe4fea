/* transpose.c - Transpose: out.d[k] = in.d[perm[k]]; perm defaults to reversing the axes.
 * Forward is a strided gather, backward the matching scatter-add. */
#include <stdlib.h>

#include "_layout.h"

struct params {
    int rank;
    int perm[XAI_MAX_DIMS];
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    int64_t perm[XAI_MAX_DIMS];
    int n;
    uint32_t seen;
    struct params q = {0};
    xai_status st = xai_lay_check_io(nd, err);
    if (st) return st;
    q.rank = nd->in_shape[0].ndim;
    if ((st = xai_attr_ints(nd, "perm", perm, XAI_MAX_DIMS, &n, err))) return st;
    for (int k = 0; !n && k < q.rank; k++) perm[k] = q.rank - 1 - k;
    if (n && n != q.rank) return xai_lay_refuse(nd, "perm", "must list every input axis", err);
    for (int k = 0; k < q.rank; k++)
        if (perm[k] < 0)
            return xai_lay_refuse(nd, "perm", "must be a permutation of the axes", err);
    if ((st = xai_lay_axes_mask(nd, "perm entry", perm, q.rank, q.rank, &seen, err))) return st;
    for (int k = 0; k < q.rank; k++) q.perm[k] = (int)perm[k];
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
    xai_status st = xai_lay_check_rank("Transpose", &in[0], q->rank, err);
    if (st) return st;
    out[0] = in[0];
    for (int k = 0; k < q->rank; k++) out[0].d[k] = in[0].d[q->perm[k]];
    return XAI_OK;
}

/* Strides of the input, listed in output axis order. */
static void perm_strides(const struct params *q, const struct xai_shape *in, int64_t *st)
{
    int64_t ist[XAI_MAX_DIMS];
    xai_lay_strides(in, ist);
    for (int k = 0; k < q->rank; k++) st[k] = ist[q->perm[k]];
}

static void forward(const struct xai_op_run *r)
{
    int64_t st[XAI_MAX_DIMS];
    perm_strides(r->p, &r->in[0]->shape, st);
    xai_lay_gather(&r->out[0]->shape, st, 0, r->in[0]->data, r->out[0]->data);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0] || !r->gin[0]) return;
    int64_t st[XAI_MAX_DIMS];
    perm_strides(r->p, &r->in[0]->shape, st);
    xai_lay_scatter_add(&r->out[0]->shape, st, 0, r->gout[0]->data, r->gin[0]->data);
}

const struct xai_op_def xai_op_transpose = {
    .name = "Transpose",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
