/*
 * _conv_shift.c - Conv by shifted views; see _conv_paths.h.
 *
 * Stride-1 convolutions with few output channels skip im2col: their column matrix (C*kh*kw
 * rows) costs more to write and read than the gemm spends on it. Instead the input is copied
 * once, zero-padded, into planes of width pw = ow + (kw-1)*dw, in which the pixels that kernel
 * tap (i, j) reads for output position (y, x) sit at a fixed offset i*dh*pw + j*dw from
 * position y*pw + x. So each tap is one gemm over a shifted view of the padded planes,
 * accumulated into an output of width pw whose last (kw-1)*dw columns are garbage and dropped
 * (about 2/ow more arithmetic). Backward runs the same views transposed, accumulating into a
 * zeroed padded gradient, with zeros in the garbage columns of dY.
 *
 * Threads: several batch items run in parallel; one item splits the forward gemms by blocks
 * of output columns and output channels, the backward ones by input channels (their outputs
 * overlap across column blocks but not across channels).
 */
#include <cblas.h>
#include <string.h>

#include "_conv_paths.h"
#include "_conv_util.h"
#include "_vec.h"

#define CONV_SHIFT_MAX_M 64
/* Output columns per block: the taps' gemms run block by block, so that the part of the
 * padded copy they read (blocks overlap by the largest shift) stays in cache across taps. */
#define CONV_SHIFT_COLS 1024
#define CONV_SHIFT_CHANNELS 16 /* input channels per item of the parallel backward */
#define CONV_SHIFT_ROWS 16     /* output channels per item of the parallel forward */

struct shift_dims {
    int64_t rows, cols; /* padded plane: oh + (kh-1)*dh rows of ow + (kw-1)*dw */
    int64_t ld;         /* floats per padded plane, with slack for the last taps' views */
    int64_t n;          /* output columns, oh * pw */
    int64_t taps, mc;   /* kernel taps; floats of one tap's weights [M, C] */
};

bool xai_conv_shift_fits(const struct xai_win *g, int64_t m, int64_t group, int64_t n)
{
    bool one = n == 1 || g->oh * g->ow >= 384; /* otherwise the gemm path batches items */
    return one && group == 1 && g->sh == 1 && g->sw == 1 && !xai_win_is_pointwise(g) &&
           m <= CONV_SHIFT_MAX_M;
}

static struct shift_dims shift_dims_of(const struct xai_win *g, int64_t m)
{
    struct shift_dims s;
    s.rows = g->oh + (g->kh - 1) * g->dh;
    s.cols = g->ow + (g->kw - 1) * g->dw;
    s.ld = s.rows * s.cols + (g->kw - 1) * g->dw;
    s.n = g->oh * s.cols;
    s.taps = g->kh * g->kw;
    s.mc = m * g->c;
    return s;
}

/* Scratch: padded planes [C, ld], tap-major weights [taps, M, C], output [M, n]. */
size_t xai_conv_shift_scratch(const struct xai_win *g, int64_t m)
{
    struct shift_dims s = shift_dims_of(g, m);
    return (size_t)(g->c * s.ld + s.taps * s.mc + m * s.n);
}

/* wt[t][m][c] = w[m][c][t]. */
static void shift_weights(const struct shift_dims *s, const float *w, float *wt)
{
    for (int64_t mc = 0; mc < s->mc; mc++)
        for (int64_t t = 0; t < s->taps; t++) wt[t * s->mc + mc] = w[mc * s->taps + t];
}

/* Offset of tap t's view in the padded planes. */
static int64_t shift_of(const struct shift_dims *s, const struct xai_win *g, int64_t t)
{
    return (t / g->kw) * g->dh * s->cols + (t % g->kw) * g->dw;
}

/* One item's work, shared with the parallel loops inside it. */
struct item {
    const struct xai_conv_job *j;
    struct shift_dims s;
    float *xp, *wt, *yp; /* padded planes (or their gradient), weights, output (or dY) */
};

