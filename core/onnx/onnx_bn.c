/*
 * onnx_bn.c - BatchNormalization folded into the convolution before it.
 *
 * When X of a BatchNormalization is the output of a Conv or ConvTranspose whose weight (and
 * bias, if any) are float constants and whose output feeds nothing else, and the BN's
 * scale, B, mean and var are constants, the convolution's weights are rewritten
 *   s = scale / sqrt(var + eps),  W'[oc] = W[oc] * s[oc],  b'[oc] = (b[oc] - mean[oc]) * s[oc] +
 * B[oc] and the BN node disappears: the convolution writes the BN's output. The convolution waits
 * (imp_node.conv_pending) until its BN is reached so that its init sees the final weights.
 * Weights used elsewhere are copied, not rewritten. Otherwise BN stays a runtime op.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

static const struct xai_const *cst_of(const struct imp *im, int v)
{
    return v >= 0 ? im->m->values[v].cst : NULL;
}

static bool is_conv(const char *op)
{
    return strcmp(op, "Conv") == 0 || strcmp(op, "ConvTranspose") == 0;
}

static int64_t conv_group(const struct imp_node *conv)
{
    const Xonnx__NodeProto *np = conv->np;
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i]->name && strcmp(np->attribute[i]->name, "group") == 0)
            return np->attribute[i]->i;
    return 1;
}

/* Output channels of the convolution, or -1 when its weight does not allow folding. */
static int64_t conv_channels(const struct imp *im, const struct imp_node *conv)
{
    const struct xai_const *w = cst_of(im, conv->in[1]);
    if (!w || w->dtype != XAI_F32 || w->shape.ndim < 3) return -1;
    if (strcmp(conv->op, "Conv") == 0) return w->shape.d[0];
    int64_t g = conv_group(conv);
    if (g < 1 || w->shape.d[0] % g) return -1;
    return w->shape.d[1] * g;
}

bool xai_imp_bn_candidate(const struct imp *im, const struct imp_node *n)
{
    if (!is_conv(n->op) || n->n_out != 1 || n->n_in < 2 || n->in[1] < 0) return false;
    int y = n->out[0];
    if (im->uses[y] != 1 || im->consumer[y] < 0) return false;
    const struct imp_node *bn = &im->nodes[im->consumer[y]];
    if (strcmp(bn->op, "BatchNormalization") || bn->n_in != 5 || bn->in[0] != y) return false;
    if (bn->np->domain && bn->np->domain[0] && strcmp(bn->np->domain, "ai.onnx")) return false;
    int64_t m = conv_channels(im, n);
    const struct xai_const *b = n->n_in > 2 ? cst_of(im, n->in[2]) : NULL;
    if (m <= 0) return false;
    if (n->n_in > 2 && n->in[2] >= 0 && (!b || b->dtype != XAI_F32)) return false;
    return !b || xai_shape_numel(&b->shape) == m;
}

xai_status xai_bn_fold_weights(float *w, const struct xai_shape *wshape, bool transpose,
                               int64_t group, float *bias, const float *scale, const float *beta,
                               const float *mean, const float *var, float eps, struct xai_err *err)
{
    if (wshape->ndim < 2 || group < 1 || wshape->d[0] % group)
        return xai_fail(err, XAI_BAD_MODEL, "convolution weight shape does not match its groups");
    int64_t d0 = wshape->d[0], d1 = wshape->d[1];
    int64_t m = transpose ? d1 * group : d0;
    int64_t inner = xai_shape_numel(wshape) / (d0 && d1 ? d0 * d1 : 1);
    for (int64_t oc = 0; oc < m; oc++)
        if (!(var[oc] + eps > 0))
            return xai_fail(err, XAI_BAD_MODEL,
                            "BatchNormalization: var + epsilon is not positive "
                            "in channel %lld",
                            (long long)oc);
    for (int64_t a = 0; a < d0; a++)
        for (int64_t b = 0; b < d1; b++) {
            int64_t oc = transpose ? a / (d0 / group) * d1 + b : a;
            float s = (float)((double)scale[oc] / sqrt((double)var[oc] + (double)eps));
            float *p = w + (a * d1 + b) * inner;
            for (int64_t k = 0; k < inner; k++) p[k] *= s;
        }
    for (int64_t oc = 0; oc < m; oc++) {
        double s = (double)scale[oc] / sqrt((double)var[oc] + (double)eps);
        bias[oc] = (float)(((double)bias[oc] - mean[oc]) * s + beta[oc]);
    }
    return XAI_OK;
}

/* Reads epsilon and refuses training mode; unknown attributes are refused when folding. */
static xai_status bn_attrs(struct imp *im, const struct imp_node *bn, bool strict, float *eps)
{
    const Xonnx__NodeProto *np = bn->np;
    *eps = 1e-5f;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Xonnx__AttributeProto *a = np->attribute[i];
        const char *name = a->name ? a->name : "";
        if (strcmp(name, "epsilon") == 0)
            *eps = a->f;
        else if (strcmp(name, "training_mode") == 0 && a->i != 0)
            return xai_node_fail(bn->name, bn->op, im->err, XAI_UNSUPPORTED,
                                 "training_mode=1 is not supported (export the model in eval "
                                 "mode)");
        else if (strcmp(name, "spatial") == 0 && a->i == 0 && strict)
            return xai_node_fail(bn->name, bn->op, im->err, XAI_UNSUPPORTED,
                                 "spatial=0 is not supported");
        else if (strict && strcmp(name, "momentum") && strcmp(name, "training_mode") &&
                 strcmp(name, "spatial"))
            return xai_fail(im->err, XAI_UNSUPPORTED,
                            "node '%s': op BatchNormalization (opset %d) does not support "
                            "attribute '%s'",
                            bn->name, im->opset, name);
    }
    return XAI_OK;
}

