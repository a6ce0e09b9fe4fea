/* flatten.c - Flatten: [d0..dn) -> [d0*..*d(axis-1), d(axis)*..*d(n-1)]; axis in [-r, r]. */
#include <stdlib.h>

#include "_layout.h"

struct params {
    int64_t axis; /* as given; normalised in infer */
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    int64_t axis;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = xai_attr_int(nd, "axis", 1, &axis, err))) return st;
    int r = nd->in_shape[0].ndim;
    if (axis < -r || axis > r)
        return xai_lay_refuse(nd, "axis", "is out of range for the input rank", err);
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    p->axis = axis;
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    int r = in[0].ndim;
    int64_t axis = q->axis < 0 ? q->axis + r : q->axis, lead = 1, rest = 1;
    if (axis < 0 || axis > r)
        return xai_fail(err, XAI_SHAPE_MISMATCH, "Flatten: axis %lld out of range for rank %d",
                        (long long)q->axis, r);
    for (int k = 0; k < r; k++) {
        if (k < axis)
            lead *= in[0].d[k];
        else
            rest *= in[0].d[k];
    }
    int64_t d[2] = {lead, rest};
    out[0] = xai_shape_make(2, d);
    return XAI_OK;
}

const struct xai_op_def xai_op_flatten = {
    .name = "Flatten",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = xai_lay_copy_forward,
    .backward = xai_lay_copy_backward,
};
