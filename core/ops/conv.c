/*
 * conv.c - Conv (1-D and 2-D): y = W * x + B, per group.
 *
 * Forward per batch item and group: Y_g[M_g, OH*OW] = W_g[M_g, C_g*kH*kW] . col(X_g), with
 * the column matrix from im2col (skipped for 1x1 stride-1 unpadded kernels, where it is X_g
 * itself), built by bands of output rows on big maps (see band_rows). Small feature maps
 * batch several items into one gemm (see chunk_items). Stride-1 convolutions with few output
 * channels run one gemm per kernel tap over shifted views of a padded copy instead (see
 * use_shift). Depthwise convolutions (one input channel per group) run a direct loop.
 * Backward (input only): dX_g += col2im(W_g^T . dY_g), or the same three ways transposed;
 * direct loop for depthwise.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "_conv_util.h"
#include "_depthwise.h"
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

/* Batch items per gemm: small feature maps put several items side by side in one column
 * matrix, so that the gemm is wide enough and the weights are packed once for all. */
#define CONV_GEMM_COLS 384

static int64_t chunk_items(const struct xai_win *g, int64_t n)
{
    int64_t ohw = g->oh * g->ow, k = (CONV_GEMM_COLS + ohw - 1) / ohw;
    return k < n ? k : n > 1 ? n : 1;
}

/* Column matrices of big feature maps are built for a band of output rows at a time, so that
 * they stay in cache between im2col and the gemm (or the gemm and col2im): about
 * CONV_BAND_FLOATS floats per band, but at least CONV_BAND_COLS columns, below which the gemm
 * loses more than the cache gains. */
#define CONV_BAND_FLOATS (96 * 1024)
#define CONV_BAND_COLS 448

/* Output rows per band. */
static int64_t band_rows(const struct xai_win *g, int64_t kk)
{
    int64_t r = CONV_BAND_FLOATS / (kk * g->ow), least = (CONV_BAND_COLS + g->ow - 1) / g->ow;
    if (r < least) r = least;
    return r > g->oh ? g->oh : r;
}

/* The window of output rows [y0, y0 + n): the same image, the begin pad moved down. */
static struct xai_win band_of(const struct xai_win *g, int64_t y0, int64_t n)
{
    struct xai_win b = *g;
    b.ph = g->ph - y0 * g->sh;
    b.oh = n;
    return b;
}

/* Sizes of the gemm path for one group. */
struct gemm_dims {
    int64_t mg, kk, hw, ohw;
};

static struct gemm_dims dims_of(const struct conv_p *p, const struct xai_win *g)
{
    return (struct gemm_dims){p->m / p->a.group, g->c * g->kh * g->kw, g->h * g->w, g->oh * g->ow};
}

/* Stride-1 convolutions with few output channels per item skip im2col: their column matrix
 * (C*kh*kw rows) costs more to write and read than the gemm spends on it. Instead the input
 * is copied once, zero-padded, into planes of width pw = ow + (kw-1)*dw, in which the pixels
 * that kernel tap (i, j) reads for output position (y, x) sit at a fixed offset
 * i*dh*pw + j*dw from position y*pw + x. So each tap is one gemm over a shifted view of the
 * padded planes, accumulated into an output of width pw whose last (kw-1)*dw columns are
 * garbage and dropped (about 2/ow more arithmetic). Backward runs the same views transposed,
 * accumulating into a zeroed padded gradient, with zeros in the garbage columns of dY. */
#define CONV_SHIFT_MAX_M 64
/* Output columns per block: the taps' gemms run block by block, so that the part of the
 * padded copy they read (blocks overlap by the largest shift) stays in cache across taps. */
#define CONV_SHIFT_COLS 1024

struct shift_dims {
    int64_t rows, cols; /* padded plane: oh + (kh-1)*dh rows of ow + (kw-1)*dw */
    int64_t ld;         /* floats per padded plane, with slack for the last taps' views */
    int64_t n;          /* output columns, oh * pw */
    int64_t taps, mc;   /* kernel taps; floats of one tap's weights [M, C] */
};

static bool use_shift(const struct conv_p *p, const struct xai_win *g, int64_t nb)
{
    return nb == 1 && p->a.group == 1 && g->sh == 1 && g->sw == 1 && !xai_win_is_pointwise(g) &&
           p->m <= CONV_SHIFT_MAX_M;
}

