/*
 * _noise.h - the noise tunnel shared by smoothgrad, smoothgrad_sq and vargrad (Smilkov et al.
 * 2017; Adebayo et al. 2018; Captum's NoiseTunnel over Saliency with abs=False).
 *
 * n noisy copies x_k = x + eps_k, eps_k ~ N(0, sigma^2) elementwise, with
 * sigma = sigma_frac * (input_hi - input_lo) (the model input's value range, so sigma_frac is
 * the "noise level" of the SmoothGrad paper); g_k = dS/dx at x_k (S the target logit). Per input
 * element: smoothgrad = mean_k g_k, smoothgrad_sq = mean_k g_k^2, vargrad = mean_k g_k^2 -
 * (mean_k g_k)^2 (the population variance, as Captum), accumulated in double; vargrad is
 * clamped at 0 against rounding.
 *
 * Noise draws (tools/xai_ref/methods/_noise.py draws the same numbers): one RNG state
 * s = req->seed (_common.h); sample-major, then element order (C, H, W of the input item):
 * for k in 0..n-1, for e in 0..item-1: x_k[e] = x[e] + (float)(sigma * xai_rng_normal(&s)),
 * sigma in double from the float input_lo/input_hi. Each normal takes two uniform draws.
 *
 * The three methods share one parameter layout: 0 samples, 1 sigma (sigma_frac), 2 reduce.
 * Reduction over colour channels of the per-element statistic: "max_abs" (Simonyan et al. and
 * saliency's default), "sum_abs" (the PAIR saliency library's grayscale visualisation), "sum"
 * (signed channel sum, what Captum's visualize_image_attr sums before its sign option). For
 * smoothgrad_sq and vargrad the statistic is non-negative, so "sum" and "sum_abs" agree.
 * Cost: n forward and n backward passes, in batches of at most req->max_batch.
 */
#ifndef XAI_METHODS_NOISE_H
#define XAI_METHODS_NOISE_H

#include "_common.h"

enum xai_noise_stat { XAI_NOISE_MEAN, XAI_NOISE_MEAN_SQ, XAI_NOISE_VAR };

#define XAI_NOISE_MAX_SAMPLES 100

/* The reduce parameter's choices: "max_abs", "sum_abs", "sum" (NULL-terminated). */
extern const char *const xai_noise_reduce_choices[];

/* Runs the noise tunnel with the parameter layout above and fills out (map on the input grid,
 * signed only for smoothgrad with reduce "sum"). */
xai_status xai_noise_run(const struct xai_method_req *req, enum xai_noise_stat stat,
                         struct xai_method_result *out, struct xai_err *err);

/* The per-element statistic alone (item floats at stat_out), for tests and other methods. */
xai_status xai_noise_stats(const struct xai_method_req *req, int samples, double sigma_frac,
                           enum xai_noise_stat stat, float *stat_out, struct xai_err *err);

#endif
