/*
 * _conv_direct_bwd.c - the backward of convolutions with few input channels, strides of 2 or
 * more and kernels 5 to 8 wide (ResNet's and DenseNet's 7x7 stride-2 stems), computed over
 * the nonzero elements of dY; see _conv_paths.h.
 *
 * Behind such a stem come a Relu and a 3x3 stride-2 max pool: each pooling window passes its
 * gradient to one pixel, so at most a quarter of dY is nonzero, and the Relu zeroes more
 * (ResNet-18: 15 %). im2col's backward multiplies every element (W^T . dY, 147 x 64 by 64 x
 * 12544 for ResNet-18), then adds the column matrix back into dX. Here each output pixel lists
 * the channels whose dY is nonzero and sums their kernels, sum_m dY[m] W[m], in AVX-512
 * registers. The weights are packed with each of the c kh kernel rows padded to 8 floats, so
 * the sum is c kh rows of 8 that are added into zero-padded lines of the input rows under the
 * pixel's block without bounds checks; the lines go into dX at the block's end.
 *
 * Work goes by blocks of at least `rows` output rows of one batch item. A block first applies
 * a fused Relu's mask to its dY and counts the nonzero elements; when more than a quarter
 * are, it runs as im2col does (a listed element costs about 3.5 times what it costs in the
 * gemm), its column matrix added into the same lines. Blocks two apart touch disjoint input
 * rows (rows chosen so that kh <= (rows + 1) s): the even blocks run in parallel, then the
 * odd ones, so every element of dX gets its additions in one order whatever the thread count.
 */
#include "_conv_paths.h"
#include "_vec.h"

#include <string.h>

#include <cblas.h>

#define PIECE 8       /* floats per kernel row in the packed weights */
#define BWD_KW_MIN 5  /* narrower kernels would leave most of each piece idle */
#define MAX_V 16      /* vectors of one packed kernel: c kh <= 2 MAX_V rows */
#define MIN_ROWS 4    /* output rows per block, at least */
#define DENSE_SHARE 4 /* blocks with more than 1 / DENSE_SHARE of dY nonzero: im2col's way */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f")))
#define INLINE_KERNEL static inline __attribute__((always_inline, target("avx512f")))

struct bgeo {
    int64_t nv;     /* vectors per packed kernel */
    int64_t rows;   /* output rows per block */
    int64_t lr, lw; /* lines per input channel in a block, floats per line */
    int64_t blocks; /* blocks per batch item */
    int64_t wsz;    /* floats of the packed weights */
};

static struct bgeo bgeo_of(const struct xai_win *g, int64_t m)
{
    struct bgeo q;
    q.nv = (g->c * g->kh + 1) / 2;
    q.rows = (g->kh + g->sh - 1) / g->sh - 1;
    if (q.rows < MIN_ROWS) q.rows = MIN_ROWS;
    q.lr = (q.rows - 1) * g->sh + g->kh;
    q.lw = ((g->ow - 1) * g->sw + PIECE + 15) / 16 * 16;
    q.blocks = (g->oh + q.rows - 1) / q.rows;
    q.wsz = m * q.nv * 16;
    return q;
}

bool xai_conv_direct_bwd_fits(const struct xai_win *g, int64_t m, int64_t group, bool avx512)
{
    return xai_conv_direct_fits(g, m, group, avx512) && g->kw >= BWD_KW_MIN && g->kw <= PIECE &&
           g->c * g->kh <= 2 * MAX_V;
}

size_t xai_conv_direct_bwd_scratch(const struct xai_win *g, int64_t m)
{
    struct bgeo q = bgeo_of(g, m);
    int64_t lists = q.rows * g->ow * (2 * m + 1), col = g->c * g->kh * g->kw * q.rows * g->ow;
    return (size_t)(q.wsz + g->c * q.lr * q.lw + (lists > col ? lists : col));
}

