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
 * and whose output is the logits (its bias b is the Gemm's own); and after the forward pass
 * sum_k w_ck mean(A_k) + b_c must reproduce the logit (catching transposed weights,
 * alpha/beta or extra paths). Any other model is refused with UNSUPPORTED, suggesting
 * grad-CAM, which needs no particular head (on a GAP + linear head its weights are
 * w_ck / (h w), so it equals this map with relu=true, divided by h w).
 * What it answers: where in the image the features that the classifier weighs for the class
 * are active.
 * Cost: one forward pass, no backward pass.
 * Caveat: only for GAP + linear heads, and as coarse as the layer's grid.
 */
#include <math.h>
#include <stdlib.h>
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

/* The linear head as found in the graph: weight [classes, K] and bias (NULL when none). */
struct head {
    const struct xai_const *w, *b;
};

/* Layer -> GlobalAveragePool -> (Flatten | Reshape | Squeeze)* -> Gemm(head_weight) -> logits;
 * returns the Gemm. */
static const struct xai_node *find_gemm(const struct xai_method_req *req, struct xai_err *err)
{
    const xai_model *m = req->mm->model;
    const char *name = m->values[req->layer].name;
    const struct xai_node *n = sole_consumer(m, req->layer);
    if (!is_op(n, "GlobalAveragePool"))
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head: layer '%s' does not "
                        "feed a GlobalAveragePool alone" SUGGEST,
                        name),
               NULL;
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
                        name),
               NULL;
    if (n->out[0] != req->mm->output)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head: the linear layer "
                        "after '%s' does not produce the logits" SUGGEST,
                        name),
               NULL;
    return n;
}

static const struct xai_const *float_const(const xai_model *m, int v)
{
    const struct xai_const *c = v >= 0 && v < m->n_values ? m->values[v].cst : NULL;
    return c && c->dtype == XAI_F32 && c->f ? c : NULL;
}

/* The head's weight (must be [classes, K]) and the Gemm's own bias (whatever the repository
 * says about head_bias: the graph decides). */
static xai_status find_head(const struct xai_method_req *req, struct head *h, struct xai_err *err)
{
    const xai_model *m = req->mm->model;
    if (req->mm->head_weight < 0)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam needs a global-average-pooling + linear head, and this model "
                        "declares none" SUGGEST);
    xai_status st = xai_cam_check_layer(req, "cam", err);
    if (st) return st;
    const struct xai_node *gemm = find_gemm(req, err);
    if (!gemm) return XAI_UNSUPPORTED;
    int64_t k = m->values[req->layer].shape.d[1];
    h->w = float_const(m, req->mm->head_weight);
    if (!h->w || h->w->shape.ndim != 2 || h->w->shape.d[1] != k)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam: the head weight is not a [classes, %lld] matrix" SUGGEST,
                        (long long)k);
    h->b = gemm->n_in > 2 ? float_const(m, gemm->in[2]) : NULL;
    if (gemm->n_in > 2 && gemm->in[2] >= 0 &&
        (!h->b || xai_shape_numel(&h->b->shape) != h->w->shape.d[0]))
        return xai_fail(err, XAI_UNSUPPORTED,
                        "cam: the head's bias is not a constant vector of its classes" SUGGEST);
    if (req->target >= h->w->shape.d[0])
        return xai_fail(err, XAI_UNSUPPORTED, "cam: the head has fewer classes than the output");
    return XAI_OK;
}

/* w = the target's row of the head weight; checks sum_k w_k mean(A_k) + b = the logit. */
static xai_status weights(const struct xai_method_req *req, const struct head *h,
                          const struct xai_cam_layer *l, double *w, struct xai_err *err)
{
    int64_t hw = (int64_t)l->h * l->w;
    double logit = h->b ? h->b->f[req->target] : 0, scale = fabs(logit);
    for (int k = 0; k < l->k; k++) {
        w[k] = h->w->f[(int64_t)req->target * l->k + k];
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
    struct head h = {NULL, NULL};
    struct xai_cam_layer l;
    xai_status st = find_head(req, &h, err);
    if (!st) st = xai_cam_layer_run(req, "cam", false, &l, err);
    if (st) return st;
    double *w = malloc(sizeof(double) * (size_t)l.k);
    if (!w) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    st = weights(req, &h, &l, w, err);
    if (!st) st = xai_cam_finish(req, &l, w, req->params->v[0] != 0, out, err);
    free(w);
    if (st) xai_method_result_reset(out);
    return st;
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
