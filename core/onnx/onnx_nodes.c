/*
 * onnx_nodes.c - the pass over the sorted ONNX nodes that builds the runtime graph.
 *
 * Each node, in topological order, becomes one of:
 *   - an alias (Identity, Dropout): its output stands for its input;
 *   - a constant (Constant nodes; nodes onnx_fold*.c folds; runtime ops whose inputs are all
 *     constants without batch flags, run once here);
 *   - part of a folded BatchNormalization (onnx_bn.c);
 *   - a runtime node: op->init, unread attributes refused, shapes inferred at batch 1 and,
 *     for a dynamic batch, at batch 2 (a dimension that differs scales with the batch).
 * A model whose nodes fail at batch 2 falls back to a fixed batch of 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

const struct xai_op_def *xai_imp_find_op(const struct imp *im, const char *op)
{
    if (im->opts && im->opts->find_op) return im->opts->find_op(op, im->opset);
    return xai_op_find(op, im->opset);
}

xai_status xai_imp_budget_fail(const struct imp *im)
{
    return xai_fail(im->err, XAI_TOO_LARGE,
                    "the constants computed at load exceed %lld elements in all (one per byte of "
                    "the model file, at least %lld)",
                    (long long)im->budget, (long long)XAI_FOLD_MIN_TOTAL);
}

xai_status xai_imp_budget(struct imp *im, const struct xai_const *c)
{
    im->made += c ? xai_shape_numel(&c->shape) : 0;
    return im->made > im->budget ? xai_imp_budget_fail(im) : XAI_OK;
}

/* What an op's init (or a folding function) sees of a node, with the storage behind it. */
struct nd_build {
    struct xai_node_def nd;
    struct xai_attr *attrs;
    bool *present;
    const struct xai_const **cst;
    struct xai_shape *shape, *shape2;
};

static void nd_release(struct nd_build *b)
{
    xai_onnx_attrs_free(b->attrs, b->nd.n_attrs);
    free(b->present);
    free(b->cst);
    free(b->shape);
    free(b->shape2);
}

static xai_status nd_make(struct imp *im, const struct imp_node *n, struct nd_build *b)
{
    memset(b, 0, sizeof *b);
    size_t cnt = n->n_in ? (size_t)n->n_in : 1;
    b->present = calloc(cnt, sizeof *b->present);
    b->cst = calloc(cnt, sizeof *b->cst);
    b->shape = calloc(cnt, sizeof *b->shape);
    b->shape2 = calloc(cnt, sizeof *b->shape2);
    int na = 0;
    xai_status st = XAI_OK;
    if (!b->present || !b->cst || !b->shape || !b->shape2)
        st = xai_fail(im->err, XAI_NO_MEMORY, "out of memory building node '%s'", n->name);
    if (!st) st = xai_onnx_attrs(n->np, n->name, n->op, &b->attrs, &na, im->err);
    if (st) {
        nd_release(b);
        return st;
    }
    for (int i = 0; i < n->n_in; i++) {
        int v = n->in[i];
        if (v < 0) continue;
        b->present[i] = true;
        b->cst[i] = im->m->values[v].cst;
        b->shape[i] = im->m->values[v].shape;
        b->shape2[i] = im->shape2[v];
    }
    b->nd = (struct xai_node_def){.name = n->name,
                                  .op_type = n->op,
                                  .opset = im->opset,
                                  .n_attrs = na,
                                  .attrs = b->attrs,
                                  .n_in = n->n_in,
                                  .in_present = b->present,
                                  .in_const = b->cst,
                                  .in_shape = b->shape,
                                  .n_out = n->n_out};
    return XAI_OK;
}

static xai_status check_limits(struct imp *im, const struct imp_node *n)
{
    if (n->n_in > XAI_NODE_MAX_IN || n->n_out > XAI_NODE_MAX_OUT)
        return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                             "%d inputs and %d outputs; at most %d and %d are supported", n->n_in,
                             n->n_out, XAI_NODE_MAX_IN, XAI_NODE_MAX_OUT);
    return XAI_OK;
}

