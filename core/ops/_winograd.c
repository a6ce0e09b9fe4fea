/* _winograd.c - Winograd F(4x4, 3x3) and F(2x2, 3x3) convolution: blocks of tiles, the gemms,
 * threads; see _winograd.h (the transforms are in _winograd_rows.c and _winograd2_rows.c). */
#include "_winograd.h"

#include <cblas.h>
#include <string.h>

#include "_winograd_rows.h"

/* Tiles per block: V and M of a block (np * (c + m) * tiles floats) about this size, so that
 * they stay in L2 between the transforms and the gemms, but at least WINO_MIN_TILES tiles,
 * below which the gemms get too narrow, and at least 2 c m / (c + m): each block streams all
 * of U (np * c * m floats) through its gemms, and with many channels that costs more than V
 * and M leaving L2 (ResNet-18's last two stages at batch 16: 1.3x faster with one block of
 * 256 tiles than with blocks of 32). */
#define WINO_BLOCK_FLOATS (1 << 19)
/* Tiles per sweep of the transforms: whole tile rows of one image, so that small maps fill
 * the vectors too. The four F(4x4, 3x3) transforms per tile, one thread (minimum of 5 runs):
 * 14 x 14 maps (4 rows of 4 tiles at once) 2.2x faster than row by row (75 against 162 ns),
 * 28 x 28 2.4x, 56 x 56 1.6x. */
#define WINO_SWEEP_TILES 64
#define WINO_MIN_TILES 32
#define WINO_PAR_BLOCKS 4 /* blocks from which whole blocks run in parallel (see below) */
/* Blocks of at most this many tiles are narrow: their gemms run in small slices (gemm_rows),
 * and F(4x4, 3x3) ones with the weights tap by tap transform them during the call, on the
 * threads, WINO_FLY_ROWS gemm rows per item (their U: np * WINO_FLY_ROWS * c floats, in L2). */
#define WINO_NARROW_TILES 64
#define WINO_FLY_ROWS 16
#define WINO_FLY_PAD 16 /* floats between two positions' planes of that U (see xai_wino_u_rows) */
/* Tensors (input or output side) of more floats than this prefetch the next channel's rows
 * (prefetch_rows): smaller ones stay in L2 between layers, where prefetching only costs
 * (ResNet-18's stages 1-3 backward at batch 16: 8.8-10.3 -> 7.4-8.2 ms; batch 1: 2-4 % slower). */
#define WINO_PREFETCH_FLOATS (1 << 20)

bool xai_wino_fits(const struct xai_win *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1;
}

int xai_wino_positions(int tile)
{
    return (tile + 2) * (tile + 2);
}

/* G of F(2x2, 3x3) (points 0, 1, -1, infinity); F(4x4, 3x3)'s is in _winograd_u.c, the
 * other matrices in _winograd_rows.c and _winograd2_rows.c. */
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

/* F(2x2, 3x3): U = G g G^T per kernel, in double then rounded. */
static void weights2(const float *w, int64_t m, int64_t c, float *u)
{
    for (int64_t mc = 0; mc < m * c; mc++) {
        const float *g = w + mc * 9;
        double t[4][3];
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 3; j++)
                t[k][j] = G2[k][0] * g[j] + G2[k][1] * g[3 + j] + G2[k][2] * g[6 + j];
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 4; l++)
                u[(k * 4 + l) * m * c + mc] =
                    (float)(t[k][0] * G2[l][0] + t[k][1] * G2[l][1] + t[k][2] * G2[l][2]);
    }
}