static struct shift_dims shift_dims_of(const struct conv_p *p, const struct xai_win *g)
{
    struct shift_dims s;
    s.rows = g->oh + (g->kh - 1) * g->dh;
    s.cols = g->ow + (g->kw - 1) * g->dw;
    s.ld = s.rows * s.cols + (g->kw - 1) * g->dw;
    s.n = g->oh * s.cols;
    s.taps = g->kh * g->kw;
    s.mc = p->m * g->c;
    return s;
}

/* Scratch: padded planes [C, ld], tap-major weights [taps, M, C], output [M, n]. */
static size_t shift_scratch(const struct conv_p *p, const struct xai_win *g)
{
    struct shift_dims s = shift_dims_of(p, g);
    return (size_t)(g->c * s.ld + s.taps * s.mc + p->m * s.n);
}

/* wt[t][m][c] = w[m][c][t]. */
static void shift_weights(const struct shift_dims *s, const struct xai_win *g, const float *w,
                          float *wt)
{
    for (int64_t mc = 0; mc < s->mc; mc++)
        for (int64_t t = 0; t < s->taps; t++) wt[t * s->mc + mc] = w[mc * s->taps + t];
}

/* Offset of tap t's view in the padded planes. */
static int64_t shift_of(const struct shift_dims *s, const struct xai_win *g, int64_t t)
{
    return (t / g->kw) * g->dh * s->cols + (t % g->kw) * g->dw;
}

static void forward_shift(const struct conv_p *p, const struct xai_win *g, const float *x,
                          const float *w, const float *b, float *y, float *scratch)
{
    struct shift_dims s = shift_dims_of(p, g);
    float *xp = scratch, *wt = xp + g->c * s.ld, *yp = wt + s.taps * s.mc;
    /* padded plane row r, column q holds x[r - ph][q - pw] (zero outside the image) */
    for (int64_t c = 0; c < g->c; c++) {
        float *plane = xp + c * s.ld;
        for (int64_t r = 0; r < s.rows; r++) {
            float *row = plane + r * s.cols;
            int64_t sr = r - g->ph, lo, hi;
            xai_win_span(-g->pw, 1, g->w, s.cols, &lo, &hi);
            if (sr < 0 || sr >= g->h) lo = hi = 0;
            memset(row, 0, sizeof(float) * (size_t)lo);
            if (hi > lo)
                memcpy(row + lo, x + (c * g->h + sr) * g->w + lo - g->pw,
                       sizeof(float) * (size_t)(hi - lo));
            memset(row + hi, 0, sizeof(float) * (size_t)(s.cols - hi));
        }
        memset(plane + s.rows * s.cols, 0, sizeof(float) * (size_t)(s.ld - s.rows * s.cols));
    }
    shift_weights(&s, g, w, wt);
    for (int64_t n0 = 0; n0 < s.n; n0 += CONV_SHIFT_COLS) {
        int64_t nb = s.n - n0 < CONV_SHIFT_COLS ? s.n - n0 : CONV_SHIFT_COLS;
        for (int64_t t = 0; t < s.taps; t++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->m, (int)nb, (int)g->c,
                        1.f, wt + t * s.mc, (int)g->c, xp + shift_of(&s, g, t) + n0, (int)s.ld,
                        t ? 1.f : 0.f, yp + n0, (int)s.n);
    }
    for (int64_t m = 0; m < p->m; m++)
        for (int64_t oy = 0; oy < g->oh; oy++)
            xai_vec_affine(g->ow, 1.f, b ? b[m] : 0.f, yp + m * s.n + oy * s.cols,
                           y + (m * g->oh + oy) * g->ow);
}

static void backward_shift(const struct conv_p *p, const struct xai_win *g, const float *gy,
                           const float *w, float *gx, float *scratch)
{
    struct shift_dims s = shift_dims_of(p, g);
    float *gp = scratch, *wt = gp + g->c * s.ld, *gyp = wt + s.taps * s.mc;
    for (int64_t m = 0; m < p->m; m++)
        for (int64_t oy = 0; oy < g->oh; oy++) {
            float *row = gyp + m * s.n + oy * s.cols;
            memcpy(row, gy + (m * g->oh + oy) * g->ow, sizeof(float) * (size_t)g->ow);
            memset(row + g->ow, 0, sizeof(float) * (size_t)(s.cols - g->ow));
        }
    memset(gp, 0, sizeof(float) * (size_t)(g->c * s.ld));
    shift_weights(&s, g, w, wt);
    for (int64_t n0 = 0; n0 < s.n; n0 += CONV_SHIFT_COLS) {
        int64_t nb = s.n - n0 < CONV_SHIFT_COLS ? s.n - n0 : CONV_SHIFT_COLS;
        for (int64_t t = 0; t < s.taps; t++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->c, (int)nb, (int)p->m, 1.f,
                        wt + t * s.mc, (int)g->c, gyp + n0, (int)s.n, 1.f,
                        gp + shift_of(&s, g, t) + n0, (int)s.ld);
    }
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t r = 0; r < g->h; r++) {
            int64_t pr = r + g->ph, lo, hi;
            if (pr >= s.rows) break;
            xai_win_span(g->pw, 1, s.cols, g->w, &lo, &hi);
            xai_vec_add(hi - lo, gp + c * s.ld + pr * s.cols + lo + g->pw,
                        gx + (c * g->h + r) * g->w + lo);
        }
}

