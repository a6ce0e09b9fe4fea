/*
 * conv.c - Conv (1-D and 2-D): y = W * x + B, per group.
 *
 * Forward per batch item and group: Y_g[M_g, OH*OW] = W_g[M_g, C_g*kH*kW] . col(X_g), with
 * the column matrix from im2col (skipped for 1x1 stride-1 unpadded kernels, where it is X_g
 * itself). Depthwise convolutions (one input channel per group) run a direct loop instead.
 * Backward (input only): dX_g += col2im(W_g^T . dY_g); direct loop for depthwise.
 */
#include <cblas.h>
#include <stdlib.h>

#include "_conv_util.h"
#include "_util.h"
#include "_vec.h"

struct conv_p {
    struct xai_conv_attrs a;
    int64_t m, cg; /* output channels; input channels per group */
    bool bias;
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct conv_p p = {0};
    xai_status st = xai_conv_weights(nd, 1, &p.a, err);
    if (st) return st;
    const struct xai_shape *w = &nd->in_shape[1];
    if ((st = xai_conv_attrs_read(nd, w, &p.a, err))) return st;
    p.m = w->d[0];
    p.cg = w->d[1];
    if (p.m % p.a.group != 0 || p.cg < 1)
        return xai_fail(err, XAI_BAD_MODEL,
                        "node '%s' (Conv): %lld output channels do not split into %lld groups",
                        nd->name, (long long)p.m, (long long)p.a.group);
    if ((st = xai_conv_bias(nd, 2, p.m, &p.bias, err))) return st;
    struct conv_p *out = malloc(sizeof *out);
    if (!out) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *out = p;
    *params = out;
    return XAI_OK;
}

static xai_status window(const struct conv_p *p, const struct xai_shape *x, struct xai_win *g,
                         struct xai_err *err)
{
    int64_t h, w;
    xai_status st = xai_conv_input("Conv", &p->a, x, p->cg * p->a.group, &h, &w, err);
    if (st) return st;
    return xai_conv_window("Conv", &p->a, p->cg, h, w, g, err);
}

static xai_status infer(const void *pp, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct conv_p *p = pp;
    struct xai_win g;
    xai_status st = window(p, &in[0], &g, err);
    if (st) return st;
    out[0] = xai_conv_shape(&p->a, in[0].d[0], p->m, g.oh, g.ow);
    return XAI_OK;
}

static bool is_depthwise(const struct conv_p *p)
{
    return p->cg == 1 && p->a.group > 1;
}

static size_t scratch(const void *pp, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out)
{
    const struct conv_p *p = pp;
    struct xai_win g;
    if (window(p, &in[0], &g, NULL) || is_depthwise(p) || xai_win_is_pointwise(&g)) return 0;
    return (size_t)(g.c * g.kh * g.kw * g.oh * g.ow);
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    const struct conv_p *p = pp;
    int64_t taps = p->cg * p->a.k[0] * p->a.k[1];
    return xai_shape_numel(&out[0]) * taps;
}

/* One kernel tap over one output row: yrow[ox] += wv * xrow[ox*sw + off] (gy/gx reversed for
 * backward) over the positions that read inside the row. */
static void tap_row(const struct xai_win *g, int64_t j, float wv, const float *xrow, float *yrow)
{
    int64_t lo, hi, off = j * g->dw - g->pw;
    xai_win_span(off, g->sw, g->w, g->ow, &lo, &hi);
    if (g->sw == 1) {
        xai_vec_axpy(hi - lo, wv, xrow + lo + off, yrow + lo);
    } else {
        for (int64_t ox = lo; ox < hi; ox++) yrow[ox] += wv * xrow[ox * g->sw + off];
    }
}

static void tap_row_adjoint(const struct xai_win *g, int64_t j, float wv, const float *grow,
                            float *xrow)
{
    int64_t lo, hi, off = j * g->dw - g->pw;
    xai_win_span(off, g->sw, g->w, g->ow, &lo, &hi);
    if (g->sw == 1) {
        xai_vec_axpy(hi - lo, wv, grow + lo, xrow + lo + off);
    } else {
        for (int64_t ox = lo; ox < hi; ox++) xrow[ox * g->sw + off] += wv * grow[ox];
    }
}

/* Direct depthwise forward of one output plane y from one input plane x. */
static void dw_forward_plane(const struct xai_win *g, const float *x, const float *wk, float bias,
                             float *y)
{
    xai_vec_fill(g->oh * g->ow, bias, y);
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int64_t j = 0; j < g->kw; j++)
                tap_row(g, j, wk[i * g->kw + j], x + iy * g->w, y + oy * g->ow);
        }
    }
}

/* Direct depthwise backward: gx += adjoint of dw_forward_plane applied to gy. */
static void dw_backward_plane(const struct xai_win *g, const float *gy, const float *wk, float *gx)
{
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int64_t j = 0; j < g->kw; j++)
                tap_row_adjoint(g, j, wk[i * g->kw + j], gy + oy * g->ow, gx + iy * g->w);
        }
    }
}

