/*
 * vargrad.c - VarGrad (Adebayo et al. 2018, "Local explanation methods for deep neural
 * networks lack sensitivity to parameter values"; Captum's NoiseTunnel nt_type "vargrad" over
 * Saliency(abs=False)): the variance of the target logit's input gradient over noisy copies
 * x + N(0, sigma^2), E[g^2] - E[g]^2 (population variance, as Captum). Sampling, draw order and
 * reductions: _noise.h. Non-negative; by default summed over colour channels.
 *
 * What it answers: where the gradient is unstable near this image - pixels whose influence on
 * the score changes with small perturbations, typically along edges the model responds to.
 * Cost: `samples` forward and backward passes (batched).
 * Caveat: it measures how much the gradient varies, not whether a pixel is evidence for the
 * class; Adebayo et al. found it, like other gradient maps, partly independent of the model's
 * learned weights, so read it next to a sanity-checked method.
 */
#include "_noise.h"

static const struct xai_param_def params[] = {
    {"samples", XAI_PARAM_INT, 25, 2, XAI_NOISE_MAX_SAMPLES, NULL,
     "number of noisy copies (at least 2 for a variance)"},
    {"sigma", XAI_PARAM_FLOAT, 0.15, 0, 1, NULL,
     "noise standard deviation as a fraction of the model input's value range"},
    {"reduce", XAI_PARAM_ENUM, 2, 0, 0, xai_noise_reduce_choices,
     "over colour channels: max_abs, sum_abs or sum (the same here: the values are >= 0)"},
};

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    return xai_noise_run(req, XAI_NOISE_VAR, out, err);
}

const struct xai_method_def xai_method_vargrad = {
    .name = "vargrad",
    .summary = "Where the gradient of the target score is unstable: its variance over noisy "
               "copies of the image.",
    .caveat = "Measures gradient variability, not evidence for the class; depends on the noise "
              "level.",
    .params = params,
    .n_params = 3,
    .signed_map = false,
    .run = run,
};
