/*
 * guided_backprop.c - guided backpropagation (Springenberg et al. 2014), as Captum's
 * GuidedBackprop: the gradient of the target logit with respect to the input, where every
 * Relu passes back only the positive part of its ordinary gradient (dy where x > 0 and
 * dy > 0; see _guided.h for which nodes are overridden). The map is the signed sum over the
 * colour channels (abs=false, the default, as Captum's visualisation reduces channels) or the
 * largest absolute value over them (abs=true).
 * What it answers: which input pixels excite the positive evidence paths for the class.
 * Cost: one forward and one backward pass.
 * Caveat: the map looks sharp but is largely class-insensitive: it reconstructs image edges
 * whatever the target (Adebayo et al. 2018; Böhle et al. found guided backpropagation maps
 * barely differ between Alzheimer's disease and controls, see the review).
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
    if (!st)
        st = xai_relu_rule_map(req, "guided_backprop", XAI_RELU_GUIDED, use_abs, out->map, err);
    if (st) xai_method_result_reset(out);
    if (!st) xai_method_metric(out, "relu_nodes", xai_relu_count(req->mm->model));
    return st;
}

const struct xai_method_def xai_method_guided_backprop = {
    .name = "guided_backprop",
    .summary = "Which input pixels feed the positive evidence paths of the target class.",
    .caveat = "Sharp but largely class-insensitive: it mostly reconstructs image edges, "
              "whatever the target.",
    .params = params,
    .n_params = 1,
    .signed_map = true,
    .run = run,
};
