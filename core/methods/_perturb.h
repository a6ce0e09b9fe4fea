/*
 * _perturb.h - what the perturbation methods (occlusion, LIME) share: the fill that stands in
 * for removed pixels, as a whole baseline image of the input's shape, so that a perturbed input
 * is "x where kept, fill where removed".
 *
 * Fills, all in model-input space (after normalisation):
 *   zero          0 (with mean/std normalisation: the dataset's mean colour), Captum's default
 *   mean          the input's own per-channel mean over all pixels
 *   blur          a Gaussian-blurred copy of the input (separable kernel of radius ceil(3 sigma),
 *                 weights exp(-d^2 / (2 sigma^2)) normalised to sum 1, edges replicated)
 *   segment_mean  each superpixel's own per-channel mean (the lime package's hide_color=None)
 */
#ifndef XAI_METHODS_PERTURB_H
#define XAI_METHODS_PERTURB_H

#include "_common.h"

enum xai_fill { XAI_FILL_ZERO, XAI_FILL_MEAN, XAI_FILL_BLUR, XAI_FILL_SEGMENT_MEAN };

#define XAI_BLUR_MAX_SIGMA 64.0

/* Writes the fill image of x (c x h x w) to out (c * h * w floats). sigma: BLUR only. seg and
 * n_seg: SEGMENT_MEAN only (label per pixel in [0, n_seg), or -1 for pixels of no segment,
 * which keep their value). */
xai_status xai_m_fill(const float *x, int c, int h, int w, enum xai_fill fill, double sigma,
                      const int32_t *seg, int n_seg, float *out, struct xai_err *err);

/* Gaussian blur of each of the c planes of in (h x w) into out, as described above. */
xai_status xai_m_gaussian_blur(const float *in, int c, int h, int w, double sigma, float *out,
                               struct xai_err *err);

#endif
