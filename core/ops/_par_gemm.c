/* _par_gemm.c - see _par_gemm.h. */
#include "_par_gemm.h"

#include <cblas.h>

#include "_vec.h"

/* Tiles: each one packs its own rows of A and columns of B, so a split costs copies whether
 * or not threads use it (the split cannot depend on the thread count). So: one tile below
 * PAR_GEMM_FLOPS per tile, at most PAR_GEMM_TILES, splitting n first (the columns of B are
 * packed once whatever the split of n; a split of m packs all of B again per tile), in
 * steps of at least PAR_GEMM_COLS columns, then m in steps of at least PAR_GEMM_ROWS rows. */
#define PAR_GEMM_FLOPS (4.0e6)
#define PAR_GEMM_TILES 4
#define PAR_GEMM_COLS 128
#define PAR_GEMM_ROWS 64

struct grid {
    int64_t gm, gn, mb, nb;
};

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static struct grid grid_of(const struct xai_gemm *g)
{
    double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    int64_t want = (int64_t)(flops / PAR_GEMM_FLOPS);
    want = want < 1 ? 1 : want > PAR_GEMM_TILES ? PAR_GEMM_TILES : want;
    struct grid d;
    d.gn = min64(want, g->n / PAR_GEMM_COLS);
    if (d.gn < 1) d.gn = 1;
    d.gm = min64(ceil_div(want, d.gn), g->m / PAR_GEMM_ROWS);
    if (d.gn < 1) d.gn = 1;
    if (d.gm < 1) d.gm = 1;
    d.nb = ceil_div(ceil_div(g->n, d.gn), 16) * 16;
    d.mb = ceil_div(ceil_div(g->m, d.gm), 16) * 16;
    d.gn = ceil_div(g->n, d.nb);
    d.gm = ceil_div(g->m, d.mb);
    return d;
}

struct tile_ctx {
    const struct xai_gemm *g;
    struct grid d;
};

static void tile(void *ctx, int64_t i, int tid)
{
    const struct tile_ctx *t = ctx;
    const struct xai_gemm *g = t->g;
    int64_t r0 = (i / t->d.gn) * t->d.mb, c0 = (i % t->d.gn) * t->d.nb;
    int64_t rows = min64(t->d.mb, g->m - r0), cols = min64(t->d.nb, g->n - c0);
    const float *a = g->a + (g->ta ? r0 : r0 * g->lda);
    const float *b = g->b + (g->tb ? c0 * g->ldb : c0);
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                (int)rows, (int)cols, (int)g->k, g->alpha, a, (int)g->lda, b, (int)g->ldb, g->beta,
                g->c + r0 * g->ldc + c0, (int)g->ldc);
    for (int64_t r = 0; g->relu && r < rows; r++) xai_vec_relu(cols, g->c + (r0 + r) * g->ldc + c0);
}

/* Narrow products (fewer than PAR_GEMM_COLS columns) with k of PAR_GEMM_DEPTH or more and at
 * least two tiles' worth of work split k in two halves instead of m: each half packs its own
 * half of A and B once, where tiles of rows would each pack all of B again (ResNet-18's last
 * stage at batch 1: B is 4608 x 49). The halves' sum is formed in a fixed order. */
#define PAR_GEMM_DEPTH 1024

bool xai_par_sgemm_splits_k(int64_t m, int64_t n, int64_t k)
{
    return n < PAR_GEMM_COLS && k >= PAR_GEMM_DEPTH &&
           2.0 * (double)m * (double)n * (double)k >= 2 * PAR_GEMM_FLOPS;
}

static void half(void *ctx, int64_t i, int tid)
{
    const struct xai_gemm *g = ctx;
    int64_t k0 = g->k / 2, k = i ? g->k - k0 : k0, at = i ? k0 : 0;
    const float *a = g->a + (g->ta ? at * g->lda : at), *b = g->b + (g->tb ? at : at * g->ldb);
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                (int)g->m, (int)g->n, (int)k, g->alpha, a, (int)g->lda, b, (int)g->ldb,
                i ? 0.f : g->beta, i ? g->part : g->c, (int)(i ? g->n : g->ldc));
}

#define PAR_GEMM_SUM_ROWS 64 /* rows per item of the halves' sum */

static void sum_rows(void *ctx, int64_t i, int tid)
{
    const struct xai_gemm *g = ctx;
    for (int64_t r = i * PAR_GEMM_SUM_ROWS; r < g->m && r < (i + 1) * PAR_GEMM_SUM_ROWS; r++) {
        float *c = g->c + r * g->ldc;
        xai_vec_add(g->n, g->part + r * g->n, c);
        if (g->relu) xai_vec_relu(g->n, c);
    }
}

void xai_par_sgemm(xai_par *par, const struct xai_gemm *g)
{
    if (g->m <= 0 || g->n <= 0) return;
    if (g->part && xai_par_sgemm_splits_k(g->m, g->n, g->k)) {
        xai_par_for(par, 2, half, (void *)g);
        xai_par_for(par, (g->m + PAR_GEMM_SUM_ROWS - 1) / PAR_GEMM_SUM_ROWS, sum_rows, (void *)g);
        return;
    }
    struct tile_ctx t = {g, grid_of(g)};
    xai_par_for(par, t.d.gm * t.d.gn, tile, &t);
}
