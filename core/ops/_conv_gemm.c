/*
 * _conv_gemm.c - Conv through im2col + sgemm; see _conv_paths.h.
 *
 * Per batch item and group: Y_g[M_g, OH*OW] = W_g[M_g, C_g*kh*kw] . col(X_g), the column
 * matrix built by bands of output rows (skipped for 1x1 stride-1 unpadded kernels, where it
 * is X_g itself); backward dX_g += col2im(W_g^T . dY_g). Small feature maps put several items
 * side by side in one column matrix (chunks).
 *
 * Threads: several chunks or items run in parallel, each in its thread's scratch. A single
 * item runs its bands in parallel when it has many (backward: even bands, then odd ones,
 * when bands two apart read disjoint input rows), otherwise band after band with the
 * im2col / col2im split by channels and the gemm by tiles (_par_gemm.h). Which of these runs
 * depends on the shape only, and each gives the same numbers with or without threads.
 */
#include <cblas.h>
#include <string.h>

#include "_conv_paths.h"
#include "_conv_util.h"
#include "_par_gemm.h"
#include "_pgemm.h"
#include "_vec.h"

/* Batch items per gemm: small feature maps put several items side by side in one column
 * matrix, so that the gemm is wide enough and the weights are packed once for all. */
#define CONV_GEMM_COLS 384

/* Column matrices of big feature maps are built for a band of output rows at a time, so that
 * they stay in cache between im2col and the gemm (or the gemm and col2im): about
 * CONV_BAND_FLOATS floats per band, but at least CONV_BAND_COLS columns, below which the gemm
 * loses more than the cache gains. */
#define CONV_BAND_FLOATS (96 * 1024)
#define CONV_BAND_COLS 448

/* Products of at most this many columns run on packed weights when the job has them
 * (_pgemm.h): batch 1 on maps of 8x8 and less. Wider ones (256, 1024 columns) gained nothing
 * over OpenBLAS, which packs them once for many columns. */
#ifndef CONV_PGEMM_COLS
#define CONV_PGEMM_COLS 64
#endif

#define CONV_PAR_BANDS 4     /* bands from which whole bands run in parallel */
#define CONV_PAR_CHANNELS 16 /* channels per item of a parallel im2col / col2im */

static int64_t chunk_items(const struct xai_win *g, int64_t n)
{
    int64_t ohw = g->oh * g->ow, k = (CONV_GEMM_COLS + ohw - 1) / ohw;
    return k < n ? k : n > 1 ? n : 1;
}

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

/* Sizes for one group, and the strides of batch items. */
struct dims {
    int64_t mg, kk, hw, ohw, xs, ys, rows, bands;
    bool pointwise;
};

static struct dims dims_of(const struct xai_conv_job *j)
{
    const struct xai_win *g = j->g;
    struct dims d;
    d.mg = j->m / j->group;
    d.kk = g->c * g->kh * g->kw;
    d.hw = g->h * g->w;
    d.ohw = g->oh * g->ow;
    d.xs = g->c * j->group * d.hw;
    d.ys = j->m * d.ohw;
    d.pointwise = xai_win_is_pointwise(g);
    d.rows = d.pointwise ? g->oh : band_rows(g, d.kk);
    d.bands = (g->oh + d.rows - 1) / d.rows;
    return d;
}

size_t xai_conv_gemm_scratch(const struct xai_win *g, int64_t m, int64_t group, int64_t n)
{
    struct xai_conv_job j = {g, m, group, n};
    struct dims d = dims_of(&j);
    int64_t nb = chunk_items(g, n);
    if (nb > 1) return (size_t)((d.kk + d.mg) * nb * d.ohw);
    if (d.pointwise) return 0;
    /* a band's column matrix, and the second half of a gemm that splits k (_par_gemm.h) */
    int64_t cols = d.rows * g->ow;
    return (size_t)(d.kk * cols + (xai_par_sgemm_splits_k(d.mg, cols, d.kk) ? d.mg * cols : 0));
}

