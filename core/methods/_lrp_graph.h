/*
 * _lrp_graph.h - which relevance rule each node of a model gets, checked before a run, and
 * the backward overrides that apply them (used by lrp.c).
 *
 * Kinds of nodes on the path from the input to the target logit:
 *   conv   Conv, ConvTranspose                     the composite's conv rule (or first rule)
 *   dense  Gemm, MatMul with a constant weight     the composite's dense rule (or first rule)
 *   norm   Add, AveragePool, GlobalAveragePool, ReduceMean    Zennit's Norm: split in
 *          proportion to each input's contribution
 *   pass   Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, and
 *          BatchNormalization left standalone (Zennit's Pass, as its composites map
 *          activations and unmerged BatchNorm)
 *   route  MaxPool, GlobalMaxPool (winner takes all), Concat, Flatten, Reshape, Squeeze,
 *          Unsqueeze, Transpose, Slice, Pad: their own backward moves relevance unchanged
 * Anything else (Mul, Div, Sub, Resize, Softmax, ...) is refused before the run.
 */
#ifndef XAI_LRP_GRAPH_H
#define XAI_LRP_GRAPH_H

#include "_lrp_rules.h"
#include "method.h"

enum xai_lrp_kind {
    XAI_LRPK_NONE,
    XAI_LRPK_ROUTE,
    XAI_LRPK_CONV,
    XAI_LRPK_DENSE,
    XAI_LRPK_NORM,
    XAI_LRPK_PASS,
};

/* Rules per layer kind; the first conv/dense node of the path (in graph order) takes `first`
 * when its kind is in first_kinds (bit 1 << kind; 0: no special first layer). */
struct xai_lrp_layer_rules {
    enum xai_lrp_rule conv, dense, first;
    unsigned first_kinds;
};

/* State of one run, shared by the overrides (one per request: no global state). */
struct xai_lrp_run {
    const xai_model *m;
    struct xai_lrp_layer_rules rules;
    struct xai_lrp_hparams h;
    struct xai_lrp_ws ws;
    int first;                /* node of the first layer, or -1 */
    const void *first_params; /* how its backward run is recognised: its params and the */
    const float *first_in;    /* data of its input after the forward pass */
    xai_status status;        /* first failure inside an override */
    const char *failed_op;
};

struct xai_lrp_hook {
    struct xai_lrp_run *run;
    const struct xai_op_def *op;
    enum xai_lrp_kind kind;
};

#define XAI_LRP_MAX_HOOKS 24

struct xai_lrp_plan {
    struct xai_grad_override ov[XAI_LRP_MAX_HOOKS];
    struct xai_lrp_hook hooks[XAI_LRP_MAX_HOOKS];
    int n;
};

enum xai_lrp_kind xai_lrp_kind_of(const char *op_type);

/* Checks every node between the input and value `output` and fills the overrides and
 * run->first. XAI_UNSUPPORTED naming the node for a model LRP has no rule for. */
xai_status xai_lrp_plan(struct xai_lrp_run *run, int output, struct xai_lrp_plan *plan,
                        struct xai_err *err);

/* Whether every node between the input and value `output` has a rule (xai_lrp_plan's check
 * without a plan): XAI_OK, UNSUPPORTED naming the node, or NO_MEMORY. */
xai_status xai_lrp_fits(const xai_model *m, int output, struct xai_err *err);

/* Asks the session to keep, through the next forward pass, the activations the rules read:
 * the inputs of every conv, dense and norm node (xai_session_keep_op per op kind). */
xai_status xai_lrp_keep(xai_session *s, const struct xai_lrp_plan *plan, struct xai_err *err);

#endif
