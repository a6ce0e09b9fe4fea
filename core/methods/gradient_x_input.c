/*
 * gradient_x_input.c - gradient times input (Shrikumar et al. 2016; Captum's InputXGradient):
 * attribution_i = x_i * dS/dx_i, with S the target logit; the map is the signed channel sum
 * (Captum's visualisation sums channels too).
 *
 * What it answers: a first-order estimate of how much each pixel's value, compared with an
 * input of all zeros, adds to or takes from the target score (positive: evidence for the class).
 * Cost: one forward and one backward pass.
 * Caveat: "zero" is the reference whether or not it means anything: after normalisation 0 is
 * the dataset's mean intensity, so pixels near the mean get no attribution whatever their role,
 * and the estimate is only first-order (integrated gradients removes that error).
 */
#include <stdlib.h>

#include "_common.h"

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    const struct xai_shape *s = &req->input->shape;
    int64_t n = xai_m_item_numel(req);
    float *g = malloc(sizeof(float) * (size_t)n);
    if (!g) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st = xai_m_input_grad(req, req->input->data, 1, NULL, g, NULL, err);
    if (!st) st = xai_m_result_init(req, true, out, err);
    if (!st) {
        for (int64_t i = 0; i < n; i++) g[i] *= req->input->data[i];
        xai_m_reduce_channels(g, (int)s->d[1], (int)s->d[2], (int)s->d[3], XAI_REDUCE_SUM,
                              out->map);
    }
    free(g);
    return st;
}

const struct xai_method_def xai_method_gradient_x_input = {
    .name = "gradient_x_input",
    .summary = "How much each pixel's value, against an all-zero input, adds to or takes from "
               "the target score (first-order estimate).",
    .caveat = "The reference is the zero input (the mean intensity after normalisation), and the "
              "estimate is first-order only.",
    .params = NULL,
    .n_params = 0,
    .signed_map = true,
    .run = run,
};
