/* tile.c - small planes (kernels, activation maps) laid out as one picture; see inspect.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

#define GAP 1
#define GAP_VALUE 32
#define FLAT_VALUE 128

void xai_grid_reset(struct xai_grid *g)
{
    free(g->pixels);
    memset(g, 0, sizeof *g);
}

/* Min and max of the finite values of n floats (0, 0 when there is none). */
static void range_of(const float *v, int64_t n, float *lo, float *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
    if (*lo > *hi) *lo = *hi = 0.f;
}

static uint8_t scaled(float v, float lo, float hi)
{
    if (!(hi > lo) || !isfinite(v)) return FLAT_VALUE;
    float t = (v - lo) / (hi - lo);
    return (uint8_t)lrintf(255.f * (t < 0 ? 0 : t > 1 ? 1 : t));
}

/* One tile's pixels (zoomed) into the picture at (x0, y0). */
static void draw_tile(const float *tile, int c, int h, int w, int zoom, int cmap,
                      struct xai_grid *g, int x0, int y0)
{
    float lo, hi;
    int64_t hw = (int64_t)h * w;
    range_of(tile, hw * c, &lo, &hi);
    for (int y = 0; y < h * zoom; y++)
        for (int x = 0; x < w * zoom; x++) {
            int64_t src = (int64_t)(y / zoom) * w + x / zoom;
            uint8_t *px = g->pixels + ((int64_t)(y0 + y) * g->width + x0 + x) * g->channels;
            if (c == 3) {
                for (int k = 0; k < 3; k++) px[k] = scaled(tile[k * hw + src], lo, hi);
            } else if (cmap >= 0) {
                float t = scaled(tile[src], lo, hi) / 255.f;
                xai_colormap_rgb((enum xai_colormap)cmap, t, px);
            } else {
                px[0] = scaled(tile[src], lo, hi);
            }
        }
}

xai_status xai_tile_grid(const float *tiles, int n, int c, int h, int w, int cols, int zoom,
                         int cmap, struct xai_grid *out, struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1 || (c != 1 && c != 3) || h < 1 || w < 1 || cols < 1 || zoom < 1 ||
        zoom > XAI_GRID_MAX_ZOOM)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "tile grid: bad sizes");
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int64_t tw = (int64_t)w * zoom + GAP, th = (int64_t)h * zoom + GAP;
    int64_t width = cols * tw + GAP, height = rows * th + GAP;
    if (width * height > XAI_GRID_MAX_PIXELS)
        return xai_fail(err, XAI_TOO_LARGE,
                        "the tiled picture would be %lldx%lld pixels, over the limit of %d; "
                        "ask for fewer tiles or a smaller zoom",
                        (long long)width, (long long)height, XAI_GRID_MAX_PIXELS);
    out->width = (int)width;
    out->height = (int)height;
    out->channels = c == 3 || cmap >= 0 ? 3 : 1;
    size_t bytes = (size_t)(width * height * out->channels);
    if (!(out->pixels = malloc(bytes)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the tiled picture");
    memset(out->pixels, GAP_VALUE, bytes);
    int64_t per_tile = (int64_t)c * h * w;
    for (int i = 0; i < n; i++)
        draw_tile(tiles + i * per_tile, c, h, w, zoom, cmap, out, (int)(GAP + (i % cols) * tw),
                  (int)(GAP + (i / cols) * th));
    return XAI_OK;
}
