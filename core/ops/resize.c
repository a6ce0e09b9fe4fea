/* resize.c - Resize (opset 11+), modes nearest and linear, on the last two axes only (every
 * other axis keeps its size). Output sizes come from the constant scales input (floor(in *
 * scale)) or the constant int64 sizes input, whose batch-flagged elements are worth value *
 * batch. Source coordinate of output index x along an axis (scale = the given scale, or
 * out / in with sizes):
 *   half_pixel          (x + 0.5) / scale - 0.5
 *   pytorch_half_pixel  the same, but 0 when the output axis has length 1
 *   align_corners       x * (in - 1) / (out - 1), 0 when out = 1
 *   asymmetric          x / scale
 * nearest rounds it (nearest_mode) and clamps to the input; linear clamps it to [0, in - 1]
 * and interpolates between the two neighbours. Refused: cubic, tf_crop_and_resize,
 * tf_half_pixel_for_nn, half_pixel_symmetric, exclude_outside, antialias, axes,
 * keep_aspect_ratio_policy other than stretch. Backward spreads each output's gradient over
 * the input taps with the forward weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "_layout.h"

enum { M_NEAREST, M_LINEAR };
enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC };
enum { NM_PREFER_FLOOR, NM_PREFER_CEIL, NM_FLOOR, NM_CEIL };

struct params {
    int rank, mode, ctm, nearest;
    bool use_sizes;
    float scales[XAI_MAX_DIMS];
    int64_t sizes[XAI_MAX_DIMS];
    uint8_t sb[XAI_MAX_DIMS]; /* batch flags of sizes */
};

/* Index of s in names (n entries), or -1. */
static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static xai_status read_choice(const struct xai_node_def *nd, const char *attr, const char *def,
                              const char *const *names, int n, int *out, struct xai_err *err)
{
    const char *s;
    xai_status st = xai_attr_string(nd, attr, def, &s, err);
    if (st) return st;
    if ((*out = pick(s, names, n)) >= 0) return XAI_OK;
    char list[160] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return xai_fail(err, XAI_UNSUPPORTED,
                    "node '%s' (%s): attribute '%s' value '%s' is not supported (supported: %s)",
                    nd->name, nd->op_type, attr, s, list);
}

static xai_status read_modes(const struct xai_node_def *nd, struct params *q, struct xai_err *err)
{
    static const char *const modes[] = {"nearest", "linear"};
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    float unused;
    xai_status st;
    if ((st = read_choice(nd, "mode", "nearest", modes, 2, &q->mode, err)) ||
        (st = read_choice(nd, "coordinate_transformation_mode", "half_pixel", ctms, 4, &q->ctm,
                          err)) ||
        (st = read_choice(nd, "nearest_mode", "round_prefer_floor", nms, 4, &q->nearest, err)) ||
        (st = xai_attr_float(nd, "cubic_coeff_a", -0.75f, &unused, err)) ||
        (st = xai_attr_float(nd, "extrapolation_value", 0.f, &unused, err)))
        return st;
    return XAI_OK;
}

/* Attributes of later opsets that only have a supported default value. */
static xai_status read_defaults_only(const struct xai_node_def *nd, struct xai_err *err)
{
    static const char *const stretch[] = {"stretch"};
    int64_t excl, anti, axes[XAI_MAX_DIMS];
    int n, policy;
    xai_status st;
    if ((st = xai_attr_int(nd, "exclude_outside", 0, &excl, err)) ||
        (st = xai_attr_int(nd, "antialias", 0, &anti, err)) ||
        (st = xai_attr_ints(nd, "axes", axes, XAI_MAX_DIMS, &n, err)) ||
        (st = read_choice(nd, "keep_aspect_ratio_policy", "stretch", stretch, 1, &policy, err)))
        return st;
    if (excl != 0) return xai_lay_refuse(nd, "exclude_outside", "must be 0", err);
    if (anti != 0) return xai_lay_refuse(nd, "antialias", "must be 0", err);
    if (n) return xai_lay_refuse(nd, "axes", "is not supported", err);
    return XAI_OK;
}

