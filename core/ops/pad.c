/* pad.c - Pad, modes constant, reflect and edge. Opset 11+: pads from constant int64 input 1
 * ([x1_begin, x2_begin, ..., x1_end, ...], negative values crop), constant_value from the
 * optional constant input 2; opsets 2-10: the pads and value attributes. Opset 18's axes input
 * and opset 19's wrap mode are refused. Backward sends each output's gradient to the input
 * element it was read from (reflect and edge gather several outputs onto one input). */
#include <stdlib.h>
#include <string.h>

#include "_layout.h"
#include "_vec.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE };

struct params {
    int rank, mode;
    float value;
    int64_t pb[XAI_MAX_DIMS], pe[XAI_MAX_DIMS];
};

static xai_status read_mode(const struct xai_node_def *nd, int *mode, struct xai_err *err)
{
    const char *s;
    xai_status st = xai_attr_string(nd, "mode", "constant", &s, err);
    if (st) return st;
    if (strcmp(s, "constant") == 0)
        *mode = PAD_CONSTANT;
    else if (strcmp(s, "reflect") == 0)
        *mode = PAD_REFLECT;
    else if (strcmp(s, "edge") == 0)
        *mode = PAD_EDGE;
    else
        return xai_lay_refuse(nd, "mode", "must be constant, reflect or edge", err);
    return XAI_OK;
}

static xai_status read_pads(const struct xai_node_def *nd, struct params *q, struct xai_err *err)
{
    int64_t pads[2 * XAI_MAX_DIMS];
    int n;
    xai_status st;
    if (nd->opset < 11) {
        if ((st = xai_attr_ints(nd, "pads", pads, 2 * XAI_MAX_DIMS, &n, err)) ||
            (st = xai_attr_float(nd, "value", 0.f, &q->value, err)))
            return st;
    } else if ((st = xai_input_ints(nd, 1, pads, NULL, 2 * XAI_MAX_DIMS, &n, err)) ||
               (st = xai_input_float(nd, 2, 0.f, &q->value, err))) {
        return st;
    }
    if (n != 2 * q->rank || q->rank < 1)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): %d pads given for an input of rank %d",
                        nd->name, nd->op_type, n, q->rank);
    for (int k = 0; k < 2 * q->rank; k++)
        if (pads[k] > XAI_LAY_MAX_EXTENT || pads[k] < -XAI_LAY_MAX_EXTENT)
            return xai_fail(err, XAI_UNSUPPORTED, "node '%s' (%s): pad %lld is too large", nd->name,
                            nd->op_type, (long long)pads[k]);
    for (int k = 0; k < q->rank; k++) {
        q->pb[k] = pads[k];
        q->pe[k] = pads[k + q->rank];
    }
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params q = {0};
    xai_status st = xai_lay_check_io(nd, err);
    if (st) return st;
    q.rank = nd->in_shape[0].ndim;
    if ((st = read_mode(nd, &q.mode, err)) || (st = read_pads(nd, &q, err))) return st;
    if (nd->n_in > 3 && nd->in_present[3])
        return xai_fail(err, XAI_UNSUPPORTED, "node '%s' (%s): the axes input is not supported",
                        nd->name, nd->op_type);
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = q;
    *params = p;
    return XAI_OK;
}

static bool dim_ok(const struct params *q, int k, int64_t n)
{
    if (n + q->pb[k] + q->pe[k] < 0) return false;
    if (q->mode == PAD_REFLECT) return q->pb[k] < n && q->pe[k] < n;
    if (q->mode == PAD_EDGE) return n > 0 || (q->pb[k] <= 0 && q->pe[k] <= 0);
    return true;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    xai_status st = xai_lay_check_rank("Pad", &in[0], q->rank, err);
    if (st) return st;
    out[0] = in[0];
    for (int k = 0; k < q->rank; k++) {
        if (!dim_ok(q, k, in[0].d[k])) {
            char b[96];
            return xai_fail(err, XAI_SHAPE_MISMATCH, "Pad: pads of axis %d do not fit input %s", k,
                            xai_shape_str(&in[0], b, sizeof b));
        }
        out[0].d[k] = in[0].d[k] + q->pb[k] + q->pe[k];
    }
    return XAI_OK;
}

