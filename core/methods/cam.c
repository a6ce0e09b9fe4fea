/*
 * cam.c - class activation mapping (Zhou et al. 2016): for a network whose head is global
 * average pooling then one linear layer, logit_c = sum_k w_ck mean(A_k) + b_c, so
 *   cam_c = sum_k w_ck A_k
 * (at the layer's resolution; its mean plus b_c is the logit), upsampled bilinearly
 * (align_corners=False) onto the model input grid. The layer is req->layer: the one that
 * feeds the pooling. With relu=false (the default, as in the paper and TorchCAM's CAM) the
 * map is signed: negative where features argue against the class; relu=true keeps the
 * positive part, as grad-CAM does.
 * The head is verified, not assumed: the layer must feed GlobalAveragePool, then only
 * Flatten/Reshape/Squeeze, then a Gemm whose weight is the model's head weight [classes, K]
 * and whose output is the logits; and after the forward pass sum_k w_ck mean(A_k) + b_c must
 * reproduce the logit (catching transposed weights, alpha/beta or extra paths). Any other
 * model is refused with UNSUPPORTED: grad-CAM computes the same map on such heads (for a
 * GAP+linear head, grad-CAM's weights are w_ck / (h w)) and works everywhere.
 * What it answers: where in the image the features that the classifier weighs for the class
 * are active.
 * Cost: one forward pass, no backward pass.
 * Caveat: only for GAP + linear heads, and as coarse as the layer's grid.
 */
#include <math.h>
#include <string.h>

#include "_cam.h"

static const struct xai_param_def params[] = {
    {"relu", XAI_PARAM_BOOL, 0, 0, 1, NULL,
     "keep only the positive part (true) or the signed map of the original CAM (false)"},
};

#define SUGGEST "; use gradcam, which works with any head"

/* The node reading value v as its first input, if it is the only node reading v. */
static const struct xai_node *sole_consumer(const xai_model *m, int v)
{
    const struct xai_node *found = NULL;
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++)
            if (m->nodes[i].in[j] == v) {
                if (found || j != 0) return NULL;
                found = &m->nodes[i];
            }
    return found;
}

static bool is_op(const struct xai_node *n, const char *op)
{
    return n && strcmp(n->op->name, op) == 0;
}

/* Layer -> GlobalAveragePool -> (Flatten | Reshape | Squeeze)* -> Gemm(head_weight) -> logits */
static xai_status check_graph(const struct xai_method_req *req, struct xai_err *err)
{
    const xai_model *m = req->mm->model;
    const char *name = m->values[req->layer].name;
    const struct xai_node *n = sole_consumer(m, req->layer);
    if (!is_op(n, "GlobalAveragePool"))
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head: layer '%s' does not "
                        "feed a GlobalAveragePool alone" SUGGEST,
                        name);
    for (int hops = 0; hops < 4 && n && !is_op(n, "Gemm"); hops++) {
        n = sole_consumer(m, n->out[0]);
        if (n && !is_op(n, "Flatten") && !is_op(n, "Reshape") && !is_op(n, "Squeeze") &&
            !is_op(n, "Gemm"))
            n = NULL;
    }
    if (!is_op(n, "Gemm") || n->n_in < 2 || n->in[1] != req->mm->head_weight)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head: the pooling after "
                        "'%s' does not reach a linear layer with the model's head weight" SUGGEST,
                        name);
    if (n->out[0] != req->mm->output)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head: the linear layer "
                        "after '%s' does not produce the logits" SUGGEST,
                        name);
    return XAI_OK;
}

static const struct xai_const *head_const(const struct xai_method_req *req, int v, int ndim)
{
    const xai_model *m = req->mm->model;
    if (v < 0 || v >= m->n_values) return NULL;
    const struct xai_const *c = m->values[v].cst;
    return c && c->dtype == XAI_F32 && c->f && c->shape.ndim == ndim ? c : NULL;
}

static xai_status check_head(const struct xai_method_req *req, struct xai_err *err)
{
    if (req->mm->head_weight < 0)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head, and this model "
                        "declares none" SUGGEST);
    xai_status st = xai_cam_check_layer(req, "cam", err);
    if (!st) st = check_graph(req, err);
    if (st) return st;
    const struct xai_const *w = head_const(req, req->mm->head_weight, 2);
    const xai_model *m = req->mm->model;
    if (!w || w->shape.d[1] != m->values[req->layer].shape.d[1])
        return xai_fail(
            err, XAI_UNSUPPORTED,
            "cam: the head weight is not a [classes, %lld] matrix for layer '%s'" SUGGEST,
            (long long)m->values[req->layer].shape.d[1], m->values[req->layer].name);
    if (req->mm->head_bias >= 0 && !head_const(req, req->mm->head_bias, 1))
        return xai_fail(err, XAI_UNSUPPORTED, "cam: the head bias is not a vector" SUGGEST);
    return XAI_OK;
}

/* w_c from the head; checks that sum_k w_ck mean(A_k) + b_c reproduces the logit. */
static xai_status weights(const struct xai_method_req *req, const struct xai_cam_layer *l,
                          double *w, struct xai_err *err)
{
    const struct xai_const *wc = head_const(req, req->mm->head_weight, 2);
    const struct xai_const *bc = head_const(req, req->mm->head_bias, 1);
    if (req->target >= wc->shape.d[0] || (bc && req->target >= bc->shape.d[0]))
        return xai_fail(err, XAI_UNSUPPORTED, "cam: the head has fewer classes than the output");
    int64_t hw = (int64_t)l->h * l->w;
    double logit = bc ? bc->f[req->target] : 0, scale = fabs(logit);
    for (int k = 0; k < l->k; k++) {
        w[k] = wc->f[(int64_t)req->target * l->k + k];
        double mean = 0;
        for (int64_t i = 0; i < hw; i++) mean += l->act[(int64_t)k * hw + i];
        logit += w[k] * mean / (double)hw;
        scale += fabs(w[k] * mean / (double)hw);
    }
    if (fabs(logit - l->score) > 1e-4 * scale + 1e-5)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam: the head does not compute the logit as w . mean(layer) + b "
                        "(%g instead of %g)" SUGGEST,
                        logit, (double)l->score);
    return XAI_OK;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    xai_status st = check_head(req, err);
    if (st) return st;
    return xai_cam_map(req, "cam", false, weights, req->params->v[0] != 0, out, err);
}

const struct xai_method_def xai_method_cam = {
    .name = "cam",
    .summary = "Where the features the classifier weighs for the class are active.",
    .caveat = "Only for global-average-pooling + linear heads, and as coarse as the layer's "
              "grid.",
    .params = params,
    .n_params = 1,
    .needs = XAI_NEEDS_LAYER | XAI_NEEDS_GAP_HEAD,
    .signed_map = true,
    .run = run,
};
