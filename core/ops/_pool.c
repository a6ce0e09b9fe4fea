/* _pool.c - window geometry shared by MaxPool and AveragePool. */
#include "_pool.h"

#include <string.h>

#include "_layout.h"

/* Bound on kernel sizes, strides, dilations and pads, so window arithmetic cannot overflow. */
#define MAX_WINDOW ((int64_t)1 << 20)

/* ceil(a / b) for b > 0 and any sign of a. */
static int64_t cdiv(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static xai_status read_auto_pad(const struct xai_node_def *nd, int *out, struct xai_err *err)
{
    static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    const char *s;
    xai_status st = xai_attr_string(nd, "auto_pad", "NOTSET", &s, err);
    if (st) return st;
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return XAI_OK;
        }
    return xai_lay_refuse(nd, "auto_pad", "must be NOTSET, VALID, SAME_UPPER or SAME_LOWER", err);
}

/* Reads an optional per-dimension list of n positive values (default 1). */
static xai_status read_list(const struct xai_node_def *nd, const char *name, int n, int64_t *v,
                            struct xai_err *err)
{
    int64_t tmp[2 * XAI_POOL_DIMS];
    int got;
    xai_status st = xai_attr_ints(nd, name, tmp, 2 * XAI_POOL_DIMS, &got, err);
    if (st) return st;
    if (got && got != n)
        return xai_lay_refuse(nd, name, "must have one value per spatial axis", err);
    for (int i = 0; i < n; i++) {
        v[i] = got ? tmp[i] : 1;
        if (v[i] < 1 || v[i] > MAX_WINDOW)
            return xai_lay_refuse(nd, name, "must be positive and at most 2^20", err);
    }
    return XAI_OK;
}

static xai_status read_pads(const struct xai_node_def *nd, struct xai_pool_attrs *a,
                            struct xai_err *err)
{
    int64_t p[2 * XAI_POOL_DIMS];
    int got;
    xai_status st = xai_attr_ints(nd, "pads", p, 2 * XAI_POOL_DIMS, &got, err);
    if (st) return st;
    if (got && got != 2 * a->nsp)
        return xai_lay_refuse(nd, "pads", "must have two values per spatial axis", err);
    for (int i = 0; i < a->nsp; i++) {
        a->pb[i] = got ? p[i] : 0;
        a->pe[i] = got ? p[i + a->nsp] : 0;
        if (a->pb[i] < 0 || a->pe[i] < 0 || a->pb[i] > MAX_WINDOW || a->pe[i] > MAX_WINDOW)
            return xai_lay_refuse(nd, "pads", "must be between 0 and 2^20", err);
        if (a->auto_pad != XAI_PAD_NOTSET && (a->pb[i] || a->pe[i]))
            return xai_lay_refuse(nd, "pads", "cannot be combined with auto_pad", err);
    }
    return XAI_OK;
}

static xai_status read_kernel(const struct xai_node_def *nd, struct xai_pool_attrs *a,
                              struct xai_err *err)
{
    int64_t k[XAI_POOL_DIMS + 1];
    int n;
    xai_status st = xai_attr_ints(nd, "kernel_shape", k, XAI_POOL_DIMS + 1, &n, err);
    if (st) return st;
    int want = nd->n_in > 0 ? nd->in_shape[0].ndim - 2 : -1;
    if (n < 1 || n > XAI_POOL_DIMS || n != want)
        return xai_lay_refuse(nd, "kernel_shape",
                              "must be given, with one value per spatial axis (1 to 3)", err);
    a->nsp = n;
    for (int i = 0; i < n; i++) {
        a->k[i] = k[i];
        if (k[i] < 1 || k[i] > MAX_WINDOW)
            return xai_lay_refuse(nd, "kernel_shape", "must be positive and at most 2^20", err);
    }
    return XAI_OK;
}

