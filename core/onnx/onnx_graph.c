/*
 * onnx_graph.c - the value table of an import: every named tensor of the graph gets one
 * struct xai_value, in this order: initializers, the graph input, node outputs. Node inputs
 * are resolved to value indices here; a name that matches nothing is a missing initializer.
 * Also the import state's lifetime (xai_imp_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

static size_t hash_name(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

int xai_imp_find(const struct imp *im, const char *name)
{
    if (!name || !im->names.cap) return -1;
    size_t mask = im->names.cap - 1;
    for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        int v = im->names.slot[i] - 1;
        if (v < 0) return -1;
        if (strcmp(im->m->values[v].name, name) == 0) return v;
    }
}

static bool names_grow(struct imp *im)
{
    struct name_table *t = &im->names;
    size_t cap = t->cap ? t->cap * 2 : 64;
    int *slot = calloc(cap, sizeof *slot);
    if (!slot) return false;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slot[i]) continue;
        size_t j = hash_name(im->m->values[t->slot[i] - 1].name) & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
        slot[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return true;
}

static bool names_put(struct imp *im, int v)
{
    struct name_table *t = &im->names;
    if ((t->used + 1) * 2 > t->cap && !names_grow(im)) return false;
    size_t j = hash_name(im->m->values[v].name) & (t->cap - 1);
    while (t->slot[j]) j = (j + 1) & (t->cap - 1);
    t->slot[j] = v + 1;
    t->used++;
    return true;
}

#define GROW(p, n)                                                                                 \
    do {                                                                                           \
        void *q_ = realloc((p), (size_t)(n) * sizeof *(p));                                        \
        if (!q_) return false;                                                                     \
        (p) = q_;                                                                                  \
    } while (0)

static bool values_grow(struct imp *im)
{
    int cap = im->cap_values ? im->cap_values * 2 : 64;
    GROW(im->m->values, cap);
    GROW(im->shape2, cap);
    GROW(im->alias, cap);
    GROW(im->uses, cap);
    GROW(im->consumer, cap);
    GROW(im->gprod, cap);
    GROW(im->defined, cap);
    im->cap_values = cap;
    return true;
}

int xai_imp_add_value(struct imp *im, char *name)
{
    xai_model *m = im->m;
    if (!name || (m->n_values == im->cap_values && !values_grow(im))) {
        free(name);
        return -1;
    }
    int v = m->n_values;
    memset(&m->values[v], 0, sizeof m->values[v]);
    m->values[v].name = name;
    m->values[v].producer = -1;
    memset(&im->shape2[v], 0, sizeof im->shape2[v]);
    im->alias[v] = im->consumer[v] = im->gprod[v] = -1;
    im->uses[v] = 0;
    im->defined[v] = false;
    if (!names_put(im, v)) {
        free(name);
        return -1;
    }
    m->n_values++;
    return v;
}

char *xai_imp_unique_name(struct imp *im, const char *base, const char *suffix)
{
    size_t n = strlen(base) + strlen(suffix) + 24;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s_%s", base, suffix);
    for (int k = 1; xai_imp_find(im, s) >= 0; k++) snprintf(s, n, "%s_%s_%d", base, suffix, k);
    return s;
}

int xai_imp_resolve(const struct imp *im, int v)
{
    while (v >= 0 && im->alias[v] >= 0) v = im->alias[v];
    return v;
}

void xai_imp_set_const(struct imp *im, int v, struct xai_const *c)
{
    struct xai_value *val = &im->m->values[v];
    xai_const_free(val->cst);
    val->cst = c;
    val->shape = c->shape;
    val->batch_dims = 0;
    val->grad = false;
    im->shape2[v] = c->shape;
    im->defined[v] = true;
}

static xai_status add_initializers(struct imp *im)
{
    const Xonnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_initializer; i++) {
        Xonnx__TensorProto *t = g->initializer[i];
        if (!t->name || !t->name[0])
            return xai_fail(im->err, XAI_BAD_MODEL, "initializer %zu has no name", i);
        if (xai_imp_find(im, t->name) >= 0)
            return xai_fail(im->err, XAI_BAD_MODEL, "initializer '%s' is defined twice", t->name);
        char what[300];
        snprintf(what, sizeof what, "initializer '%s'", t->name);
        struct xai_const *c;
        xai_status st = xai_onnx_tensor_take(t, what, &c, im->err);
        if (st) return st;
        int v = xai_imp_add_value(im, strdup(t->name));
        if (v < 0) {
            xai_const_free(c);
            return xai_fail(im->err, XAI_NO_MEMORY, "out of memory reading initializers");
        }
        xai_imp_set_const(im, v, c);
    }
    return XAI_OK;
}

static xai_status input_dim(struct imp *im, const char *name, int i,
                            const Xonnx__TensorShapeProto__Dimension *d, int64_t *out)
{
    bool known = d->value_case == XONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    if (!known && i == 0) {
        *out = 0; /* dynamic batch */
        return XAI_OK;
    }
    if (!known)
        return xai_fail(im->err, XAI_UNSUPPORTED,
                        "graph input '%s': dimension %d is unknown ('%s'); only the batch "
                        "dimension (0) may be dynamic, the others must be numbers",
                        name, i,
                        d->value_case == XONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                                d->dim_param
                            ? d->dim_param
                            : "");
    if (d->dim_value <= 0 || d->dim_value > (1 << 24))
        return xai_fail(im->err, XAI_BAD_MODEL, "graph input '%s': dimension %d has size %lld",
                        name, i, (long long)d->dim_value);
    *out = d->dim_value;
    return XAI_OK;
}

