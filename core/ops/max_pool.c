/* max_pool.c - MaxPool: the maximum over each (dilated) window; padding never wins.
 * Backward routes each output's gradient to the first maximum of its window (row-major scan
 * order), like PyTorch. The Indices output is not supported. Geometry: _pool.h. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "_layout.h"
#include "_pgemm.h"
#include "_pool.h"
#include "_util.h"
#include "_vec.h"

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    if (nd->n_out != 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): the second output (Indices) is not supported", nd->name,
                        nd->op_type);
    struct xai_pool_attrs a;
    int64_t order;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = xai_pool_read(nd, &a, err)) ||
        (st = xai_attr_int(nd, "storage_order", 0, &order, err)))
        return st;
    if (order != 0) return xai_lay_refuse(nd, "storage_order", "must be 0", err);
    struct xai_pool_attrs *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = a;
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    return xai_pool_infer("MaxPool", p, &in[0], &out[0], err);
}

struct ctx {
    const struct xai_pool_geom *g;
    int64_t isz, osz; /* elements per plane */
    const float *x, *gy;
    float *y, *gx;
};

static void forward_one(void *c, int64_t p, int64_t o, const struct xai_pool_win *w)
{
    struct ctx *k = c;
    const float *xp = k->x + p * k->isz;
    int64_t i = xai_pool_argmax(xp, k->g, w);
    k->y[p * k->osz + o] = i < 0 ? 0.f : xp[i];
}

static void backward_one(void *c, int64_t p, int64_t o, const struct xai_pool_win *w)
{
    struct ctx *k = c;
    int64_t i = xai_pool_argmax(k->x + p * k->isz, k->g, w);
    if (i >= 0) k->gx[p * k->isz + i] += k->gy[p * k->osz + o];
}

/* The plain 2-D case (xai_pool_is_plain_2d). Every window is scanned in row-major order with
 * a strict comparison, as xai_pool_argmax does, so both paths find the same first maximum
 * (and the same value, NaNs and signed zeros included). */

/* The first maximum of the window rows [y0, y1) x columns [x0, x1) of plane x. */
static const float *window_argmax(const float *x, int64_t w, int64_t y0, int64_t y1, int64_t x0,
                                  int64_t x1)
{
    const float *row = x + y0 * w, *best = row + x0;
    float bv = *best;
    for (int64_t i = y0; i < y1; i++, row += w)
        for (int64_t j = x0; j < x1; j++) {
            bool gt = row[j] > bv;
            bv = gt ? row[j] : bv;
            best = gt ? row + j : best;
        }
    return best;
}

/* Output columns [*a, *b) whose windows lie entirely inside the row. */
static void full_columns(const struct xai_pool_geom *g, int64_t *a, int64_t *b)
{
    int64_t s = g->s[2], p = g->pb[2], k = g->k[2], w = g->in[2], ow = g->out[2];
    *a = (p + s - 1) / s;
    *b = w - k + p < 0 ? 0 : (w - k + p) / s + 1;
    if (*b > ow) *b = ow;
    if (*a > *b) *a = *b;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

/* Whether argmax16 and max16 run: AVX-512F (xai_pgemm_on()) and a horizontal stride of 1 or 2. */
static bool vec_argmax(const struct xai_pool_geom *g)
{
    return (g->s[2] == 1 || g->s[2] == 2) && xai_pgemm_on();
}

/* The window's tap line at off: element t is x[off + s t], t < n (stride 2: the even elements
 * of 32 consecutive floats, loaded only as far as needed). */
static inline __attribute__((always_inline, target("avx512f"))) __m512
tap_line(const float *x, int64_t off, int64_t s, int n)
{
    int need = (n - 1) * (int)s + 1;
    __m512 a = _mm512_maskz_loadu_ps(xai_lanes16(need), x + off);
    if (s == 1) return a;
    __m512 b = _mm512_maskz_loadu_ps(xai_lanes16(need - 16), x + off + 16);
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, even, b);
}

/* bi[t] = the plane index of the first maximum (row-major scan, strict >) of whole window t <
 * n of the rows [y0, y1) whose first tap is at base + s t: as the scalar loop below finds it,
 * 16 windows at once. */
static __attribute__((target("avx512f"))) void argmax16(const float *x, int64_t w, int64_t y0,
                                                        int64_t y1, int64_t kw, int64_t s,
                                                        int32_t base, int n, int32_t *bi)
{
    const __m512i step =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)s));
    __m512 bv = tap_line(x, base, s, n);
    __m512i bix = _mm512_add_epi32(_mm512_set1_epi32(base), step);
    for (int64_t i = y0; i < y1; i++)
        for (int64_t j = i == y0 ? 1 : 0; j < kw; j++) {
            int32_t off = (int32_t)((i - y0) * w + j) + base;
            __m512 v = tap_line(x, off, s, n);
            __mmask16 gt = _mm512_cmp_ps_mask(v, bv, _CMP_GT_OQ);
            bv = _mm512_mask_mov_ps(bv, gt, v);
            bix = _mm512_mask_mov_epi32(bix, gt, _mm512_add_epi32(_mm512_set1_epi32(off), step));
        }
    _mm512_storeu_si512(bi, bix);
}

