/* _depthwise.c - direct depthwise convolution of one plane; see _depthwise.h. */
#include "_depthwise.h"

#include "_vec.h"

/* One kernel tap over one output row: yrow[ox] += wv * xrow[ox*sw + off] (gy/gx reversed for
 * backward) over the positions that read inside the row. */
static void tap_row(const struct xai_win *g, int64_t j, float wv, const float *xrow, float *yrow)
{
    int64_t lo, hi, off = j * g->dw - g->pw;
    xai_win_span(off, g->sw, g->w, g->ow, &lo, &hi);
    if (g->sw == 1) {
        xai_vec_axpy(hi - lo, wv, xrow + lo + off, yrow + lo);
    } else {
        for (int64_t ox = lo; ox < hi; ox++) yrow[ox] += wv * xrow[ox * g->sw + off];
    }
}

static void tap_row_adjoint(const struct xai_win *g, int64_t j, float wv, const float *grow,
                            float *xrow)
{
    int64_t lo, hi, off = j * g->dw - g->pw;
    xai_win_span(off, g->sw, g->w, g->ow, &lo, &hi);
    if (g->sw == 1) {
        xai_vec_axpy(hi - lo, wv, grow + lo, xrow + lo + off);
    } else {
        for (int64_t ox = lo; ox < hi; ox++) xrow[ox * g->sw + off] += wv * grow[ox];
    }
}

void xai_dw_forward_plane(const struct xai_win *g, const float *x, const float *wk, float bias,
                          float *y)
{
    xai_vec_fill(g->oh * g->ow, bias, y);
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int64_t j = 0; j < g->kw; j++)
                tap_row(g, j, wk[i * g->kw + j], x + iy * g->w, y + oy * g->ow);
        }
    }
}

void xai_dw_backward_plane(const struct xai_win *g, const float *gy, const float *wk, float *gx)
{
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            for (int64_t j = 0; j < g->kw; j++)
                tap_row_adjoint(g, j, wk[i * g->kw + j], gy + oy * g->ow, gx + iy * g->w);
        }
    }
}