static xai_status input_shape(struct imp *im, const Xonnx__ValueInfoProto *vi, int v)
{
    const Xonnx__TensorShapeProto *sp = vi->type->tensor_type->shape;
    if (!sp || sp->n_dim == 0)
        return xai_fail(im->err, XAI_UNSUPPORTED,
                        "graph input '%s' has no shape; xaid needs its dimensions", vi->name);
    if (sp->n_dim > XAI_MAX_DIMS)
        return xai_fail(im->err, XAI_UNSUPPORTED, "graph input '%s' has %zu dimensions", vi->name,
                        sp->n_dim);
    struct xai_shape s = {.ndim = (int)sp->n_dim};
    int64_t per_sample = 1;
    for (int i = 0; i < s.ndim; i++) {
        xai_status st = input_dim(im, vi->name, i, sp->dim[i], &s.d[i]);
        if (st) return st;
        if (i) per_sample *= s.d[i];
        if (per_sample > (1 << 28))
            return xai_fail(im->err, XAI_TOO_LARGE, "graph input '%s' is too large", vi->name);
    }
    im->dynamic = s.d[0] == 0;
    im->m->fixed_batch = s.d[0];
    im->batch1 = im->dynamic ? 1 : s.d[0];
    s.d[0] = im->batch1;
    im->m->values[v].shape = s;
    s.d[0] = im->dynamic ? 2 : im->batch1;
    im->shape2[v] = s;
    im->m->values[v].batch_dims = im->dynamic ? 1 : 0;
    return XAI_OK;
}

static bool is_float_input(const Xonnx__ValueInfoProto *vi)
{
    return vi->type && vi->type->value_case == XONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
           vi->type->tensor_type && vi->type->tensor_type->elem_type == 1;
}

static xai_status pick_input(struct imp *im, const Xonnx__ValueInfoProto **out)
{
    const Xonnx__GraphProto *g = im->g;
    *out = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        const Xonnx__ValueInfoProto *vi = g->input[i];
        if (!vi->name || !vi->name[0])
            return xai_fail(im->err, XAI_BAD_MODEL, "graph input %zu has no name", i);
        if (xai_imp_find(im, vi->name) >= 0) continue; /* an initializer (older exporters) */
        if (!is_float_input(vi))
            return xai_fail(im->err, XAI_UNSUPPORTED,
                            "graph input '%s' is not a float tensor; xaid supports models with "
                            "a single float input",
                            vi->name);
        if (*out)
            return xai_fail(im->err, XAI_UNSUPPORTED,
                            "the graph has several float inputs ('%s', '%s', ...); xaid "
                            "supports models with a single float input",
                            (*out)->name, vi->name);
        *out = vi;
    }
    if (!*out)
        return xai_fail(im->err, XAI_BAD_MODEL,
                        "the graph has no float input (besides its "
                        "initializers)");
    return XAI_OK;
}

static xai_status add_input(struct imp *im)
{
    const Xonnx__ValueInfoProto *vi;
    xai_status st = pick_input(im, &vi);
    if (st) return st;
    int v = xai_imp_add_value(im, strdup(vi->name));
    if (v < 0) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory reading the graph input");
    im->m->input = v;
    im->defined[v] = true;
    im->m->values[v].grad = true;
    return input_shape(im, vi, v);
}