xai_status xai_pool_read(const struct xai_node_def *nd, struct xai_pool_attrs *a,
                         struct xai_err *err)
{
    memset(a, 0, sizeof *a);
    int64_t ceil_mode;
    xai_status st;
    if ((st = read_kernel(nd, a, err)) || (st = read_auto_pad(nd, &a->auto_pad, err)) ||
        (st = read_list(nd, "strides", a->nsp, a->s, err)) || (st = read_pads(nd, a, err)) ||
        (st = read_list(nd, "dilations", a->nsp, a->d, err)) ||
        (st = xai_attr_int(nd, "ceil_mode", 0, &ceil_mode, err)))
        return st;
    if (ceil_mode != 0 && ceil_mode != 1)
        return xai_lay_refuse(nd, "ceil_mode", "must be 0 or 1", err);
    a->ceil_mode = (int)ceil_mode;
    return XAI_OK;
}

/* Output size and padding of one dimension; returns false when the window does not fit. */
static bool geom_dim(const struct xai_pool_attrs *a, int i, struct xai_pool_geom *g, int t)
{
    int64_t in = g->in[t], k = a->k[i], s = a->s[i], d = a->d[i], ek = (k - 1) * d + 1;
    int64_t pb = a->pb[i], pe = a->pe[i], out;
    if (a->auto_pad == XAI_PAD_SAME_UPPER || a->auto_pad == XAI_PAD_SAME_LOWER) {
        out = cdiv(in, s);
        int64_t total = (out - 1) * s + ek - in;
        total = total > 0 ? total : 0;
        pb = a->auto_pad == XAI_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
    } else {
        int64_t num = in + pb + pe - ek;
        if (num < 0) return false;
        out = (a->ceil_mode && a->auto_pad == XAI_PAD_NOTSET ? cdiv(num, s) : num / s) + 1;
        if (a->ceil_mode && a->auto_pad == XAI_PAD_NOTSET && (out - 1) * s >= in + pb) out--;
    }
    g->out[t] = out;
    g->k[t] = k;
    g->s[t] = s;
    g->d[t] = d;
    g->pb[t] = pb;
    g->pe[t] = pe;
    return in > 0 && out > 0;
}

xai_status xai_pool_geom(const char *op, const struct xai_pool_attrs *a, const struct xai_shape *in,
                         struct xai_pool_geom *g, struct xai_err *err)
{
    xai_status st = xai_lay_check_rank(op, in, a->nsp + 2, err);
    if (st) return st;
    g->planes = in->d[0] * in->d[1];
    int off = XAI_POOL_DIMS - a->nsp;
    for (int t = 0; t < off; t++) {
        g->in[t] = g->out[t] = g->k[t] = g->s[t] = g->d[t] = 1;
        g->pb[t] = g->pe[t] = 0;
    }
    for (int i = 0; i < a->nsp; i++) {
        g->in[off + i] = in->d[2 + i];
        if (!geom_dim(a, i, g, off + i)) {
            char b[96];
            return xai_fail(err, XAI_SHAPE_MISMATCH,
                            "%s: kernel does not fit the (padded) input of shape %s", op,
                            xai_shape_str(in, b, sizeof b));
        }
    }
    return XAI_OK;
}

xai_status xai_pool_infer(const char *op, const struct xai_pool_attrs *a,
                          const struct xai_shape *in, struct xai_shape *out, struct xai_err *err)
{
    struct xai_pool_geom g;
    xai_status st = xai_pool_geom(op, a, in, &g, err);
    if (st) return st;
    *out = *in;
    for (int i = 0; i < a->nsp; i++) out->d[2 + i] = g.out[XAI_POOL_DIMS - a->nsp + i];
    return XAI_OK;
}

bool xai_pool_crop_window(const struct xai_pool_attrs *a, const struct xai_shape *in,
                          struct xai_op_window *w, struct xai_pool_attrs *unpadded)
{
    struct xai_pool_geom g;
    struct xai_err err;
    if (a->nsp != 2 || xai_pool_geom("pool", a, in, &g, &err)) return false;
    for (int i = 0; i < 2; i++) {
        w->k[i] = g.k[1 + i], w->s[i] = g.s[1 + i], w->d[i] = g.d[1 + i], w->pb[i] = g.pb[1 + i];
    }
    *unpadded = *a;
    unpadded->auto_pad = XAI_PAD_NOTSET;
    unpadded->ceil_mode = 0;
    for (int i = 0; i < 2; i++) unpadded->pb[i] = unpadded->pe[i] = 0;
    return true;
}