static void pad_planes(const struct item *t, const float *x)
{
    const struct xai_win *g = t->j->g;
    const struct shift_dims *s = &t->s;
    /* padded plane row r, column q holds x[r - ph][q - pw] (zero outside the image) */
    for (int64_t c = 0; c < g->c; c++) {
        float *plane = t->xp + c * s->ld;
        for (int64_t r = 0; r < s->rows; r++) {
            float *row = plane + r * s->cols;
            int64_t sr = r - g->ph, lo, hi;
            xai_win_span(-g->pw, 1, g->w, s->cols, &lo, &hi);
            if (sr < 0 || sr >= g->h) lo = hi = 0;
            memset(row, 0, sizeof(float) * (size_t)lo);
            if (hi > lo)
                memcpy(row + lo, x + (c * g->h + sr) * g->w + lo - g->pw,
                       sizeof(float) * (size_t)(hi - lo));
            memset(row + hi, 0, sizeof(float) * (size_t)(s->cols - hi));
        }
        memset(plane + s->rows * s->cols, 0, sizeof(float) * (size_t)(s->ld - s->rows * s->cols));
    }
}

static int64_t col_blocks(const struct shift_dims *s)
{
    return (s->n + CONV_SHIFT_COLS - 1) / CONV_SHIFT_COLS;
}

static int64_t row_blocks(int64_t m)
{
    return (m + CONV_SHIFT_ROWS - 1) / CONV_SHIFT_ROWS;
}

/* Forward, output columns [1024 c, 1024 c + 1024) of output channels [16 r, 16 r + 16):
 * every tap's gemm (item i = c * row_blocks + r). */
static void fwd_cols(void *ctx, int64_t i, int tid)
{
    const struct item *t = ctx;
    const struct xai_win *g = t->j->g;
    int64_t rb = row_blocks(t->j->m), n0 = (i / rb) * CONV_SHIFT_COLS;
    int64_t m0 = (i % rb) * CONV_SHIFT_ROWS, mb = t->j->m - m0;
    int64_t nb = t->s.n - n0 < CONV_SHIFT_COLS ? t->s.n - n0 : CONV_SHIFT_COLS;
    if (mb > CONV_SHIFT_ROWS) mb = CONV_SHIFT_ROWS;
    for (int64_t k = 0; k < t->s.taps; k++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mb, (int)nb, (int)g->c, 1.f,
                    t->wt + k * t->s.mc + m0 * g->c, (int)g->c, t->xp + shift_of(&t->s, g, k) + n0,
                    (int)t->s.ld, k ? 1.f : 0.f, t->yp + m0 * t->s.n + n0, (int)t->s.n);
}

static void forward_item(const struct xai_conv_job *j, xai_par *par, float *scratch, const float *x,
                         float *y)
{
    const struct xai_win *g = j->g;
    struct item t = {j, shift_dims_of(g, j->m), scratch};
    t.wt = t.xp + g->c * t.s.ld;
    t.yp = t.wt + t.s.taps * t.s.mc;
    pad_planes(&t, x);
    shift_weights(&t.s, j->w, t.wt);
    xai_par_for(par, col_blocks(&t.s) * row_blocks(j->m), fwd_cols, &t);
    for (int64_t m = 0; m < j->m; m++)
        for (int64_t oy = 0; oy < g->oh; oy++) {
            const float *src = t.yp + m * t.s.n + oy * t.s.cols;
            float b = j->b ? j->b[m] : 0.f, *dst = y + (m * g->oh + oy) * g->ow;
            if (j->relu)
                xai_vec_affine_relu(g->ow, 1.f, b, src, dst);
            else
                xai_vec_affine(g->ow, 1.f, b, src, dst);
        }
}