/* Input index read by output index o along an axis of size n, or -1 for the constant. */
static int64_t source(int mode, int64_t o, int64_t pb, int64_t n)
{
    int64_t i = o - pb;
    if (i >= 0 && i < n) return i;
    if (mode == PAD_CONSTANT) return -1;
    if (mode == PAD_EDGE) return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

/* Offset of the input row read by output row `row` (all axes but the last), or -1. */
static int64_t row_source(const struct params *q, const struct xai_shape *is,
                          const struct xai_shape *os, const int64_t *ist, int64_t row)
{
    int64_t base = 0;
    for (int k = q->rank - 2; k >= 0; k--) {
        int64_t i = source(q->mode, row % os->d[k], q->pb[k], is->d[k]);
        row /= os->d[k];
        if (i < 0) return -1;
        base += i * ist[k];
    }
    return base;
}

static void walk(const struct xai_op_run *r, bool back)
{
    const struct params *q = r->p;
    const struct xai_shape *is = &r->in[0]->shape, *os = &r->out[0]->shape;
    int64_t ist[XAI_MAX_DIMS], last = q->rank - 1, len = os->d[last], n = is->d[last];
    int64_t rows = len ? xai_shape_numel(os) / len : 0;
    xai_lay_strides(is, ist);
    /* the output columns [lo, hi) of a row read input columns j - pb, in order */
    int64_t pb = q->pb[last], lo = pb < 0 ? 0 : pb > len ? len : pb;
    int64_t hi = pb + n < lo ? lo : pb + n > len ? len : pb + n;
    for (int64_t row = 0; row < rows; row++) {
        int64_t base = row_source(q, is, os, ist, row);
        for (int64_t j = 0; j < len; j++) {
            if (j == lo && base >= 0 && hi > lo) { /* the straight part, vectorised */
                if (back)
                    xai_vec_add(hi - lo, r->gout[0]->data + row * len + lo,
                                r->gin[0]->data + base + lo - pb);
                else
                    memcpy(r->out[0]->data + row * len + lo, r->in[0]->data + base + lo - pb,
                           sizeof(float) * (size_t)(hi - lo));
                j = hi - 1;
                continue;
            }
            int64_t i = base < 0 ? -1 : source(q->mode, j, pb, n);
            if (back && i >= 0) r->gin[0]->data[base + i] += r->gout[0]->data[row * len + j];
            if (!back) r->out[0]->data[row * len + j] = i < 0 ? q->value : r->in[0]->data[base + i];
        }
    }
}

static void forward(const struct xai_op_run *r)
{
    walk(r, false);
}

static void backward(const struct xai_op_run *r)
{
    if (r->gout[0] && r->gin[0]) walk(r, true);
}

/* Incremental inference: constant padding of the last two axes is a 1 x 1 window whose pads
 * the crop carries (with the pad value); the unpadded op copies the crop. */
static enum xai_window_fit crop_window(const void *pp, const struct xai_shape *in,
                                       struct xai_op_window *w, void **unpadded)
{
    const struct params *p = pp;
    if (p->mode != PAD_CONSTANT || p->rank != 4 || in->ndim != 4 || p->pb[0] || p->pe[0] ||
        p->pb[1] || p->pe[1])
        return XAI_WINDOW_NO;
    struct params *q = malloc(sizeof *q);
    if (!q) return XAI_WINDOW_NO_MEMORY;
    *q = *p;
    for (int i = 0; i < 2; i++) {
        w->k[i] = w->s[i] = w->d[i] = 1;
        w->pb[i] = p->pb[2 + i];
        q->pb[2 + i] = q->pe[2 + i] = 0;
    }
    w->pad = p->value;
    *unpadded = q;
    return XAI_WINDOW_YES;
}

const struct xai_op_def xai_op_pad = {
    .name = "Pad",
    .opset_min = 2,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .window = crop_window,
};
