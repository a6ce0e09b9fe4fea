/*
 * inspect_features.c - a layer's activation maps for one image: the top-k channels by mean
 * activation, and how many channels are dead (zero everywhere; many dead maps after a ReLU
 * signal a training problem, e.g. a learning rate that was too high).
 * Called by api/inspect.c (`features` route, `xaid features`).
 */
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

void xai_features_reset(struct xai_features *f)
{
    free(f->index);
    free(f->mean);
    free(f->maps);
    memset(f, 0, sizeof *f);
}

struct ranked {
    double mean;
    int index;
};

static int by_mean_desc(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->mean != b->mean) return a->mean > b->mean ? -1 : 1;
    return a->index - b->index;
}

/* Means of every channel into r; counts the dead ones. */
static int channel_stats(const float *a, int c, int64_t hw, struct ranked *r)
{
    int dead = 0;
    for (int k = 0; k < c; k++) {
        const float *p = a + k * hw;
        double s = 0;
        int zero = 1;
        for (int64_t i = 0; i < hw; i++) {
            s += p[i];
            zero &= p[i] == 0.f;
        }
        r[k] = (struct ranked){s / (double)hw, k};
        dead += zero;
    }
    return dead;
}

static xai_status check_layer(const xai_model *m, int layer, struct xai_err *err)
{
    if (layer < 0 || layer >= m->n_values || m->values[layer].cst || !m->values[layer].grad ||
        m->values[layer].shape.ndim != 4)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "features need a 4-D activation [N, C, H, W] computed from the input");
    return XAI_OK;
}

static xai_status select_top(const float *a, int top_k, struct xai_features *out,
                             struct xai_err *err)
{
    int64_t hw = (int64_t)out->height * out->width;
    struct ranked *r = malloc(sizeof *r * (size_t)out->channels);
    if (!r) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    out->dead = channel_stats(a, out->channels, hw, r);
    qsort(r, (size_t)out->channels, sizeof *r, by_mean_desc);
    out->k = top_k < out->channels ? top_k : out->channels;
    out->index = malloc(sizeof(int) * (size_t)out->k);
    out->mean = malloc(sizeof(float) * (size_t)out->k);
    out->maps = malloc(sizeof(float) * (size_t)(out->k * hw));
    xai_status st = out->index && out->mean && out->maps
                        ? XAI_OK
                        : xai_fail(err, XAI_NO_MEMORY, "out of memory for the feature maps");
    for (int i = 0; !st && i < out->k; i++) {
        out->index[i] = r[i].index;
        out->mean[i] = (float)r[i].mean;
        memcpy(out->maps + i * hw, a + r[i].index * hw, sizeof(float) * (size_t)hw);
    }
    free(r);
    return st;
}

xai_status xai_features_run(xai_session *s, const struct xai_tensor *input, int layer, int top_k,
                            struct xai_features *out, struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    const xai_model *m = xai_session_model(s);
    xai_status st = check_layer(m, layer, err);
    if (st) return st;
    if (top_k < 1 || top_k > XAI_FEATURES_MAX_K)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "top_k must be from 1 to %d",
                        XAI_FEATURES_MAX_K);
    if ((st = xai_session_keep(s, layer, err)) || (st = xai_session_forward(s, input, err)))
        return st;
    const struct xai_tensor *a = xai_session_value(s, layer);
    if (!a || a->shape.ndim != 4 || a->shape.d[0] != 1)
        return xai_fail(err, XAI_INTERNAL, "the layer was not kept");
    out->channels = (int)a->shape.d[1];
    out->height = (int)a->shape.d[2];
    out->width = (int)a->shape.d[3];
    st = select_top(a->data, top_k, out, err);
    if (st) xai_features_reset(out);
    return st;
}