/* The constant float scales input, when present and not empty. */
static xai_status read_scales(const struct xai_node_def *nd, struct params *q, bool *got,
                              struct xai_err *err)
{
    *got = false;
    if (nd->n_in < 3 || !nd->in_present[2]) return XAI_OK;
    const struct xai_const *c = nd->in_const[2];
    if (!c || c->dtype != XAI_F32)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): input 2 (scales) must be a constant float tensor",
                        nd->name, nd->op_type);
    int64_t n = xai_shape_numel(&c->shape);
    if (n == 0) return XAI_OK;
    if (n != q->rank)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): %lld scales for rank %d", nd->name,
                        nd->op_type, (long long)n, q->rank);
    for (int k = 0; k < q->rank; k++) {
        q->scales[k] = c->f[k];
        if (!(c->f[k] > 0.f))
            return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): scales must be positive", nd->name,
                            nd->op_type);
    }
    *got = true;
    return XAI_OK;
}

static xai_status read_sizes(const struct xai_node_def *nd, struct params *q, bool have_scales,
                             struct xai_err *err)
{
    int n;
    xai_status st = xai_input_ints(nd, 3, q->sizes, q->sb, XAI_MAX_DIMS, &n, err);
    if (st) return st;
    q->use_sizes = n > 0;
    if (have_scales == q->use_sizes)
        return xai_fail(err, XAI_BAD_MODEL,
                        "node '%s' (%s): exactly one of scales and sizes must be given", nd->name,
                        nd->op_type);
    if (q->use_sizes && n != q->rank)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): %d sizes for rank %d", nd->name,
                        nd->op_type, n, q->rank);
    for (int k = 0; q->use_sizes && k < q->rank; k++)
        if (q->sizes[k] < 1 || q->sizes[k] > XAI_LAY_MAX_EXTENT)
            return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): sizes must be in [1, 2^31]",
                            nd->name, nd->op_type);
    return XAI_OK;
}

/* Only the last two axes may change size (checked here at batch 1, again in infer). */
static xai_status check_outer_axes(const struct xai_node_def *nd, const struct params *q,
                                   struct xai_err *err)
{
    for (int k = 0; k < q->rank - 2; k++) {
        bool same = q->use_sizes ? q->sizes[k] == nd->in_shape[0].d[k] : q->scales[k] == 1.f;
        if (!same)
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s' (%s): only the last two axes may be resized, not axis %d",
                            nd->name, nd->op_type, k);
    }
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params q = {0};
    bool have_scales;
    xai_status st = xai_lay_check_io(nd, err);
    if (st) return st;
    q.rank = nd->in_shape[0].ndim;
    if ((st = read_modes(nd, &q, err)) || (st = read_defaults_only(nd, err)) ||
        (st = read_scales(nd, &q, &have_scales, err)) ||
        (st = read_sizes(nd, &q, have_scales, err)))
        return st;
    if ((st = check_outer_axes(nd, &q, err))) return st;
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = q;
    *params = p;
    return XAI_OK;
}

static int64_t out_size(const struct params *q, const struct xai_shape *in, int k, int64_t batch)
{
    if (q->use_sizes) return q->sb[k] ? q->sizes[k] * batch : q->sizes[k];
    double o = floor((double)in->d[k] * (double)q->scales[k]);
    return o > (double)XAI_LAY_MAX_EXTENT ? -1 : (int64_t)o;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    xai_status st = xai_lay_check_rank("Resize", &in[0], q->rank, err);
    if (st) return st;
    out[0] = in[0];
    for (int k = 0; k < q->rank; k++) {
        int64_t o = out_size(q, &in[0], k, batch);
        if (o < 1 || (k < q->rank - 2 && o != in[0].d[k])) {
            char b[96];
            return xai_fail(err, XAI_SHAPE_MISMATCH,
                            "Resize: axis %d of input %s cannot become %lld (only the last two "
                            "axes may be resized)",
                            k, xai_shape_str(&in[0], b, sizeof b), (long long)o);
        }
        out[0].d[k] = o;
    }
    return XAI_OK;
}

/* One resized axis. */
struct axis {
    int64_t in, out;
    float scale;
};

/* Two input taps and their weights for one output index (nearest: i1 = i0, w1 = 0). */
struct tap {
    int64_t i0, i1;
    float w0, w1;
};

static float source(const struct params *q, const struct axis *a, int64_t x)
{
    float fx = (float)x;
    switch (q->ctm) {
    case CT_PYTORCH_HALF_PIXEL:
        if (a->out == 1) return 0.f;
        return (fx + 0.5f) / a->scale - 0.5f;
    case CT_ALIGN_CORNERS:
        if (a->out == 1) return 0.f;
        return fx * (float)(a->in - 1) / (float)(a->out - 1);
    case CT_ASYMMETRIC:
        return fx / a->scale;
    default:
        return (fx + 0.5f) / a->scale - 0.5f;
    }
}

