/*
 * render.h - heatmaps to pictures: colormaps, normalisation, PNG encoding.
 *
 * The pipeline for one explanation is
 *   map (floats)  --xai_normalize-->  t in [0,1]  --xai_render_*-->  RGBA / RGB pixels  --> PNG
 * A map is either unsigned (t = 0 is "nothing", alpha = t) or signed (diverging: t = 0.5 is zero,
 * t = 0 the most negative, t = 1 the most positive, alpha = |2t - 1|). Masks (from
 * xai_geometry_map_back) mark pixels the model never saw: they are transparent in a heatmap and
 * show the bare image in an overlay. Nothing here allocates per pixel; PNG output goes to a
 * growable memory buffer (struct xai_blob) the caller releases with xai_blob_reset.
 */
#ifndef XAI_RENDER_H
#define XAI_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "status.h"

/* ---- colormaps: 256-entry 8-bit RGB tables (core/colormap_data.c, from matplotlib) ---- */

enum xai_colormap {
    XAI_CMAP_JET,
    XAI_CMAP_TURBO,
    XAI_CMAP_VIRIDIS,
    XAI_CMAP_INFERNO,
    XAI_CMAP_GRAY,
    XAI_CMAP_BWR, /* diverging blue-white-red, for signed maps */
    XAI_CMAP_COUNT
};

/* The table of cm (NULL for an unknown value). */
const uint8_t (*xai_colormap_lut(enum xai_colormap cm))[3];
/* "jet", "turbo", "viridis", "inferno", "gray", "bwr"; NULL for an unknown value. */
const char *xai_colormap_name(enum xai_colormap cm);
/* Name -> colormap; INVALID_ARGUMENT listing the known names otherwise. */
xai_status xai_colormap_parse(const char *name, enum xai_colormap *out, struct xai_err *err);
/* Table entry of t in [0,1]: min(255, floor(t * 256)), as matplotlib indexes its tables.
 * t outside [0,1] is clamped; NaN gives entry 0. */
int xai_colormap_index(float t);
/* Colour at t: the entry above of cm's table (of gray for an unknown cm). */
void xai_colormap_rgb(enum xai_colormap cm, float t, uint8_t rgb[3]);

/* ---- normalisation: map values -> t in [0,1] ---- */

enum xai_norm_mode {
    XAI_NORM_MINMAX,     /* unsigned: [min, max]; signed: [-max|x|, max|x|] */
    XAI_NORM_PERCENTILE, /* unsigned: [P(p), P(100-p)]; signed: [-r, r], r = P(100-p) of |x| */
    XAI_NORM_ABSOLUTE,   /* [lo, hi] as given; signed: [-r, r], r = max(|lo|, |hi|) */
};

struct xai_norm {
    enum xai_norm_mode mode;
    bool signed_map;
    float outlier_perc; /* PERCENTILE: p in [0, 50), e.g. 2 (Captum's default outlier_perc) */
    float lo, hi;       /* ABSOLUTE: the range, lo < hi */
};

/* Percentiles interpolate linearly between order statistics (numpy's default). Non-finite
 * values are ignored by every statistic; a map without finite values has range [0, 0]. */
xai_status xai_norm_range(const float *map, size_t n, const struct xai_norm *o, float *lo,
                          float *hi, struct xai_err *err);
/* t for each value given the range from xai_norm_range: unsigned t = clamp((v-lo)/(hi-lo));
 * signed t = 0.5 + 0.5 * clamp(v / hi, -1, 1). A range of zero width and non-finite values
 * give the zero point (t = 0 unsigned, 0.5 signed). t may alias map. */
void xai_norm_apply(const float *map, size_t n, float lo, float hi, bool signed_map, float *t);
/* Both steps. To normalise a mapped-back map by the statistics of the model-grid map, call
 * xai_norm_range on the latter and xai_norm_apply on the former. */
xai_status xai_normalize(const float *map, size_t n, const struct xai_norm *o, float *t,
                         struct xai_err *err);

/* ---- rendering ---- */

struct xai_render_opts {
    enum xai_colormap cmap;
    bool signed_map;  /* alpha = |2t - 1| instead of t */
    float opacity;    /* overlay: weight of the colour, [0,1] */
    bool value_alpha; /* overlay: multiply the opacity by the pixel's alpha */
};

/* jet, unsigned, opacity 0.5, uniform opacity. */
void xai_render_opts_default(struct xai_render_opts *o);
/* Alpha (0..1) of a normalised value. */
float xai_render_alpha(float t, bool signed_map);

/* Heatmap pixels: rgba gets width*height*4 bytes, colour cm(t), alpha 255 * alpha(t) rounded,
 * 0 where mask (may be NULL) is 0. */
void xai_render_heatmap_rgba(const float *t, const uint8_t *mask, int width, int height,
                             const struct xai_render_opts *o, uint8_t *rgba);
/* Display byte of an image sample: round(v / max_value * 255), clamped. */
uint8_t xai_render_display_byte(float v, float max_value);
/* Overlay pixels at the image's size (t and mask are img->height x img->width): rgb gets
 * width*height*3 bytes, round((1 - a) * base + a * cm(t)) with a = opacity (times alpha(t) with
 * value_alpha), a = 0 where mask is 0; gray images are shown as gray RGB. INVALID_ARGUMENT for
 * an image outside the xai_image contract, an unknown colormap or an opacity outside [0,1]. */
xai_status xai_render_overlay_rgb(const struct xai_image *img, const float *t, const uint8_t *mask,
                                  const struct xai_render_opts *o, uint8_t *rgb,
                                  struct xai_err *err);

/* ---- PNG output ---- */

struct xai_blob {
    unsigned char *data;
    size_t len, cap;
};
void xai_blob_reset(struct xai_blob *b); /* frees and empties */

/* Encodes 8-bit pixels (channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; rows packed) as PNG into
 * out, replacing its contents. On failure out is empty: INVALID_ARGUMENT for bad sizes,
 * NO_MEMORY, INTERNAL for a libpng error (its message in err). */
xai_status xai_png_encode(const uint8_t *pixels, int width, int height, int channels,
                          struct xai_blob *out, struct xai_err *err);

/* The heatmap as an RGBA PNG (see xai_render_heatmap_rgba). The PNG functions fail with
 * INVALID_ARGUMENT for empty sizes or an unknown colormap. */
xai_status xai_render_heatmap_png(const float *t, const uint8_t *mask, int width, int height,
                                  const struct xai_render_opts *o, struct xai_blob *png,
                                  struct xai_err *err);
/* The overlay as an RGB PNG (see xai_render_overlay_rgb). */
xai_status xai_render_overlay_png(const struct xai_image *img, const float *t, const uint8_t *mask,
                                  const struct xai_render_opts *o, struct xai_blob *png,
                                  struct xai_err *err);
/* A horizontal colour bar: RGB PNG, column x shows cm(x / (width - 1)), all rows alike. */
xai_status xai_render_colorbar_png(enum xai_colormap cm, int width, int height,
                                   struct xai_blob *png, struct xai_err *err);

#endif
