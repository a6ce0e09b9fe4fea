/* plot.c - categorical colours, legends and scatter plots; see plot.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* Twelve well-separated colours, chosen for xaid. */
static const uint8_t palette[12][3] = {{31, 119, 200},  {230, 85, 13},   {44, 160, 60},
                                       {200, 30, 60},   {140, 90, 190},  {120, 70, 40},
                                       {220, 110, 180}, {100, 100, 100}, {180, 180, 20},
                                       {20, 180, 200},  {250, 170, 50},  {60, 60, 160}};

void xai_class_color(int k, uint8_t rgb[3])
{
    static const uint8_t none[3] = {200, 200, 200};
    memcpy(rgb, k < 0 ? none : palette[k % 12], 3);
}

static void fill_rect(uint8_t *rgb, int width, int height, int x0, int y0, int w, int h,
                      const uint8_t c[3])
{
    for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < width; x++)
            memcpy(rgb + ((size_t)y * (size_t)width + (size_t)x) * 3, c, 3);
}

xai_status xai_legend_rgb(const char *const *names, const int *colors, int n, int scale,
                          uint8_t **rgb, int *width, int *height, struct xai_err *err)
{
    int row = (XAI_FONT_H + 4) * scale, sq = XAI_FONT_H * scale, pad = 3 * scale, tw = 0;
    for (int i = 0; i < n; i++) {
        int w = xai_text_width(names[i], scale);
        if (w > tw) tw = w;
    }
    *width = pad + sq + pad + tw + pad;
    *height = pad + n * row;
    if (*width > 4096) *width = 4096;
    if (!(*rgb = malloc((size_t)*width * (size_t)*height * 3)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the legend");
    memset(*rgb, 255, (size_t)*width * (size_t)*height * 3);
    static const uint8_t black[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        uint8_t c[3];
        xai_class_color(colors[i], c);
        int y = pad + i * row;
        fill_rect(*rgb, *width, *height, pad, y, sq, sq, c);
        xai_draw_text(*rgb, *width, *height, pad + sq + pad, y, names[i], scale, black);
    }
    return XAI_OK;
}

static void disc(uint8_t *rgb, int size, double cx, double cy, int r, const uint8_t c[3])
{
    for (int y = (int)cy - r; y <= (int)cy + r; y++)
        for (int x = (int)cx - r; x <= (int)cx + r; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (dx * dx + dy * dy > r * r + 0.5 || x < 0 || y < 0 || x >= size || y >= size)
                continue;
            memcpy(rgb + ((size_t)y * (size_t)size + (size_t)x) * 3, c, 3);
        }
}

static void bounds(const float *xy, int n, double *lo, double *hi)
{
    lo[0] = hi[0] = xy[0];
    lo[1] = hi[1] = xy[1];
    for (int i = 1; i < n; i++)
        for (int k = 0; k < 2; k++) {
            lo[k] = fmin(lo[k], xy[2 * i + k]);
            hi[k] = fmax(hi[k], xy[2 * i + k]);
        }
}

static void paste_legend(uint8_t *rgb, int size, const char *const *names, int n_classes,
                         struct xai_err *err)
{
    int *ids = malloc(sizeof(int) * (size_t)n_classes);
    uint8_t *leg = NULL;
    int lw, lh;
    for (int i = 0; ids && i < n_classes; i++) ids[i] = i;
    if (ids && !xai_legend_rgb(names, ids, n_classes, size >= 512 ? 2 : 1, &leg, &lw, &lh, err))
        for (int y = 0; y < lh && y + 4 < size; y++)
            for (int x = 0; x < lw && x + 4 < size; x++)
                memcpy(rgb + ((size_t)(y + 4) * (size_t)size + (size_t)(x + 4)) * 3,
                       leg + ((size_t)y * (size_t)lw + (size_t)x) * 3, 3);
    free(leg);
    free(ids);
}

xai_status xai_scatter_png(const float *xy, int n, const int *cls, const char *const *names,
                           int n_classes, int size, struct xai_blob *png, struct xai_err *err)
{
    if (n < 1 || size < 64 || size > 4096)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "scatter plot: bad sizes");
    uint8_t *rgb = malloc((size_t)size * (size_t)size * 3);
    if (!rgb) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the plot");
    memset(rgb, 255, (size_t)size * (size_t)size * 3);
    double lo[2], hi[2];
    bounds(xy, n, lo, hi);
    double span = fmax(hi[0] - lo[0], hi[1] - lo[1]), margin = size * 0.06;
    double f = span > 0 ? (size - 2 * margin) / span : 0;
    int r = size >= 512 ? 3 : 2;
    for (int i = 0; i < n; i++) {
        uint8_t c[3];
        xai_class_color(cls[i] < n_classes ? cls[i] : -1, c);
        double cx =
            margin + (xy[2 * i] - lo[0]) * f + (size - 2 * margin - (hi[0] - lo[0]) * f) / 2;
        double cy = size - margin - (xy[2 * i + 1] - lo[1]) * f -
                    (size - 2 * margin - (hi[1] - lo[1]) * f) / 2;
        disc(rgb, size, cx, cy, r, c);
    }
    paste_legend(rgb, size, names, n_classes, err);
    xai_status st = xai_png_encode(rgb, size, size, 3, png, err);
    free(rgb);
    return st;
}