static void forward_depthwise(const struct conv_p *p, const struct xai_win *g,
                              const struct xai_op_run *r)
{
    const float *x = r->in[0]->data, *w = r->in[1]->data;
    const float *b = p->bias ? r->in[2]->data : NULL;
    float *y = r->out[0]->data;
    int64_t n = r->in[0]->shape.d[0], mult = p->m / p->a.group, taps = g->kh * g->kw;
    int64_t hw = g->h * g->w, ohw = g->oh * g->ow;
    for (int64_t b_i = 0; b_i < n; b_i++)
        for (int64_t m = 0; m < p->m; m++)
            dw_forward_plane(g, x + (b_i * p->a.group + m / mult) * hw, w + m * taps,
                             b ? b[m] : 0.f, y + (b_i * p->m + m) * ohw);
}

static void backward_depthwise(const struct conv_p *p, const struct xai_win *g,
                               const struct xai_op_run *r)
{
    const float *gy = r->gout[0]->data, *w = r->in[1]->data;
    float *gx = r->gin[0]->data;
    int64_t n = r->in[0]->shape.d[0], mult = p->m / p->a.group, taps = g->kh * g->kw;
    int64_t hw = g->h * g->w, ohw = g->oh * g->ow;
    for (int64_t b_i = 0; b_i < n; b_i++)
        for (int64_t m = 0; m < p->m; m++)
            dw_backward_plane(g, gy + (b_i * p->m + m) * ohw, w + m * taps,
                              gx + (b_i * p->a.group + m / mult) * hw);
}

static void fill_bias(const float *b, int64_t m, int64_t n, float *y)
{
    for (int64_t c = 0; c < m; c++) xai_vec_fill(n, b[c], y + c * n);
}

/* One batch item of the gemm path: x [C, H*W] -> y [M, OH*OW]. */
static void forward_item(const struct conv_p *p, const struct xai_win *g, const float *x,
                         const float *w, const float *b, float *y, float *col)
{
    int64_t mg = p->m / p->a.group, kk = g->c * g->kh * g->kw;
    int64_t hw = g->h * g->w, ohw = g->oh * g->ow;
    bool pointwise = xai_win_is_pointwise(g);
    if (b) fill_bias(b, p->m, ohw, y);
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        const float *xg = x + gi * g->c * hw;
        if (!pointwise) xai_im2col(g, xg, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)ohw, (int)kk, 1.f,
                    w + gi * mg * kk, (int)kk, pointwise ? xg : col, (int)ohw, b ? 1.f : 0.f,
                    y + gi * mg * ohw, (int)ohw);
    }
}

static void backward_item(const struct conv_p *p, const struct xai_win *g, const float *gy,
                          const float *w, float *gx, float *col)
{
    int64_t mg = p->m / p->a.group, kk = g->c * g->kh * g->kw;
    int64_t hw = g->h * g->w, ohw = g->oh * g->ow;
    bool pointwise = xai_win_is_pointwise(g);
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        float *gxg = gx + gi * g->c * hw;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)ohw, (int)mg, 1.f,
                    w + gi * mg * kk, (int)kk, gy + gi * mg * ohw, (int)ohw, pointwise ? 1.f : 0.f,
                    pointwise ? gxg : col, (int)ohw);
        if (!pointwise) xai_col2im_add(g, col, gxg);
    }
}

static void forward(const struct xai_op_run *r)
{
    const struct conv_p *p = r->p;
    struct xai_win g;
    if (window(p, &r->in[0]->shape, &g, NULL)) return;
    if (is_depthwise(p)) {
        forward_depthwise(p, &g, r);
        return;
    }
    const float *b = p->bias ? r->in[2]->data : NULL;
    int64_t n = r->in[0]->shape.d[0], xs = g.c * p->a.group * g.h * g.w, ys = p->m * g.oh * g.ow;
    for (int64_t i = 0; i < n; i++)
        forward_item(p, &g, r->in[0]->data + i * xs, r->in[1]->data, b, r->out[0]->data + i * ys,
                     r->scratch);
}

static void backward(const struct xai_op_run *r)
{
    const struct conv_p *p = r->p;
    struct xai_win g;
    if (!r->gout[0] || !r->gin[0] || window(p, &r->in[0]->shape, &g, NULL)) return;
    if (is_depthwise(p)) {
        backward_depthwise(p, &g, r);
        return;
    }
    int64_t n = r->in[0]->shape.d[0], xs = g.c * p->a.group * g.h * g.w, ys = p->m * g.oh * g.ow;
    for (int64_t i = 0; i < n; i++)
        backward_item(p, &g, r->gout[0]->data + i * ys, r->in[1]->data, r->gin[0]->data + i * xs,
                      r->scratch);
}

const struct xai_op_def xai_op_conv = {
    .name = "Conv",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .init = init,
    .infer = infer,
    .scratch = scratch,
    .forward = forward,
    .backward = backward,
    .macs = macs,
};