bool xai_conv_gemm_narrow(const struct xai_win *g, int64_t n)
{
    int64_t nb = chunk_items(g, n), ohw = g->oh * g->ow, cols;
    if (nb > 1)
        cols = nb * ohw;
    else if (xai_win_is_pointwise(g))
        cols = ohw;
    else
        cols = band_rows(g, g->c * g->kh * g->kw) * g->ow; /* the widest band's */
    return cols <= CONV_PGEMM_COLS;
}

/* How one item or chunk runs: on the pool (par), or on one thread whose scratch is at
 * scratch (par NULL, stride 0). */
struct exec {
    xai_par *par;
    float *scratch;
    size_t stride;
};

/* The work of one item or chunk, shared with the parallel loops inside it. */
struct part {
    const struct xai_conv_job *j;
    const struct exec *e;
    struct dims d;
    int64_t gi, nb;  /* group; batch items (chunks) */
    const float *in; /* x (forward) or dy (backward) of the item / chunk */
    float *out;      /* y or dx */
    float *col;      /* per-stage loops: the shared column matrix */
    struct xai_win band;
    int64_t y0, cols, parity;
};

static float *scratch_at(const struct exec *e, int tid)
{
    return e->scratch + (size_t)tid * e->stride;
}

static const float *weights(const struct part *t)
{
    return t->j->w + t->gi * t->d.mg * t->d.kk;
}

/* The group's part of the job's packed weights (trans: their transposes', _pgemm.h) for a
 * product of cols columns, or NULL: none, or too wide for them. */
static const float *packed(const struct part *t, bool trans, int64_t cols)
{
    const float *wp = trans ? t->j->wtp : t->j->wp;
    if (!wp || cols > CONV_PGEMM_COLS) return NULL;
    return wp + (size_t)t->gi * (trans ? xai_pgemm_floats(t->d.kk, t->d.mg)
                                       : xai_pgemm_floats(t->d.mg, t->d.kk));
}

/* The product of a group's weights (mm->ta: their transpose) and mm->b: on the packed ones
 * when the job has them and it is narrow enough, otherwise OpenBLAS. */
static void group_gemm(const struct part *t, const struct xai_gemm *mm)
{
    const float *wp = packed(t, mm->ta, mm->n);
    if (wp)
        xai_pgemm(t->e->par, wp, mm->m, mm->k, mm->b, mm->ldb, mm->n, mm->beta != 0.f, mm->relu,
                  mm->c, mm->ldc);
    else
        xai_par_sgemm(t->e->par, mm);
}

/* The band starting at output row y0. */
static void set_band(struct part *t, int64_t y0)
{
    int64_t n = t->j->g->oh - y0 < t->d.rows ? t->j->g->oh - y0 : t->d.rows;
    t->y0 = y0;
    t->cols = n * t->j->g->ow;
    t->band = band_of(t->j->g, y0, n);
}

/* ---- forward of one item ---- */

static void fwd_band(void *ctx, int64_t i, int tid)
{
    struct part t = *(const struct part *)ctx;
    set_band(&t, i * t.d.rows);
    float *col = scratch_at(t.e, tid);
    const float *xg = t.in + t.gi * t.j->g->c * t.d.hw;
    xai_im2col(&t.band, xg, col, t.cols);
    float *y = t.out + t.gi * t.d.mg * t.d.ohw + t.y0 * t.j->g->ow;
    const float *wp = packed(&t, false, t.cols);
    if (wp) {
        xai_pgemm(NULL, wp, t.d.mg, t.d.kk, col, t.cols, t.cols, t.j->b, t.j->relu, y, t.d.ohw);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)t.d.mg, (int)t.cols, (int)t.d.kk,
                1.f, weights(&t), (int)t.d.kk, col, (int)t.cols, t.j->b ? 1.f : 0.f, y,
                (int)t.d.ohw);
    for (int64_t m = 0; t.j->relu && m < t.d.mg; m++) xai_vec_relu(t.cols, y + m * t.d.ohw);
}

