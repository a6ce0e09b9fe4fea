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

void xai_im2col(const struct xai_win *g, const float *img, float *col, int64_t ld)
{
    int64_t hw = g->h * g->w, taps = g->kh * g->kw;
    bool contig = contiguous(g);
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            struct tap t = tap_of(g, i, j);
            float *row = col + (i * g->kw + j) * ld;
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
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            struct tap t = tap_of(g, i, j);
            const float *row = col + (i * g->kw + j) * ld;
            for (int64_t ci = 0; ci < g->c; ci++, row += taps * ld)
                col2im_row(g, &t, row, img + ci * hw);
        }
}