static void shapes_str(const struct xai_shape *s, const bool *present, int n, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && off + 1 < len; i++) {
        char one[128] = "-";
        if (present[i]) xai_shape_str(&s[i], one, sizeof one);
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", one);
    }
}

static xai_status check_out_shapes(struct imp *im, const struct imp_node *n,
                                   const struct xai_shape *out)
{
    for (int j = 0; j < n->n_out; j++) {
        bool ok = out[j].ndim >= 0 && out[j].ndim <= XAI_MAX_DIMS;
        int64_t numel = 1;
        for (int d = 0; ok && d < out[j].ndim; d++) {
            ok = out[j].d[d] >= 0 && (out[j].d[d] == 0 || numel <= INT64_MAX / 4 / out[j].d[d]);
            if (ok) numel *= out[j].d[d];
        }
        if (!ok)
            return xai_node_fail(n->name, n->op, im->err, XAI_SHAPE_MISMATCH,
                                 "the op computed an invalid shape for output %d", j);
    }
    return XAI_OK;
}

/* Output shapes of a node from input shapes; failures name the node and the input shapes. */
static xai_status run_infer(struct imp *im, const struct imp_node *n, const struct xai_op_def *d,
                            const void *params, const struct nd_build *b, bool second,
                            struct xai_shape *out)
{
    const struct xai_shape *in = second ? b->shape2 : b->shape;
    int64_t batch = second ? 2 : im->batch1;
    struct xai_err e = {{0}};
    memset(out, 0, sizeof *out * XAI_NODE_MAX_OUT);
    xai_status st = d->infer(params, in, n->n_in, out, n->n_out, batch, &e);
    if (st) {
        char shapes[256];
        shapes_str(in, b->present, n->n_in, shapes, sizeof shapes);
        return xai_fail(im->err, st, "node '%s' (%s): %s (input shapes %s%s)", n->name, n->op,
                        e.msg, shapes, second ? ", batch size 2" : "");
    }
    return check_out_shapes(im, n, out);
}

static bool grow_nodes(struct imp *im)
{
    if (im->m->n_nodes < im->cap_nodes) return true;
    int cap = im->cap_nodes ? im->cap_nodes * 2 : 32;
    void *p = realloc(im->m->nodes, (size_t)cap * sizeof *im->m->nodes);
    if (!p) return false;
    im->m->nodes = p;
    im->cap_nodes = cap;
    return true;
}

static struct xai_node *append_node(struct imp *im, const struct imp_node *n,
                                    const struct xai_op_def *d)
{
    if (!grow_nodes(im)) return NULL;
    struct xai_node *node = &im->m->nodes[im->m->n_nodes];
    memset(node, 0, sizeof *node);
    node->name = strdup(n->name);
    node->in = malloc(sizeof(int) * (size_t)(n->n_in ? n->n_in : 1));
    node->out = malloc(sizeof(int) * (size_t)(n->n_out ? n->n_out : 1));
    if (!node->name || !node->in || !node->out) {
        free(node->name);
        free(node->in);
        free(node->out);
        return NULL;
    }
    node->op = d;
    node->n_in = n->n_in;
    node->n_out = n->n_out;
    if (n->n_in) memcpy(node->in, n->in, sizeof(int) * (size_t)n->n_in);
    memcpy(node->out, n->out, sizeof(int) * (size_t)n->n_out);
    im->m->n_nodes++;
    return node;
}

/* Gives every omitted output before the last one a value of its own. */
static xai_status name_outputs(struct imp *im, struct imp_node *n)
{
    for (int j = 0; j < n->n_out; j++) {
        if (n->out[j] >= 0) continue;
        char suffix[32];
        snprintf(suffix, sizeof suffix, "out%d", j);
        n->out[j] = xai_imp_add_value(im, xai_imp_unique_name(im, n->name, suffix));
        if (n->out[j] < 0) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory");
        im->gprod[n->out[j]] = (int)(n - im->nodes);
    }
    return XAI_OK;
}