void xai_wino_weights(const float *w, int64_t m, int64_t c, int tile, float *w9, float *u)
{
    if (tile == 2) {
        weights2(w, m, c, u);
        return;
    }
    for (int64_t mc = 0; w && mc < m * c; mc++)
        for (int k = 0; k < 9; k++) w9[k * m * c + mc] = w[mc * 9 + k];
    if (u) xai_wino_u_rows(w9, m, c, 0, m, u, m * c);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Tile rows per block: about `want` tiles, whole rows, blocks evened out. */
static void cut_blocks(struct xai_wgeo *q, int64_t want)
{
    q->per = want / q->tw;
    if (q->per < 1) q->per = 1;
    if (q->per > q->rows) q->per = q->rows;
    q->blocks = (q->rows + q->per - 1) / q->per;
    q->per = (q->rows + q->blocks - 1) / q->blocks;
    q->blocks = (q->rows + q->per - 1) / q->per;
}

/* fly: the job has w9 (F(4x4, 3x3) weights that narrow blocks transform during the call). */
static struct xai_wgeo geo_of(const struct xai_win *g, int64_t m, int64_t n, int tile, bool fly)
{
    struct xai_wgeo q = {.c = g->c, .m = m, .h = g->h, .w = g->w, .oh = g->oh, .ow = g->ow};
    q.ph = g->ph;
    q.pw = g->pw;
    q.tile = tile;
    q.np = xai_wino_positions(tile);
    q.th = (q.oh + tile - 1) / tile;
    q.tw = (q.ow + tile - 1) / tile;
    q.rows = n * q.th;
    /* sweeps of about WINO_SWEEP_TILES tiles (_winograd_rows.h) */
    q.grp = q.tw < WINO_SWEEP_TILES ? WINO_SWEEP_TILES / q.tw : 1;
    q.lp = (q.grp * (tile * q.tw + 4) + 15) / 16 * 16;
    int64_t want = max64(WINO_BLOCK_FLOATS / (q.np * (q.c + q.m)), WINO_MIN_TILES);
    cut_blocks(&q, max64(want, 2 * q.c * q.m / (q.c + q.m)));
    fly = fly && tile == 4 && q.per * q.tw <= WINO_NARROW_TILES && q.blocks < WINO_PAR_BLOCKS;
    q.ub = fly ? q.np * (WINO_FLY_ROWS * max64(q.c, q.m) + WINO_FLY_PAD) : 0;
    q.scratch = (size_t)(q.np * (q.c + q.m) * q.per * q.tw + q.ub + XAI_WINO_LINES * q.lp);
    q.pf = n * (q.c * q.h * q.w > q.m * q.oh * q.ow ? q.c * q.h * q.w : q.m * q.oh * q.ow) >
           WINO_PREFETCH_FLOATS;
    return q;
}

size_t xai_wino_scratch(const struct xai_win *g, int64_t m, int64_t n, int tile, bool w9)
{
    return geo_of(g, m, n, tile, w9).scratch;
}

bool xai_wino_reads_u(const struct xai_win *g, int64_t m, int64_t n, int tile, bool w9)
{
    return geo_of(g, m, n, tile, w9).ub == 0;
}

/* ---- blocks ----
 *
 * A block's three stages (transform in, np gemms, transform out) write disjoint memory per
 * channel and per xi. Calls with few blocks run each block's stages as parallel loops over
 * channels and xi (all threads on one block, its V and M in thread 0's scratch); calls with
 * many blocks run whole blocks in parallel, each in its thread's scratch. Both compute the
 * same numbers: which one runs depends on the shape only. */

#define WINO_CHANNELS 8 /* channels per item of the transform loops */

struct blk {
    int64_t r0, r1, nt; /* tile rows [r0, r1), tiles */
    float *v, *mo;      /* [np][c][nt], [np][m][nt] */
};

struct job_ctx {
    const struct xai_wgeo *q;
    const struct xai_wino_job *j;
    const float *src, *bias, *mask; /* mask: backward through a fused Relu, its output */
    float *dst;
    bool fwd, relu;
    int64_t parity; /* backward: block 2 * item + parity */
    struct blk b;   /* the block of the per-stage loops */
};

static float *thread_scratch(const struct job_ctx *x, int tid)
{
    return x->j->scratch + (size_t)tid * x->j->stride;
}

static float *thread_lines(const struct job_ctx *x, int tid)
{
    return thread_scratch(x, tid) + x->q->scratch - XAI_WINO_LINES * x->q->lp;
}

/* The thread's weights transformed during the call (x->q->ub floats), before its lines. */
static float *thread_ub(const struct job_ctx *x, int tid)
{
    return thread_lines(x, tid) - x->q->ub;
}

static struct blk block_at(const struct job_ctx *x, int64_t b, float *scratch)
{
    const struct xai_wgeo *q = x->q;
    struct blk k;
    k.r0 = b * q->per;
    k.r1 = k.r0 + q->per < q->rows ? k.r0 + q->per : q->rows;
    k.nt = (k.r1 - k.r0) * q->tw;
    k.v = scratch;
    k.mo = scratch + q->np * q->c * k.nt;
    return k;
}

/* The transforms of the geometry's tile size (_winograd_rows.h), on g tile rows from ty. */
static void in_rows(const struct xai_wgeo *q, const float *plane, int64_t ty, int64_t g, float *v,
                    int64_t vs, float *lines)
{
    (q->tile == 2 ? xai_wino2_in_rows : xai_wino_in_rows)(q, plane, ty, g, v, vs, lines);
}

static void out_rows(const struct xai_wgeo *q, const float *m, int64_t ms, float bias, bool relu,
                     float *plane, int64_t ty, int64_t g, float *lines)
{
    (q->tile == 2 ? xai_wino2_out_rows : xai_wino_out_rows)(q, m, ms, bias, relu, plane, ty, g,
                                                            lines);
}

static void dy_rows(const struct xai_wgeo *q, const float *plane, const float *mask, int64_t ty,
                    int64_t g, float *dm, int64_t ms, float *lines)
{
    (q->tile == 2 ? xai_wino2_dy_rows : xai_wino_dy_rows)(q, plane, mask, ty, g, dm, ms, lines);
}

static void dx_rows(const struct xai_wgeo *q, const float *dv, int64_t vs, float *plane, int64_t ty,
                    int64_t g, float *lines)
{
    (q->tile == 2 ? xai_wino2_dx_rows : xai_wino_dx_rows)(q, dv, vs, plane, ty, g, lines);
}

/* Tile rows in the sweep from block row r (block rows end at r1): within one image, at most
 * q->grp. */
static int64_t sweep_rows(const struct xai_wgeo *q, int64_t r, int64_t r1)
{
    int64_t g = q->th - r % q->th;
    if (g > r1 - r) g = r1 - r;
    return g < q->grp ? g : q->grp;
}

/* Prefetches rows [y0, y1) (clipped to [0, h)) of a plane w wide. The transforms read a few
 * rows of each channel's plane in turn, planes far apart: each is a stream too short for the
 * hardware's prefetchers, so the next channel's rows are fetched while one is transformed. */
static void prefetch_rows(const float *plane, int64_t y0, int64_t y1, int64_t h, int64_t w)
{
    y0 = y0 < 0 ? 0 : y0;
    y1 = y1 > h ? h : y1;
    if (y1 <= y0) return;
    const char *p = (const char *)(plane + y0 * w), *end = (const char *)(plane + y1 * w);
    for (; p < end; p += 64) __builtin_prefetch(p, 0, 3);
}

/* The input rows under tile rows [ty, ty + g) of plane (c, h, w): forward's x, backward's dX. */
static void prefetch_in(const struct xai_wgeo *q, const float *plane, int64_t ty, int64_t g)
{
    prefetch_rows(plane, q->tile * ty - q->ph, q->tile * (ty + g) + 2 - q->ph, q->h, q->w);
}

/* The output rows of tile rows [ty, ty + g) of plane (m, oh, ow): backward's dY and mask. */
static void prefetch_out(const struct xai_wgeo *q, const float *plane, int64_t ty, int64_t g)
{
    prefetch_rows(plane, q->tile * ty, q->tile * (ty + g), q->oh, q->ow);
}

/* Forward, input channels [c0, c1): V of the block. Backward, output channels: dM. */
static void stage_in(const struct job_ctx *x, const struct blk *k, int64_t c0, int64_t c1,
                     float *lines)
{
    const struct xai_wgeo *q = x->q;
    int64_t hw = q->h * q->w, ohw = q->oh * q->ow;
    for (int64_t r = k->r0, g; r < k->r1; r += g) {
        int64_t t0 = (r - k->r0) * q->tw, ty = r % q->th;
        g = sweep_rows(q, r, k->r1);
        if (x->fwd) {
            const float *img = x->src + (r / q->th) * x->j->xs;
            for (int64_t c = c0; c < c1; c++) {
                if (q->pf && c + 1 < c1) prefetch_in(q, img + (c + 1) * hw, ty, g);
                in_rows(q, img + c * hw, ty, g, k->v + c * k->nt + t0, q->c * k->nt, lines);
            }
        } else {
            const float *gy = x->src + (r / q->th) * x->j->ys;
            const float *mask = x->mask ? x->mask + (r / q->th) * x->j->ys : NULL;
            for (int64_t m = c0; m < c1; m++) {
                if (q->pf && m + 1 < c1) {
                    prefetch_out(q, gy + (m + 1) * ohw, ty, g);
                    if (mask) prefetch_out(q, mask + (m + 1) * ohw, ty, g);
                }
                dy_rows(q, gy + m * ohw, mask ? mask + m * ohw : NULL, ty, g,
                        k->mo + m * k->nt + t0, q->m * k->nt, lines);
            }
        }
    }
}

/* Rows of C per sgemm of a position: all of them, or for narrow blocks (at most
 * WINO_NARROW_TILES tiles) slices of whole multiples of 16 rows with at most WINO_SMALL_MNK
 * multiply-adds each. OpenBLAS runs products that small through kernels that read the
 * operands in place (its "small matrix" kernels), while bigger ones first copy both operands
 * into packed buffers; with few tiles that copy of U costs about as much as the product
 * (ResNet-18's third stage at batch 1: 256 x 16 x 256 runs 1.4x faster as two halves). */
#define WINO_SMALL_MNK 1000000

static int64_t gemm_rows(int64_t rows, int64_t nt, int64_t k)
{
    if (nt > WINO_NARROW_TILES || rows * nt * k <= WINO_SMALL_MNK) return rows;
    int64_t r = WINO_SMALL_MNK / (nt * k) / 16 * 16;
    return r < 16 ? rows : r;
}

/* Rows [r0, r0 + n) of position xi's gemm, a: those rows of U_xi (forward, lda apart) or of
 * U_xi^T (backward, stored column-major: a column of n rows every lda floats). */
static void position_gemm(const struct job_ctx *x, const struct blk *k, int xi, int64_t r0, int n,
                          const float *a, int64_t lda)
{
    const struct xai_wgeo *q = x->q;
    float *v = k->v + xi * q->c * k->nt, *mo = k->mo + xi * q->m * k->nt;
    int nt = (int)k->nt;
    if (x->fwd)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nt, (int)q->c, 1.f, a, (int)lda,
                    v, nt, 0.f, mo + r0 * nt, nt);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, nt, (int)q->m, 1.f, a, (int)lda, mo,
                    nt, 0.f, v + r0 * nt, nt);
}

