/* _conv_util.c - attributes and geometry shared by Conv and ConvTranspose. */
#include "_conv_util.h"

#include <string.h>

xai_status xai_conv_weights(const struct xai_node_def *nd, int idx, struct xai_conv_attrs *a,
                            struct xai_err *err)
{
    if (nd->n_in <= idx || !nd->in_present[idx])
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): the weights input is missing",
                        nd->name, nd->op_type);
    const struct xai_const *c = nd->in_const[idx];
    if (!c || c->dtype != XAI_F32)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): the weights must be a float constant known at load time",
                        nd->name, nd->op_type);
    int r = nd->in_shape[idx].ndim;
    if (r != 3 && r != 4)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): only 1-D and 2-D convolutions are supported, the "
                        "weights have rank %d",
                        nd->name, nd->op_type, r);
    a->nsp = r - 2;
    return XAI_OK;
}

xai_status xai_conv_bias(const struct xai_node_def *nd, int idx, int64_t n, bool *has,
                         struct xai_err *err)
{
    *has = nd->n_in > idx && nd->in_present[idx];
    if (!*has) return XAI_OK;
    const struct xai_const *c = nd->in_const[idx];
    if (!c || c->dtype != XAI_F32)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): the bias must be a float constant known at load time",
                        nd->name, nd->op_type);
    const struct xai_shape *s = &nd->in_shape[idx];
    if (s->ndim != 1 || s->d[0] != n)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): the bias must have %lld values",
                        nd->name, nd->op_type, (long long)n);
    return XAI_OK;
}

static xai_status read_auto_pad(const struct xai_node_def *nd, struct xai_conv_attrs *a,
                                struct xai_err *err)
{
    static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    const char *s;
    xai_status st = xai_attr_string(nd, "auto_pad", "NOTSET", &s, err);
    if (st) return st;
    if (!*s) s = "NOTSET";
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            a->auto_pad = (enum xai_auto_pad)i;
            return XAI_OK;
        }
    }
    return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): unknown auto_pad '%s'", nd->name,
                    nd->op_type, s);
}

/* Reads an int list of n values (or of none) into out, each at least min. */
static xai_status read_list(const struct xai_node_def *nd, const char *name, int n, int64_t min,
                            int64_t *out, int *got, struct xai_err *err)
{
    int64_t v[4];
    xai_status st = xai_attr_ints(nd, name, v, n, got, err);
    if (st) return st;
    if (*got && *got != n)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): attribute '%s' needs %d values",
                        nd->name, nd->op_type, name, n);
    for (int i = 0; i < *got; i++) {
        if (v[i] < min)
            return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): attribute '%s' must be >= %lld",
                            nd->name, nd->op_type, name, (long long)min);
        out[i] = v[i];
    }
    return XAI_OK;
}

xai_status xai_conv_axes(const struct xai_node_def *nd, const struct xai_conv_attrs *a,
                         const char *name, int64_t min, int64_t *out, struct xai_err *err)
{
    int got;
    return read_list(nd, name, a->nsp, min, out + 2 - a->nsp, &got, err);
}

static xai_status read_pads(const struct xai_node_def *nd, struct xai_conv_attrs *a,
                            struct xai_err *err)
{
    int n = a->nsp, off = 2 - n, got;
    int64_t p[4] = {0, 0, 0, 0};
    xai_status st = read_list(nd, "pads", 2 * n, 0, p, &got, err);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        a->pb[off + i] = p[i];
        a->pe[off + i] = p[n + i];
    }
    bool nonzero = false;
    for (int i = 0; i < 2 * n; i++) nonzero |= p[i] != 0;
    if (nonzero && a->auto_pad != XAI_AUTOPAD_NOTSET)
        return xai_fail(err, XAI_BAD_MODEL,
                        "node '%s' (%s): attribute 'pads' cannot be combined with auto_pad",
                        nd->name, nd->op_type);
    return XAI_OK;
}

static xai_status read_kernel(const struct xai_node_def *nd, const struct xai_shape *w,
                              struct xai_conv_attrs *a, struct xai_err *err)
{
    int n = a->nsp, off = 2 - n, got;
    int64_t k[2];
    for (int i = 0; i < n; i++) a->k[off + i] = w->d[2 + i];
    xai_status st = read_list(nd, "kernel_shape", n, 1, k, &got, err);
    if (st) return st;
    for (int i = 0; i < got; i++)
        if (k[i] != a->k[off + i])
            return xai_fail(err, XAI_BAD_MODEL,
                            "node '%s' (%s): kernel_shape does not match the weights' shape",
                            nd->name, nd->op_type);
    for (int i = 0; i < n; i++)
        if (a->k[off + i] < 1)
            return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): empty kernel", nd->name,
                            nd->op_type);
    return XAI_OK;
}