static xai_status node_outputs(struct imp *im, int k)
{
    struct imp_node *n = &im->nodes[k];
    for (int j = 0; j < n->n_out; j++) {
        const char *name = n->np->output[j];
        n->out[j] = -1;
        if (!name || !name[0]) continue;
        int v = xai_imp_find(im, name);
        if (v >= 0) {
            int p = im->gprod[v];
            return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL,
                                 "output '%s' is already %s%s%s", name,
                                 p >= 0 ? "the output of node '" : "an initializer or graph input",
                                 p >= 0 ? im->nodes[p].name : "", p >= 0 ? "'" : "");
        }
        v = xai_imp_add_value(im, strdup(name));
        if (v < 0) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory reading nodes");
        im->gprod[v] = k;
        n->out[j] = v;
    }
    return XAI_OK;
}

static xai_status node_inputs(struct imp *im, int k)
{
    struct imp_node *n = &im->nodes[k];
    for (int i = 0; i < n->n_in; i++) {
        const char *name = n->np->input[i];
        n->in[i] = -1;
        if (!name || !name[0]) continue;
        int v = xai_imp_find(im, name);
        if (v < 0)
            return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL,
                                 "input '%s' is not an initializer, a graph input or the output "
                                 "of a node (missing initializer?)",
                                 name);
        n->in[i] = v;
        im->uses[v]++;
        im->consumer[v] = k;
    }
    return XAI_OK;
}

static xai_status node_init(struct imp *im, int k)
{
    const Xonnx__NodeProto *np = im->g->node[k];
    struct imp_node *n = &im->nodes[k];
    n->np = np;
    n->op = np->op_type ? np->op_type : "";
    if (np->name && np->name[0]) {
        n->name = strdup(np->name);
    } else {
        size_t len = strlen(n->op) + 24;
        if ((n->name = malloc(len))) snprintf(n->name, len, "%s_%d", n->op, k);
    }
    if (!n->name) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory reading nodes");
    if (!n->op[0]) return xai_fail(im->err, XAI_BAD_MODEL, "node '%s' has no op_type", n->name);
    if (np->n_input > 1u << 20 || np->n_output > 1u << 20)
        return xai_node_fail(n->name, n->op, im->err, XAI_BAD_MODEL, "too many inputs or outputs");
    n->n_in = (int)np->n_input;
    n->n_out = (int)np->n_output;
    n->in = calloc(np->n_input ? np->n_input : 1, sizeof(int));
    n->out = calloc(np->n_output ? np->n_output : 1, sizeof(int));
    if (!n->in || !n->out) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory reading nodes");
    return XAI_OK;
}

static xai_status add_nodes(struct imp *im)
{
    const Xonnx__GraphProto *g = im->g;
    if (g->n_node > 1u << 22) return xai_fail(im->err, XAI_TOO_LARGE, "too many nodes");
    im->nodes = calloc(g->n_node ? g->n_node : 1, sizeof *im->nodes);
    if (!im->nodes) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory reading nodes");
    im->n_nodes = (int)g->n_node;
    xai_status st = XAI_OK;
    for (int k = 0; !st && k < im->n_nodes; k++) st = node_init(im, k);
    for (int k = 0; !st && k < im->n_nodes; k++) st = node_outputs(im, k);
    for (int k = 0; !st && k < im->n_nodes; k++) st = node_inputs(im, k);
    return st;
}

static xai_status count_outputs(struct imp *im)
{
    const Xonnx__GraphProto *g = im->g;
    if (!g->n_output) return xai_fail(im->err, XAI_BAD_MODEL, "the graph has no outputs");
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = g->output[i]->name;
        int v = xai_imp_find(im, name);
        if (v < 0)
            return xai_fail(im->err, XAI_BAD_MODEL, "graph output '%s' is not produced by any node",
                            name ? name : "");
        im->uses[v]++;
    }
    return XAI_OK;
}

xai_status xai_imp_build_values(struct imp *im)
{
    xai_status st = add_initializers(im);
    if (!st) st = add_input(im);
    if (!st) st = add_nodes(im);
    if (!st) st = count_outputs(im);
    return st;
}

void xai_imp_free(struct imp *im)
{
    for (int k = 0; im->nodes && k < im->n_nodes; k++) {
        free(im->nodes[k].name);
        free(im->nodes[k].in);
        free(im->nodes[k].out);
    }
    free(im->nodes);
    free(im->order);
    free(im->names.slot);
    free(im->shape2);
    free(im->alias);
    free(im->uses);
    free(im->consumer);
    free(im->gprod);
    free(im->defined);
}
