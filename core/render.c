/*
 * render.c - normalised heatmaps to heatmap, overlay and colour-bar pixels and PNGs (render.h).
 *
 * Callers (the api layer) normalise a map with normalize.c, map it back with geometry.c, and
 * ask for a picture here. The PNG variants allocate one pixel buffer per call and hand it to
 * png_encode.c.
 */
#include "render.h"

#include <math.h>
#include <stdlib.h>

void xai_render_opts_default(struct xai_render_opts *o)
{
    *o = (struct xai_render_opts){0};
    o->cmap = XAI_CMAP_JET;
    o->signed_map = false;
    o->opacity = 0.5f;
    o->value_alpha = false;
}

float xai_render_alpha(float t, bool signed_map)
{
    if (!(t > 0.0f)) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    return signed_map ? fabsf(2.0f * t - 1.0f) : t;
}

static uint8_t to_byte(float v)
{
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)(v + 0.5f);
}

uint8_t xai_render_display_byte(float v, float max_value)
{
    return to_byte(v * (255.0f / max_value));
}

void xai_render_heatmap_rgba(const float *t, const uint8_t *mask, int width, int height,
                             const struct xai_render_opts *o, uint8_t *rgba)
{
    size_t n = (size_t)width * (size_t)height;
    for (size_t i = 0; i < n; i++, rgba += 4) {
        xai_colormap_rgb(o->cmap, t[i], rgba);
        bool seen = !mask || mask[i];
        rgba[3] = seen ? to_byte(255.0f * xai_render_alpha(t[i], o->signed_map)) : 0;
    }
}

static xai_status check_overlay(const struct xai_image *img, const struct xai_render_opts *o,
                                struct xai_err *err)
{
    if (img->width < 1 || img->height < 1 || !img->data ||
        (img->channels != 1 && img->channels != 3) || !(img->max_value > 0.0f))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "overlay: not a valid image (%dx%d, %d ch)",
                        img->width, img->height, img->channels);
    if (!xai_colormap_lut(o->cmap))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "overlay: unknown colormap %d", (int)o->cmap);
    if (!(o->opacity >= 0.0f && o->opacity <= 1.0f))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "overlay: opacity %g (0 to 1 allowed)",
                        o->opacity);
    return XAI_OK;
}

/* One overlay pixel: src has ch samples, k scales them to display bytes. */
static void blend(const float *src, int ch, float k, const uint8_t *col, float a, uint8_t *rgb)
{
    for (int c = 0; c < 3; c++) {
        float base = to_byte(src[ch == 1 ? 0 : c] * k);
        rgb[c] = to_byte((1.0f - a) * base + a * col[c]);
    }
}

xai_status xai_render_overlay_rgb(const struct xai_image *img, const float *t, const uint8_t *mask,
                                  const struct xai_render_opts *o, uint8_t *rgb,
                                  struct xai_err *err)
{
    xai_status st = check_overlay(img, o, err);
    if (st != XAI_OK) return st;
    const uint8_t(*lut)[3] = xai_colormap_lut(o->cmap);
    size_t n = (size_t)img->width * (size_t)img->height;
    int ch = img->channels;
    float k = 255.0f / img->max_value;
    for (size_t i = 0; i < n; i++) {
        float a = (mask && !mask[i]) ? 0.0f : o->opacity;
        if (o->value_alpha) a *= xai_render_alpha(t[i], o->signed_map);
        blend(img->data + i * ch, ch, k, lut[xai_colormap_index(t[i])], a, rgb + i * 3);
    }
    return XAI_OK;
}

static xai_status no_pixels(int w, int h, int ch, struct xai_err *err)
{
    return xai_fail(err, XAI_NO_MEMORY, "render: out of memory for %dx%dx%d pixels", w, h, ch);
}

static xai_status check_size(int width, int height, enum xai_colormap cm, struct xai_err *err)
{
    if (width < 1 || height < 1)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "render: empty size %dx%d", width, height);
    if (!xai_colormap_lut(cm))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "render: unknown colormap %d", (int)cm);
    return XAI_OK;
}

xai_status xai_render_heatmap_png(const float *t, const uint8_t *mask, int width, int height,
                                  const struct xai_render_opts *o, struct xai_blob *png,
                                  struct xai_err *err)
{
    xai_status st = check_size(width, height, o->cmap, err);
    if (st != XAI_OK) return st;
    uint8_t *px = malloc((size_t)width * (size_t)height * 4);
    if (!px) return no_pixels(width, height, 4, err);
    xai_render_heatmap_rgba(t, mask, width, height, o, px);
    st = xai_png_encode(px, width, height, 4, png, err);
    free(px);
    return st;
}

xai_status xai_render_overlay_png(const struct xai_image *img, const float *t, const uint8_t *mask,
                                  const struct xai_render_opts *o, struct xai_blob *png,
                                  struct xai_err *err)
{
    xai_status st = check_overlay(img, o, err);
    if (st != XAI_OK) return st;
    uint8_t *px = malloc((size_t)img->width * (size_t)img->height * 3);
    if (!px) return no_pixels(img->width, img->height, 3, err);
    st = xai_render_overlay_rgb(img, t, mask, o, px, err);
    if (st == XAI_OK) st = xai_png_encode(px, img->width, img->height, 3, png, err);
    free(px);
    return st;
}

xai_status xai_render_colorbar_png(enum xai_colormap cm, int width, int height,
                                   struct xai_blob *png, struct xai_err *err)
{
    xai_status st = check_size(width, height, cm, err);
    if (st != XAI_OK) return st;
    size_t stride = (size_t)width * 3;
    uint8_t *px = malloc(stride * (size_t)height);
    if (!px) return no_pixels(width, height, 3, err);
    for (int x = 0; x < width; x++)
        xai_colormap_rgb(cm, width > 1 ? (float)x / (float)(width - 1) : 0.0f, px + x * 3);
    for (int y = 1; y < height; y++)
        for (size_t i = 0; i < stride; i++) px[(size_t)y * stride + i] = px[i];
    st = xai_png_encode(px, width, height, 3, png, err);
    free(px);
    return st;
}