static void stage_gemm(const struct job_ctx *x, const struct blk *k, int xi)
{
    const struct xai_wgeo *q = x->q;
    const float *u = x->j->u + xi * q->m * q->c;
    int64_t rows = x->fwd ? q->m : q->c, depth = x->fwd ? q->c : q->m;
    int64_t step = gemm_rows(rows, k->nt, depth);
    for (int64_t r0 = 0; r0 < rows; r0 += step) {
        int n = (int)(rows - r0 < step ? rows - r0 : step);
        position_gemm(x, k, xi, r0, n, x->fwd ? u + r0 * q->c : u + r0, q->c);
    }
}

/* Forward, output channels [c0, c1): Y. Backward, input channels: dX += . */
static void stage_out(const struct job_ctx *x, const struct blk *k, int64_t c0, int64_t c1,
                      float *lines)
{
    const struct xai_wgeo *q = x->q;
    int64_t hw = q->h * q->w, ohw = q->oh * q->ow;
    for (int64_t r = k->r0, g; r < k->r1; r += g) {
        int64_t t0 = (r - k->r0) * q->tw, ty = r % q->th;
        g = sweep_rows(q, r, k->r1);
        if (x->fwd) {
            float *out = x->dst + (r / q->th) * x->j->ys;
            for (int64_t m = c0; m < c1; m++)
                out_rows(q, k->mo + m * k->nt + t0, q->m * k->nt, x->bias ? x->bias[m] : 0.f,
                         x->relu, out + m * ohw, ty, g, lines);
        } else {
            float *img = x->dst + (r / q->th) * x->j->xs;
            for (int64_t c = c0; c < c1; c++) {
                if (q->pf && c + 1 < c1) prefetch_in(q, img + (c + 1) * hw, ty, g);
                dx_rows(q, k->v + c * k->nt + t0, q->c * k->nt, img + c * hw, ty, g, lines);
            }
        }
    }
}

