/*
 * inspect_embed.c - the `embed` view: a batch of images through the model, the feature vector
 * of one layer per image, a 2-D projection (t-SNE or PCA), each image's prediction, the
 * k-nearest-neighbour agreement of the projection when labels are sent, and a scatter plot
 * coloured by label (or by predicted class without labels); see api/views.h.
 *
 * Images are decoded and preprocessed `batch` at a time, so memory holds one batch of inputs
 * and the n feature vectors, never n decoded images.
 */
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"
#include "plot.h"

struct embed {
    const struct api_model *m;
    const struct api_view_opts *o;
    int n, layer;
    int64_t dim, classes;
    float *feat, *logits, *xy;
    int *pred;
    float *prob;
    double explained[2];
    struct xai_tsne_info tsne;
};

static void embed_reset(struct embed *e)
{
    free(e->feat);
    free(e->logits);
    free(e->xy);
    free(e->pred);
    free(e->prob);
}

static xai_status check(const struct api_model *m, const struct api_view_opts *o, int n,
                        struct embed *e, struct xai_err *err)
{
    if (n > XAI_EMBED_MAX_IMAGES)
        return xai_fail(err, XAI_TOO_LARGE, "embed takes at most %d images (got %d)",
                        XAI_EMBED_MAX_IMAGES, n);
    if (n < XAI_EMBED_MIN_IMAGES)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "embed needs at least %d images",
                        XAI_EMBED_MIN_IMAGES);
    if (o->labels && o->n_labels != n)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "parameter 'labels' has %d entries for %d images", o->n_labels, n);
    xai_status st = XAI_OK;
    if (o->layer)
        st = api_tensor_find(m, o->layer, &e->layer, err);
    else if ((e->layer = xai_embed_default_layer(m->engine, m->output)) < 0)
        st = xai_fail(err, XAI_UNSUPPORTED,
                      "model '%s' has no final linear layer; name the embedding 'layer'", m->name);
    if (st) return st;
    double macs = (double)xai_model_macs(m->engine);
    if (macs * n > XAI_EMBED_MAX_MACS)
        return xai_fail(err, XAI_TOO_LARGE,
                        "%d images are over the embedding's compute limit for model '%s': at "
                        "most %d images (%.0f multiply-adds per image, limit %.0e)",
                        n, m->name, (int)(XAI_EMBED_MAX_MACS / macs), macs, XAI_EMBED_MAX_MACS);
    const struct xai_value *v = &m->engine->values[e->layer];
    if (v->cst || !v->grad)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "parameter 'layer' must name an activation computed from the input");
    e->dim = xai_shape_numel(&v->shape);
    if (e->dim * n > XAI_EMBED_MAX_FLOATS)
        return xai_fail(err, XAI_TOO_LARGE,
                        "%d images x %lld features is over the limit of %d floats; send fewer "
                        "images or name a smaller layer",
                        n, (long long)e->dim, XAI_EMBED_MAX_FLOATS);
    return XAI_OK;
}

/* Decodes and preprocesses images [i, i + b) into x. */
static xai_status prepare_batch(const struct embed *e, const struct api_image_ref *imgs, int i,
                                int b, const struct xai_image_limits *lim, float *x,
                                struct xai_err *err)
{
    size_t item = xai_preprocess_numel(&e->m->pre);
    for (int k = 0; k < b; k++) {
        struct api_input in;
        struct xai_err e2 = {{0}};
        xai_status st = api_prepare(e->m, imgs[i + k].data, imgs[i + k].len, lim, &in, &e2);
        if (st) return xai_fail(err, st, "image %d: %s", i + k, e2.msg);
        memcpy(x + (size_t)k * item, in.data, sizeof(float) * item);
        api_input_reset(&in);
    }
    return XAI_OK;
}

static xai_status run_batches(struct embed *e, xai_session *s, const struct api_image_ref *imgs,
                              const struct xai_image_limits *lim, struct xai_err *err)
{
    int step = (int)api_view_param(e->o, "batch");
    size_t item = xai_preprocess_numel(&e->m->pre);
    float *x = malloc(sizeof(float) * item * (size_t)(step < e->n ? step : e->n));
    if (!x) return xai_fail(err, XAI_NO_MEMORY, "out of memory for a batch");
    const struct xai_preprocess *p = &e->m->pre;
    struct xai_shape sh = {4, {1, p->channels, p->height, p->width}};
    xai_session_keep_clear(s);
    xai_status st = XAI_OK;
    for (int i = 0; !st && i < e->n; i += step) {
        int b = e->n - i < step ? e->n - i : step;
        st = prepare_batch(e, imgs, i, b, lim, x, err);
        if (!st)
            st = xai_embed_features(s, &sh, x, b, e->layer, e->m->output, b, e->feat + i * e->dim,
                                    e->logits + i * e->classes, err);
    }
    free(x);
    return st;
}

static xai_status predictions(struct embed *e, struct xai_err *err)
{
    for (int i = 0; i < e->n; i++) {
        struct api_scores sc;
        xai_status st = api_scores_compute(e->m, e->logits + i * e->classes, &sc, err);
        if (st) return st;
        e->pred[i] = sc.top.index;
        e->prob[i] = sc.top.probability;
        api_scores_reset(&sc);
    }
    return XAI_OK;
}