/* Channels [16i, 16i + 16) of the column matrix of the current band. */
static void im2col_part(void *ctx, int64_t i, int tid)
{
    const struct part *t = ctx;
    int64_t c0 = i * CONV_PAR_CHANNELS, taps = t->j->g->kh * t->j->g->kw;
    struct xai_win b = t->band;
    b.c = t->j->g->c - c0 < CONV_PAR_CHANNELS ? t->j->g->c - c0 : CONV_PAR_CHANNELS;
    xai_im2col(&b, t->in + (t->gi * t->j->g->c + c0) * t->d.hw, t->col + c0 * taps * t->cols,
               t->cols);
}

static int64_t channel_parts(const struct xai_win *g)
{
    return (g->c + CONV_PAR_CHANNELS - 1) / CONV_PAR_CHANNELS;
}

static void forward_item(const struct xai_conv_job *j, const struct exec *e, const float *x,
                         float *y)
{
    struct part t = {j, e, dims_of(j), 0, 1, x, y, scratch_at(e, 0)};
    if (j->b)
        for (int64_t m = 0; m < j->m; m++) xai_vec_fill(t.d.ohw, j->b[m], y + m * t.d.ohw);
    for (t.gi = 0; t.gi < j->group; t.gi++) {
        float *yg = y + t.gi * t.d.mg * t.d.ohw;
        if (t.d.pointwise) {
            struct xai_gemm mm = {.m = t.d.mg,
                                  .n = t.d.ohw,
                                  .k = t.d.kk,
                                  .alpha = 1.f,
                                  .a = weights(&t),
                                  .lda = t.d.kk,
                                  .b = x + t.gi * j->g->c * t.d.hw,
                                  .ldb = t.d.ohw,
                                  .beta = j->b ? 1.f : 0.f,
                                  .c = yg,
                                  .ldc = t.d.ohw,
                                  .relu = j->relu};
            group_gemm(&t, &mm);
        } else if (t.d.bands >= CONV_PAR_BANDS) {
            xai_par_for(e->par, t.d.bands, fwd_band, &t);
        } else {
            for (int64_t y0 = 0; y0 < j->g->oh; y0 += t.d.rows) {
                set_band(&t, y0);
                xai_par_for(e->par, channel_parts(j->g), im2col_part, &t);
                struct xai_gemm mm = {.m = t.d.mg,
                                      .n = t.cols,
                                      .k = t.d.kk,
                                      .alpha = 1.f,
                                      .a = weights(&t),
                                      .lda = t.d.kk,
                                      .b = t.col,
                                      .ldb = t.cols,
                                      .beta = j->b ? 1.f : 0.f,
                                      .c = yg + y0 * j->g->ow,
                                      .ldc = t.d.ohw,
                                      .relu = j->relu,
                                      .part = t.col + t.d.kk * t.d.rows * j->g->ow};
                group_gemm(&t, &mm);
            }
        }
    }
}

/* ---- backward of one item ---- */

static void bwd_band(void *ctx, int64_t i, int tid)
{
    struct part t = *(const struct part *)ctx;
    set_band(&t, (2 * i + t.parity) * t.d.rows);
    float *col = scratch_at(t.e, tid);
    const float *gy = t.in + t.gi * t.d.mg * t.d.ohw + t.y0 * t.j->g->ow;
    const float *wtp = packed(&t, true, t.cols);
    if (wtp)
        xai_pgemm(NULL, wtp, t.d.kk, t.d.mg, gy, t.d.ohw, t.cols, false, false, col, t.cols);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)t.d.kk, (int)t.cols, (int)t.d.mg,
                    1.f, weights(&t), (int)t.d.kk, gy, (int)t.d.ohw, 0.f, col, (int)t.cols);
    xai_col2im_add(&t.band, col, t.cols, t.out + t.gi * t.j->g->c * t.d.hw);
}

static void col2im_part(void *ctx, int64_t i, int tid)
{
    const struct part *t = ctx;
    int64_t c0 = i * CONV_PAR_CHANNELS, taps = t->j->g->kh * t->j->g->kw;
    struct xai_win b = t->band;
    b.c = t->j->g->c - c0 < CONV_PAR_CHANNELS ? t->j->g->c - c0 : CONV_PAR_CHANNELS;
    xai_col2im_add(&b, t->col + c0 * taps * t->cols, t->cols,
                   t->out + (t->gi * t->j->g->c + c0) * t->d.hw);
}