static int64_t in_channels(const struct job_ctx *x)
{
    return x->fwd ? x->q->c : x->q->m;
}

static int64_t out_channels(const struct job_ctx *x)
{
    return x->fwd ? x->q->m : x->q->c;
}

/* Whole block b (per-block mode), in the thread's scratch. */
static void run_block(void *ctx, int64_t i, int tid)
{
    const struct job_ctx *x = ctx;
    struct blk k = block_at(x, x->fwd ? i : 2 * i + x->parity, thread_scratch(x, tid));
    float *lines = thread_lines(x, tid);
    stage_in(x, &k, 0, in_channels(x), lines);
    for (int xi = 0; xi < x->q->np; xi++) stage_gemm(x, &k, xi);
    stage_out(x, &k, 0, out_channels(x), lines);
}

static void chunk(int64_t i, int64_t n, int64_t *c0, int64_t *c1)
{
    *c0 = i * WINO_CHANNELS;
    *c1 = *c0 + WINO_CHANNELS < n ? *c0 + WINO_CHANNELS : n;
}

static void stage_in_item(void *ctx, int64_t i, int tid)
{
    const struct job_ctx *x = ctx;
    int64_t c0, c1;
    chunk(i, in_channels(x), &c0, &c1);
    stage_in(x, &x->b, c0, c1, thread_lines(x, tid));
}

