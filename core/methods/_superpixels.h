/*
 * _superpixels.h - superpixels on the model input grid, for LIME.
 *
 * Sources, in order of preference:
 *   1. req->segments (a label per model-input pixel, e.g. from a client or a test);
 *   2. SLIC (core/slic.h) on the original image req->image, each model-input pixel taking the
 *      label of the original pixel its centre maps to through req->geo (nearest). Pixels
 *      outside the geometry's valid region (letterbox bars) belong to no segment. Originals
 *      over XAI_SP_MAX_PIXELS pixels are box-averaged by an integer factor first;
 *   3. SLIC on the model input itself, when there is no original.
 * Labels are then renumbered 0..K-1 in ascending order of the source label; pixels of no
 * segment (source label < 0) get -1.
 */
#ifndef XAI_METHODS_SUPERPIXELS_H
#define XAI_METHODS_SUPERPIXELS_H

#include "_common.h"

#define XAI_SP_MAX_PIXELS (1 << 18) /* 512 x 512: SLIC in about 0.2 s (gray) to 0.5 s (colour) */
#define XAI_SP_MAX_SEGMENTS 1024

/* seg: H*W labels (caller's buffer); *k: number of segments. compactness <= 0 means auto: 10
 * on colour images (skimage's default on CIELAB) and 0.1 on gray ones (the same balance for
 * intensities in [0, 1] as 10 for lightness in [0, 100]). INVALID_ARGUMENT when there are no
 * segments or more than XAI_SP_MAX_SEGMENTS. */
xai_status xai_m_superpixels(const struct xai_method_req *req, int n_segments, double compactness,
                             int32_t *seg, int *k, struct xai_err *err);

/* Renumbers labels (n of them) in place as described above; *k receives their number. */
xai_status xai_m_compact_labels(int32_t *labels, int64_t n, int *k, struct xai_err *err);

#endif