static void set_outputs(struct imp *im, const struct imp_node *n, const struct xai_shape *s1,
                        int producer)
{
    bool grad = false;
    for (int i = 0; i < n->n_in; i++) grad |= n->in[i] >= 0 && im->m->values[n->in[i]].grad;
    for (int j = 0; j < n->n_out; j++) {
        struct xai_value *val = &im->m->values[n->out[j]];
        val->shape = s1[j];
        val->producer = producer;
        val->grad = grad;
        val->batch_dims = 0;
        im->shape2[n->out[j]] = s1[j];
        im->defined[n->out[j]] = true;
    }
}

/* Second shape pass; a failure here means the model cannot run at other batch sizes. */
static xai_status second_pass(struct imp *im, const struct imp_node *n, const struct xai_op_def *d,
                              const void *params, const struct nd_build *b)
{
    struct xai_shape s2[XAI_NODE_MAX_OUT];
    struct xai_err keep = *im->err;
    bool ok = run_infer(im, n, d, params, b, true, s2) == XAI_OK;
    for (int j = 0; ok && j < n->n_out; j++) ok = s2[j].ndim == im->m->values[n->out[j]].shape.ndim;
    *im->err = keep;
    if (!ok) {
        im->dynamic = false;
        im->fell_back = true;
        return XAI_OK;
    }
    for (int j = 0; j < n->n_out; j++) {
        struct xai_value *val = &im->m->values[n->out[j]];
        im->shape2[n->out[j]] = s2[j];
        for (int k = 0; k < s2[j].ndim; k++)
            if (s2[j].d[k] != val->shape.d[k]) val->batch_dims |= (uint8_t)(1u << k);
    }
    return XAI_OK;
}

xai_status xai_imp_instantiate(struct imp *im, struct imp_node *n, const struct xai_op_def *d)
{
    xai_status st = check_limits(im, n);
    if (!st) st = name_outputs(im, n);
    if (st) return st;
    struct nd_build b;
    if ((st = nd_make(im, n, &b))) return st;
    int index = im->m->n_nodes;
    struct xai_node *node = append_node(im, n, d);
    struct xai_shape s1[XAI_NODE_MAX_OUT];
    if (!node) st = xai_fail(im->err, XAI_NO_MEMORY, "out of memory building node '%s'", n->name);
    void *params = NULL;
    if (!st) st = d->init(&b.nd, &params, im->err);
    if (!st) node->params = params; /* on failure init owns nothing (see onnx_import.c) */
    if (!st) st = xai_attrs_check_used(&b.nd, im->err);
    if (!st) st = run_infer(im, n, d, node->params, &b, false, s1);
    if (!st) set_outputs(im, n, s1, index);
    if (!st && im->dynamic) st = second_pass(im, n, d, node->params, &b);
    nd_release(&b);
    return st;
}

static void free_params(const struct xai_op_def *d, void *params)
{
    if (!params) return;
    if (d->free_params)
        d->free_params(params);
    else
        free(params);
}