static size_t scratch(const void *pp, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out)
{
    const struct conv_p *p = pp;
    struct xai_win g;
    if (window(p, &in[0], &g, NULL) || is_depthwise(p)) return 0;
    struct gemm_dims d = dims_of(p, &g);
    int64_t nb = chunk_items(&g, in[0].d[0]);
    if (use_shift(p, &g, nb)) return shift_scratch(p, &g);
    if (nb > 1) return (size_t)((d.kk + d.mg) * nb * d.ohw);
    return xai_win_is_pointwise(&g) ? 0 : (size_t)(d.kk * band_rows(&g, d.kk) * g.ow);
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    const struct conv_p *p = pp;
    int64_t taps = p->cg * p->a.k[0] * p->a.k[1];
    return xai_shape_numel(&out[0]) * taps;
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
            xai_dw_forward_plane(g, x + (b_i * p->a.group + m / mult) * hw, w + m * taps,
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
            xai_dw_backward_plane(g, gy + (b_i * p->m + m) * ohw, w + m * taps,
                                  gx + (b_i * p->a.group + m / mult) * hw);
}

static void fill_bias(const float *b, int64_t m, int64_t n, float *y)
{
    for (int64_t c = 0; c < m; c++) xai_vec_fill(n, b[c], y + c * n);
}

/* One batch item: x [C, H*W] -> y [M, OH*OW], gemm straight into y, band by band. */
static void forward_item(const struct conv_p *p, const struct xai_win *g, const float *x,
                         const float *w, const float *b, float *y, float *col)
{
    struct gemm_dims d = dims_of(p, g);
    bool pointwise = xai_win_is_pointwise(g);
    int64_t rows = pointwise ? g->oh : band_rows(g, d.kk);
    if (b) fill_bias(b, p->m, d.ohw, y);
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        const float *xg = x + gi * g->c * d.hw;
        for (int64_t y0 = 0; y0 < g->oh; y0 += rows) {
            int64_t n = g->oh - y0 < rows ? g->oh - y0 : rows, cols = n * g->ow;
            struct xai_win bw = band_of(g, y0, n);
            if (!pointwise) xai_im2col(&bw, xg, col, cols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d.mg, (int)cols, (int)d.kk,
                        1.f, w + gi * d.mg * d.kk, (int)d.kk, pointwise ? xg : col,
                        (int)(pointwise ? d.ohw : cols), b ? 1.f : 0.f,
                        y + gi * d.mg * d.ohw + y0 * g->ow, (int)d.ohw);
        }
    }
}

static void backward_item(const struct conv_p *p, const struct xai_win *g, const float *gy,
                          const float *w, float *gx, float *col)
{
    struct gemm_dims d = dims_of(p, g);
    bool pointwise = xai_win_is_pointwise(g);
    int64_t rows = pointwise ? g->oh : band_rows(g, d.kk);
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        float *gxg = gx + gi * g->c * d.hw;
        for (int64_t y0 = 0; y0 < g->oh; y0 += rows) {
            int64_t n = g->oh - y0 < rows ? g->oh - y0 : rows, cols = n * g->ow;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d.kk, (int)cols, (int)d.mg,
                        1.f, w + gi * d.mg * d.kk, (int)d.kk, gy + gi * d.mg * d.ohw + y0 * g->ow,
                        (int)d.ohw, pointwise ? 1.f : 0.f, pointwise ? gxg : col,
                        (int)(pointwise ? d.ohw : cols));
            if (!pointwise) {
                struct xai_win bw = band_of(g, y0, n);
                xai_col2im_add(&bw, col, cols, gxg);
            }
        }
    }
}