static xai_status project(struct embed *e, xai_session *s, struct xai_err *err)
{
    const struct api_view_opts *o = e->o;
    if (api_view_param(o, "projection") == 1) { /* pca */
        if (e->dim >= 2) return xai_pca(e->feat, e->n, (int)e->dim, 2, e->xy, e->explained, err);
        float *c = malloc(sizeof(float) * (size_t)e->n);
        xai_status st = c ? xai_pca(e->feat, e->n, 1, 1, c, e->explained, err)
                          : xai_fail(err, XAI_NO_MEMORY, "out of memory");
        for (int i = 0; !st && i < e->n; i++) e->xy[2 * i] = c[i], e->xy[2 * i + 1] = 0;
        free(c);
        return st;
    }
    struct xai_tsne_opts t;
    xai_tsne_opts_default(&t);
    t.perplexity = api_view_param(o, "perplexity");
    t.iterations = (int)api_view_param(o, "iterations");
    t.method = (enum xai_tsne_method)api_view_param(o, "tsne_method");
    t.init = (enum xai_tsne_init)api_view_param(o, "init");
    t.theta = api_view_param(o, "theta");
    t.seed = (uint64_t)api_view_param(o, "seed");
    t.deadline = xai_session_deadline(s);
    return xai_tsne(e->feat, e->n, (int)e->dim, &t, e->xy, &e->tsne, err);
}

static json_t *points_json(const struct embed *e)
{
    json_t *a = json_array();
    for (int i = 0; a && i < e->n; i++) {
        json_t *p =
            json_pack("{s:i, s:f, s:f, s:{s:i, s:s, s:f}}", "index", i, "x", (double)e->xy[2 * i],
                      "y", (double)e->xy[2 * i + 1], "prediction", "index", e->pred[i], "label",
                      e->m->labels[e->pred[i]], "probability", (double)e->prob[i]);
        if (p && e->o->labels)
            json_object_set_new(p, "label", json_string(e->m->labels[e->o->labels[i]]));
        json_array_append_new(a, p);
    }
    return a;
}

static json_t *knn_json(const struct embed *e)
{
    int k = (int)api_view_param(e->o, "knn_k");
    const int *lab = e->o->labels;
    int correct = 0;
    for (int i = 0; i < e->n; i++) correct += e->pred[i] == lab[i];
    return json_pack("{s:i, s:f, s:f, s:f}", "k", k, "projection",
                     xai_knn_agreement(e->xy, e->n, 2, lab, k), "features",
                     xai_knn_agreement(e->feat, e->n, (int)e->dim, lab, k), "prediction_accuracy",
                     (double)correct / e->n);
}

static json_t *answer_json(const struct embed *e, json_t *png)
{
    const struct api_view_opts *o = e->o;
    bool pca = api_view_param(o, "projection") == 1;
    json_t *j = json_pack(
        "{s:o, s:s, s:I, s:i, s:s, s:o, s:o, s:o, s:s}", "model", api_model_ref_json(e->m), "layer",
        e->m->engine->values[e->layer].name, "dim", (json_int_t)e->dim, "count", e->n, "projection",
        pca ? "pca" : "tsne", "params",
        api_param_values_json(o->view->params, o->view->n_params, &o->params), "points",
        points_json(e), "scatter_png", png, "colored_by", o->labels ? "label" : "prediction");
    if (!j) return NULL;
    if (pca)
        json_object_set_new(j, "explained_variance",
                            json_pack("[f,f]", e->explained[0], e->dim >= 2 ? e->explained[1] : 0));
    else
        json_object_set_new(j, "tsne",
                            json_pack("{s:f, s:s, s:o}", "perplexity", e->tsne.perplexity, "method",
                                      e->tsne.method == XAI_TSNE_EXACT ? "exact" : "barnes_hut",
                                      "kl", e->tsne.kl >= 0 ? json_real(e->tsne.kl) : json_null()));
    if (o->labels) json_object_set_new(j, "knn_agreement", knn_json(e));
    if (api_view_param(o, "raw") != 0) {
        int64_t shape[2] = {e->n, e->dim};
        json_object_set_new(j, "features", api_raw_json(e->feat, shape, 2));
    }
    return j;
}

static xai_status plot(const struct embed *e, json_t **png, struct xai_err *err)
{
    struct xai_blob b = {0};
    const int *cls = e->o->labels ? e->o->labels : e->pred;
    xai_status st =
        xai_scatter_png(e->xy, e->n, cls, (const char *const *)e->m->labels, e->m->n_labels,
                        (int)api_view_param(e->o, "plot_size"), &b, err);
    *png = st ? NULL : api_b64_json(b.data, b.len);
    xai_blob_reset(&b);
    return st;
}

static xai_status alloc(struct embed *e, struct xai_err *err)
{
    e->classes = e->m->n_labels;
    e->feat = malloc(sizeof(float) * (size_t)(e->dim * e->n));
    e->logits = malloc(sizeof(float) * (size_t)(e->classes * e->n));
    e->xy = malloc(sizeof(float) * 2 * (size_t)e->n);
    e->pred = malloc(sizeof(int) * (size_t)e->n);
    e->prob = malloc(sizeof(float) * (size_t)e->n);
    if (!e->feat || !e->logits || !e->xy || !e->pred || !e->prob)
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for %d feature vectors", e->n);
    return XAI_OK;
}

xai_status api_embed_run(const struct api_model *m, xai_session *s,
                         const struct api_image_ref *imgs, int n,
                         const struct xai_image_limits *lim, const struct api_view_opts *o,
                         json_t **answer, struct xai_err *err)
{
    *answer = NULL;
    struct embed e = {m, o, n, -1, 0, 0, NULL, NULL, NULL, NULL, NULL, {0, 0}, {0, 0, -1}};
    json_t *png = NULL;
    xai_status st = check(m, o, n, &e, err);
    if (!st) st = alloc(&e, err);
    if (!st) st = run_batches(&e, s, imgs, lim, err);
    if (!st) st = predictions(&e, err);
    if (!st) st = project(&e, s, err);
    if (!st) st = plot(&e, &png, err);
    if (!st && !(*answer = answer_json(&e, png)))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the answer");
    embed_reset(&e);
    return st;
}
