/* average_pool.c - AveragePool: the mean over each window. The divisor counts the taps inside
 * the input (count_include_pad = 0) or inside the padded input (count_include_pad = 1); the
 * part of a ceil_mode window beyond the end padding is never counted. Geometry: _pool.h.
 * dilations (opset 19) is accepted as well. */
#include <stdlib.h>

#include "_layout.h"
#include "_pool.h"
#include "_util.h"

struct params {
    struct xai_pool_attrs a;
    bool include_pad;
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params q;
    int64_t cip;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = xai_pool_read(nd, &q.a, err)) ||
        (st = xai_attr_int(nd, "count_include_pad", 0, &cip, err)))
        return st;
    if (cip != 0 && cip != 1) return xai_lay_refuse(nd, "count_include_pad", "must be 0 or 1", err);
    q.include_pad = cip == 1;
    struct params *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = q;
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    return xai_pool_infer("AveragePool", &q->a, &in[0], &out[0], err);
}

struct ctx {
    const struct xai_pool_geom *g;
    bool include_pad;
    int64_t isz, osz; /* elements per plane */
    const float *x, *gy;
    float *y, *gx;
};

static void forward_one(void *c, int64_t p, int64_t o, const struct xai_pool_win *w)
{
    struct ctx *k = c;
    int64_t n = xai_pool_count(w, k->include_pad);
    float s = xai_pool_sum(k->x + p * k->isz, k->g, w);
    k->y[p * k->osz + o] = n > 0 ? s / (float)n : 0.f;
}

static void backward_one(void *c, int64_t p, int64_t o, const struct xai_pool_win *w)
{
    struct ctx *k = c;
    int64_t n = xai_pool_count(w, k->include_pad);
    if (n > 0) xai_pool_spread(k->gx + p * k->isz, k->g, w, k->gy[p * k->osz + o] / (float)n);
}

/* The plain 2-D case (xai_pool_is_plain_2d), window by window without the generic walk; the
 * same sums in the same order, and the same divisors, as the generic path. */

/* Taps of the window starting at `start` that count along one axis: those inside the input,
 * or with include_pad those inside the padded input [-pb, n + pe). */
static int64_t axis_count(int64_t start, int64_t k, int64_t n, int64_t pe, bool include_pad)
{
    int64_t a, b;
    if (!include_pad) {
        xai_pool_clip(start, k, n, &a, &b);
        return b > a ? b - a : 0;
    }
    b = n + pe - start; /* the taps from the window's start to the end padding's end */
    return b < 0 ? 0 : b > k ? k : b;
}

struct plain_ctx {
    const struct xai_op_run *r;
    const struct xai_pool_geom *g;
    bool back;
};

static void plain_planes(void *ctx, int64_t p0, int64_t p1)
{
    const struct plain_ctx *c = ctx;
    const struct xai_op_run *r = c->r;
    const struct xai_pool_geom *g = c->g;
    bool back = c->back;
    const struct params *q = r->p;
    int64_t h = g->in[1], w = g->in[2], oh = g->out[1], ow = g->out[2];
    int64_t isz = h * w, osz = oh * ow;
    for (int64_t p = p0; p < p1; p++) {
        const float *x = back ? NULL : r->in[0]->data + p * isz;
        const float *gy = back ? r->gout[0]->data + p * osz : NULL;
        float *y = back ? NULL : r->out[0]->data + p * osz;
        float *gx = back ? r->gin[0]->data + p * isz : NULL;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0, y1, sy = oy * g->s[1] - g->pb[1];
            xai_pool_clip(sy, g->k[1], h, &y0, &y1);
            int64_t cy = axis_count(sy, g->k[1], h, g->pe[1], q->include_pad);
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0, x1, sx = ox * g->s[2] - g->pb[2];
                xai_pool_clip(sx, g->k[2], w, &x0, &x1);
                int64_t n = cy * axis_count(sx, g->k[2], w, g->pe[2], q->include_pad);
                if (back) {
                    if (n <= 0) continue;
                    float v = gy[oy * ow + ox] / (float)n;
                    for (int64_t i = y0; i < y1; i++)
                        for (int64_t j = x0; j < x1; j++) gx[i * w + j] += v;
                } else {
                    float acc = 0.f;
                    for (int64_t i = y0; i < y1; i++)
                        for (int64_t j = x0; j < x1; j++) acc += x[i * w + j];
                    y[oy * ow + ox] = n > 0 ? acc / (float)n : 0.f;
                }
            }
        }
    }
}

static void run_plain_2d(const struct xai_op_run *r, const struct xai_pool_geom *g, bool back)
{
    struct plain_ctx c = {r, g, back};
    xai_par_range(r->par, g->planes, xai_par_piece(g->in[1] * g->in[2]), plain_planes, &c);
}

static void run(const struct xai_op_run *r, bool back)
{
    const struct params *q = r->p;
    struct xai_pool_geom g;
    if (xai_pool_geom("AveragePool", &q->a, &r->in[0]->shape, &g, NULL)) return;
    if (xai_pool_is_plain_2d(&g)) {
        run_plain_2d(r, &g, back);
        return;
    }
    struct ctx k = {&g,
                    q->include_pad,
                    g.in[0] * g.in[1] * g.in[2],
                    g.out[0] * g.out[1] * g.out[2],
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    if (back) {
        k.gy = r->gout[0]->data;
        k.gx = r->gin[0]->data;
    } else {
        k.x = r->in[0]->data;
        k.y = r->out[0]->data;
    }
    xai_pool_visit(&g, back ? backward_one : forward_one, &k);
}

static void forward(const struct xai_op_run *r)
{
    run(r, false);
}

static void backward(const struct xai_op_run *r)
{
    if (r->gout[0] && r->gin[0]) run(r, true);
}

/* Incremental inference: crops padded with zeros, which count where the pads count; an
 * average that excludes padding, or the partial last windows of ceil_mode, cannot run so. */
static enum xai_window_fit crop_window(const void *pp, const struct xai_shape *in,
                                       struct xai_op_window *w, void **unpadded)
{
    const struct params *p = pp;
    bool pads = false;
    for (int i = 0; i < p->a.nsp; i++) pads |= p->a.pb[i] || p->a.pe[i];
    if (p->a.ceil_mode || (pads && !p->include_pad) ||
        (p->a.auto_pad != XAI_PAD_NOTSET && p->a.auto_pad != XAI_PAD_VALID && !p->include_pad))
        return XAI_WINDOW_NO;
    struct params q = *p, *out;
    if (!xai_pool_crop_window(&p->a, in, w, &q.a)) return XAI_WINDOW_NO;
    if (!(out = malloc(sizeof *out))) return XAI_WINDOW_NO_MEMORY;
    *out = q;
    w->pad = 0.f;
    *unpadded = out;
    return XAI_WINDOW_YES;
}

const struct xai_op_def xai_op_average_pool = {
    .name = "AveragePool",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .window = crop_window,
};