/* Backward, input channels [16 i, 16 i + 16): every column block's taps. */
static void bwd_channels(void *ctx, int64_t i, int tid)
{
    const struct item *t = ctx;
    const struct xai_win *g = t->j->g;
    int64_t c0 = i * CONV_SHIFT_CHANNELS;
    int cb = (int)(g->c - c0 < CONV_SHIFT_CHANNELS ? g->c - c0 : CONV_SHIFT_CHANNELS);
    for (int64_t n0 = 0; n0 < t->s.n; n0 += CONV_SHIFT_COLS) {
        int64_t nb = t->s.n - n0 < CONV_SHIFT_COLS ? t->s.n - n0 : CONV_SHIFT_COLS;
        for (int64_t k = 0; k < t->s.taps; k++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cb, (int)nb, (int)t->j->m, 1.f,
                        t->wt + k * t->s.mc + c0, (int)g->c, t->yp + n0, (int)t->s.n, 1.f,
                        t->xp + c0 * t->s.ld + shift_of(&t->s, g, k) + n0, (int)t->s.ld);
    }
}

static void backward_item(const struct xai_conv_job *j, xai_par *par, float *scratch,
                          const float *gy, float *gx)
{
    const struct xai_win *g = j->g;
    struct item t = {j, shift_dims_of(g, j->m), scratch};
    t.wt = t.xp + g->c * t.s.ld;
    t.yp = t.wt + t.s.taps * t.s.mc;
    for (int64_t m = 0; m < j->m; m++)
        for (int64_t oy = 0; oy < g->oh; oy++) {
            float *row = t.yp + m * t.s.n + oy * t.s.cols;
            memcpy(row, gy + (m * g->oh + oy) * g->ow, sizeof(float) * (size_t)g->ow);
            memset(row + g->ow, 0, sizeof(float) * (size_t)(t.s.cols - g->ow));
        }
    memset(t.xp, 0, sizeof(float) * (size_t)(g->c * t.s.ld));
    shift_weights(&t.s, j->w, t.wt);
    xai_par_for(par, (g->c + CONV_SHIFT_CHANNELS - 1) / CONV_SHIFT_CHANNELS, bwd_channels, &t);
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t r = 0; r < g->h; r++) {
            int64_t pr = r + g->ph, lo, hi;
            if (pr >= t.s.rows) break;
            xai_win_span(g->pw, 1, t.s.cols, g->w, &lo, &hi);
            xai_vec_add(hi - lo, t.xp + c * t.s.ld + pr * t.s.cols + lo + g->pw,
                        gx + (c * g->h + r) * g->w + lo);
        }
}

struct all_ctx {
    const struct xai_conv_job *j;
    const float *in;
    float *out;
    bool fwd;
};

static void item_on_thread(void *ctx, int64_t i, int tid)
{
    const struct all_ctx *a = ctx;
    const struct xai_conv_job *j = a->j;
    int64_t xs = j->g->c * j->g->h * j->g->w, ys = j->m * j->g->oh * j->g->ow;
    float *scratch = j->scratch + (size_t)tid * j->stride;
    if (a->fwd)
        forward_item(j, NULL, scratch, a->in + i * xs, a->out + i * ys);
    else
        backward_item(j, NULL, scratch, a->in + i * ys, a->out + i * xs);
}

static void run_all(const struct xai_conv_job *j, const float *in, float *out, bool fwd)
{
    struct all_ctx a = {j, in, out, fwd};
    if (j->n > 1)
        xai_par_for(j->par, j->n, item_on_thread, &a);
    else if (fwd)
        forward_item(j, j->par, j->scratch, in, out);
    else
        backward_item(j, j->par, j->scratch, in, out);
}

void xai_conv_shift_forward(const struct xai_conv_job *j, const float *x, float *y)
{
    run_all(j, x, y, true);
}

void xai_conv_shift_backward(const struct xai_conv_job *j, const float *gy, float *gx)
{
    run_all(j, gy, gx, false);
}
