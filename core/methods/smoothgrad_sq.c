/*
 * smoothgrad_sq.c - SmoothGrad-squared (Hooker et al. 2019; Captum's NoiseTunnel nt_type
 * "smoothgrad_sq" over Saliency(abs=False)): the mean of the squared input gradient of the
 * target logit over noisy copies x + N(0, sigma^2). Sampling, draw order and reductions:
 * _noise.h. The statistic is non-negative; by default the map sums it over colour channels (as
 * Captum's visualisation does; the energy of a pixel's colour gradients adds up).
 *
 * What it answers: where the target score is sensitive, in either direction, near this image:
 * the mean squared gradient is the squared SmoothGrad plus the gradient's variance, so pixels
 * whose gradient flips sign under noise still show.
 * Cost: `samples` forward and backward passes (batched).
 * Caveat: squaring drops the sign and emphasises a few large gradients; like SmoothGrad, the
 * look depends on sigma.
 */
#include "_noise.h"

static const struct xai_param_def params[] = {
    {"samples", XAI_PARAM_INT, 25, 1, XAI_NOISE_MAX_SAMPLES, NULL, "number of noisy copies"},
    {"sigma", XAI_PARAM_FLOAT, 0.15, 0, 1, NULL,
     "noise standard deviation as a fraction of the model input's value range"},
    {"reduce", XAI_PARAM_ENUM, 2, 0, 0, xai_noise_reduce_choices,
     "over colour channels: max_abs, sum_abs or sum (the same here: the values are >= 0)"},
};

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    return xai_noise_run(req, XAI_NOISE_MEAN_SQ, out, err);
}

const struct xai_method_def xai_method_smoothgrad_sq = {
    .name = "smoothgrad_sq",
    .summary = "Where the target score is sensitive near this image, in either direction: mean "
               "squared gradient over noisy copies.",
    .caveat = "No sign, dominated by a few large gradients, and dependent on the noise level.",
    .params = params,
    .n_params = 3,
    .signed_map = false,
    .run = run,
};
