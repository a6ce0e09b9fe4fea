/*
 * gradcam_pp.c - grad-CAM++ (Chattopadhay et al. 2018), as pytorch-grad-cam's
 * GradCAMPlusPlus: with g = dS/dA of the target logit S at the layer's activation A and
 * s_k = sum over positions of A_k (equation 19 of the paper, with exp(S) dropped),
 *   alpha_kij = g^2 / (2 g^2 + s_k g^3 + 1e-6)   (0 where g = 0),
 *   w_k = sum_ij alpha_kij * ReLU(g_kij),        cam = ReLU(sum_k w_k A_k),
 * upsampled bilinearly (align_corners=False) onto the model input grid, without
 * pytorch-grad-cam's final min-max scaling (see gradcam.c). Weights are computed in double.
 * What it answers: like grad-CAM, but positions with positive gradient count more evenly, so
 * several instances of the evidence show up rather than the strongest one.
 * Cost: one forward pass and a backward pass that stops at the layer.
 * Caveat: the 1e-6 in the denominator is of the order of g^2 for typical last-layer
 * gradients, so the weights depend on the logit's scale; the map is as coarse as grad-CAM's.
 */
#include "_cam.h"

static xai_status weights(const struct xai_method_req *req, const struct xai_cam_layer *l,
                          double *w, struct xai_err *err)
{
    int64_t hw = (int64_t)l->h * l->w;
    for (int k = 0; k < l->k; k++) {
        const float *a = l->act + (int64_t)k * hw, *g = l->grad + (int64_t)k * hw;
        double s = 0, wk = 0;
        for (int64_t i = 0; i < hw; i++) s += a[i];
        for (int64_t i = 0; i < hw; i++) {
            double gi = g[i];
            if (gi <= 0) continue; /* ReLU(g) = 0 */
            double g2 = gi * gi;
            wk += g2 / (2 * g2 + s * g2 * gi + 1e-6) * gi;
        }
        w[k] = wk;
    }
    return XAI_OK;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    return xai_cam_map(req, "gradcam_pp", true, weights, true, out, err);
}

const struct xai_method_def xai_method_gradcam_pp = {
    .name = "gradcam_pp",
    .summary = "Like grad-CAM, with pixel-wise weights so several instances of the evidence show.",
    .caveat = "As coarse as grad-CAM, and its weights depend on the scale of the logits.",
    .params = NULL,
    .n_params = 0,
    .needs = XAI_NEEDS_LAYER,
    .signed_map = false,
    .run = run,
};
