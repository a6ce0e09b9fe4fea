/*
 * smoothgrad.c - SmoothGrad (Smilkov et al. 2017; Captum's NoiseTunnel(Saliency(abs=False)),
 * nt_type "smoothgrad"): the mean of the target logit's input gradient over noisy copies of the
 * input, x + N(0, sigma^2), sigma = sigma_frac * (input range). Sampling, draw order and
 * reductions: _noise.h.
 *
 * What it answers: which pixels the target score is sensitive to, once the gradient's
 * pixel-to-pixel noise is averaged out. The map reduces the mean gradient over colour channels,
 * by default as saliency does (largest absolute value), so the two are directly comparable;
 * reduce="sum" keeps the sign (evidence for / against).
 * Cost: `samples` forward and backward passes (batched).
 * Caveat: still a sensitivity map - it says where the score would change, not what the model
 * used - and it depends on sigma: too little leaves noise, too much blurs the map.
 */
#include "_noise.h"

static const struct xai_param_def params[] = {
    {"samples", XAI_PARAM_INT, 25, 1, XAI_NOISE_MAX_SAMPLES, NULL, "number of noisy copies"},
    {"sigma", XAI_PARAM_FLOAT, 0.15, 0, 1, NULL,
     "noise standard deviation as a fraction of the model input's value range"},
    {"reduce", XAI_PARAM_ENUM, 0, 0, 0, xai_noise_reduce_choices,
     "over colour channels: max_abs (as saliency), sum_abs, or sum (signed)"},
};

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    return xai_noise_run(req, XAI_NOISE_MEAN, out, err);
}

const struct xai_method_def xai_method_smoothgrad = {
    .name = "smoothgrad",
    .summary = "Which pixels the target score is sensitive to, averaged over noisy copies of the "
               "image so that gradient noise cancels.",
    .caveat = "A sensitivity map like saliency, and its look depends on the noise level sigma.",
    .params = params,
    .n_params = 3,
    .signed_map = false,
    .run = run,
};
