/*
 * inspect_embed.c - feature vectors of a batch of images at one layer (by default the input
 * of the final linear layer), and the k-nearest-neighbour agreement of a projection. The
 * projections themselves are pca.c and tsne.c. Called by api/inspect.c (`embed` route,
 * `xaid embed`).
 */
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

int xai_embed_default_layer(const xai_model *m, int output)
{
    if (output < 0 || output >= m->n_values) return -1;
    int k = m->values[output].producer;
    if (k < 0) return -1;
    const struct xai_node *nd = &m->nodes[k];
    if (strcmp(nd->op->name, "Gemm") && strcmp(nd->op->name, "MatMul")) return -1;
    return nd->in[0];
}

static xai_status check_layer(const xai_model *m, int layer, struct xai_err *err)
{
    if (layer < 0 || layer >= m->n_values || m->values[layer].cst || !m->values[layer].grad)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "the embedding layer must be an activation computed from the input");
    if (m->values[layer].shape.ndim < 1 || m->values[layer].shape.d[0] != 1)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "the embedding layer has no batch dimension");
    return XAI_OK;
}

static xai_status batch(xai_session *s, const struct xai_shape *item, const float *x, int b,
                        int layer, int output, float *feat, float *logits, struct xai_err *err)
{
    struct xai_tensor in = {*item, (float *)x};
    in.shape.d[0] = b;
    xai_status st = xai_session_forward(s, &in, err);
    if (st) return st;
    const struct xai_tensor *f = xai_session_value(s, layer);
    const struct xai_tensor *y = xai_session_value(s, output);
    if (!f || !y || f->shape.d[0] != b || y->shape.d[0] != b)
        return xai_fail(err, XAI_INTERNAL, "the embedding layer was not kept");
    memcpy(feat, f->data, sizeof(float) * (size_t)xai_shape_numel(&f->shape));
    if (logits) memcpy(logits, y->data, sizeof(float) * (size_t)xai_shape_numel(&y->shape));
    return XAI_OK;
}

xai_status xai_embed_features(xai_session *s, const struct xai_shape *item, const float *x, int n,
                              int layer, int output, int max_batch, float *feat, float *logits,
                              struct xai_err *err)
{
    const xai_model *m = xai_session_model(s);
    xai_status st = check_layer(m, layer, err);
    if (st || (st = xai_session_keep(s, layer, err))) return st;
    int64_t numel = xai_shape_numel(item) / item->d[0];
    int64_t dim = xai_shape_numel(&m->values[layer].shape);
    int64_t classes = xai_shape_numel(&m->values[output].shape);
    int step = max_batch > 0 ? max_batch : 1;
    for (int i = 0; !st && i < n; i += step) {
        int b = n - i < step ? n - i : step;
        st = batch(s, item, x + i * numel, b, layer, output, feat + i * dim,
                   logits ? logits + i * classes : NULL, err);
    }
    return st;
}

struct nb {
    double d;
    int j;
};

static int nb_cmp(const void *pa, const void *pb)
{
    const struct nb *a = pa, *b = pb;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    return a->j - b->j;
}

double xai_knn_agreement(const float *y, int n, int d, const int *labels, int k)
{
    if (n < 2 || k < 1) return 0;
    if (k > n - 1) k = n - 1;
    struct nb *all = malloc(sizeof *all * (size_t)n);
    if (!all) return -1;
    double total = 0;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (int c = 0; c < d; c++) {
                double t = (double)y[(int64_t)i * d + c] - y[(int64_t)j * d + c];
                s += t * t;
            }
            all[m++] = (struct nb){s, j};
        }
        qsort(all, (size_t)m, sizeof *all, nb_cmp);
        int same = 0;
        for (int q = 0; q < k; q++) same += labels[all[q].j] == labels[i];
        total += (double)same / k;
    }
    free(all);
    return total / n;
}
