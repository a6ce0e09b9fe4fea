/*
 * inspect_filters.c - the learned kernels of a convolution layer, as a tiled picture.
 *
 * The kernels are the weights the engine runs: where the importer folded a BatchNorm into the
 * convolution (onnx_bn.c), W'[o] = W[o] * gamma[o] / sqrt(var[o] + eps), the same picture up
 * to each kernel's positive scale (the tiles are min-max scaled one by one) unless gamma is
 * negative. Called by api/inspect.c (`filters` route, `xaid filters`).
 */
#include <math.h>
#include <string.h>

#include "inspect.h"

/* The first Conv node whose output, node name or weight name is name (any Conv when NULL). */
static int find_conv(const xai_model *m, const char *name)
{
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *nd = &m->nodes[k];
        if (strcmp(nd->op->name, "Conv")) continue;
        if (!name) return k;
        if ((nd->name && !strcmp(nd->name, name)) || !strcmp(m->values[nd->out[0]].name, name))
            return k;
        if (nd->n_in > 1 && nd->in[1] >= 0 && !strcmp(m->values[nd->in[1]].name, name)) return k;
    }
    return -1;
}

xai_status xai_filters_find(const xai_model *m, const char *name, struct xai_filters *out,
                            struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    int k = find_conv(m, name);
    if (k < 0 && !name) return xai_fail(err, XAI_NOT_FOUND, "the model has no convolution");
    if (k < 0)
        return xai_fail(err, XAI_NOT_FOUND,
                        "the model has no convolution of that name (give the output tensor, "
                        "node or weight name of a Conv; `xaid info` lists them)");
    const struct xai_node *nd = &m->nodes[k];
    const struct xai_value *w = nd->n_in > 1 && nd->in[1] >= 0 ? &m->values[nd->in[1]] : NULL;
    if (!w || !w->cst || w->cst->dtype != XAI_F32 || !w->cst->f || w->shape.ndim != 4)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "that convolution has no constant 2-D kernel [O, I, kh, kw]");
    out->node = k;
    out->out_ch = (int)w->shape.d[0];
    out->in_ch = (int)w->shape.d[1];
    out->kh = (int)w->shape.d[2];
    out->kw = (int)w->shape.d[3];
    out->weights = w->cst->f;
    return XAI_OK;
}

xai_status xai_filters_grid(const struct xai_filters *f, int zoom, struct xai_grid *out,
                            struct xai_err *err)
{
    if (f->in_ch == 3)
        return xai_tile_grid(f->weights, f->out_ch, 3, f->kh, f->kw,
                             (int)ceil(sqrt((double)f->out_ch)), zoom, -1, out, err);
    int64_t n = (int64_t)f->out_ch * f->in_ch;
    if (n > XAI_GRID_MAX_PIXELS)
        return xai_fail(err, XAI_TOO_LARGE, "the convolution has too many kernels to draw");
    int cols = f->in_ch == 1 ? (int)ceil(sqrt((double)f->out_ch)) : f->in_ch;
    return xai_tile_grid(f->weights, (int)n, 1, f->kh, f->kw, cols, zoom, -1, out, err);
}