/* y[t] = the maximum of whole window t < n (first tap at base + s t), as the scalar loop of
 * forward_plane_2d finds it (v > y ? v : y, which is what max_ps computes). */
static __attribute__((target("avx512f"))) void max16(const float *x, int64_t w, int64_t y0,
                                                     int64_t y1, int64_t kw, int64_t s,
                                                     int32_t base, int n, float *y)
{
    __m512 bv = tap_line(x, base, s, n);
    for (int64_t i = y0; i < y1; i++)
        for (int64_t j = i == y0 ? 1 : 0; j < kw; j++)
            bv = _mm512_max_ps(tap_line(x, (int32_t)((i - y0) * w + j) + base, s, n), bv);
    _mm512_mask_storeu_ps(y, xai_lanes16(n), bv);
}

#else

static bool vec_argmax(const struct xai_pool_geom *g)
{
    return false;
}

static void argmax16(const float *x, int64_t w, int64_t y0, int64_t y1, int64_t kw, int64_t s,
                     int32_t base, int n, int32_t *bi)
{
}

static void max16(const float *x, int64_t w, int64_t y0, int64_t y1, int64_t kw, int64_t s,
                  int32_t base, int n, float *y)
{
}

#endif

/* One plane x [h, w] -> y [oh, ow]. Columns whose windows are whole are done tap by tap
 * across the row (the same per-window order; vec: 16 at a time in AVX-512 registers, else
 * vectorised by the compiler); the others one by one. */
static void forward_plane_2d(const struct xai_pool_geom *g, const float *x, float *y, bool vec)
{
    int64_t h = g->in[1], w = g->in[2], s = g->s[2], p = g->pb[2], kw = g->k[2], fa, fb;
    full_columns(g, &fa, &fb);
    for (int64_t oy = 0; oy < g->out[1]; oy++, y += g->out[2]) {
        int64_t y0, y1;
        xai_pool_clip(oy * g->s[1] - g->pb[1], g->k[1], h, &y0, &y1);
        for (int64_t ox = 0; ox < g->out[2]; ox++) {
            if (ox == fa && y0 < y1) ox = fb;
            if (ox >= g->out[2]) break;
            int64_t x0, x1;
            xai_pool_clip(ox * s - p, kw, w, &x0, &x1);
            y[ox] = y0 < y1 && x0 < x1 ? *window_argmax(x, w, y0, y1, x0, x1) : 0.f;
        }
        if (y0 >= y1 || fa >= fb) continue;
        if (vec) {
            for (int64_t c0 = fa; c0 < fb; c0 += 16)
                max16(x, w, y0, y1, kw, s, (int32_t)(y0 * w + c0 * s - p),
                      (int)(fb - c0 < 16 ? fb - c0 : 16), y + c0);
            continue;
        }
        const float *row = x + y0 * w; /* (ox * s - p >= 0 for whole windows) */
        for (int64_t ox = fa; ox < fb; ox++) y[ox] = row[ox * s - p];
        for (int64_t i = y0; i < y1; i++, row += w)
            for (int64_t j = i == y0 ? 1 : 0; j < kw; j++)
                for (int64_t ox = fa; ox < fb; ox++) {
                    float v = row[ox * s + j - p];
                    y[ox] = v > y[ox] ? v : y[ox];
                }
    }
}

/* Output columns done together by backward_plane_2d (stack buffers, no allocation). */
#define CHUNK 128

/* bi[t] = the plane index of the first maximum of whole window t < n, as argmax16. */
static void argmax_chunk(const float *x, int64_t w, int64_t y0, int64_t y1, int64_t kw, int64_t s,
                         int32_t base, int64_t n, float *bv, int32_t *bi)
{
    for (int64_t t = 0; t < n; t++) {
        bv[t] = x[base + t * s];
        bi[t] = base + (int32_t)(t * s);
    }
    for (int64_t i = y0; i < y1; i++)
        for (int64_t j = i == y0 ? 1 : 0; j < kw; j++) {
            int32_t off = (int32_t)((i - y0) * w + j) + base;
            for (int64_t t = 0; t < n; t++) { /* branchless: vectorises */
                int32_t at = off + (int32_t)(t * s);
                float v = x[at], b = bv[t];
                int32_t gt = -(int32_t)(v > b);
                bv[t] = v > b ? v : b;
                bi[t] = (at & gt) | (bi[t] & ~gt);
            }
        }
}

