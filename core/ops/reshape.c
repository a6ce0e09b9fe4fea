/* reshape.c - Reshape (opset 5+): the shape comes from constant int64 input 1; 0 copies the
 * input's dimension at that position, -1 is inferred from the element count. An element the
 * importer flagged as batch-proportional is worth value * batch in the run (e.g. a folded
 * Shape(x)[0]). allowzero = 1 is refused. Data is copied; so is the gradient. */
#include <stdlib.h>

#include "_layout.h"

struct params {
    int n;
    int64_t v[XAI_MAX_DIMS];
    uint8_t batch[XAI_MAX_DIMS];
};

static xai_status check_shape(const struct xai_node_def *nd, const struct params *q,
                              struct xai_err *err)
{
    int infer_at = -1;
    for (int i = 0; i < q->n; i++) {
        bool bad = q->v[i] < -1 || q->v[i] > XAI_LAY_MAX_EXTENT || (q->batch[i] && q->v[i] <= 0) ||
                   (q->v[i] == -1 && infer_at >= 0) || (q->v[i] == 0 && i >= nd->in_shape[0].ndim);
        if (bad)
            return xai_fail(err, XAI_BAD_MODEL,
                            "node '%s' (%s): invalid target shape value %lld at %d", nd->name,
                            nd->op_type, (long long)q->v[i], i);
        if (q->v[i] == -1) infer_at = i;
    }
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params q;
    int64_t allowzero;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = xai_attr_int(nd, "allowzero", 0, &allowzero, err))) return st;
    if (allowzero != 0) return xai_lay_refuse(nd, "allowzero", "must be 0", err);
    if (nd->n_in < 2 || !nd->in_present[1])
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): the shape input is missing", nd->name,
                        nd->op_type);
    if ((st = xai_input_ints(nd, 1, q.v, q.batch, XAI_MAX_DIMS, &q.n, err))) return st;
    if ((st = check_shape(nd, &q, err))) return st;
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = q;
    *params = p;
    return XAI_OK;
}

static xai_status mismatch(const struct xai_shape *in, int64_t batch, struct xai_err *err)
{
    char b[96];
    return xai_fail(err, XAI_SHAPE_MISMATCH,
                    "Reshape: input %s cannot be reshaped to the target shape (batch %lld)",
                    xai_shape_str(in, b, sizeof b), (long long)batch);
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    int64_t known = 1, total = xai_shape_numel(&in[0]);
    int infer_at = -1;
    struct xai_shape s = {.ndim = q->n};
    for (int i = 0; i < q->n; i++) {
        int64_t v = q->batch[i] ? q->v[i] * batch : q->v[i];
        if (v == 0 && i < in[0].ndim) v = in[0].d[i];
        s.d[i] = v;
        if (v == -1) {
            infer_at = i;
            continue;
        }
        if (v > 0 && known > INT64_MAX / v) return mismatch(&in[0], batch, err);
        known *= v;
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known) return mismatch(&in[0], batch, err);
        s.d[infer_at] = total / known;
    } else if (known != total) {
        return mismatch(&in[0], batch, err);
    }
    out[0] = s;
    return XAI_OK;
}

const struct xai_op_def xai_op_reshape = {
    .name = "Reshape",
    .opset_min = 5,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = xai_lay_copy_forward,
    .backward = xai_lay_copy_backward,
};
