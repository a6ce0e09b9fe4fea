/* _lrp_graph.c - the rule of each node and the overrides that apply it; see _lrp_graph.h. */
#include "_lrp_graph.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *op;
    enum xai_lrp_kind kind;
} kinds[] = {
    {"Conv", XAI_LRPK_CONV},
    {"ConvTranspose", XAI_LRPK_CONV},
    {"Gemm", XAI_LRPK_DENSE},
    {"MatMul", XAI_LRPK_DENSE},
    {"Add", XAI_LRPK_NORM},
    {"AveragePool", XAI_LRPK_NORM},
    {"GlobalAveragePool", XAI_LRPK_NORM},
    {"ReduceMean", XAI_LRPK_NORM},
    {"Relu", XAI_LRPK_PASS},
    {"LeakyRelu", XAI_LRPK_PASS},
    {"Clip", XAI_LRPK_PASS},
    {"Sigmoid", XAI_LRPK_PASS},
    {"Tanh", XAI_LRPK_PASS},
    {"HardSigmoid", XAI_LRPK_PASS},
    {"HardSwish", XAI_LRPK_PASS},
    {"BatchNormalization", XAI_LRPK_PASS},
    {"MaxPool", XAI_LRPK_ROUTE},
    {"GlobalMaxPool", XAI_LRPK_ROUTE},
    {"Concat", XAI_LRPK_ROUTE},
    {"Flatten", XAI_LRPK_ROUTE},
    {"Reshape", XAI_LRPK_ROUTE},
    {"Squeeze", XAI_LRPK_ROUTE},
    {"Unsqueeze", XAI_LRPK_ROUTE},
    {"Transpose", XAI_LRPK_ROUTE},
    {"Slice", XAI_LRPK_ROUTE},
    {"Pad", XAI_LRPK_ROUTE},
};

enum xai_lrp_kind xai_lrp_kind_of(const char *op_type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].op, op_type) == 0) return kinds[i].kind;
    return XAI_LRPK_NONE;
}

static void fail(struct xai_lrp_run *run, xai_status st, const char *op)
{
    if (run->status) return;
    run->status = st;
    run->failed_op = op;
}

static bool kept(const struct xai_op_run *r, int i)
{
    return r->in[i] && r->in[i]->data;
}

static void linear_bw(const struct xai_op_run *r, void *user)
{
    const struct xai_lrp_hook *k = user;
    struct xai_lrp_run *run = k->run;
    if (run->status || !r->gout[0] || !r->gin[0]) return;
    if (!kept(r, 0) || !kept(r, 1)) {
        fail(run, XAI_INTERNAL, k->op->name);
        return;
    }
    enum xai_lrp_rule rule = k->kind == XAI_LRPK_CONV ? run->rules.conv : run->rules.dense;
    if (run->first >= 0 && r->p == run->first_params && r->in[0]->data == run->first_in)
        rule = run->rules.first;
    if (!xai_lrp_linear(k->op, r, rule, &run->h, &run->ws)) fail(run, XAI_NO_MEMORY, k->op->name);
}

static void norm_bw(const struct xai_op_run *r, void *user)
{
    const struct xai_lrp_hook *k = user;
    struct xai_lrp_run *run = k->run;
    if (run->status || !r->gout[0]) return;
    for (int i = 0; i < r->n_in; i++) {
        if (r->gin[i] && !kept(r, i)) {
            fail(run, XAI_INTERNAL, k->op->name);
            return;
        }
    }
    if (!xai_lrp_norm(k->op, r, run->h.stabilizer, &run->ws)) fail(run, XAI_NO_MEMORY, k->op->name);
}

static void pass_bw(const struct xai_op_run *r, void *user)
{
    (void)user;
    xai_lrp_pass(r);
}

/* Nodes whose backward runs for a seed at `output` (as the executor decides). */
static uint8_t *path_nodes(const xai_model *m, int output)
{
    uint8_t *flow = calloc((size_t)m->n_values, 1), *on = calloc((size_t)m->n_nodes + 1, 1);
    if (!flow || !on) {
        free(flow);
        free(on);
        return NULL;
    }
    flow[output] = 1;
    for (int k = m->n_nodes - 1; k >= 0; k--) {
        const struct xai_node *n = &m->nodes[k];
        bool active = false;
        for (int j = 0; j < n->n_out; j++) active |= flow[n->out[j]] != 0;
        for (int i = 0; active && i < n->n_in; i++) {
            int v = n->in[i];
            if (v < 0 || !m->values[v].grad || !(n->op->grad_mask >> i & 1u)) continue;
            flow[v] = 1;
            on[k] = 1;
        }
    }
    free(flow);
    return on;
}