/* Runs a runtime op once on constant inputs and stores its outputs as constants. */
static xai_status run_on_consts(struct imp *im, const struct imp_node *n,
                                const struct xai_op_def *d, void *params, const struct nd_build *b,
                                struct xai_const **outs)
{
    struct xai_shape s[XAI_NODE_MAX_OUT];
    xai_status st = run_infer(im, n, d, params, b, false, s);
    char what[300];
    snprintf(what, sizeof what, "the constant computed by node '%s' (%s)", n->name, n->op);
    int64_t need = 0; /* checked before anything is allocated */
    for (int j = 0; !st && j < n->n_out; j++) need += xai_shape_numel(&s[j]);
    if (!st && need > im->budget - im->made) st = xai_imp_budget_fail(im);
    for (int j = 0; !st && j < n->n_out; j++)
        st = xai_cst_new(XAI_F32, &s[j], false, what, &outs[j], im->err);
    size_t scratch = !st && d->scratch ? d->scratch(params, b->shape, n->n_in, s) : 0;
    float *buf = st ? NULL : calloc(scratch ? scratch : 1, sizeof(float));
    if (!st && !buf) st = xai_fail(im->err, XAI_NO_MEMORY, "out of memory for %s", what);
    if (st) return st;
    struct xai_tensor tin[XAI_NODE_MAX_IN], tout[XAI_NODE_MAX_OUT];
    const struct xai_tensor *pin[XAI_NODE_MAX_IN] = {0}, *pout[XAI_NODE_MAX_OUT] = {0};
    const struct xai_tensor *none[XAI_NODE_MAX_IN] = {0};
    for (int i = 0; i < n->n_in; i++) {
        const struct xai_const *c = b->cst[i];
        if (!c || c->dtype != XAI_F32) continue;
        tin[i] = (struct xai_tensor){c->shape, c->f};
        pin[i] = &tin[i];
    }
    for (int j = 0; j < n->n_out; j++) {
        tout[j] = (struct xai_tensor){s[j], outs[j]->f};
        pout[j] = &tout[j];
    }
    struct xai_op_run r = {params, n->n_in, pin, n->n_out, pout, none, none, buf, im->batch1};
    d->forward(&r);
    free(buf);
    return XAI_OK;
}

static xai_status fold_runtime(struct imp *im, struct imp_node *n, const struct xai_op_def *d)
{
    xai_status st = check_limits(im, n);
    struct nd_build b;
    if (st || (st = nd_make(im, n, &b))) return st;
    void *params = NULL;
    struct xai_const *outs[XAI_NODE_MAX_OUT] = {0};
    st = d->init(&b.nd, &params, im->err);
    if (!st) st = xai_attrs_check_used(&b.nd, im->err);
    if (!st) st = run_on_consts(im, n, d, params, &b, outs);
    free_params(d, params);
    nd_release(&b);
    for (int j = 0; !st && j < n->n_out; j++) st = xai_imp_budget(im, outs[j]);
    for (int j = 0; j < n->n_out; j++) {
        if (!st && n->out[j] >= 0)
            xai_imp_set_const(im, n->out[j], outs[j]);
        else
            xai_const_free(outs[j]);
    }
    return st;
}

/* A batch-flagged element is multiplied by the batch size at run time: keep it small. */
static xai_status check_flagged(struct imp *im, const struct imp_node *n, const struct xai_const *c)
{
    int64_t cnt = xai_shape_numel(&c->shape);
    for (int64_t k = 0; c->batch && k < cnt; k++)
        if (c->batch[k] && (c->i64[k] > INT32_MAX || c->i64[k] < -INT32_MAX))
            return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                                 "value %lld times the batch size is too large",
                                 (long long)c->i64[k]);
    return XAI_OK;
}

static xai_status fold_builtin(struct imp *im, struct imp_node *n, xai_fold_fn fn)
{
    if (n->n_out != 1)
        return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL, "has %d outputs, expected 1",
                             n->n_out);
    struct nd_build b;
    xai_status st = nd_make(im, n, &b);
    if (st) return st;
    struct xai_fold f = {&b.nd, b.shape2, im->dynamic, NULL, im->budget - im->made};
    st = fn(&f, im->err);
    if (!st) st = xai_attrs_check_used(&b.nd, im->err);
    if (!st) st = xai_imp_budget(im, f.out);
    if (!st) st = check_flagged(im, n, f.out);
    nd_release(&b);
    if (st) {
        xai_const_free(f.out);
        return st;
    }
    xai_imp_set_const(im, n->out[0], f.out);
    return XAI_OK;
}

/* Runtime ops compute on float tensors, always read input 0 (their data; other inputs that
 * may be int64, such as shapes, pads or axes, are read by the op's init) and make one output.
 * A missing input 0, or an int64 constant as input 0 or any input the op differentiates
 * (grad_mask: its float data, e.g. Gemm's B and C; a shape computation the importer does not
 * fold, or an integer initializer), would leave the op without data: both are refused. Further
 * outputs (MaxPool's indices, or any a broken file names) are dropped when nothing reads them, else
 * refused: the op would never write them. */
