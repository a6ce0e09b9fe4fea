/* _im2col.c - im2col / col2im over one image; see _im2col.h. */
#include "_im2col.h"

#include <stdbool.h>
#include <string.h>

#include "_vec.h"

void xai_win_span(int64_t off, int64_t stride, int64_t size, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t b = size - off <= 0 ? 0 : (size - off + stride - 1) / stride;
    if (a > n) a = n;
    if (b > n) b = n;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* Kernel tap (i, j): the window positions that read inside the image, and where they read. */
struct tap {
    int64_t ylo, yhi, xlo, xhi;
    int64_t yoff, xoff; /* image row = y*sh + yoff, column = x*sw + xoff */
};

static struct tap tap_of(const struct xai_win *g, int64_t i, int64_t j)
{
    struct tap t;
    t.yoff = i * g->dh - g->ph;
    t.xoff = j * g->dw - g->pw;
    xai_win_span(t.yoff, g->sh, g->h, g->oh, &t.ylo, &t.yhi);
    xai_win_span(t.xoff, g->sw, g->w, g->ow, &t.xlo, &t.xhi);
    return t;
}

static void zero(float *p, int64_t n)
{
    if (n > 0) memset(p, 0, sizeof(float) * (size_t)n);
}

/* Stride 1 and ow == w: a row's pixels are one shifted contiguous range of the plane, except
 * for the columns that wrap around, which are zeroed afterwards. */
static bool contiguous(const struct xai_win *g)
{
    return g->sh == 1 && g->sw == 1 && g->ow == g->w;
}

static void im2col_row_contig(const struct xai_win *g, const struct tap *t, const float *plane,
                              float *row)
{
    int64_t n = g->oh * g->ow, shift = t->yoff * g->w + t->xoff;
    if (t->ylo >= t->yhi || t->xlo >= t->xhi) {
        zero(row, n);
        return;
    }
    int64_t first = t->ylo * g->ow + t->xlo, last = (t->yhi - 1) * g->ow + t->xhi;
    zero(row, first);
    memcpy(row + first, plane + first + shift, sizeof(float) * (size_t)(last - first));
    zero(row + last, n - last);
    if (t->xlo == 0 && t->xhi == g->ow) return;
    for (int64_t y = t->ylo; y < t->yhi; y++) {
        zero(row + y * g->ow, t->xlo);
        zero(row + y * g->ow + t->xhi, g->ow - t->xhi);
    }
}

static void im2col_row(const struct xai_win *g, const struct tap *t, const float *plane, float *row)
{
    zero(row, t->ylo * g->ow);
    for (int64_t y = t->ylo; y < t->yhi; y++) {
        const float *src = plane + (y * g->sh + t->yoff) * g->w;
        float *dst = row + y * g->ow;
        zero(dst, t->xlo);
        if (g->sw == 1) {
            for (int64_t x = t->xlo; x < t->xhi; x++) dst[x] = src[x + t->xoff];
        } else {
            for (int64_t x = t->xlo; x < t->xhi; x++) dst[x] = src[x * g->sw + t->xoff];
        }
        zero(dst + t->xhi, g->ow - t->xhi);
    }
    zero(row + t->yhi * g->ow, (g->oh - t->yhi) * g->ow);
}

static void col2im_row(const struct xai_win *g, const struct tap *t, const float *row, float *plane)
{
    for (int64_t y = t->ylo; y < t->yhi; y++) {
        float *dst = plane + (y * g->sh + t->yoff) * g->w;
        const float *src = row + y * g->ow;
        if (g->sw == 1) {
            xai_vec_add(t->xhi - t->xlo, src + t->xlo, dst + t->xlo + t->xoff);
        } else {
            for (int64_t x = t->xlo; x < t->xhi; x++) dst[x * g->sw + t->xoff] += src[x];
        }
    }
}

/* Horizontal stride 2, no horizontal dilation: kernel taps (i, j) and (i, j + 1) read the even
 * and the odd pixels of the same image rows, so they are done together, one pass over each
 * row (a de-interleave the compiler vectorises) instead of two strided ones. Positions where
 * only one of the two taps is inside the image are done one by one. */
static bool paired(const struct xai_win *g)
{
    return g->sw == 2 && g->dw == 1;
}

static void im2col_pair(const struct xai_win *g, const struct tap *a, const struct tap *b,
                        const float *plane, float *ra, float *rb)
{
    int64_t lo = a->xlo > b->xlo ? a->xlo : b->xlo, hi = a->xhi < b->xhi ? a->xhi : b->xhi;
    if (hi < lo) hi = lo;
    zero(ra, a->ylo * g->ow);
    zero(rb, a->ylo * g->ow);
    for (int64_t y = a->ylo; y < a->yhi; y++) {
        const float *src = plane + (y * g->sh + a->yoff) * g->w;
        int64_t o = a->xoff;
        float *da = ra + y * g->ow, *db = rb + y * g->ow;
        zero(da, a->xlo);
        zero(db, b->xlo);
        for (int64_t x = a->xlo; x < lo && x < a->xhi; x++) da[x] = src[2 * x + o];
        for (int64_t x = b->xlo; x < lo && x < b->xhi; x++) db[x] = src[2 * x + o + 1];
        for (int64_t x = lo; x < hi; x++) {
            da[x] = src[2 * x + o];
            db[x] = src[2 * x + o + 1];
        }
        for (int64_t x = hi > a->xlo ? hi : a->xlo; x < a->xhi; x++) da[x] = src[2 * x + o];
        for (int64_t x = hi > b->xlo ? hi : b->xlo; x < b->xhi; x++) db[x] = src[2 * x + o + 1];
        zero(da + a->xhi, g->ow - a->xhi);
        zero(db + b->xhi, g->ow - b->xhi);
    }
    zero(ra + a->yhi * g->ow, (g->oh - a->yhi) * g->ow);
    zero(rb + a->yhi * g->ow, (g->oh - a->yhi) * g->ow);
}

/* The adjoint of im2col_pair: tap a adds to the even pixels, tap b to the odd ones, so each
 * pixel receives its contributions in the same order as with one tap at a time. */
static void col2im_pair(const struct xai_win *g, const struct tap *a, const struct tap *b,
                        const float *ra, const float *rb, float *plane)
{
    int64_t lo = a->xlo > b->xlo ? a->xlo : b->xlo, hi = a->xhi < b->xhi ? a->xhi : b->xhi;
    if (hi < lo) hi = lo;
    for (int64_t y = a->ylo; y < a->yhi; y++) {
        float *dst = plane + (y * g->sh + a->yoff) * g->w;
        int64_t o = a->xoff;
        const float *sa = ra + y * g->ow, *sb = rb + y * g->ow;
        for (int64_t x = a->xlo; x < lo && x < a->xhi; x++) dst[2 * x + o] += sa[x];
        for (int64_t x = b->xlo; x < lo && x < b->xhi; x++) dst[2 * x + o + 1] += sb[x];
        for (int64_t x = lo; x < hi; x++) {
            dst[2 * x + o] += sa[x];
            dst[2 * x + o + 1] += sb[x];
        }
        for (int64_t x = hi > a->xlo ? hi : a->xlo; x < a->xhi; x++) dst[2 * x + o] += sa[x];
        for (int64_t x = hi > b->xlo ? hi : b->xlo; x < b->xhi; x++) dst[2 * x + o + 1] += sb[x];
    }
}

void xai_im2col(const struct xai_win *g, const float *img, float *col, int64_t ld)
{
    int64_t hw = g->h * g->w, taps = g->kh * g->kw;
    bool contig = contiguous(g), pair = paired(g);
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            struct tap t = tap_of(g, i, j);
            float *row = col + (i * g->kw + j) * ld;
            if (pair && j + 1 < g->kw) {
                struct tap t2 = tap_of(g, i, j + 1);
                for (int64_t ci = 0; ci < g->c; ci++, row += taps * ld)
                    im2col_pair(g, &t, &t2, img + ci * hw, row, row + ld);
                j++;
                continue;
            }
            for (int64_t ci = 0; ci < g->c; ci++, row += taps * ld) {
                if (contig)
                    im2col_row_contig(g, &t, img + ci * hw, row);
                else
                    im2col_row(g, &t, img + ci * hw, row);
            }
        }
}

void xai_col2im_add(const struct xai_win *g, const float *col, int64_t ld, float *img)
{
    int64_t hw = g->h * g->w, taps = g->kh * g->kw;
    bool pair = paired(g);
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            struct tap t = tap_of(g, i, j);
            const float *row = col + (i * g->kw + j) * ld;
            if (pair && j + 1 < g->kw) {
                struct tap t2 = tap_of(g, i, j + 1);
                for (int64_t ci = 0; ci < g->c; ci++, row += taps * ld)
                    col2im_pair(g, &t, &t2, row, row + ld, img + ci * hw);
                j++;
                continue;
            }
            for (int64_t ci = 0; ci < g->c; ci++, row += taps * ld)
                col2im_row(g, &t, row, img + ci * hw);
        }
}