struct bwd_ctx {
    const struct xai_conv_job *j;
    struct bgeo q;
    float *gy;
    const float *mask, *wp;
    float *gx;
    int64_t parity;
    int64_t off[2 * MAX_V]; /* kernel row c kh + i: its line, (c lr + i) lw */
};

/* Packed weights: kernel m's row (c, i) at wp[m nv 16 + (c kh + i) PIECE], zero-padded. */
static void pack(const struct xai_conv_job *j, const struct bgeo *q, float *wp)
{
    const struct xai_win *g = j->g;
    memset(wp, 0, sizeof(float) * (size_t)q->wsz);
    for (int64_t m = 0; m < j->m; m++)
        for (int64_t r = 0; r < g->c * g->kh; r++)
            memcpy(wp + m * q->nv * 16 + r * PIECE, j->w + (m * g->c * g->kh + r) * g->kw,
                   sizeof(float) * (size_t)g->kw);
}

/* The block's pixels' dY (output rows [oy0, oy1)): with a fused Relu's mask, zeroed in place
 * where the Relu's output is not > 0 (op.h: dY is ours to overwrite); returns how many of them
 * are nonzero. Each channel reads consecutive rows, the next channel's prefetched: a channel's
 * dY is a plane of its own, and going across channels pixel by pixel touches a page per
 * load. */
INLINE_KERNEL int64_t mask_count(const struct bwd_ctx *b, float *gy, const float *mask, int64_t oy0,
                                 int64_t oy1)
{
    const struct xai_win *g = b->j->g;
    const int64_t m = b->j->m, ohw = g->oh * g->ow, np = (oy1 - oy0) * g->ow;
    const __m512 zero = _mm512_setzero_ps();
    int64_t n = 0;
    for (int64_t mi = 0; mi < m; mi++) {
        float *src = gy + mi * ohw + oy0 * g->ow;
        const float *ms = mask ? mask + mi * ohw + oy0 * g->ow : NULL;
        for (int64_t p0 = 0; p0 < np; p0 += 16) {
            __mmask16 tail = xai_lanes16(np - p0);
            if (mi + 1 < m) {
                _mm_prefetch((const char *)(src + ohw + p0), _MM_HINT_T0);
                if (ms) _mm_prefetch((const char *)(ms + ohw + p0), _MM_HINT_T0);
            }
            __m512 v = _mm512_maskz_loadu_ps(tail, src + p0);
            __mmask16 nz = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ) & tail;
            if (ms && nz) {
                __mmask16 on = _mm512_mask_cmp_ps_mask(nz, _mm512_maskz_loadu_ps(nz, ms + p0), zero,
                                                       _CMP_GT_OQ);
                if (on != nz) _mm512_mask_storeu_ps(src + p0, nz & ~on, zero);
                nz = on;
            }
            n += __builtin_popcount(nz);
        }
    }
    return n;
}

/* Lists of the block's nonzero dY (after mask_count): for pixel p = (oy - oy0) ow + ox, cnt[p]
 * values at vals[p m], their channels at idx[p m]. */
INLINE_KERNEL void build_lists(const struct bwd_ctx *b, const float *gy, int64_t oy0, int64_t oy1,
                               float *vals, int32_t *idx, int32_t *cnt)
{
    const struct xai_win *g = b->j->g;
    const int64_t m = b->j->m, ohw = g->oh * g->ow, np = (oy1 - oy0) * g->ow;
    float tmp[16] __attribute__((aligned(64)));
    for (int64_t p = 0; p < np; p++) cnt[p] = 0;
    for (int64_t mi = 0; mi < m; mi++) {
        const float *src = gy + mi * ohw + oy0 * g->ow;
        for (int64_t p0 = 0; p0 < np; p0 += 16) {
            __mmask16 tail = xai_lanes16(np - p0);
            __m512 v = _mm512_maskz_loadu_ps(tail, src + p0);
            unsigned nz = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
            if (!nz) continue;
            _mm512_store_ps(tmp, v);
            for (; nz; nz &= nz - 1) {
                int k = __builtin_ctz(nz);
                int64_t p = p0 + k;
                vals[p * m + cnt[p]] = tmp[k];
                idx[p * m + cnt[p]++] = (int32_t)mi;
            }
        }
    }
}