/* Bands two apart add into disjoint input rows: (rows + 1) * sh > (kh - 1) * dh. */
static bool bands_apart(const struct xai_win *g, const struct dims *d)
{
    return (d->rows + 1) * g->sh > (g->kh - 1) * g->dh;
}

static void backward_item(const struct xai_conv_job *j, const struct exec *e, const float *gy,
                          float *gx)
{
    struct part t = {j, e, dims_of(j), 0, 1, gy, gx, scratch_at(e, 0)};
    for (t.gi = 0; t.gi < j->group; t.gi++) {
        const float *gyg = gy + t.gi * t.d.mg * t.d.ohw;
        if (t.d.pointwise) {
            struct xai_gemm mm = {.ta = true,
                                  .m = t.d.kk,
                                  .n = t.d.ohw,
                                  .k = t.d.mg,
                                  .alpha = 1.f,
                                  .a = weights(&t),
                                  .lda = t.d.kk,
                                  .b = gyg,
                                  .ldb = t.d.ohw,
                                  .beta = 1.f,
                                  .c = gx + t.gi * j->g->c * t.d.hw,
                                  .ldc = t.d.ohw};
            group_gemm(&t, &mm);
        } else if (t.d.bands >= CONV_PAR_BANDS && bands_apart(j->g, &t.d)) {
            for (t.parity = 0; t.parity < 2; t.parity++)
                xai_par_for(e->par, (t.d.bands + 1 - t.parity) / 2, bwd_band, &t);
        } else {
            for (int64_t y0 = 0; y0 < j->g->oh; y0 += t.d.rows) {
                set_band(&t, y0);
                struct xai_gemm mm = {.ta = true,
                                      .m = t.d.kk,
                                      .n = t.cols,
                                      .k = t.d.mg,
                                      .alpha = 1.f,
                                      .a = weights(&t),
                                      .lda = t.d.kk,
                                      .b = gyg + y0 * j->g->ow,
                                      .ldb = t.d.ohw,
                                      .beta = 0.f,
                                      .c = t.col,
                                      .ldc = t.cols};
                group_gemm(&t, &mm);
                xai_par_for(e->par, channel_parts(j->g), col2im_part, &t);
            }
        }
    }
}

/* ---- chunks: nb items side by side, one gemm per group into a staging matrix ---- */

static void chunk_im2col(void *ctx, int64_t i, int tid)
{
    const struct part *t = ctx;
    int64_t cols = t->nb * t->d.ohw;
    xai_im2col(t->j->g, t->in + i * t->d.xs + t->gi * t->j->g->c * t->d.hw, t->col + i * t->d.ohw,
               cols);
}

static void chunk_store(void *ctx, int64_t i, int tid)
{
    const struct part *t = ctx;
    int64_t cols = t->nb * t->d.ohw;
    const float *stage = t->col + t->d.kk * cols;
    for (int64_t m = 0; m < t->d.mg; m++) {
        int64_t mm = t->gi * t->d.mg + m;
        float b = t->j->b ? t->j->b[mm] : 0.f, *y = t->out + i * t->d.ys + mm * t->d.ohw;
        if (t->j->relu)
            xai_vec_affine_relu(t->d.ohw, 1.f, b, stage + m * cols + i * t->d.ohw, y);
        else
            xai_vec_affine(t->d.ohw, 1.f, b, stage + m * cols + i * t->d.ohw, y);
    }
}

static void forward_chunk(const struct xai_conv_job *j, const struct exec *e, const float *x,
                          float *y, int64_t nb)
{
    struct part t = {j, e, dims_of(j), 0, nb, x, y, scratch_at(e, 0)};
    int64_t cols = nb * t.d.ohw;
    for (t.gi = 0; t.gi < j->group; t.gi++) {
        xai_par_for(e->par, nb, chunk_im2col, &t);
        struct xai_gemm mm = {.m = t.d.mg,
                              .n = cols,
                              .k = t.d.kk,
                              .alpha = 1.f,
                              .a = weights(&t),
                              .lda = t.d.kk,
                              .b = t.col,
                              .ldb = cols,
                              .beta = 0.f,
                              .c = t.col + t.d.kk * cols,
                              .ldc = cols};
        group_gemm(&t, &mm);
        xai_par_for(e->par, nb, chunk_store, &t);
    }
}