static int64_t round_nearest(int mode, float c)
{
    float f = floorf(c);
    switch (mode) {
    case NM_FLOOR:
        return (int64_t)f;
    case NM_CEIL:
        return (int64_t)ceilf(c);
    case NM_PREFER_CEIL:
        return (int64_t)(c - f >= 0.5f ? f + 1.f : f);
    default:
        return (int64_t)(c - f > 0.5f ? f + 1.f : f);
    }
}

static void make_tap(const struct params *q, const struct axis *a, int64_t x, struct tap *t)
{
    float c = source(q, a, x), hi = (float)(a->in - 1);
    if (q->mode == M_NEAREST) {
        int64_t i = round_nearest(q->nearest, c);
        t->i0 = t->i1 = i < 0 ? 0 : i > a->in - 1 ? a->in - 1 : i;
        t->w0 = 1.f;
        t->w1 = 0.f;
        return;
    }
    c = c < 0.f ? 0.f : c > hi ? hi : c;
    t->i0 = (int64_t)c;
    t->i1 = t->i0 + 1 < a->in ? t->i0 + 1 : t->i0;
    t->w1 = c - (float)t->i0;
    t->w0 = 1.f - t->w1;
}

/* The two resized axes (H, W; H has length 1 for rank-1 inputs) and the plane count. */
static int64_t axes_of(const struct params *q, const struct xai_shape *is,
                       const struct xai_shape *os, struct axis *ax)
{
    for (int j = 0; j < 2; j++) {
        int k = q->rank - 2 + j;
        ax[j].in = k >= 0 ? is->d[k] : 1;
        ax[j].out = k >= 0 ? os->d[k] : 1;
        ax[j].scale = k < 0          ? 1.f
                      : q->use_sizes ? (float)ax[j].out / (float)ax[j].in
                                     : q->scales[k];
    }
    int64_t n = xai_shape_numel(is);
    return n ? n / (ax[0].in * ax[1].in) : 0;
}

static void plane_forward(const struct params *q, const struct axis *ax, const float *x, float *y)
{
    struct tap th, tw;
    for (int64_t oh = 0; oh < ax[0].out; oh++) {
        make_tap(q, &ax[0], oh, &th);
        const float *x0 = x + th.i0 * ax[1].in, *x1 = x + th.i1 * ax[1].in;
        for (int64_t ow = 0; ow < ax[1].out; ow++) {
            make_tap(q, &ax[1], ow, &tw);
            y[oh * ax[1].out + ow] = th.w0 * (tw.w0 * x0[tw.i0] + tw.w1 * x0[tw.i1]) +
                                     th.w1 * (tw.w0 * x1[tw.i0] + tw.w1 * x1[tw.i1]);
        }
    }
}

static void plane_backward(const struct params *q, const struct axis *ax, const float *gy,
                           float *gx)
{
    struct tap th, tw;
    for (int64_t oh = 0; oh < ax[0].out; oh++) {
        make_tap(q, &ax[0], oh, &th);
        float *g0 = gx + th.i0 * ax[1].in, *g1 = gx + th.i1 * ax[1].in;
        for (int64_t ow = 0; ow < ax[1].out; ow++) {
            make_tap(q, &ax[1], ow, &tw);
            float g = gy[oh * ax[1].out + ow];
            g0[tw.i0] += g * th.w0 * tw.w0;
            g0[tw.i1] += g * th.w0 * tw.w1;
            g1[tw.i0] += g * th.w1 * tw.w0;
            g1[tw.i1] += g * th.w1 * tw.w1;
        }
    }
}

static void forward(const struct xai_op_run *r)
{
    struct axis ax[2];
    int64_t planes = axes_of(r->p, &r->in[0]->shape, &r->out[0]->shape, ax);
    int64_t isz = ax[0].in * ax[1].in, osz = ax[0].out * ax[1].out;
    for (int64_t p = 0; p < planes; p++)
        plane_forward(r->p, ax, r->in[0]->data + p * isz, r->out[0]->data + p * osz);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0] || !r->gin[0]) return;
    struct axis ax[2];
    int64_t planes = axes_of(r->p, &r->in[0]->shape, &r->out[0]->shape, ax);
    int64_t isz = ax[0].in * ax[1].in, osz = ax[0].out * ax[1].out;
    for (int64_t p = 0; p < planes; p++)
        plane_backward(r->p, ax, r->gout[0]->data + p * osz, r->gin[0]->data + p * isz);
}

const struct xai_op_def xai_op_resize = {
    .name = "Resize",
    .opset_min = 11,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