/* One pixel: the sum of its listed channels' kernels, added row by row at dst + off[r]. */
INLINE_KERNEL void pixel(int nv, const struct bwd_ctx *b, const float *vals, const int32_t *idx,
                         int cnt, float *dst)
{
    __m512 acc[MAX_V];
    int pieces = (int)(b->j->g->c * b->j->g->kh);
#pragma GCC unroll 16
    for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
    for (int e = 0; e < cnt; e++) {
        __m512 s = _mm512_set1_ps(vals[e]);
        const float *w = b->wp + (int64_t)idx[e] * nv * 16;
#pragma GCC unroll 16
        for (int v = 0; v < nv; v++)
            acc[v] = _mm512_fmadd_ps(s, _mm512_loadu_ps(w + 16 * v), acc[v]);
    }
#pragma GCC unroll 16
    for (int v = 0; v < nv; v++) {
        float *lo = dst + b->off[2 * v];
        _mm256_storeu_ps(lo, _mm256_add_ps(_mm256_loadu_ps(lo), _mm512_castps512_ps256(acc[v])));
        if (2 * v + 1 == pieces) break;
        float *hi = dst + b->off[2 * v + 1];
        __m256 h = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[v]), 1));
        _mm256_storeu_ps(hi, _mm256_add_ps(_mm256_loadu_ps(hi), h));
    }
}

/* Output rows [oy0, oy1) of one item into the block's lines, over the lists of its nonzero dY.
 * Pixels of a row go in the order 0, 4, 8, ..., 1, 5, ...: consecutive ones add into columns
 * 4 s >= 8 apart. */
INLINE_KERNEL void block_rows(int nv, const struct bwd_ctx *b, const float *gy, int64_t oy0,
                              int64_t oy1, float *lines, float *vals, int32_t *idx, int32_t *cnt)
{
    const struct xai_win *g = b->j->g;
    const int64_t m = b->j->m;
    build_lists(b, gy, oy0, oy1, vals, idx, cnt);
    for (int64_t oy = oy0; oy < oy1; oy++) {
        float *row = lines + (oy - oy0) * g->sh * b->q.lw;
        int64_t p0 = (oy - oy0) * g->ow;
        for (int64_t k0 = 0; k0 < 4; k0++)
            for (int64_t ox = k0; ox < g->ow; ox += 4)
                if (cnt[p0 + ox])
                    pixel(nv, b, vals + (p0 + ox) * m, idx + (p0 + ox) * m, cnt[p0 + ox],
                          row + ox * g->sw);
    }
}

static KERNEL void block_rows_n(int nv, const struct bwd_ctx *b, const float *gy, int64_t oy0,
                                int64_t oy1, float *lines, float *vals, int32_t *idx, int32_t *cnt)
{
    /* clang-format off */
    switch (nv) {
#define ROWS(v) case v: block_rows(v, b, gy, oy0, oy1, lines, vals, idx, cnt); break;
    ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7) ROWS(8)
    ROWS(9) ROWS(10) ROWS(11) ROWS(12) ROWS(13) ROWS(14) ROWS(15) ROWS(16)
#undef ROWS
    default: break;
    }
    /* clang-format on */
}

/* dX += the block's lines, cropped to the image (the lines' columns are ix + pw). */
static void add_lines(const struct bwd_ctx *b, const float *lines, int64_t oy0, int64_t oy1,
                      float *gx)
{
    const struct xai_win *g = b->j->g;
    int64_t used = (oy1 - oy0 - 1) * g->sh + g->kh, n = b->q.lw - g->pw;
    if (n > g->w) n = g->w;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t l = 0; l < used; l++) {
            int64_t iy = oy0 * g->sh - g->ph + l;
            if (iy < 0 || iy >= g->h) continue;
            float *dst = gx + (c * g->h + iy) * g->w;
            const float *src = lines + (c * b->q.lr + l) * b->q.lw + g->pw;
            for (int64_t ix = 0; ix < n; ix++) dst[ix] += src[ix];
        }
}