static void stage_gemm_item(void *ctx, int64_t i, int tid)
{
    const struct job_ctx *x = ctx;
    stage_gemm(x, &x->b, (int)i);
}

static void stage_out_item(void *ctx, int64_t i, int tid)
{
    const struct job_ctx *x = ctx;
    int64_t c0, c1;
    chunk(i, out_channels(x), &c0, &c1);
    stage_out(x, &x->b, c0, c1, thread_lines(x, tid));
}

/* The gemms of rows [16i, 16i + 16) of every position, with those rows of U transformed
 * first (forward: output channels, U_xi's rows; backward: input channels, U_xi^T's rows). */
static void stage_fly_item(void *ctx, int64_t i, int tid)
{
    const struct job_ctx *x = ctx;
    const struct xai_wgeo *q = x->q;
    const struct blk *k = &x->b;
    int64_t r0 = i * WINO_FLY_ROWS, rows = x->fwd ? q->m : q->c;
    int n = (int)(rows - r0 < WINO_FLY_ROWS ? rows - r0 : WINO_FLY_ROWS);
    float *ub = thread_ub(x, tid);
    int64_t ps = n * (x->fwd ? q->c : q->m) + WINO_FLY_PAD;
    if (x->fwd)
        xai_wino_u_rows(x->j->w9, q->m, q->c, r0, n, ub, ps);
    else
        xai_wino_u_cols(x->j->w9, q->m, q->c, r0, n, ub, ps);
    for (int xi = 0; xi < q->np; xi++)
        position_gemm(x, k, xi, r0, n, ub + xi * ps, x->fwd ? q->c : n);
}

/* Block b with every stage a parallel loop (per-stage mode), in thread 0's scratch. */
static void run_stages(struct job_ctx *x, int64_t b)
{
    x->b = block_at(x, b, thread_scratch(x, 0));
    int64_t ci = in_channels(x), co = out_channels(x);
    xai_par_for(x->j->par, (ci + WINO_CHANNELS - 1) / WINO_CHANNELS, stage_in_item, x);
    if (x->q->ub)
        xai_par_for(x->j->par, (co + WINO_FLY_ROWS - 1) / WINO_FLY_ROWS, stage_fly_item, x);
    else
        xai_par_for(x->j->par, x->q->np, stage_gemm_item, x);
    xai_par_for(x->j->par, (co + WINO_CHANNELS - 1) / WINO_CHANNELS, stage_out_item, x);
}

/* Forward: every block. Backward: the even blocks, then the odd ones (patches of adjacent
 * blocks overlap in dX). */
static void run_job(struct job_ctx *x)
{
    int64_t blocks = x->q->blocks;
    for (int pass = 0; pass < (x->fwd ? 1 : 2); pass++) {
        x->parity = pass;
        int64_t n = x->fwd ? blocks : (blocks + 1 - pass) / 2;
        if (blocks >= WINO_PAR_BLOCKS) {
            xai_par_for(x->j->par, n, run_block, x);
            continue;
        }
        for (int64_t i = 0; i < n; i++) run_stages(x, x->fwd ? i : 2 * i + pass);
    }
}

void xai_wino_forward(const struct xai_wino_job *j, const float *x, const float *bias, bool relu,
                      float *y)
{
    struct xai_wgeo q = geo_of(j->g, j->m, j->n, j->tile, j->w9 != NULL);
    struct job_ctx c = {&q, j, x, bias, NULL, y, true, relu, 0, {0}};
    run_job(&c);
}

void xai_wino_backward(const struct xai_wino_job *j, const float *gy, const float *mask, float *gx)
{
    struct xai_wgeo q = geo_of(j->g, j->m, j->n, j->tile, j->w9 != NULL);
    struct job_ctx c = {&q, j, gy, NULL, mask, gx, false, false, 0, {0}};
    run_job(&c);
}
