/*
 * faithfulness.h - deletion and insertion curves of an attribution map (Petsiuk et al. 2018,
 * RISE): how the target's probability falls as the most relevant pixels are removed, and
 * rises as they are revealed. A map that points at what the model uses gives a steep
 * deletion curve (small area) and a steep insertion curve (large area).
 *
 * Pixels are ranked by the map (largest first; ties by position). At step k of `steps`, the
 * first round(k/steps * H*W) pixels are
 *   deletion:  replaced, in every channel, by a blurred copy of the input (Gaussian,
 *              sigma = W/8 up to 64 px: the local structure goes, the intensity stays),
 *   insertion: copied from the input into that blurred copy,
 * and the target probability (softmax or sigmoid of the logits) is recorded. All steps+1
 * images of a curve run as batches. Areas use the trapezoidal rule over fractions 0..1.
 * RISE deletes to black; a black square is far outside what a radiograph model has seen, so
 * both curves here move between the image and its blur. Either way the perturbed images are
 * not natural images, and a curve can rise again when a blurred patch itself looks like a
 * finding: read the curves as evidence about the map, not as a score of it.
 */
#ifndef XAI_FAITHFULNESS_H
#define XAI_FAITHFULNESS_H

#include "method.h"

#define XAI_FAITH_MAX_STEPS 100

struct xai_faith {
    int steps;
    float fraction[XAI_FAITH_MAX_STEPS + 1];
    float deletion[XAI_FAITH_MAX_STEPS + 1];
    float insertion[XAI_FAITH_MAX_STEPS + 1];
    double deletion_auc, insertion_auc;
};

/* map: H x W on the model input grid of req->input; steps in [2, XAI_FAITH_MAX_STEPS].
 * Runs 2 * (steps + 1) forward passes in batches of req->max_batch. */
xai_status xai_faithfulness(const struct xai_method_req *req, const float *map, int steps,
                            struct xai_faith *out, struct xai_err *err);

#endif
