/*
 * conv_transpose.c - ConvTranspose (1-D and 2-D): the adjoint of Conv with the same window.
 *
 * Weights are [C_in, C_out/group, kH, kW]. Forward per batch item and group:
 * Y_g = col2im(W_g^T . X_g) + B, the window running over Y with one position per pixel of X
 * (1x1 stride-1 unpadded kernels skip col2im). Backward (input only): dX_g += W_g . im2col(dY_g).
 * output_shape and auto_pad SAME_* are refused; export with explicit pads and output_padding.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "_conv_util.h"
#include "_util.h"
#include "_vec.h"

struct convt_p {
    struct xai_conv_attrs a;
    int64_t cin, mg; /* input channels; output channels per group */
    int64_t opad[2]; /* output_padding of axes (h, w) */
    bool bias;
};

static xai_status read_output_attrs(const struct xai_node_def *nd, struct convt_p *p,
                                    struct xai_err *err)
{
    int64_t shape[8];
    int n;
    xai_status st = xai_attr_ints(nd, "output_shape", shape, 8, &n, err);
    if (st) return st;
    if (n)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (ConvTranspose): attribute 'output_shape' is not supported; "
                        "use explicit pads and output_padding",
                        nd->name);
    if (p->a.auto_pad != XAI_AUTOPAD_NOTSET && p->a.auto_pad != XAI_AUTOPAD_VALID)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (ConvTranspose): auto_pad SAME_UPPER/SAME_LOWER is not "
                        "supported; use explicit pads",
                        nd->name);
    p->opad[0] = p->opad[1] = 0;
    return xai_conv_axes(nd, &p->a, "output_padding", 0, p->opad, err);
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct convt_p p = {0};
    xai_status st = xai_conv_weights(nd, 1, &p.a, err);
    if (st) return st;
    const struct xai_shape *w = &nd->in_shape[1];
    if ((st = xai_conv_attrs_read(nd, w, &p.a, err))) return st;
    if ((st = read_output_attrs(nd, &p, err))) return st;
    p.cin = w->d[0];
    p.mg = w->d[1];
    if (p.cin % p.a.group != 0 || p.mg < 1)
        return xai_fail(err, XAI_BAD_MODEL,
                        "node '%s' (ConvTranspose): %lld input channels do not split into %lld "
                        "groups",
                        nd->name, (long long)p.cin, (long long)p.a.group);
    if ((st = xai_conv_bias(nd, 2, p.mg * p.a.group, &p.bias, err))) return st;
    struct convt_p *out = malloc(sizeof *out);
    if (!out) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *out = p;
    *params = out;
    return XAI_OK;
}

/* The window over the output image, one position per input pixel. */
static xai_status window(const struct convt_p *p, const struct xai_shape *x, struct xai_win *g,
                         struct xai_err *err)
{
    int64_t h, w;
    xai_status st = xai_conv_input("ConvTranspose", &p->a, x, p->cin, &h, &w, err);
    if (st) return st;
    const struct xai_conv_attrs *a = &p->a;
    int64_t in[2] = {h, w}, out[2];
    for (int ax = 0; ax < 2; ax++) {
        int64_t eff = (a->k[ax] - 1) * a->d[ax] + 1;
        out[ax] = a->s[ax] * (in[ax] - 1) + p->opad[ax] + eff - a->pb[ax] - a->pe[ax];
        if (out[ax] < 1)
            return xai_fail(err, XAI_SHAPE_MISMATCH,
                            "ConvTranspose: the pads leave an empty output");
    }
    *g = (struct xai_win){.c = p->mg,
                          .h = out[0],
                          .w = out[1],
                          .kh = a->k[0],
                          .kw = a->k[1],
                          .sh = a->s[0],
                          .sw = a->s[1],
                          .dh = a->d[0],
                          .dw = a->d[1],
                          .ph = a->pb[0],
                          .pw = a->pb[1],
                          .oh = h,
                          .ow = w};
    return XAI_OK;
}

