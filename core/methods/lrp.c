/*
 * lrp.c - layer-wise relevance propagation (Bach et al. 2015; rules and composites as Zennit
 * defines them, Anders et al.). The target logit S is the relevance at the output; each layer
 * passes the relevance of its outputs down to its inputs by a rule (see _lrp_rules.h), so that
 * the input pixels end up sharing S. The map is the relevance per pixel, summed over colour
 * channels (signed: positive for evidence for the class, negative against it).
 *
 * Rules per layer (parameter `rule`):
 *   epsilon_plus_flat (default, Zennit's EpsilonPlusFlat): Flat for the first Conv/Gemm of the
 *       graph, ZPlus for every other convolution, Epsilon for dense layers.
 *   epsilon_gamma_box (Zennit's EpsilonGammaBox): ZBox for the first convolution (bounds: the
 *       model's input range), Gamma for the other convolutions, Epsilon for dense layers.
 *   epsilon, gamma, alpha2_beta1, alpha1_beta0, zplus, flat, wsquare: that rule for every
 *       convolution and dense layer.
 * Always: Pass for activations (and a BatchNormalization the importer could not fold into the
 * convolution before it, as Zennit's composites treat unmerged BatchNorm), Norm for Add,
 * average pooling and ReduceMean (relevance split in proportion to each input's contribution,
 * as Zennit's residual canonizer and AvgPool rule do), the gradient for MaxPool (winner takes
 * all), Concat and reshapes (routing). BatchNorm after a convolution is folded into it at
 * load, so the rules see the merged layer (Zennit's MergeBatchNorm canonizer).
 *
 * Implementation: the executor's backward pass with overrides that carry relevance instead of
 * gradients (the pass is seeded with one-hot * S at the logits); a linear layer's rule runs
 * the layer's own forward and backward on modified copies of its input and weights.
 * Metrics: lrp_conservation = sum of the input relevance / S (1: conserved) and
 * lrp_conservation_error = |sum R - S| / |S|. Epsilon with bias-free layers conserves up to
 * the stabilisers; biases absorb relevance, and Flat, WSquare and ZBox first layers do not
 * conserve exactly (their denominators are not the layer's output).
 *
 * Cost: one forward pass, then one backward pass in which every convolution and dense layer
 * runs its forward and backward once per rule variant: epsilon, flat, wsquare 1 + 1; zplus
 * 2 + 2; zbox 3 + 3; alpha2_beta1 4 + 4 (alpha1_beta0 2 + 2); gamma 5 + 4. On a layer whose
 * input has no negative value (after a ReLU: every layer but the first in most CNNs) the
 * variants on x- are zero and skipped: zplus 1 + 1, alpha2_beta1 2 + 2, gamma 3 + 2. Norm
 * nodes run one forward and one backward per input. Every layer's input activation must be
 * kept: the method asks the session to keep the inputs of every Conv, ConvTranspose, Gemm,
 * MatMul, Add and average-pooling node (xai_session_keep_op per op kind, before the forward
 * pass). ResNet-18 at 224x224: epsilon_plus_flat about 2x a forward + gradient pass.
 *
 * Caveat: the map depends strongly on the rule chosen (the composites are heuristics), and
 * relevance is not a gradient: it says how the score is divided among the pixels, not how the
 * score would change if they changed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "_common.h"
#include "_lrp_graph.h"

static const char *const rule_names[] = {"epsilon_plus_flat",
                                         "epsilon_gamma_box",
                                         "epsilon",
                                         "gamma",
                                         "alpha2_beta1",
                                         "alpha1_beta0",
                                         "zplus",
                                         "flat",
                                         "wsquare",
                                         NULL};

enum { P_RULE, P_EPSILON, P_GAMMA };
enum { R_EPSILON_PLUS_FLAT, R_EPSILON_GAMMA_BOX, R_EPSILON, R_GAMMA, R_ALPHA2_BETA1 };

static const struct xai_param_def params[] = {
    {"rule", XAI_PARAM_ENUM, R_EPSILON_PLUS_FLAT, 0, 0, rule_names,
     "composite (epsilon_plus_flat, epsilon_gamma_box) or one rule for every conv/dense layer"},
    {"epsilon", XAI_PARAM_FLOAT, 1e-6, 1e-9, 100, NULL,
     "stabiliser of the epsilon rule, added to each layer's outputs (dense layers only in the "
     "composites); larger values keep only the strongest contributions"},
    {"gamma", XAI_PARAM_FLOAT, 0.25, 0, 100, NULL,
     "weight of the positive contributions added by the gamma rule"},
};

#define BIT(k) (1u << (k))

static struct xai_lrp_layer_rules layer_rules(int choice)
{
    static const enum xai_lrp_rule single[] = {
        XAI_LRP_EPSILON, XAI_LRP_GAMMA, XAI_LRP_ALPHA_BETA, XAI_LRP_ALPHA_BETA,
        XAI_LRP_ZPLUS,   XAI_LRP_FLAT,  XAI_LRP_WSQUARE};
    if (choice == R_EPSILON_PLUS_FLAT)
        return (struct xai_lrp_layer_rules){XAI_LRP_ZPLUS, XAI_LRP_EPSILON, XAI_LRP_FLAT,
                                            BIT(XAI_LRPK_CONV) | BIT(XAI_LRPK_DENSE)};
    if (choice == R_EPSILON_GAMMA_BOX)
        return (struct xai_lrp_layer_rules){XAI_LRP_GAMMA, XAI_LRP_EPSILON, XAI_LRP_ZBOX,
                                            BIT(XAI_LRPK_CONV)};
    enum xai_lrp_rule r = single[choice - R_EPSILON];
    return (struct xai_lrp_layer_rules){r, r, r, 0};
}

static xai_status setup(const struct xai_method_req *req, struct xai_lrp_run *lr,
                        struct xai_err *err)
{
    const double *v = req->params->v;
    int choice = (int)v[P_RULE];
    memset(lr, 0, sizeof *lr);
    lr->m = req->mm->model;
    lr->rules = layer_rules(choice);
    lr->h = (struct xai_lrp_hparams){
        .epsilon = (float)v[P_EPSILON],
        .stabilizer = 1e-6f,
        .gamma = (float)v[P_GAMMA],
        .alpha = choice == R_ALPHA2_BETA1 ? 2.f : 1.f,
        .beta = choice == R_ALPHA2_BETA1 ? 1.f : 0.f,
        .low = req->mm->input_lo,
        .high = req->mm->input_hi,
    };
    if (choice == R_EPSILON_GAMMA_BOX && !(lr->h.low < lr->h.high))
        return xai_fail(err, XAI_UNSUPPORTED,
                        "lrp rule epsilon_gamma_box needs the model's input range "
                        "(input_lo < input_hi) for its ZBox first layer");
    return XAI_OK;
}

/* After the forward pass: how the first layer's backward run will be recognised. */
static xai_status find_first(const struct xai_method_req *req, struct xai_lrp_run *lr,
                             struct xai_err *err)
{
    if (lr->first < 0) return XAI_OK;
    const struct xai_node *n = &lr->m->nodes[lr->first];
    const struct xai_tensor *t = xai_session_value(req->s, n->in[0]);
    if (!t) return xai_fail(err, XAI_INTERNAL, "lrp needs the input of node '%s' kept", n->name);
    lr->first_params = n->params;
    lr->first_in = t->data;
    return XAI_OK;
}

