/*
 * slic.h - SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art
 * Superpixel Methods", TPAMI 2012), as scikit-image's segmentation.slic computes them (0.19),
 * for LIME's interpretable features.
 *
 * The image (h x w, 1 or 3 interleaved channels, any value range) is rescaled to [0, 1] by its
 * global minimum and maximum; 3 channels are read as sRGB and converted to CIELAB (D65, 2 deg
 * observer), 1 channel stays intensity. Colours are divided by the compactness. Seeds sit on
 * skimage's regular grid for n_segments (step s = sqrt(h w / n) rounded, offset floor(s / 2)),
 * with colour 0 (so the first assignment is by position alone, as in skimage). Each of at most
 * max_iter rounds assigns every pixel within 2 steps of a centre (per axis) to the centre of
 * least dist = |dpos|^2 / step^2 + |dcolour|^2 and moves each centre to its pixels' mean; it
 * stops early when no pixel improves. With enforce_connectivity, connected components are
 * relabelled in raster order and components smaller than min_size_factor * (h w / centres)
 * pixels join the last neighbouring component met (skimage's rule; components stop growing at
 * max_size_factor times that size).
 *
 * Cost: O(max_iter * 16 * h * w) distance evaluations; work memory per pixel: one float per
 * channel, a double, an int64 and an int32.
 */
#ifndef XAI_SLIC_H
#define XAI_SLIC_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

#define XAI_SLIC_MAX_PIXELS (16 << 20)

struct xai_slic_opts {
    int n_segments;     /* approximate number of superpixels (>= 1) */
    double compactness; /* > 0: larger gives more regular, square superpixels */
    int max_iter;       /* >= 1 */
    bool enforce_connectivity;
    double min_size_factor, max_size_factor;
};

/* skimage's defaults: 100 segments, compactness 10, 10 iterations, connectivity on, 0.5, 3. */
void xai_slic_default(struct xai_slic_opts *o);

/* Labels (h * w int32, raster order) in [0, *n_labels). INVALID_ARGUMENT for bad options or
 * sizes (over XAI_SLIC_MAX_PIXELS pixels), NO_MEMORY when the work buffers cannot be had. */
xai_status xai_slic(const float *img, int w, int h, int channels, const struct xai_slic_opts *o,
                    int32_t *labels, int *n_labels, struct xai_err *err);

#endif
