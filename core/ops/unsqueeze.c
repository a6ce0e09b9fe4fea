/* unsqueeze.c - Unsqueeze: inserts size-1 axes at the listed positions of the output (axes
 * attribute before opset 13, constant int64 input 1 from 13; negative counts from the end of
 * the output). */
#include <stdlib.h>

#include "_layout.h"

struct params {
    int rank;      /* output rank */
    uint32_t mask; /* inserted output axes */
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    int64_t axes[XAI_MAX_DIMS];
    int n;
    struct params q;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = xai_lay_read_axes(nd, 13, axes, &n, err))) return st;
    q.rank = nd->in_shape[0].ndim + n;
    if (n == 0 || q.rank > XAI_MAX_DIMS)
        return xai_fail(err, XAI_UNSUPPORTED, "node '%s' (%s): needs 1 to %d axes in total",
                        nd->name, nd->op_type, XAI_MAX_DIMS);
    if ((st = xai_lay_axes_mask(nd, "axis", axes, n, q.rank, &q.mask, err))) return st;
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
    int added = 0;
    for (int k = 0; k < q->rank; k++) added += (int)(q->mask >> k & 1u);
    xai_status st = xai_lay_check_rank("Unsqueeze", &in[0], q->rank - added, err);
    if (st) return st;
    struct xai_shape s = {.ndim = q->rank};
    for (int k = 0, j = 0; k < q->rank; k++) s.d[k] = q->mask >> k & 1u ? 1 : in[0].d[j++];
    out[0] = s;
    return XAI_OK;
}

const struct xai_op_def xai_op_unsqueeze = {
    .name = "Unsqueeze",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = xai_lay_copy_forward,
    .backward = xai_lay_copy_backward,
};