/* Backward of one plane: each output's gradient goes to its window's first maximum, added in
 * output order as the generic path does. Whole windows find their maxima tap by tap as in
 * forward_plane_2d, tracking plane-local indices: 16 columns at a time in AVX-512 registers
 * (vec), else CHUNK at a time. */
static void backward_plane_2d(const struct xai_pool_geom *g, const float *x, const float *gy,
                              float *gx, bool vec)
{
    int64_t h = g->in[1], w = g->in[2], s = g->s[2], p = g->pb[2], kw = g->k[2], fa, fb;
    full_columns(g, &fa, &fb);
    float bv[CHUNK];
    int32_t bi[CHUNK];
    for (int64_t oy = 0; oy < g->out[1]; oy++, gy += g->out[2]) {
        int64_t y0, y1;
        xai_pool_clip(oy * g->s[1] - g->pb[1], g->k[1], h, &y0, &y1);
        if (y0 >= y1) continue;
        for (int64_t ox = 0; ox < g->out[2]; ox++) {
            if (ox == fa) {
                int64_t chunk = vec ? 16 : CHUNK;
                for (int64_t c0 = fa; c0 < fb; c0 += chunk) {
                    int64_t n = fb - c0 < chunk ? fb - c0 : chunk;
                    int32_t base = (int32_t)(y0 * w + c0 * s - p);
                    if (vec)
                        argmax16(x, w, y0, y1, kw, s, base, (int)n, bi);
                    else
                        argmax_chunk(x, w, y0, y1, kw, s, base, n, bv, bi);
                    for (int64_t t = 0; t < n; t++) gx[bi[t]] += gy[c0 + t];
                }
                ox = fb;
                if (ox >= g->out[2]) break;
            }
            int64_t x0, x1;
            xai_pool_clip(ox * s - p, kw, w, &x0, &x1);
            if (x0 < x1) gx[window_argmax(x, w, y0, y1, x0, x1) - x] += gy[ox];
        }
    }
}

struct plain_ctx {
    const struct xai_op_run *r;
    const struct xai_pool_geom *g;
    bool back, vec; /* vec: vec_argmax */
};

static void plain_planes(void *ctx, int64_t p0, int64_t p1)
{
    const struct plain_ctx *c = ctx;
    const struct xai_pool_geom *g = c->g;
    int64_t isz = g->in[1] * g->in[2], osz = g->out[1] * g->out[2];
    const float *x = c->r->in[0]->data;
    for (int64_t p = p0; p < p1; p++) {
        if (c->back)
            backward_plane_2d(g, x + p * isz, c->r->gout[0]->data + p * osz,
                              c->r->gin[0]->data + p * isz, c->vec);
        else
            forward_plane_2d(g, x + p * isz, c->r->out[0]->data + p * osz, c->vec);
    }
}

static void run_plain_2d(const struct xai_op_run *r, const struct xai_pool_geom *g, bool back)
{
    struct plain_ctx c = {r, g, back, vec_argmax(g)};
    xai_par_range(r->par, g->planes, xai_par_piece(g->in[1] * g->in[2]), plain_planes, &c);
}

static void run(const struct xai_op_run *r, bool back)
{
    struct xai_pool_geom g;
    if (xai_pool_geom("MaxPool", r->p, &r->in[0]->shape, &g, NULL)) return;
    /* (backward_plane_2d's plane-local indices are int32) */
    if (xai_pool_is_plain_2d(&g) && g.in[1] * g.in[2] <= INT32_MAX) {
        run_plain_2d(r, &g, back);
        return;
    }
    struct ctx k = {&g,
                    g.in[0] * g.in[1] * g.in[2],
                    g.out[0] * g.out[1] * g.out[2],
                    r->in[0]->data,
                    NULL,
                    r->out[0]->data,
                    NULL};
    if (back) {
        k.gy = r->gout[0]->data;
        k.gx = r->gin[0]->data;
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

/* Incremental inference: crops padded with -inf, which never wins, as padding here. */
static enum xai_window_fit crop_window(const void *p, const struct xai_shape *in,
                                       struct xai_op_window *w, void **unpadded)
{
    struct xai_pool_attrs q, *out;
    if (!xai_pool_crop_window(p, in, w, &q)) return XAI_WINDOW_NO;
    if (!(out = malloc(sizeof *out))) return XAI_WINDOW_NO_MEMORY;
    *out = q;
    w->pad = -INFINITY;
    *unpadded = out;
    return XAI_WINDOW_YES;
}

const struct xai_op_def xai_op_max_pool = {
    .name = "MaxPool",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .window = crop_window,
};
