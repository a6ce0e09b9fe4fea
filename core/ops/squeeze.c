/* squeeze.c - Squeeze: removes the listed size-1 axes (attribute before opset 13, constant
 * int64 input 1 from 13); with no axes, every size-1 axis of the run's shape. */
#include <stdlib.h>

#include "_layout.h"

struct params {
    int rank;
    uint32_t mask; /* axes to remove; 0: every size-1 axis */
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    int64_t axes[XAI_MAX_DIMS];
    int n;
    struct params q = {0};
    xai_status st = xai_lay_check_io(nd, err);
    if (st) return st;
    q.rank = nd->in_shape[0].ndim;
    if ((st = xai_lay_read_axes(nd, 13, axes, &n, err)) ||
        (st = xai_lay_axes_mask(nd, "axis", axes, n, q.rank, &q.mask, err)))
        return st;
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
    xai_status st = xai_lay_check_rank("Squeeze", &in[0], q->rank, err);
    if (st) return st;
    struct xai_shape s = {0};
    for (int k = 0; k < q->rank; k++) {
        bool listed = q->mask >> k & 1u;
        if (listed && in[0].d[k] != 1) {
            char b[96];
            return xai_fail(err, XAI_SHAPE_MISMATCH, "Squeeze: axis %d of %s is not 1", k,
                            xai_shape_str(&in[0], b, sizeof b));
        }
        if (listed || (!q->mask && in[0].d[k] == 1)) continue;
        s.d[s.ndim++] = in[0].d[k];
    }
    out[0] = s;
    return XAI_OK;
}

const struct xai_op_def xai_op_squeeze = {
    .name = "Squeeze",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = xai_lay_copy_forward,
    .backward = xai_lay_copy_backward,
};
