/*
 * _common.h - what attribution methods share: batched gradients and scores of the target,
 * channel reductions, the result buffer, and a reproducible random number generator.
 *
 * RNG (so that a Python reference can draw the same numbers): state s is a uint64;
 *   next:    s += 0x9E3779B97F4A7C15; z = s; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
 *            z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31      (splitmix64)
 *   uniform: (next >> 11) * 2^-53, in [0, 1)
 *   normal:  u1 = 1 - uniform, u2 = uniform; sqrt(-2 ln u1) * cos(2 pi u2)   (one per two draws)
 */
#ifndef XAI_METHODS_COMMON_H
#define XAI_METHODS_COMMON_H

#include "method.h"

uint64_t xai_rng_next(uint64_t *s);
double xai_rng_uniform(uint64_t *s);
double xai_rng_normal(uint64_t *s);

/* Elements of one input item (C*H*W). */
int64_t xai_m_item_numel(const struct xai_method_req *req);

/* Runs `n` inputs (n * item floats at x) through the model in batches of at most
 * req->max_batch and writes each one's target logit to scores[n]. */
xai_status xai_m_scores(const struct xai_method_req *req, const float *x, int n, float *scores,
                        struct xai_err *err);

/* For `n` inputs at x: the gradient of each one's target logit with respect to its input,
 * written to grad (n * item floats), in batches of at most req->max_batch. opts (may be NULL)
 * passes backward overrides, e.g. guided backprop's Relu rule. scores (may be NULL) receives
 * the target logits. */
xai_status xai_m_input_grad(const struct xai_method_req *req, const float *x, int n,
                            const struct xai_backward_opts *opts, float *grad, float *scores,
                            struct xai_err *err);

enum xai_reduce { XAI_REDUCE_SUM, XAI_REDUCE_MAX_ABS, XAI_REDUCE_SUM_ABS };
/* Reduces a C x H x W attribution to H x W. */
void xai_m_reduce_channels(const float *chw, int c, int h, int w, enum xai_reduce mode, float *out);

/* Allocates out->map for the model input grid of req; sets height, width, signed_map. */
xai_status xai_m_result_init(const struct xai_method_req *req, bool signed_map,
                             struct xai_method_result *out, struct xai_err *err);

#endif