static xai_status infer(const void *pp, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct convt_p *p = pp;
    struct xai_win g;
    xai_status st = window(p, &in[0], &g, err);
    if (st) return st;
    out[0] = xai_conv_shape(&p->a, in[0].d[0], p->mg * p->a.group, g.h, g.w);
    return XAI_OK;
}

static size_t scratch(const void *pp, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out)
{
    struct xai_win g;
    if (window(pp, &in[0], &g, NULL) || xai_win_is_pointwise(&g)) return 0;
    return (size_t)(g.c * g.kh * g.kw * g.oh * g.ow);
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    const struct convt_p *p = pp;
    return xai_shape_numel(&in[0]) * p->mg * p->a.k[0] * p->a.k[1];
}

static void fill_bias(const float *b, int64_t m, int64_t n, float *y)
{
    for (int64_t c = 0; c < m; c++) xai_vec_fill(n, b[c], y + c * n);
}

/* One batch item: x [C_in, H*W] -> y [C_out, OH*OW]. */
static void forward_item(const struct convt_p *p, const struct xai_win *g, const float *x,
                         const float *w, const float *b, float *y, float *col)
{
    int64_t cg = p->cin / p->a.group, kk = p->mg * g->kh * g->kw;
    int64_t hw = g->oh * g->ow, ohw = g->h * g->w;
    bool pointwise = xai_win_is_pointwise(g);
    if (b)
        fill_bias(b, p->mg * p->a.group, ohw, y);
    else
        memset(y, 0, sizeof(float) * (size_t)(p->mg * p->a.group * ohw));
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        float *yg = y + gi * p->mg * ohw;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)hw, (int)cg, 1.f,
                    w + gi * cg * kk, (int)kk, x + gi * cg * hw, (int)hw, pointwise ? 1.f : 0.f,
                    pointwise ? yg : col, (int)hw);
        if (!pointwise) xai_col2im_add(g, col, hw, yg);
    }
}

static void backward_item(const struct convt_p *p, const struct xai_win *g, const float *gy,
                          const float *w, float *gx, float *col)
{
    int64_t cg = p->cin / p->a.group, kk = p->mg * g->kh * g->kw;
    int64_t hw = g->oh * g->ow, ohw = g->h * g->w;
    bool pointwise = xai_win_is_pointwise(g);
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        const float *gyg = gy + gi * p->mg * ohw;
        if (!pointwise) xai_im2col(g, gyg, col, hw);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cg, (int)hw, (int)kk, 1.f,
                    w + gi * cg * kk, (int)kk, pointwise ? gyg : col, (int)hw, 1.f,
                    gx + gi * cg * hw, (int)hw);
    }
}

static void forward(const struct xai_op_run *r)
{
    const struct convt_p *p = r->p;
    struct xai_win g;
    if (window(p, &r->in[0]->shape, &g, NULL)) return;
    const float *b = p->bias ? r->in[2]->data : NULL;
    int64_t n = r->in[0]->shape.d[0], xs = p->cin * g.oh * g.ow;
    int64_t ys = p->mg * p->a.group * g.h * g.w;
    for (int64_t i = 0; i < n; i++)
        forward_item(p, &g, r->in[0]->data + i * xs, r->in[1]->data, b, r->out[0]->data + i * ys,
                     r->scratch);
}

static void backward(const struct xai_op_run *r)
{
    const struct convt_p *p = r->p;
    struct xai_win g;
    if (!r->gout[0] || !r->gin[0] || window(p, &r->in[0]->shape, &g, NULL)) return;
    int64_t n = r->in[0]->shape.d[0], xs = p->cin * g.oh * g.ow;
    int64_t ys = p->mg * p->a.group * g.h * g.w;
    for (int64_t i = 0; i < n; i++)
        backward_item(p, &g, r->gout[0]->data + i * ys, r->in[1]->data, r->gin[0]->data + i * xs,
                      r->scratch);
}

const struct xai_op_def xai_op_conv_transpose = {
    .name = "ConvTranspose",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 2u,
    .init = init,
    .infer = infer,
    .scratch = scratch,
    .forward = forward,
    .backward = backward,
    .macs = macs,
};