static bool is_const(const xai_model *m, const struct xai_node *n, int i)
{
    return i < n->n_in && n->in[i] >= 0 && m->values[n->in[i]].cst != NULL;
}

static bool carries(const xai_model *m, const struct xai_node *n, int i)
{
    return i < n->n_in && n->in[i] >= 0 && m->values[n->in[i]].grad;
}

static xai_status check_node(const xai_model *m, const struct xai_node *n, struct xai_err *err)
{
    enum xai_lrp_kind kind = xai_lrp_kind_of(n->op->name);
    if (kind == XAI_LRPK_NONE)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "lrp has no relevance rule for %s (node '%s'); it explains models built "
                        "from Conv, Gemm, MatMul, Add, pooling, ReLU-like activations, "
                        "BatchNormalization, Concat and reshapes; use a gradient method instead",
                        n->op->name, n->name);
    bool linear = kind == XAI_LRPK_CONV || kind == XAI_LRPK_DENSE;
    if (linear && (!is_const(m, n, 1) || (n->n_in > 2 && n->in[2] >= 0 && !is_const(m, n, 2)) ||
                   n->n_in > 3 || !carries(m, n, 0)))
        return xai_fail(err, XAI_UNSUPPORTED,
                        "lrp: node '%s' (%s) needs the activation as input 0 and constant "
                        "weights and bias; this one multiplies computed tensors",
                        n->name, n->op->name);
    for (int i = 1; kind == XAI_LRPK_PASS && i < n->n_in; i++)
        if (carries(m, n, i))
            return xai_fail(err, XAI_UNSUPPORTED,
                            "lrp: node '%s' (%s) has a computed parameter input %d; the pass "
                            "rule needs constant parameters",
                            n->name, n->op->name, i);
    return XAI_OK;
}

static xai_status add_hook(struct xai_lrp_run *run, const struct xai_node *n,
                           struct xai_lrp_plan *plan, struct xai_err *err)
{
    enum xai_lrp_kind kind = xai_lrp_kind_of(n->op->name);
    if (kind == XAI_LRPK_ROUTE) return XAI_OK;
    for (int i = 0; i < plan->n; i++)
        if (strcmp(plan->ov[i].op_type, n->op->name) == 0) return XAI_OK;
    if (plan->n == XAI_LRP_MAX_HOOKS)
        return xai_fail(err, XAI_INTERNAL, "lrp: too many op kinds in one model");
    struct xai_lrp_hook *h = &plan->hooks[plan->n];
    *h = (struct xai_lrp_hook){run, n->op, kind};
    void (*fn)(const struct xai_op_run *, void *) = kind == XAI_LRPK_NORM   ? norm_bw
                                                    : kind == XAI_LRPK_PASS ? pass_bw
                                                                            : linear_bw;
    plan->ov[plan->n++] = (struct xai_grad_override){n->op->name, fn, h};
    return XAI_OK;
}

xai_status xai_lrp_plan(struct xai_lrp_run *run, int output, struct xai_lrp_plan *plan,
                        struct xai_err *err)
{
    const xai_model *m = run->m;
    memset(plan, 0, sizeof *plan);
    run->first = -1;
    if (output < 0 || output >= m->n_values || !m->values[output].grad)
        return xai_fail(err, XAI_INTERNAL, "lrp: the model output does not depend on the input");
    uint8_t *on = path_nodes(m, output);
    if (!on) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st = XAI_OK;
    for (int k = 0; k < m->n_nodes && !st; k++) {
        if (!on[k]) continue;
        const struct xai_node *n = &m->nodes[k];
        if ((st = check_node(m, n, err)) || (st = add_hook(run, n, plan, err))) break;
        if (run->first < 0 && (run->rules.first_kinds >> xai_lrp_kind_of(n->op->name) & 1u))
            run->first = k;
    }
    free(on);
    return st;
}

xai_status xai_lrp_fits(const xai_model *m, int output, struct xai_err *err)
{
    if (output < 0 || output >= m->n_values || !m->values[output].grad)
        return xai_fail(err, XAI_UNSUPPORTED, "lrp: the output does not depend on the input");
    uint8_t *on = path_nodes(m, output);
    if (!on) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st = XAI_OK;
    for (int k = 0; k < m->n_nodes && !st; k++)
        if (on[k]) st = check_node(m, &m->nodes[k], err);
    free(on);
    return st;
}

xai_status xai_lrp_keep(xai_session *s, const struct xai_lrp_plan *plan, struct xai_err *err)
{
    for (int i = 0; i < plan->n; i++) {
        if (plan->hooks[i].kind == XAI_LRPK_PASS) continue;
        xai_status st = xai_session_keep_op(s, plan->ov[i].op_type, err);
        if (st) return st;
    }
    return XAI_OK;
}
