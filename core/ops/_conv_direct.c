/*
 * _conv_direct.c - the forward of convolutions with few input channels (first layers on an
 * RGB or grey image: ResNet's 7x7 stride-2 stem), computed directly; see _conv_paths.h.
 *
 * im2col there builds a column matrix of k = c kh kw rows (147 for the stem) for a product
 * whose k is too short for OpenBLAS's kernel to run at its rate, and writes and reads that
 * matrix (49 floats per output pixel) on the way. Here each output row is computed from the
 * input rows under it: those rows, zero-padded, are split into `stride` phases (phase f holds
 * the pixels s t + f), so that the pixels under tap j of 16 consecutive outputs are 16
 * consecutive floats of phase j mod s; a tile of 8 output channels by up to 48 pixels keeps
 * its 24 accumulators in AVX-512 registers over all taps, the weights broadcast. (Masked loads
 * for the row's last pixels cost a quarter of the time: the lines are padded instead.)
 *
 * The items of the parallel loop are output rows (item, row), each written by one thread, so
 * results do not depend on the thread count. The backward stays with im2col (_conv_gemm.c).
 */
#include "_conv_paths.h"
#include "_vec.h"

#define MB 8           /* output channels per tile */
#define XV 3           /* vectors of 16 output pixels per tile */
#define DIRECT_C 4     /* at most this many input channels, */
#define DIRECT_TAPS 64 /* kernels of at most this many taps (and columns), strides of 2 or more */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f")))
#define INLINE_KERNEL static inline __attribute__((always_inline, target("avx512f")))

/* Floats of one row's phases: c kh rows of s phases of pl = ow + kw + 16 floats (the last
 * tile of a row loads whole vectors: up to 15 pixels past ow, computed and not stored). */
static int64_t phase_floats(const struct xai_win *g)
{
    return g->c * g->kh * g->sw * (g->ow + g->kw + 16);
}

bool xai_conv_direct_fits(const struct xai_win *g, int64_t m, int64_t group, bool avx512)
{
    return avx512 && group == 1 && g->c <= DIRECT_C && g->kh * g->kw <= DIRECT_TAPS &&
           g->kw <= DIRECT_TAPS && g->dh == 1 && g->dw == 1 && g->sh == g->sw && g->sw >= 2 &&
           m >= MB;
}

size_t xai_conv_direct_scratch(const struct xai_win *g)
{
    return (size_t)phase_floats(g);
}

struct row_ctx {
    const struct xai_conv_job *j;
    const float *x;
    float *y;
    int64_t pl;               /* floats of one phase line */
    int64_t off[DIRECT_TAPS]; /* tap column j: its pixels at (j mod s) pl + j / s of the lines */
};

/* The phases of output row oy's input rows inside the image: q[((c kh + i) s + f) pl + t] =
 * x[c][iy][s t + f - pw], iy = oy sh + i - ph, zero left and right of the image (rows above
 * and below it are skipped by tile). */
static void build_phases(const struct xai_win *g, const float *x, int64_t oy, int64_t pl, float *q)
{
    int64_t s = g->sw;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t iy = oy * g->sh + i - g->ph;
            if (iy < 0 || iy >= g->h) continue;
            const float *row = x + (c * g->h + iy) * g->w;
            for (int64_t f = 0; f < s; f++) {
                float *line = q + ((c * g->kh + i) * s + f) * pl;
                for (int64_t t = 0; t < pl; t++) {
                    int64_t ix = s * t + f - g->pw;
                    line[t] = ix >= 0 && ix < g->w ? row[ix] : 0.f;
                }
            }
        }
}