/* nb batch items x [nb, C, H*W] -> y [nb, M, OH*OW] through one gemm per group into a
 * staging matrix [M_g, nb*OH*OW], then copied (plus bias) to y. */
static void forward_chunk(const struct conv_p *p, const struct xai_win *g, const float *x,
                          const float *w, const float *b, float *y, int64_t nb, float *col)
{
    struct gemm_dims d = dims_of(p, g);
    int64_t cols = nb * d.ohw, xs = g->c * p->a.group * d.hw;
    float *stage = col + d.kk * cols;
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        for (int64_t t = 0; t < nb; t++)
            xai_im2col(g, x + t * xs + gi * g->c * d.hw, col + t * d.ohw, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d.mg, (int)cols, (int)d.kk, 1.f,
                    w + gi * d.mg * d.kk, (int)d.kk, col, (int)cols, 0.f, stage, (int)cols);
        for (int64_t t = 0; t < nb; t++)
            for (int64_t m = 0; m < d.mg; m++)
                xai_vec_affine(d.ohw, 1.f, b ? b[gi * d.mg + m] : 0.f, stage + m * cols + t * d.ohw,
                               y + (t * p->m + gi * d.mg + m) * d.ohw);
    }
}

static void backward_chunk(const struct conv_p *p, const struct xai_win *g, const float *gy,
                           const float *w, float *gx, int64_t nb, float *col)
{
    struct gemm_dims d = dims_of(p, g);
    int64_t cols = nb * d.ohw, xs = g->c * p->a.group * d.hw;
    float *stage = col + d.kk * cols;
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        for (int64_t t = 0; t < nb; t++)
            for (int64_t m = 0; m < d.mg; m++)
                memcpy(stage + m * cols + t * d.ohw, gy + (t * p->m + gi * d.mg + m) * d.ohw,
                       sizeof(float) * (size_t)d.ohw);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d.kk, (int)cols, (int)d.mg, 1.f,
                    w + gi * d.mg * d.kk, (int)d.kk, stage, (int)cols, 0.f, col, (int)cols);
        for (int64_t t = 0; t < nb; t++)
            xai_col2im_add(g, col + t * d.ohw, cols, gx + t * xs + gi * g->c * d.hw);
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
    const float *b = p->bias ? r->in[2]->data : NULL, *x = r->in[0]->data, *w = r->in[1]->data;
    int64_t n = r->in[0]->shape.d[0], xs = g.c * p->a.group * g.h * g.w, ys = p->m * g.oh * g.ow;
    int64_t nb = chunk_items(&g, n);
    for (int64_t i = 0; i < n; i += nb) {
        if (use_shift(p, &g, nb))
            forward_shift(p, &g, x + i * xs, w, b, r->out[0]->data + i * ys, r->scratch);
        else if (nb == 1)
            forward_item(p, &g, x + i * xs, w, b, r->out[0]->data + i * ys, r->scratch);
        else
            forward_chunk(p, &g, x + i * xs, w, b, r->out[0]->data + i * ys,
                          n - i < nb ? n - i : nb, r->scratch);
    }
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
    const float *gy = r->gout[0]->data, *w = r->in[1]->data;
    int64_t n = r->in[0]->shape.d[0], xs = g.c * p->a.group * g.h * g.w, ys = p->m * g.oh * g.ow;
    int64_t nb = chunk_items(&g, n);
    for (int64_t i = 0; i < n; i += nb) {
        if (use_shift(p, &g, nb))
            backward_shift(p, &g, gy + i * ys, w, r->gin[0]->data + i * xs, r->scratch);
        else if (nb == 1)
            backward_item(p, &g, gy + i * ys, w, r->gin[0]->data + i * xs, r->scratch);
        else
            backward_chunk(p, &g, gy + i * ys, w, r->gin[0]->data + i * xs, n - i < nb ? n - i : nb,
                           r->scratch);
    }
}

/* Incremental inference: the same convolution on explicitly zero-padded crops. */
static bool crop_window(const void *pp, const struct xai_shape *in, struct xai_op_window *w,
                        void **unpadded)
{
    const struct conv_p *p = pp;
    struct conv_p q = *p, *out;
    if (!xai_conv_crop_window(&p->a, in, w, &q.a) || !(out = malloc(sizeof *out))) return false;
    *out = q;
    *unpadded = out;
    return true;
}

const struct xai_op_def xai_op_conv = {
    .name = "Conv",
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
    .window = crop_window,
};
