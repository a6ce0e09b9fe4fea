/* slice.c - Slice at run time: starts, ends and optional axes and steps from constant int64
 * inputs 1-4 (opset 10+) or from attributes (opsets 1-9). Negative starts/ends count from the
 * end; both are clamped as the ONNX spec says; steps may be negative, not zero. Starts/ends
 * flagged as batch-proportional are worth value * batch. Forward is a strided gather, backward
 * the matching scatter-add. */
#include <stdlib.h>

#include "_layout.h"

struct params {
    int rank, n;
    int axis[XAI_MAX_DIMS];
    int64_t starts[XAI_MAX_DIMS], ends[XAI_MAX_DIMS], steps[XAI_MAX_DIMS];
    uint8_t sb[XAI_MAX_DIMS], eb[XAI_MAX_DIMS]; /* batch flags */
};

/* Reads list `which` (0 starts, 1 ends, 2 axes, 3 steps) from input which + 1 or the attribute. */
static xai_status read_list(const struct xai_node_def *nd, int which, int64_t *v, uint8_t *flags,
                            int *n, struct xai_err *err)
{
    static const char *const names[] = {"starts", "ends", "axes", "steps"};
    if (nd->opset >= 10) return xai_input_ints(nd, which + 1, v, flags, XAI_MAX_DIMS, n, err);
    if (which == 3) {
        *n = 0;
        return XAI_OK;
    }
    for (int i = 0; flags && i < XAI_MAX_DIMS; i++) flags[i] = 0;
    return xai_attr_ints(nd, names[which], v, XAI_MAX_DIMS, n, err);
}

static bool too_big(int64_t v)
{
    return v > XAI_LAY_MAX_EXTENT || v < -XAI_LAY_MAX_EXTENT;
}

static xai_status read_all(const struct xai_node_def *nd, struct params *q, struct xai_err *err)
{
    int64_t axes[XAI_MAX_DIMS];
    int ne, na, ns;
    uint32_t mask;
    xai_status st;
    if ((st = read_list(nd, 0, q->starts, q->sb, &q->n, err)) ||
        (st = read_list(nd, 1, q->ends, q->eb, &ne, err)) ||
        (st = read_list(nd, 2, axes, NULL, &na, err)) ||
        (st = read_list(nd, 3, q->steps, NULL, &ns, err)))
        return st;
    if (ne != q->n || (na && na != q->n) || (ns && ns != q->n))
        return xai_fail(err, XAI_BAD_MODEL,
                        "node '%s' (%s): starts, ends, axes and steps differ in length", nd->name,
                        nd->op_type);
    for (int i = 0; i < q->n; i++) {
        if (!na) axes[i] = i;
        if (!ns) q->steps[i] = 1;
        if (q->steps[i] == 0)
            return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): a step is 0", nd->name,
                            nd->op_type);
        if ((q->sb[i] && too_big(q->starts[i])) || (q->eb[i] && too_big(q->ends[i])))
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s' (%s): a batch-proportional bound is too large", nd->name,
                            nd->op_type);
    }
    if ((st = xai_lay_axes_mask(nd, "axis", axes, q->n, q->rank, &mask, err))) return st;
    for (int i = 0; i < q->n; i++) q->axis[i] = xai_axis(axes[i], q->rank);
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params q = {0};
    xai_status st = xai_lay_check_io(nd, err);
    if (st) return st;
    q.rank = nd->in_shape[0].ndim;
    if ((st = read_all(nd, &q, err))) return st;
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = q;
    *params = p;
    return XAI_OK;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* First index and length of one sliced axis of size dim. */
static void slice_dim(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *start, int64_t *len)
{
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
        s = clamp(s, 0, dim);
        e = clamp(e, 0, dim);
        *len = e > s ? (e - s - 1) / step + 1 : 0; /* no overflow for any step */
    } else {
        s = clamp(s, 0, dim - 1);
        e = clamp(e, -1, dim - 1);
        int64_t neg = step == INT64_MIN ? INT64_MAX : -step;
        *len = s > e ? (s - e - 1) / neg + 1 : 0;
    }
    *start = s;
}

/* Per-axis first index, step and length for an input shape. */
static void geometry(const struct params *q, const struct xai_shape *in, int64_t batch,
                     int64_t *start, int64_t *step, int64_t *len)
{
    for (int k = 0; k < q->rank; k++) {
        start[k] = 0;
        step[k] = 1;
        len[k] = in->d[k];
    }
    for (int i = 0; i < q->n; i++) {
        int k = q->axis[i];
        int64_t s = q->sb[i] ? q->starts[i] * batch : q->starts[i];
        int64_t e = q->eb[i] ? q->ends[i] * batch : q->ends[i];
        step[k] = q->steps[i];
        slice_dim(in->d[k], s, e, step[k], &start[k], &len[k]);
        if (len[k] <= 1) step[k] = 1; /* unused, and a huge one would overflow the strides */
    }
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    int64_t start[XAI_MAX_DIMS], step[XAI_MAX_DIMS];
    xai_status st = xai_lay_check_rank("Slice", &in[0], q->rank, err);
    if (st) return st;
    out[0] = in[0];
    geometry(q, &in[0], batch, start, step, out[0].d);
    return XAI_OK;
}

/* Strides of the slice within the input, and the offset of its first element. */
static int64_t slice_strides(const struct xai_op_run *r, int64_t *st)
{
    const struct params *q = r->p;
    int64_t start[XAI_MAX_DIMS], step[XAI_MAX_DIMS], len[XAI_MAX_DIMS], ist[XAI_MAX_DIMS], base = 0;
    geometry(q, &r->in[0]->shape, r->batch, start, step, len);
    xai_lay_strides(&r->in[0]->shape, ist);
    for (int k = 0; k < q->rank; k++) {
        st[k] = ist[k] * step[k];
        base += start[k] * ist[k];
    }
    return base;
}

static void forward(const struct xai_op_run *r)
{
    int64_t st[XAI_MAX_DIMS], base = slice_strides(r, st);
    xai_lay_gather(&r->out[0]->shape, st, base, r->in[0]->data, r->out[0]->data);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0] || !r->gin[0]) return;
    int64_t st[XAI_MAX_DIMS], base = slice_strides(r, st);
    xai_lay_scatter_add(&r->out[0]->shape, st, base, r->gout[0]->data, r->gin[0]->data);
}

const struct xai_op_def xai_op_slice = {
    .name = "Slice",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
