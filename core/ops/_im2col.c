/* _im2col.c - im2col / col2im over one image; see _im2col.h. */
#include "_im2col.h"

#include <string.h>

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

/* One row of the column matrix: kernel tap (i, j) of one channel plane. */
static void im2col_row(const struct xai_win *g, const float *plane, int64_t i, int64_t j,
                       float *row)
{
    int64_t ylo, yhi, xlo, xhi, xoff = j * g->dw - g->pw;
    xai_win_span(i * g->dh - g->ph, g->sh, g->h, g->oh, &ylo, &yhi);
    xai_win_span(xoff, g->sw, g->w, g->ow, &xlo, &xhi);
    memset(row, 0, sizeof(float) * (size_t)(ylo * g->ow));
    for (int64_t y = ylo; y < yhi; y++) {
        const float *src = plane + (y * g->sh - g->ph + i * g->dh) * g->w;
        float *dst = row + y * g->ow;
        memset(dst, 0, sizeof(float) * (size_t)xlo);
        if (g->sw == 1 && xhi > xlo) {
            memcpy(dst + xlo, src + xlo + xoff, sizeof(float) * (size_t)(xhi - xlo));
        } else {
            for (int64_t x = xlo; x < xhi; x++) dst[x] = src[x * g->sw + xoff];
        }
        memset(dst + xhi, 0, sizeof(float) * (size_t)(g->ow - xhi));
    }
    memset(row + yhi * g->ow, 0, sizeof(float) * (size_t)((g->oh - yhi) * g->ow));
}

static void col2im_row(const struct xai_win *g, const float *row, int64_t i, int64_t j,
                       float *plane)
{
    int64_t ylo, yhi, xlo, xhi, xoff = j * g->dw - g->pw;
    xai_win_span(i * g->dh - g->ph, g->sh, g->h, g->oh, &ylo, &yhi);
    xai_win_span(xoff, g->sw, g->w, g->ow, &xlo, &xhi);
    for (int64_t y = ylo; y < yhi; y++) {
        float *dst = plane + (y * g->sh - g->ph + i * g->dh) * g->w;
        const float *src = row + y * g->ow;
        if (g->sw == 1) {
            for (int64_t x = xlo; x < xhi; x++) dst[x + xoff] += src[x];
        } else {
            for (int64_t x = xlo; x < xhi; x++) dst[x * g->sw + xoff] += src[x];
        }
    }
}

void xai_im2col(const struct xai_win *g, const float *img, float *col)
{
    int64_t npos = g->oh * g->ow, r = 0;
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++, r++)
                im2col_row(g, img + ci * g->h * g->w, i, j, col + r * npos);
}

void xai_col2im_add(const struct xai_win *g, const float *col, float *img)
{
    int64_t npos = g->oh * g->ow, r = 0;
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++, r++)
                col2im_row(g, col + r * npos, i, j, img + ci * g->h * g->w);
}
