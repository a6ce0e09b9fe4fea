/*
 * resample.h - separable resampling of float HWC images.
 *
 * Coordinates are continuous with pixel i covering [i, i+1), so its centre is i + 0.5. One axis
 * of a resampling is an affine map from output to input coordinates, in = out * scale + offset.
 * Output pixel i takes the input around its centre c = (i + 0.5) * scale + offset through a
 * triangle filter of support max(1, scale) input pixels (weights renormalised to sum 1):
 *   - enlarging (scale <= 1): plain bilinear interpolation with half-pixel centres, edge pixels
 *     extended (torch interpolate(mode='bilinear', align_corners=False));
 *   - shrinking (scale > 1): the filter widens with the factor, so every input pixel contributes
 *     (antialiased, the same kernel as PIL's BILINEAR resize and torch's antialias=True).
 * Only input pixels in [lo, hi) are read; an output pixel whose centre falls outside [lo, hi)
 * is set to 0. This one primitive serves a plain resize, a resize-then-crop window, and the
 * inverse map of a heatmap back onto the original image.
 */
#ifndef XAI_RESAMPLE_H
#define XAI_RESAMPLE_H

#include "status.h"

struct xai_resample_axis {
    double scale, offset; /* in = out * scale + offset (continuous pixel coordinates) */
    int lo, hi;           /* input pixels read: [lo, hi) */
};

/* The axis of a plain resize of in_size pixels to out_size pixels. */
struct xai_resample_axis xai_resample_axis_fit(int in_size, int out_size);

/* Resamples src (src_h x src_w x channels, HWC) into dst (dst_h x dst_w x channels). Allocates
 * two coefficient tables and one intermediate image per call, never per pixel. Fails with
 * INVALID_ARGUMENT for empty sizes, channels outside 1..4, non-positive or non-finite scales
 * or an input window outside the image; NO_MEMORY when an allocation fails. */
xai_status xai_resample(const float *src, int src_w, int src_h, int channels,
                        const struct xai_resample_axis *ax, const struct xai_resample_axis *ay,
                        float *dst, int dst_w, int dst_h, struct xai_err *err);

/* Plain resize of the whole image: xai_resample with xai_resample_axis_fit on both axes. */
xai_status xai_resize(const float *src, int src_w, int src_h, int channels, float *dst, int dst_w,
                      int dst_h, struct xai_err *err);

#endif