/* A block with many nonzero dY, as im2col does it: the columns of its pixels, W^T dY, added
 * into its lines (an image of c x lr x lw with no padding). */
static void dense_block(const struct bwd_ctx *b, const float *gy, int64_t oy0, int64_t oy1,
                        float *lines, float *col)
{
    const struct xai_win *g = b->j->g;
    int64_t k = g->c * g->kh * g->kw, np = (oy1 - oy0) * g->ow;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)np, (int)b->j->m, 1.f,
                b->j->w, (int)k, gy, (int)(g->oh * g->ow), 0.f, col, (int)np);
    struct xai_win lw = {.c = g->c,
                         .h = b->q.lr,
                         .w = b->q.lw,
                         .kh = g->kh,
                         .kw = g->kw,
                         .sh = g->sh,
                         .sw = g->sw,
                         .dh = 1,
                         .dw = 1,
                         .oh = oy1 - oy0,
                         .ow = g->ow};
    xai_col2im_add(&lw, col, np, lines);
}

/* Item i: block 2 (i % per) + parity of batch item i / per. */
static KERNEL void block_item(void *ctx, int64_t i, int tid)
{
    const struct bwd_ctx *b = ctx;
    const struct xai_win *g = b->j->g;
    int64_t per = (b->q.blocks + 1 - b->parity) / 2, item = i / per;
    int64_t oy0 = (2 * (i % per) + b->parity) * b->q.rows;
    int64_t oy1 = oy0 + b->q.rows < g->oh ? oy0 + b->q.rows : g->oh;
    float *lines = b->j->scratch + (size_t)tid * b->j->stride + b->q.wsz;
    int64_t nl = g->c * b->q.lr * b->q.lw, ys = b->j->m * g->oh * g->ow;
    int64_t nlist = b->q.rows * g->ow * b->j->m, np = (oy1 - oy0) * g->ow;
    float *vals = lines + nl, *gy = b->gy + item * ys;
    int32_t *idx = (int32_t *)(vals + nlist), *cnt = idx + nlist;
    memset(lines, 0, sizeof(float) * (size_t)nl);
    int64_t nz = mask_count(b, gy, b->mask ? b->mask + item * ys : NULL, oy0, oy1);
    if (nz * DENSE_SHARE > np * b->j->m)
        dense_block(b, gy + oy0 * g->ow, oy0, oy1, lines, vals);
    else
        block_rows_n((int)b->q.nv, b, gy, oy0, oy1, lines, vals, idx, cnt);
    add_lines(b, lines, oy0, oy1, b->gx + item * g->c * g->h * g->w);
}

void xai_conv_direct_backward(const struct xai_conv_job *j, float *gy, const float *mask, float *gx)
{
    const struct xai_win *g = j->g;
    struct bwd_ctx b = {j, bgeo_of(g, j->m), gy, mask, j->scratch, gx, 0, {0}};
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t i = 0; i < g->kh; i++) b.off[c * g->kh + i] = (c * b.q.lr + i) * b.q.lw;
    pack(j, &b.q, j->scratch); /* thread 0's block; the items read it */
    for (b.parity = 0; b.parity < 2; b.parity++) {
        int64_t per = (b.q.blocks + 1 - b.parity) / 2;
        if (per > 0) xai_par_for(j->par, j->n * per, block_item, &b);
    }
}

#else

bool xai_conv_direct_bwd_fits(const struct xai_win *g, int64_t m, int64_t group, bool avx512)
{
    return false;
}

size_t xai_conv_direct_bwd_scratch(const struct xai_win *g, int64_t m)
{
    return 0;
}

void xai_conv_direct_backward(const struct xai_conv_job *j, float *gy, const float *mask, float *gx)
{
}

#endif
