/*
 * onnx_finish.c - the last steps of an import, once every node is built: graph outputs,
 * the batch check (a dynamic-batch model whose outputs do not scale with the batch mixes
 * samples, so it runs at batch 1 only), the parameter count and the removal of values no
 * runtime node reads or writes (folded subgraphs, BN parameters, aliases).
 */
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

static xai_status set_outputs(struct imp *im)
{
    const Xonnx__GraphProto *g = im->g;
    xai_model *m = im->m;
    m->outputs = calloc(g->n_output, sizeof *m->outputs);
    if (!m->outputs) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory");
    m->n_outputs = (int)g->n_output;
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = g->output[i]->name;
        int v = xai_imp_resolve(im, xai_imp_find(im, name));
        if (v < 0 || !im->defined[v])
            return xai_fail(im->err, XAI_BAD_MODEL, "graph output '%s' is never computed", name);
        if (m->values[v].cst && m->values[v].cst->dtype != XAI_F32)
            return xai_fail(im->err, XAI_UNSUPPORTED,
                            "graph output '%s' is an integer constant; xaid's outputs are float "
                            "tensors",
                            name);
        m->outputs[i] = v;
    }
    return XAI_OK;
}

static void check_batch(struct imp *im)
{
    xai_model *m = im->m;
    for (int i = 0; im->dynamic && i < m->n_outputs; i++)
        if (!(m->values[m->outputs[i]].batch_dims & 1u)) im->fell_back = true;
    if (!im->fell_back) return;
    m->fixed_batch = 1;
    for (int v = 0; v < m->n_values; v++) m->values[v].batch_dims = 0;
}

static xai_status count_params(struct imp *im)
{
    xai_model *m = im->m;
    uint8_t *seen = calloc((size_t)m->n_values + 1, 1);
    if (!seen) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory");
    m->n_params = 0;
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++) {
            int v = m->nodes[k].in[i];
            if (v < 0 || seen[v] || !m->values[v].cst || m->values[v].cst->dtype != XAI_F32)
                continue;
            seen[v] = 1;
            m->n_params += xai_shape_numel(&m->values[v].cst->shape);
        }
    free(seen);
    return XAI_OK;
}

static int *keep_map(const xai_model *m)
{
    int *map = calloc((size_t)m->n_values + 1, sizeof(int));
    if (!map) return NULL;
    map[m->input] = 1;
    for (int i = 0; i < m->n_outputs; i++) map[m->outputs[i]] = 1;
    for (int k = 0; k < m->n_nodes; k++) {
        for (int i = 0; i < m->nodes[k].n_in; i++)
            if (m->nodes[k].in[i] >= 0) map[m->nodes[k].in[i]] = 1;
        for (int j = 0; j < m->nodes[k].n_out; j++) map[m->nodes[k].out[j]] = 1;
    }
    return map;
}

/* Drops values nothing refers to and renumbers the rest. */
static xai_status compact(struct imp *im)
{
    xai_model *m = im->m;
    int *map = keep_map(m), n = 0;
    if (!map) return xai_fail(im->err, XAI_NO_MEMORY, "out of memory");
    for (int v = 0; v < m->n_values; v++) {
        if (!map[v]) {
            free(m->values[v].name);
            xai_const_free(m->values[v].cst);
            map[v] = -1;
            continue;
        }
        m->values[n] = m->values[v];
        map[v] = n++;
    }
    m->n_values = n;
    for (int k = 0; k < m->n_nodes; k++) {
        for (int i = 0; i < m->nodes[k].n_in; i++)
            if (m->nodes[k].in[i] >= 0) m->nodes[k].in[i] = map[m->nodes[k].in[i]];
        for (int j = 0; j < m->nodes[k].n_out; j++) m->nodes[k].out[j] = map[m->nodes[k].out[j]];
    }
    m->input = map[m->input];
    for (int i = 0; i < m->n_outputs; i++) m->outputs[i] = map[m->outputs[i]];
    free(map);
    return XAI_OK;
}

xai_status xai_imp_finish(struct imp *im)
{
    /* a convolution still pending fed only a BatchNormalization without outputs: dead code */
    xai_status st = set_outputs(im);
    if (st) return st;
    check_batch(im);
    st = count_params(im);
    return st ? st : compact(im);
}