/* Backward pass from one-hot * score at the logits; *score receives the target logit. */
static xai_status propagate(const struct xai_method_req *req, const struct xai_lrp_plan *plan,
                            float *score, struct xai_err *err)
{
    const struct xai_tensor *y = xai_session_value(req->s, req->mm->output);
    if (!y || y->shape.ndim != 2 || y->shape.d[0] != 1)
        return xai_fail(err, XAI_INTERNAL, "the model output is not [1, classes]");
    if (req->target < 0 || req->target >= y->shape.d[1])
        return xai_fail(err, XAI_INVALID_ARGUMENT, "target %d is not a class of the model",
                        req->target);
    float *seed = calloc((size_t)y->shape.d[1], sizeof(float));
    if (!seed) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *score = y->data[req->target];
    seed[req->target] = *score;
    struct xai_tensor g = {y->shape, seed};
    struct xai_grad_seed gs = {req->mm->output, &g};
    struct xai_backward_opts opts = {plan->ov, plan->n, NULL, 0};
    xai_status st = xai_session_backward(req->s, &gs, 1, &opts, err);
    free(seed);
    return st;
}

static xai_status override_status(const struct xai_lrp_run *lr, struct xai_err *err)
{
    if (lr->status == XAI_NO_MEMORY)
        return xai_fail(err, XAI_NO_MEMORY, "out of memory in the lrp rule of a %s node",
                        lr->failed_op);
    if (lr->status)
        return xai_fail(err, lr->status,
                        "lrp needs the inputs of every %s node kept after the forward pass",
                        lr->failed_op);
    return XAI_OK;
}

static xai_status finish(const struct xai_method_req *req, float score,
                         struct xai_method_result *out, struct xai_err *err)
{
    const struct xai_tensor *rel = xai_session_grad(req->s, req->mm->model->input);
    if (!rel) return xai_fail(err, XAI_INTERNAL, "no relevance reached the input");
    const struct xai_shape *s = &req->input->shape;
    xai_status st = xai_m_result_init(req, true, out, err);
    if (st) return st;
    xai_m_reduce_channels(rel->data, (int)s->d[1], (int)s->d[2], (int)s->d[3], XAI_REDUCE_SUM,
                          out->map);
    double sum = 0;
    for (int64_t i = 0; i < xai_shape_numel(&rel->shape); i++) sum += rel->data[i];
    if (score != 0.f) {
        xai_method_metric(out, "lrp_conservation", sum / score);
        xai_method_metric(out, "lrp_conservation_error", fabs(sum - score) / fabs(score));
    }
    return XAI_OK;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    struct xai_lrp_run lr;
    struct xai_lrp_plan plan;
    float score = 0.f;
    xai_status st = setup(req, &lr, err);
    if (!st) st = xai_lrp_plan(&lr, req->mm->output, &plan, err);
    if (!st) st = xai_lrp_keep(req->s, &plan, err);
    if (!st) st = xai_session_forward(req->s, req->input, err);
    if (!st) st = find_first(req, &lr, err);
    if (!st) st = propagate(req, &plan, &score, err);
    if (!st) st = override_status(&lr, err);
    if (!st) st = finish(req, score, out, err);
    xai_lrp_ws_free(&lr.ws);
    return st;
}

const struct xai_method_def xai_method_lrp = {
    .name = "lrp",
    .summary = "How the target score divides among the pixels, layer by layer back from the "
               "output (positive: evidence for the class, negative: against it).",
    .caveat = "The map depends strongly on the rule chosen, and relevance says how the score "
              "is shared among pixels, not how it would change if they changed.",
    .params = params,
    .n_params = 3,
    .signed_map = true,
    .run = run,
    .fits = xai_lrp_fits,
};
