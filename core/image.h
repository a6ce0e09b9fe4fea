/*
 * image.h - decoded images, as every later stage (preprocessing, rendering) sees them.
 *
 * Samples are floats in [0, max_value] (255 for 8-bit sources, 65535 for 16-bit ones), so a
 * 16-bit radiograph keeps its full precision until normalisation. Pixels are row-major and
 * interleaved (gray: 1 channel; colour: 3 channels, RGB). Alpha is dropped (has_alpha says it
 * was there); palette images become RGB; CMYK JPEGs are converted to RGB; the EXIF
 * orientation of JPEGs is applied, so width and height are those a viewer displays.
 */
#ifndef XAI_IMAGE_H
#define XAI_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

enum xai_image_format { XAI_IMAGE_PNG = 1, XAI_IMAGE_JPEG = 2 };

struct xai_image {
    int width, height;
    int channels;  /* 1 or 3 */
    int bit_depth; /* of the source: 8 or 16 */
    bool has_alpha;
    enum xai_image_format format;
    float max_value; /* 255 or 65535 */
    float *data;     /* height * width * channels samples */
};

/* Caps against hostile input; a zero field means the default from xai_image_limits_default. */
struct xai_image_limits {
    size_t max_bytes;
    int64_t max_width, max_height, max_pixels;
};

struct xai_image_limits xai_image_limits_default(void);

/* Detects the format from the bytes (never from a file name) and decodes. On failure the
 * image is left empty and the status is BAD_IMAGE (corrupt, truncated, zero-size),
 * TOO_LARGE (over a cap) or UNSUPPORTED_MEDIA (not PNG or JPEG). */
xai_status xai_image_decode(const void *buf, size_t len, const struct xai_image_limits *lim,
                            struct xai_image *out, struct xai_err *err);
void xai_image_reset(struct xai_image *img);

#endif