static bool bn_foldable(const struct imp *im, const struct imp_node *bn, int64_t m)
{
    if (bn->out[0] < 0) return false;
    for (int i = 1; i < 5; i++) {
        const struct xai_const *c = cst_of(im, bn->in[i]);
        if (!c || c->dtype != XAI_F32 || xai_shape_numel(&c->shape) != m) return false;
    }
    for (int j = 1; j < bn->n_out; j++)
        if (bn->out[j] >= 0 && im->uses[bn->out[j]] > 0) return false;
    return true;
}

/* The constant at value *v, made private to the convolution (copied when shared). */
static xai_status private_const(struct imp *im, int *v, const char *suffix)
{
    if (im->uses[*v] == 1) return XAI_OK;
    const struct xai_value *val = &im->m->values[*v];
    char what[300];
    snprintf(what, sizeof what, "the copy of '%s' for BatchNormalization folding", val->name);
    struct xai_const *c;
    xai_status st = xai_imp_budget(im, val->cst);
    if (!st) st = xai_cst_clone(val->cst, what, &c, im->err);
    if (st) return st;
    int nv = xai_imp_add_value(im, xai_imp_unique_name(im, val->name, suffix));
    if (nv < 0) {
        xai_const_free(c);
        return xai_fail(im->err, XAI_NO_MEMORY, "out of memory folding BatchNormalization");
    }
    xai_imp_set_const(im, nv, c);
    im->uses[*v]--;
    im->uses[nv] = 1;
    *v = nv;
    return XAI_OK;
}

/* Gives the convolution a bias input (zeros) when it has none. */
static xai_status ensure_bias(struct imp *im, struct imp_node *conv, int64_t m)
{
    if (conv->n_in > 2 && conv->in[2] >= 0) return private_const(im, &conv->in[2], "bnfold");
    if (conv->n_in < 3) {
        int *in = realloc(conv->in, 3 * sizeof *in);
        if (!in)
            return xai_fail(im->err, XAI_NO_MEMORY, "out of memory folding BatchNormalization");
        conv->in = in;
        conv->n_in = 3;
    }
    struct xai_shape s = {.ndim = 1, .d = {m}};
    struct xai_const *c;
    xai_status st = xai_cst_new(XAI_F32, &s, false, "a folded bias", &c, im->err);
    if (st) return st;
    int v = xai_imp_add_value(im, xai_imp_unique_name(im, conv->name, "bias"));
    if (v < 0) {
        xai_const_free(c);
        return xai_fail(im->err, XAI_NO_MEMORY, "out of memory folding BatchNormalization");
    }
    xai_imp_set_const(im, v, c);
    im->uses[v] = 1;
    conv->in[2] = v;
    return XAI_OK;
}

static xai_status fold(struct imp *im, struct imp_node *bn, struct imp_node *conv, int64_t m,
                       float eps)
{
    xai_status st = private_const(im, &conv->in[1], "bnfold");
    if (!st) st = ensure_bias(im, conv, m);
    if (st) return st;
    struct xai_const *w = im->m->values[conv->in[1]].cst;
    float *b = im->m->values[conv->in[2]].cst->f;
    const float *p[4];
    for (int i = 0; i < 4; i++) p[i] = cst_of(im, bn->in[i + 1])->f;
    bool tr = strcmp(conv->op, "ConvTranspose") == 0;
    st = xai_bn_fold_weights(w->f, &w->shape, tr, tr ? conv_group(conv) : 1, b, p[0], p[1], p[2],
                             p[3], eps, im->err);
    if (st) return xai_node_fail(bn->name, bn->op, im->err, st, "%s", im->err->msg);
    conv->out[0] = bn->out[0];
    im->gprod[bn->out[0]] = (int)(conv - im->nodes);
    conv->conv_pending = false;
    const struct xai_op_def *d = xai_imp_find_op(im, conv->op);
    if (!d)
        return xai_fail(im->err, XAI_UNSUPPORTED, "node '%s': op '%s' (opset %d) is not supported",
                        conv->name, conv->op, im->opset);
    return xai_imp_instantiate(im, conv, d);
}

xai_status xai_imp_batchnorm(struct imp *im, struct imp_node *bn)
{
    int x = bn->n_in > 0 ? bn->in[0] : -1;
    struct imp_node *conv = x >= 0 && im->gprod[x] >= 0 ? &im->nodes[im->gprod[x]] : NULL;
    bool pending = conv && conv->conv_pending;
    int64_t m = pending ? conv_channels(im, conv) : -1;
    bool foldable = pending && bn_foldable(im, bn, m);
    float eps;
    xai_status st = bn_attrs(im, bn, foldable, &eps);
    if (st) return st;
    if (foldable) return fold(im, bn, conv, m, eps);
    if (pending) {
        conv->conv_pending = false;
        const struct xai_op_def *d = xai_imp_find_op(im, conv->op);
        if (!d)
            return xai_fail(im->err, XAI_UNSUPPORTED,
                            "node '%s': op '%s' (opset %d) is not supported", conv->name, conv->op,
                            im->opset);
        if ((st = xai_imp_instantiate(im, conv, d))) return st;
    }
    return xai_imp_generic(im, bn);
}