/* Output channels [m0, m0 + mb) x pixels [x0, x0 + 16 xv) (masked past ow) of row oy. */
INLINE_KERNEL void tile(int mb, int xv, const struct row_ctx *r, const float *q, int64_t oy,
                        int64_t m0, int64_t x0)
{
    const struct xai_win *g = r->j->g;
    const int64_t kh = g->kh, kw = g->kw, ws = g->c * kh * kw, pl = r->pl;
    const float *w = r->j->w + m0 * ws;
    __mmask16 mk[XV];
    for (int v = 0; v < XV; v++) {
        mk[v] = xai_lanes16(g->ow - x0 - 16 * v);
    }
    __m512 acc[MB][XV];
#pragma GCC unroll 8
    for (int mi = 0; mi < mb; mi++) {
        float b = r->j->b ? r->j->b[m0 + mi] : 0.f;
#pragma GCC unroll 3
        for (int v = 0; v < xv; v++) acc[mi][v] = _mm512_set1_ps(b);
    }
    int64_t i0 = g->ph - oy * g->sh, i1 = g->h + g->ph - oy * g->sh; /* taps inside the image */
    i0 = i0 < 0 ? 0 : i0;
    i1 = i1 > kh ? kh : i1;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t i = i0; i < i1; i++) {
            const float *lines = q + (c * kh + i) * g->sw * pl + x0;
            const float *wt = w + (c * kh + i) * kw;
            for (int64_t jx = 0; jx < kw; jx++) {
                const float *src = lines + r->off[jx];
                __m512 xs[XV];
#pragma GCC unroll 3
                for (int v = 0; v < xv; v++) xs[v] = _mm512_loadu_ps(src + 16 * v);
#pragma GCC unroll 8
                for (int mi = 0; mi < mb; mi++) {
                    __m512 wv = _mm512_set1_ps(wt[mi * ws + jx]);
#pragma GCC unroll 3
                    for (int v = 0; v < xv; v++)
                        acc[mi][v] = _mm512_fmadd_ps(wv, xs[v], acc[mi][v]);
                }
            }
        }
#pragma GCC unroll 8
    for (int mi = 0; mi < mb; mi++) {
        float *out = r->y + (m0 + mi) * g->oh * g->ow + oy * g->ow + x0;
#pragma GCC unroll 3
        for (int v = 0; v < xv; v++) {
            __m512 o = acc[mi][v];
            if (r->j->relu) o = _mm512_max_ps(o, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(out + 16 * v, mk[v], o);
        }
    }
}

/* tile with mb and xv constants. */
static KERNEL void tile_n(int mb, int xv, const struct row_ctx *r, const float *q, int64_t oy,
                          int64_t m0, int64_t x0)
{
    /* clang-format off */
    switch (mb * 4 + xv) {
#define TILE(b, v) case b * 4 + v: tile(b, v, r, q, oy, m0, x0); break;
#define TILES(b) TILE(b, 1) TILE(b, 2) TILE(b, 3)
    TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6) TILES(7) TILES(8)
#undef TILES
#undef TILE
    default: break;
    }
    /* clang-format on */
}

/* Item i: output row i % oh of batch item i / oh. */
static KERNEL void row_item(void *ctx, int64_t i, int tid)
{
    const struct row_ctx *r = ctx;
    const struct xai_win *g = r->j->g;
    int64_t item = i / g->oh, oy = i % g->oh;
    struct row_ctx it = *r;
    it.x = r->x + item * g->c * g->h * g->w;
    it.y = r->y + item * r->j->m * g->oh * g->ow;
    float *q = r->j->scratch + (size_t)tid * r->j->stride;
    build_phases(g, it.x, oy, r->pl, q);
    for (int64_t m0 = 0; m0 < r->j->m; m0 += MB)
        for (int64_t x0 = 0; x0 < g->ow; x0 += 16 * XV) {
            int64_t mb = r->j->m - m0 < MB ? r->j->m - m0 : MB;
            int64_t xv = (g->ow - x0 + 15) / 16;
            tile_n((int)mb, (int)(xv < XV ? xv : XV), &it, q, oy, m0, x0);
        }
}

void xai_conv_direct_forward(const struct xai_conv_job *j, const float *x, float *y)
{
    struct row_ctx r = {j, x, y, j->g->ow + j->g->kw + 16, {0}};
    for (int64_t jx = 0; jx < j->g->kw; jx++) r.off[jx] = (jx % j->g->sw) * r.pl + jx / j->g->sw;
    xai_par_for(j->par, j->n * j->g->oh, row_item, &r);
}

#else

bool xai_conv_direct_fits(const struct xai_win *g, int64_t m, int64_t group, bool avx512)
{
    return false;
}

size_t xai_conv_direct_scratch(const struct xai_win *g)
{
    return 0;
}

void xai_conv_direct_forward(const struct xai_conv_job *j, const float *x, float *y) {}

#endif
