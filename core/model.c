/* model.c - queries over a loaded model, and its release. Loading is in onnx_import.c. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

void xai_const_free(struct xai_const *c)
{
    if (!c) return;
    free(c->f);
    free(c->i64);
    free(c->batch);
    free(c);
}

void xai_model_free(xai_model *m)
{
    if (!m) return;
    for (int i = 0; m->values && i < m->n_values; i++) {
        free(m->values[i].name);
        xai_const_free(m->values[i].cst);
    }
    for (int i = 0; m->nodes && i < m->n_nodes; i++) {
        struct xai_node *n = &m->nodes[i];
        if (n->params) {
            if (n->op && n->op->free_params)
                n->op->free_params(n->params);
            else
                free(n->params);
        }
        free(n->name);
        free(n->in);
        free(n->out);
    }
    free(m->values);
    free(m->nodes);
    free(m->outputs);
    free(m->producer);
    free(m);
}

int xai_model_find(const xai_model *m, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < m->n_values; i++)
        if (strcmp(m->values[i].name, name) == 0) return i;
    return -1;
}

xai_status xai_model_infer(const xai_model *m, int64_t batch, struct xai_shape *out,
                           struct xai_err *err)
{
    for (int v = 0; v < m->n_values; v++) out[v] = m->values[v].shape;
    out[m->input].d[0] = batch;
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        struct xai_shape in[XAI_MAX_NODE_INPUTS], o[XAI_MAX_NODE_OUTPUTS];
        if (n->n_in > XAI_MAX_NODE_INPUTS || n->n_out > XAI_MAX_NODE_OUTPUTS)
            return xai_fail(err, XAI_UNSUPPORTED, "node '%s' has too many inputs or outputs",
                            n->name);
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0)
                in[i] = out[n->in[i]];
            else
                memset(&in[i], 0, sizeof in[i]);
        memset(o, 0, sizeof o); /* an op that leaves an output unset gives a scalar shape */
        xai_status st = n->op->infer(n->params, in, n->n_in, o, n->n_out, batch, err);
        if (st) return st;
        for (int j = 0; j < n->n_out; j++) out[n->out[j]] = o[j];
    }
    return XAI_OK;
}

int64_t xai_model_macs(const xai_model *m)
{
    int64_t total = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        if (!n->op->macs || n->n_in > XAI_MAX_NODE_INPUTS || n->n_out > XAI_MAX_NODE_OUTPUTS)
            continue;
        struct xai_shape in[XAI_MAX_NODE_INPUTS], o[XAI_MAX_NODE_OUTPUTS];
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0)
                in[i] = m->values[n->in[i]].shape;
            else
                memset(&in[i], 0, sizeof in[i]);
        for (int j = 0; j < n->n_out; j++) o[j] = m->values[n->out[j]].shape;
        total += n->op->macs(n->params, in, n->n_in, o);
    }
    return total;
}
