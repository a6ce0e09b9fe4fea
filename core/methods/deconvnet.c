/*
 * deconvnet.c - deconvnet attribution (Zeiler & Fergus 2014), as Captum's Deconvolution: the
 * gradient of the target logit with respect to the input, where every Relu passes back the
 * positive part of the gradient it receives, whatever the sign of its forward input (see
 * _guided.h for which nodes are overridden). The map is the signed sum over the colour
 * channels (abs=false, the default) or the largest absolute value over them (abs=true).
 * What it answers: which input patterns the units on the way to the class respond to.
 * Cost: one forward and one backward pass.
 * Caveat: the forward pass only enters through max-pooling switches and the logit's own
 * gradient, so the map depends little on the image and even less on the class.
 */
#include "_guided.h"

static const struct xai_param_def params[] = {
    {"abs", XAI_PARAM_BOOL, 0, 0, 1, NULL,
     "largest absolute value over channels (true) or signed channel sum (false)"},
};

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    bool use_abs = req->params->v[0] != 0;
    xai_status st = xai_m_result_init(req, !use_abs, out, err);
    if (!st) st = xai_relu_rule_map(req, "deconvnet", XAI_RELU_DECONV, use_abs, out->map, err);
    if (st) xai_method_result_reset(out);
    if (!st) xai_method_metric(out, "relu_nodes", xai_relu_count(req->mm->model));
    return st;
}

const struct xai_method_def xai_method_deconvnet = {
    .name = "deconvnet",
    .summary = "Which input patterns the units leading to the target class respond to.",
    .caveat = "Ignores which units were active, so the map depends little on the image and "
              "hardly on the class.",
    .params = params,
    .n_params = 1,
    .signed_map = true,
    .run = run,
};