static xai_status runtime_io(struct imp *im, struct imp_node *n, const struct xai_op_def *d)
{
    if (n->n_in < 1 || n->in[0] < 0)
        return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL, "input 0 is missing");
    for (int i = 0; i < n->n_in; i++) {
        const struct xai_const *c = n->in[i] >= 0 ? im->m->values[n->in[i]].cst : NULL;
        bool data = i == 0 || (i < 32 && (d->grad_mask >> i & 1u)); /* differentiable: float */
        if (data && c && c->dtype != XAI_F32)
            return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                                 "input %d is an int64 constant; xaid runs this op on float "
                                 "tensors only and does not compute it at load time",
                                 i);
    }
    for (int j = 1; j < n->n_out; j++)
        if (n->out[j] >= 0 && im->uses[n->out[j]] > 0)
            return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                                 "its output %d is used; xaid computes only the first output", j);
    n->n_out = 1;
    return XAI_OK;
}

xai_status xai_imp_generic(struct imp *im, struct imp_node *n)
{
    xai_status st;
    bool all_const = true;
    unsigned flagged = 0, flag_ok = 0;
    for (int i = 0; i < n->n_in; i++) {
        const struct xai_const *c = n->in[i] >= 0 ? im->m->values[n->in[i]].cst : NULL;
        if (n->in[i] >= 0 && !c) all_const = false;
        if (c && xai_cst_any_flag(c)) flagged |= i < 32 ? 1u << i : ~0u;
    }
    xai_fold_fn fold = xai_fold_find(n->op, &flag_ok);
    bool foldable = all_const || strcmp(n->op, "Shape") == 0;
    if (fold && foldable && !(flagged & ~flag_ok)) return fold_builtin(im, n, fold);
    const struct xai_op_def *d = xai_imp_find_op(im, n->op);
    if (!d && fold && foldable)
        return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                             "an input that steers it depends on the batch size, so it cannot "
                             "be computed at load time, and op '%s' (opset %d) is not supported "
                             "at run time",
                             n->op, im->opset);
    if (!d)
        return xai_fail(im->err, XAI_UNSUPPORTED, "node '%s': op '%s' (opset %d) is not supported",
                        n->name, n->op, im->opset);
    if ((st = runtime_io(im, n, d))) return st;
    if (all_const && !flagged && n->n_in > 0) return fold_runtime(im, n, d);
    if (xai_imp_bn_candidate(im, n)) {
        n->conv_pending = true;
        return XAI_OK;
    }
    return xai_imp_instantiate(im, n, d);
}

static bool const_true(const struct imp *im, int v)
{
    const struct xai_const *c = v >= 0 ? im->m->values[v].cst : NULL;
    if (!c || xai_shape_numel(&c->shape) < 1) return false;
    return c->dtype == XAI_F32 ? c->f[0] != 0 : c->i64[0] != 0;
}

/* Identity and Dropout (inference): the output is another name for the input. */
static xai_status drop_node(struct imp *im, struct imp_node *n)
{
    if (n->n_in < 1 || n->in[0] < 0)
        return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL, "has no input");
    if (n->n_out > 1 && n->out[1] >= 0 && im->uses[n->out[1]] > 0)
        return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                             "its mask output '%s' is used; xaid runs Dropout as the identity",
                             im->m->values[n->out[1]].name);
    if (n->n_in > 2 && const_true(im, n->in[2]))
        return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                             "training_mode is true; only inference is supported");
    int y = n->out[0], x = n->in[0];
    if (y < 0) return XAI_OK;
    im->alias[y] = x;
    im->defined[y] = true;
    im->uses[x] += im->uses[y] - 1;
    return XAI_OK;
}

