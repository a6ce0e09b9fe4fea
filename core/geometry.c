/*
 * geometry.c - the affine map between the model's input grid and the original image.
 *
 * xai_geometry_make decides, for each resize mode, the size the image is resized to and where it
 * sits on the model grid (see preprocess.h); preprocess.c resamples with exactly this map and
 * xai_geometry_map_back inverts it for heatmaps. Keeping both directions on one struct is what
 * makes a highlighted model pixel land on the original pixel it came from.
 */
#include "preprocess.h"
#include "resample.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

/* Python's round(d / 2) for d >= 0: halves go to the even neighbour (torchvision CenterCrop). */
static int half_round_even(int d)
{
    int k = d / 2;
    if (d % 2 == 0) return k;
    return k % 2 == 0 ? k : k + 1;
}

static int clamp_int(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* One axis: the image side `size` shown as `shown` model pixels starting at model pixel
 * `start`; the model grid has `target` pixels, of which [valid0, valid1) show image. */
static void set_axis(int size, int shown, int start, int valid0, int valid1, double *scale,
                     double *offset, int *v0, int *v1)
{
    *scale = (double)size / shown;
    *offset = -start * *scale;
    *v0 = valid0;
    *v1 = valid1;
}

static void make_letterbox(struct xai_geometry *g)
{
    int W = g->src_width, H = g->src_height, w = g->width, h = g->height;
    int rw = w, rh = h;
    if ((double)w / W <= (double)h / H)
        rh = clamp_int(lround((double)H * w / W), 1, h);
    else
        rw = clamp_int(lround((double)W * h / H), 1, w);
    int px = (w - rw) / 2, py = (h - rh) / 2;
    set_axis(W, rw, px, px, px + rw, &g->scale_x, &g->offset_x, &g->valid_x0, &g->valid_x1);
    set_axis(H, rh, py, py, py + rh, &g->scale_y, &g->offset_y, &g->valid_y0, &g->valid_y1);
}

static void make_center_crop(struct xai_geometry *g)
{
    int W = g->src_width, H = g->src_height, w = g->width, h = g->height;
    int rw = w, rh = h;
    if ((double)h / H >= (double)w / W)
        rw = clamp_int((long)((double)h * W / H), w, INT_MAX);
    else
        rh = clamp_int((long)((double)w * H / W), h, INT_MAX);
    int cx = half_round_even(rw - w), cy = half_round_even(rh - h);
    set_axis(W, rw, -cx, 0, w, &g->scale_x, &g->offset_x, &g->valid_x0, &g->valid_x1);
    set_axis(H, rh, -cy, 0, h, &g->scale_y, &g->offset_y, &g->valid_y0, &g->valid_y1);
}

struct xai_geometry xai_geometry_make(const struct xai_preprocess *p, int src_width, int src_height)
{
    struct xai_geometry g = {0};
    g.src_width = src_width;
    g.src_height = src_height;
    g.width = p->width;
    g.height = p->height;
    if (p->resize == XAI_RESIZE_LETTERBOX) {
        make_letterbox(&g);
    } else if (p->resize == XAI_RESIZE_CENTER_CROP) {
        make_center_crop(&g);
    } else {
        set_axis(src_width, p->width, 0, 0, p->width, &g.scale_x, &g.offset_x, &g.valid_x0,
                 &g.valid_x1);
        set_axis(src_height, p->height, 0, 0, p->height, &g.scale_y, &g.offset_y, &g.valid_y0,
                 &g.valid_y1);
    }
    return g;
}

void xai_geometry_to_source(const struct xai_geometry *g, double u, double v, double *x, double *y)
{
    *x = u * g->scale_x + g->offset_x;
    *y = v * g->scale_y + g->offset_y;
}

void xai_geometry_to_model(const struct xai_geometry *g, double x, double y, double *u, double *v)
{
    *u = (x - g->offset_x) / g->scale_x;
    *v = (y - g->offset_y) / g->scale_y;
}

/* The resample axis from original pixels (output) to model pixels (input), valid region only. */
static struct xai_resample_axis inverse_axis(double scale, double offset, int v0, int v1)
{
    struct xai_resample_axis a = {0};
    a.scale = 1.0 / scale;
    a.offset = -offset / scale;
    a.lo = v0;
    a.hi = v1;
    return a;
}

/* 1 where the centre of output pixel i maps inside the window: the test xai_resample applies. */
static uint8_t in_view(const struct xai_resample_axis *a, int i)
{
    double c = (i + 0.5) * a->scale + a->offset;
    return c >= a->lo && c < a->hi;
}

static xai_status fill_mask(const struct xai_resample_axis *ax, const struct xai_resample_axis *ay,
                            int W, int H, uint8_t *mask, struct xai_err *err)
{
    uint8_t *cols = malloc((size_t)W);
    if (!cols) return xai_fail(err, XAI_NO_MEMORY, "map back: out of memory for the mask");
    for (int x = 0; x < W; x++) cols[x] = in_view(ax, x);
    for (int y = 0; y < H; y++) {
        uint8_t row = in_view(ay, y);
        for (int x = 0; x < W; x++) mask[(size_t)y * (size_t)W + x] = row & cols[x];
    }
    free(cols);
    return XAI_OK;
}

xai_status xai_geometry_map_back(const struct xai_geometry *g, const float *map, float *out,
                                 uint8_t *mask, struct xai_err *err)
{
    struct xai_resample_axis ax = inverse_axis(g->scale_x, g->offset_x, g->valid_x0, g->valid_x1);
    struct xai_resample_axis ay = inverse_axis(g->scale_y, g->offset_y, g->valid_y0, g->valid_y1);
    xai_status st =
        xai_resample(map, g->width, g->height, 1, &ax, &ay, out, g->src_width, g->src_height, err);
    if (st != XAI_OK || !mask) return st;
    return fill_mask(&ax, &ay, g->src_width, g->src_height, mask, err);
}
