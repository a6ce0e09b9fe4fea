/*
 * _lrp_rules.h - the relevance rules of layer-wise relevance propagation for one node, as
 * backward passes that carry relevance instead of gradients (used by lrp.c).
 *
 * Rules follow Zennit's definitions (zennit.rules, "modify the parameters, use the gradient"):
 * a rule runs the node's own forward and backward (struct xai_op_def) on modified copies of
 * its input and parameters, so it needs no knowledge of the op's attributes (strides, pads,
 * groups, transposes). For a linear node z = W x + b and relevance R of its output:
 *
 *   epsilon   R_x = x * W^T (R / (z + eps sign z))              sign 0 = +1, as Zennit
 *   zplus     R_x = x+ W+^T g + x- W-^T g,  g = R / s(W+ x+ + b+ + W- x-)
 *   alpha_beta alpha (x+ W+^T gp + x- W-^T gp) - beta (x+ W-^T gn + x- W+^T gn),
 *             gp = R / s(W+ x+ + b+ + W- x-),  gn = R / s(W- x+ + b- + W+ x-)
 *   gamma     W+ = W + gamma W+ (likewise W- = W + gamma W-, biases alike):
 *             x+ W+^T gp + x- W-^T gp + x+ W-^T gn + x- W+^T gn,
 *             gp = [z > 0] R / s(W+ x+ + b+ + W- x-),  gn = [z < 0] R / s(W- x+ + b- + W+ x-)
 *   flat      R_x = 1^T (R / s(1 1)): all weights 1, no bias, input 1
 *   wsquare   R_x = (W^2)^T (R / s(W^2 1 + b^2))
 *   zbox      R_x = x W^T g - l W+^T g - h W-^T g,  g = R / s(W x + b - W+ l - b+ - W- h - b-)
 *             with l, h the lowest and highest input values
 *   norm      (Add, AveragePool, GlobalAveragePool, ReduceMean) R_i = x_i * J_i^T (R / s(y))
 *   pass      (activations, BatchNormalization left standalone) R_x = R_y
 *
 * x+ = max(x, 0), x- = min(x, 0) (likewise for weights and biases); s(d) = d + e sign d with
 * e = epsilon for the epsilon rule and the stabilizer (1e-6) for every other rule.
 */
#ifndef XAI_LRP_RULES_H
#define XAI_LRP_RULES_H

#include <stddef.h>

#include "model.h"

enum xai_lrp_rule {
    XAI_LRP_EPSILON,
    XAI_LRP_GAMMA,
    XAI_LRP_ALPHA_BETA,
    XAI_LRP_ZPLUS,
    XAI_LRP_FLAT,
    XAI_LRP_WSQUARE,
    XAI_LRP_ZBOX,
};

struct xai_lrp_hparams {
    float epsilon;    /* epsilon rule */
    float stabilizer; /* every other rule, and norm */
    float gamma;
    float alpha, beta; /* alpha - beta = 1 */
    float low, high;   /* zbox: the input range */
};

/* Scratch floats of a run, grown to the largest node and kept until xai_lrp_ws_free. */
struct xai_lrp_ws {
    float *p;
    size_t cap;
};

void xai_lrp_ws_free(struct xai_lrp_ws *ws);

/* A linear node (Conv, ConvTranspose, Gemm, MatMul: input 0 the activation, input 1 the
 * weight, optional input 2 the bias): accumulates the relevance of input 0 into r->gin[0]
 * from r->gout[0]. False when out of memory. */
bool xai_lrp_linear(const struct xai_op_def *op, const struct xai_op_run *r, enum xai_lrp_rule rule,
                    const struct xai_lrp_hparams *h, struct xai_lrp_ws *ws);

/* Norm rule for a sum-like node: every input with r->gin[i] gets x_i * J_i^T (R / s(y)). */
bool xai_lrp_norm(const struct xai_op_def *op, const struct xai_op_run *r, float stabilizer,
                  struct xai_lrp_ws *ws);

/* Pass rule for an elementwise node: r->gin[0] += r->gout[0]. */
void xai_lrp_pass(const struct xai_op_run *r);

#endif