static void chunk_load(void *ctx, int64_t i, int tid)
{
    const struct part *t = ctx;
    int64_t cols = t->nb * t->d.ohw;
    float *stage = t->col + t->d.kk * cols;
    for (int64_t m = 0; m < t->d.mg; m++)
        memcpy(stage + m * cols + i * t->d.ohw,
               t->in + i * t->d.ys + (t->gi * t->d.mg + m) * t->d.ohw,
               sizeof(float) * (size_t)t->d.ohw);
}

static void chunk_col2im(void *ctx, int64_t i, int tid)
{
    const struct part *t = ctx;
    xai_col2im_add(t->j->g, t->col + i * t->d.ohw, t->nb * t->d.ohw,
                   t->out + i * t->d.xs + t->gi * t->j->g->c * t->d.hw);
}

static void backward_chunk(const struct xai_conv_job *j, const struct exec *e, const float *gy,
                           float *gx, int64_t nb)
{
    struct part t = {j, e, dims_of(j), 0, nb, gy, gx, scratch_at(e, 0)};
    int64_t cols = nb * t.d.ohw;
    for (t.gi = 0; t.gi < j->group; t.gi++) {
        xai_par_for(e->par, nb, chunk_load, &t);
        struct xai_gemm mm = {.ta = true,
                              .m = t.d.kk,
                              .n = cols,
                              .k = t.d.mg,
                              .alpha = 1.f,
                              .a = weights(&t),
                              .lda = t.d.kk,
                              .b = t.col + t.d.kk * cols,
                              .ldb = cols,
                              .beta = 0.f,
                              .c = t.col,
                              .ldc = cols};
        group_gemm(&t, &mm);
        xai_par_for(e->par, nb, chunk_col2im, &t);
    }
}

/* ---- all items ---- */

struct all_ctx {
    const struct xai_conv_job *j;
    const float *in;
    float *out;
    int64_t nb;
    bool fwd;
};

/* Items [i*nb, i*nb + nb) on one thread. */
static void run_chunk(const struct all_ctx *a, const struct exec *e, int64_t i)
{
    struct dims d = dims_of(a->j);
    int64_t first = i * a->nb, nb = a->j->n - first < a->nb ? a->j->n - first : a->nb;
    const float *in = a->in + first * (a->fwd ? d.xs : d.ys);
    float *out = a->out + first * (a->fwd ? d.ys : d.xs);
    if (a->fwd && a->nb > 1)
        forward_chunk(a->j, e, in, out, nb);
    else if (a->fwd)
        forward_item(a->j, e, in, out);
    else if (a->nb > 1)
        backward_chunk(a->j, e, in, out, nb);
    else
        backward_item(a->j, e, in, out);
}

static void chunk_on_thread(void *ctx, int64_t i, int tid)
{
    const struct all_ctx *a = ctx;
    struct exec e = {NULL, a->j->scratch + (size_t)tid * a->j->stride, 0};
    run_chunk(a, &e, i);
}

static void run_all(const struct xai_conv_job *j, const float *in, float *out, bool fwd)
{
    struct all_ctx a = {j, in, out, chunk_items(j->g, j->n), fwd};
    int64_t chunks = (j->n + a.nb - 1) / a.nb;
    if (chunks > 1) {
        xai_par_for(j->par, chunks, chunk_on_thread, &a);
        return;
    }
    struct exec e = {j->par, j->scratch, j->stride};
    run_chunk(&a, &e, 0);
}

void xai_conv_gemm_forward(const struct xai_conv_job *j, const float *x, float *y)
{
    run_all(j, x, y, true);
}

void xai_conv_gemm_backward(const struct xai_conv_job *j, const float *gy, float *gx)
{
    run_all(j, gy, gx, false);
}