static xai_status constant_value(struct imp *im, struct imp_node *n, struct xai_attr *a,
                                 struct xai_const **c)
{
    char what[300];
    snprintf(what, sizeof what, "node '%s' (Constant)", n->name);
    bool list = a->type == XAI_ATTR_FLOATS || a->type == XAI_ATTR_INTS;
    struct xai_shape s = {.ndim = list ? 1 : 0, .d = {list ? a->n : 0}};
    if (strcmp(a->name, "value") == 0 && a->type == XAI_ATTR_TENSOR) {
        *c = a->t;
        a->t = NULL;
        return XAI_OK;
    }
    bool f = strcmp(a->name, list ? "value_floats" : "value_float") == 0 &&
             (a->type == XAI_ATTR_FLOAT || a->type == XAI_ATTR_FLOATS);
    bool i = strcmp(a->name, list ? "value_ints" : "value_int") == 0 &&
             (a->type == XAI_ATTR_INT || a->type == XAI_ATTR_INTS);
    if (!f && !i)
        return xai_node_fail(n->name, n->op, im->err, XAI_UNSUPPORTED,
                             "attribute '%s' is not supported (value, value_float(s) and "
                             "value_int(s) are)",
                             a->name);
    xai_status st = xai_cst_new(f ? XAI_F32 : XAI_I64, &s, false, what, c, im->err);
    for (int k = 0; !st && k < (list ? a->n : 1); k++) {
        if (f)
            (*c)->f[k] = list ? a->floats[k] : a->f;
        else
            (*c)->i64[k] = list ? a->ints[k] : a->i;
    }
    return st;
}

static xai_status constant_node(struct imp *im, struct imp_node *n)
{
    struct xai_attr *a;
    int na;
    xai_status st = xai_onnx_attrs(n->np, n->name, n->op, &a, &na, im->err);
    if (st) return st;
    struct xai_const *c = NULL;
    if (n->n_out != 1)
        st = xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL, "a Constant has one output");
    else if (na != 1)
        st = xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL,
                           "has %d attributes; a Constant needs exactly one", na);
    else
        st = constant_value(im, n, &a[0], &c);
    xai_onnx_attrs_free(a, na);
    if (!st && n->out[0] >= 0)
        xai_imp_set_const(im, n->out[0], c);
    else
        xai_const_free(c);
    return st;
}

static bool default_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static xai_status resolve_inputs(struct imp *im, struct imp_node *n)
{
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        int v = n->in[i] = xai_imp_resolve(im, n->in[i]);
        bool waiting = im->gprod[v] >= 0 && im->nodes[im->gprod[v]].conv_pending;
        if (!im->defined[v] && !waiting)
            return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL,
                                 "input '%s' is never computed (its node does not produce it)",
                                 im->m->values[v].name);
    }
    while (n->n_out > 0 && n->out[n->n_out - 1] < 0) n->n_out--;
    return XAI_OK;
}

static xai_status process_node(struct imp *im, struct imp_node *n)
{
    if (!default_domain(n->np->domain))
        return xai_fail(im->err, XAI_UNSUPPORTED,
                        "node '%s': op '%s' from domain '%s' is not supported (only the default "
                        "ONNX domain is)",
                        n->name, n->op, n->np->domain);
    xai_status st = resolve_inputs(im, n);
    if (st || n->n_out == 0) return st; /* a node without outputs does nothing */
    if (strcmp(n->op, "Identity") == 0 || strcmp(n->op, "Dropout") == 0) return drop_node(im, n);
    if (strcmp(n->op, "Constant") == 0) return constant_node(im, n);
    if (strcmp(n->op, "BatchNormalization") == 0) return xai_imp_batchnorm(im, n);
    return xai_imp_generic(im, n);
}

xai_status xai_imp_run_nodes(struct imp *im)
{
    for (int k = 0; k < im->n_nodes; k++) {
        xai_status st = process_node(im, &im->nodes[im->order[k]]);
        if (st) return st;
    }
    return XAI_OK;
}
