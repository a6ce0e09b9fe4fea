/*
 * saliency.c - vanilla gradient saliency (Simonyan et al. 2014): the gradient of the target
 * logit with respect to the input pixels. With abs=true (the default, as in the paper and
 * Captum's Saliency), the map is the largest absolute gradient over the colour channels;
 * with abs=false, the channel sum of the signed gradient.
 * Cost: one forward and one backward pass.
 */
#include <stdlib.h>

#include "_common.h"

static const struct xai_param_def params[] = {
    {"abs", XAI_PARAM_BOOL, 1, 0, 1, NULL,
     "absolute value, max over channels (true) or signed channel sum (false)"},
};

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    bool use_abs = req->params->v[0] != 0;
    const struct xai_shape *s = &req->input->shape;
    int64_t n = xai_m_item_numel(req);
    float *g = malloc(sizeof(float) * (size_t)n);
    if (!g) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st = xai_m_input_grad(req, req->input->data, 1, NULL, g, NULL, err);
    if (!st) st = xai_m_result_init(req, !use_abs, out, err);
    if (!st)
        xai_m_reduce_channels(g, (int)s->d[1], (int)s->d[2], (int)s->d[3],
                              use_abs ? XAI_REDUCE_MAX_ABS : XAI_REDUCE_SUM, out->map);
    free(g);
    return st;
}

const struct xai_method_def xai_method_saliency = {
    .name = "saliency",
    .summary = "Which pixels, changed slightly, would change the target score the most.",
    .caveat = "Gradient magnitude cannot tell evidence for the class from evidence against it, "
              "and gradients are noisy.",
    .params = params,
    .n_params = 1,
    .signed_map = false,
    .run = run,
};