xai_status xai_conv_attrs_read(const struct xai_node_def *nd, const struct xai_shape *w,
                               struct xai_conv_attrs *a, struct xai_err *err)
{
    for (int i = 0; i < 2; i++) {
        a->k[i] = a->s[i] = a->d[i] = 1;
        a->pb[i] = a->pe[i] = 0;
    }
    xai_status st;
    if ((st = xai_attr_int(nd, "group", 1, &a->group, err))) return st;
    if (a->group < 1)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): group must be >= 1", nd->name,
                        nd->op_type);
    if ((st = read_kernel(nd, w, a, err))) return st;
    if ((st = xai_conv_axes(nd, a, "strides", 1, a->s, err))) return st;
    if ((st = xai_conv_axes(nd, a, "dilations", 1, a->d, err))) return st;
    if ((st = read_auto_pad(nd, a, err))) return st;
    return read_pads(nd, a, err);
}

xai_status xai_conv_input(const char *op, const struct xai_conv_attrs *a, const struct xai_shape *x,
                          int64_t c, int64_t *h, int64_t *w, struct xai_err *err)
{
    char buf[96];
    if (x->ndim != a->nsp + 2 || x->d[1] != c)
        return xai_fail(err, XAI_SHAPE_MISMATCH,
                        "%s: input %s does not match weights for %lld "
                        "input channels and %d spatial axes",
                        op, xai_shape_str(x, buf, sizeof buf), (long long)c, a->nsp);
    *h = a->nsp == 2 ? x->d[2] : 1;
    *w = x->d[a->nsp + 1];
    return XAI_OK;
}

/* Output size and begin pad of one axis. */
static int64_t axis_out(const struct xai_conv_attrs *a, int ax, int64_t in, int64_t *pad)
{
    int64_t eff = (a->k[ax] - 1) * a->d[ax] + 1, s = a->s[ax];
    if (a->auto_pad == XAI_AUTOPAD_NOTSET || a->auto_pad == XAI_AUTOPAD_VALID) {
        int64_t span = in + a->pb[ax] + a->pe[ax];
        *pad = a->pb[ax];
        return span < eff ? 0 : (span - eff) / s + 1;
    }
    int64_t out = (in + s - 1) / s, total = (out - 1) * s + eff - in;
    if (total < 0) total = 0;
    *pad = a->auto_pad == XAI_AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
    return out;
}

xai_status xai_conv_window(const char *op, const struct xai_conv_attrs *a, int64_t c, int64_t h,
                           int64_t w, struct xai_win *g, struct xai_err *err)
{
    memset(g, 0, sizeof *g);
    g->c = c, g->h = h, g->w = w;
    g->kh = a->k[0], g->kw = a->k[1];
    g->sh = a->s[0], g->sw = a->s[1];
    g->dh = a->d[0], g->dw = a->d[1];
    g->oh = axis_out(a, 0, h, &g->ph);
    g->ow = axis_out(a, 1, w, &g->pw);
    if (g->oh < 1 || g->ow < 1)
        return xai_fail(err, XAI_SHAPE_MISMATCH,
                        "%s: the input (%lldx%lld) is smaller than the dilated kernel", op,
                        (long long)h, (long long)w);
    return XAI_OK;
}

struct xai_shape xai_conv_shape(const struct xai_conv_attrs *a, int64_t n, int64_t c, int64_t h,
                                int64_t w)
{
    int64_t d[4] = {n, c, h, w};
    if (a->nsp == 1) d[2] = w;
    return xai_shape_make(a->nsp + 2, d);
}

bool xai_conv_crop_window(const struct xai_conv_attrs *a, const struct xai_shape *x,
                          struct xai_op_window *w, struct xai_conv_attrs *unpadded)
{
    if (a->nsp != 2 || x->ndim != 4) return false;
    for (int i = 0; i < 2; i++) {
        w->k[i] = a->k[i], w->s[i] = a->s[i], w->d[i] = a->d[i];
        if (axis_out(a, i, x->d[2 + i], &w->pb[i]) < 1) return false;
    }
    w->pad = 0.f;
    *unpadded = *a;
    unpadded->auto_pad = XAI_AUTOPAD_NOTSET;
    for (int i = 0; i < 2; i++) unpadded->pb[i] = unpadded->pe[i] = 0;
    return true;
}

bool xai_win_is_pointwise(const struct xai_win *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
           g->oh == g->h && g->ow == g->w;
}