static void window(const struct xai_pool_geom *g, int t, int64_t o, struct xai_pool_win *w)
{
    int64_t k = g->k[t], d = g->d[t], in = g->in[t];
    w->start = o * g->s[t] - g->pb[t];
    w->j0 = w->start >= 0 ? 0 : cdiv(-w->start, d);
    w->j1 = cdiv(in - w->start, d);
    w->jp = cdiv(in + g->pe[t] - w->start, d);
    if (w->j1 > k) w->j1 = k;
    if (w->jp > k) w->jp = k;
    if (w->j0 > k) w->j0 = k;
    if (w->j1 < w->j0) w->j1 = w->j0;
    if (w->jp < 0) w->jp = 0;
}

void xai_pool_visit(const struct xai_pool_geom *g, xai_pool_fn fn, void *ctx)
{
    struct xai_pool_win w[XAI_POOL_DIMS];
    for (int64_t p = 0; p < g->planes; p++) {
        int64_t o = 0;
        for (int64_t a = 0; a < g->out[0]; a++) {
            window(g, 0, a, &w[0]);
            for (int64_t b = 0; b < g->out[1]; b++) {
                window(g, 1, b, &w[1]);
                for (int64_t c = 0; c < g->out[2]; c++) {
                    window(g, 2, c, &w[2]);
                    fn(ctx, p, o++, w);
                }
            }
        }
    }
}

/* Plane-local index of the input row at taps (ja, jb) of windows w[0], w[1]. */
static int64_t row_index(const struct xai_pool_geom *g, const struct xai_pool_win *w, int64_t ja,
                         int64_t jb)
{
    int64_t ia = w[0].start + ja * g->d[0], ib = w[1].start + jb * g->d[1];
    return (ia * g->in[1] + ib) * g->in[2];
}

int64_t xai_pool_argmax(const float *xp, const struct xai_pool_geom *g,
                        const struct xai_pool_win *w)
{
    int64_t best = -1;
    float bv = 0.f;
    for (int64_t ja = w[0].j0; ja < w[0].j1; ja++)
        for (int64_t jb = w[1].j0; jb < w[1].j1; jb++) {
            int64_t row = row_index(g, w, ja, jb);
            for (int64_t jc = w[2].j0; jc < w[2].j1; jc++) {
                int64_t i = row + w[2].start + jc * g->d[2];
                if (best < 0 || xp[i] > bv) {
                    best = i;
                    bv = xp[i];
                }
            }
        }
    return best;
}

float xai_pool_sum(const float *xp, const struct xai_pool_geom *g, const struct xai_pool_win *w)
{
    float acc = 0.f;
    for (int64_t ja = w[0].j0; ja < w[0].j1; ja++)
        for (int64_t jb = w[1].j0; jb < w[1].j1; jb++) {
            int64_t row = row_index(g, w, ja, jb) + w[2].start;
            for (int64_t jc = w[2].j0; jc < w[2].j1; jc++) acc += xp[row + jc * g->d[2]];
        }
    return acc;
}

void xai_pool_spread(float *gxp, const struct xai_pool_geom *g, const struct xai_pool_win *w,
                     float v)
{
    for (int64_t ja = w[0].j0; ja < w[0].j1; ja++)
        for (int64_t jb = w[1].j0; jb < w[1].j1; jb++) {
            int64_t row = row_index(g, w, ja, jb) + w[2].start;
            for (int64_t jc = w[2].j0; jc < w[2].j1; jc++) gxp[row + jc * g->d[2]] += v;
        }
}

int64_t xai_pool_count(const struct xai_pool_win *w, bool include_pad)
{
    int64_t n = 1;
    for (int t = 0; t < XAI_POOL_DIMS; t++) n *= include_pad ? w[t].jp : w[t].j1 - w[t].j0;
    return n;
}

bool xai_pool_is_plain_2d(const struct xai_pool_geom *g)
{
    return g->in[0] == 1 && g->out[0] == 1 && g->k[0] == 1 && g->pb[0] == 0 && g->d[1] == 1 &&
           g->d[2] == 1;
}
