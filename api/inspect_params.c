/*
 * inspect_params.c - the inspection views' parameter tables and their arguments; see
 * api/inspect.h. The tables are the single source of names, ranges and defaults for the CLI,
 * the HTTP routes and openapi.yaml.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "inspect_internal.h"
#include "json_mem.h"
#include "params.h"
#include "request.h"

static const char *const cmaps[] = {"viridis", "gray", "jet", "inferno", "turbo", NULL};
static const char *const projections[] = {"tsne", "pca", NULL};
static const char *const tsne_methods[] = {"auto", "exact", "barnes_hut", NULL};
static const char *const inits[] = {"pca", "random", NULL};

static const struct xai_param_def filters_params[] = {
    {"zoom", XAI_PARAM_INT, 8, 1, XAI_GRID_MAX_ZOOM, NULL, "pixels per kernel weight"},
    {"raw", XAI_PARAM_BOOL, 0, 0, 1, NULL, "also return the weights as float32"},
};

static const struct xai_param_def features_params[] = {
    {"top_k", XAI_PARAM_INT, 16, 1, XAI_FEATURES_MAX_K, NULL,
     "channels returned, by mean activation"},
    {"zoom", XAI_PARAM_INT, 2, 1, XAI_GRID_MAX_ZOOM, NULL, "pixels per activation in the grid"},
    {"colormap", XAI_PARAM_ENUM, 0, 0, 0, cmaps, "colours of the tiles"},
    {"raw", XAI_PARAM_BOOL, 0, 0, 1, NULL, "also return the maps as float32 [k, h, w]"},
    {"map_back", XAI_PARAM_BOOL, 0, 0, 1, NULL,
     "also return every map resampled onto the original image's pixels"},
};

static const struct xai_param_def maximize_params[] = {
    {"steps", XAI_PARAM_INT, 100, 1, XAI_MAXIMIZE_MAX_STEPS, NULL, "gradient ascent steps"},
    {"lr", XAI_PARAM_FLOAT, 0.01, 1e-6, 10, NULL,
     "step size (input units per pixel, RMS: the step is lr * d / RMS(d))"},
    {"l2", XAI_PARAM_FLOAT, 0.01, 0, 100, NULL, "lambda of the L2 penalty lambda * sum(I^2)"},
    {"blur_sigma", XAI_PARAM_FLOAT, 0, 0, 64, NULL,
     "Gaussian blur of the image every blur_every steps (0: none)"},
    {"blur_every", XAI_PARAM_INT, 4, 1, 100, NULL, "steps between blurs"},
    {"jitter", XAI_PARAM_INT, 0, 0, 32, NULL,
     "random shift of up to this many pixels before each gradient (0: none)"},
    {"init_std", XAI_PARAM_FLOAT, 0.01, 0, 10, NULL, "deviation of the starting noise"},
    {"seed", XAI_PARAM_INT, 0, 0, 9007199254740991.0, NULL, "seed of the noise and the jitter"},
    {"raw", XAI_PARAM_BOOL, 0, 0, 1, NULL, "also return the image as float32 model input"},
};

static const struct xai_param_def embed_params[] = {
    {"projection", XAI_PARAM_ENUM, 0, 0, 0, projections, "2-D projection"},
    {"perplexity", XAI_PARAM_FLOAT, 30, 1, XAI_TSNE_MAX_PERPLEXITY, NULL,
     "t-SNE perplexity (lowered to (images - 1) / 3 for small batches)"},
    {"iterations", XAI_PARAM_INT, 1000, 250, XAI_TSNE_MAX_ITER, NULL, "t-SNE iterations"},
    {"tsne_method", XAI_PARAM_ENUM, 0, 0, 0, tsne_methods,
     "exact or Barnes-Hut t-SNE (auto: exact up to 500 images)"},
    {"init", XAI_PARAM_ENUM, 0, 0, 0, inits, "t-SNE start: principal components or noise"},
    {"theta", XAI_PARAM_FLOAT, 0.5, 0.1, 1, NULL, "Barnes-Hut accuracy"},
    {"seed", XAI_PARAM_INT, 0, 0, 9007199254740991.0, NULL, "seed of the random start"},
    {"knn_k", XAI_PARAM_INT, 5, 1, 50, NULL, "neighbours of the k-NN agreement (with labels)"},
    {"batch", XAI_PARAM_INT, 32, 1, 256, NULL, "images per forward pass"},
    {"plot_size", XAI_PARAM_INT, 512, 128, 2048, NULL, "side of the scatter plot in pixels"},
    {"raw", XAI_PARAM_BOOL, 0, 0, 1, NULL, "also return the feature vectors as float32"},
};

static const char *const named_layer[] = {"layer", NULL};
static const char *const named_target[] = {"target", NULL};
static const char *const named_embed[] = {"layer", "labels", NULL};

#define N(t) ((int)(sizeof t / sizeof t[0]))

static const struct api_view_def views[] = {
    {"filters", "The learned kernels of a convolution layer (the first by default), tiled.",
     filters_params, N(filters_params), named_layer},
    {"features",
     "A layer's activation maps for one image: the top-k channels by mean activation, and the "
     "fraction of dead (all-zero) maps.",
     features_params, N(features_params), named_layer},
    {"maximize",
     "The input that maximises a class score, by gradient ascent with L2 regularisation "
     "(Simonyan et al. 2014).",
     maximize_params, N(maximize_params), named_target},
    {"embed",
     "Feature vectors of a batch of images (by default the input of the final linear layer), "
     "projected to 2-D by t-SNE or PCA.",
     embed_params, N(embed_params), named_embed},
};

const struct api_view_def *api_view_def(enum api_view_kind kind)
{
    return &views[kind];
}

json_t *api_views_json(void)
{
    unsigned long mark = api_json_mark(); /* items are appended unchecked; failures counted */
    json_t *a = json_array();
    for (int i = 0; a && i < N(views); i++) {
        json_t *named = json_array();
        for (int k = 0; views[i].named[k]; k++)
            json_array_append_new(named, json_string(views[i].named[k]));
        json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:o}", "name", views[i].name, "summary",
                                           views[i].summary, "parameters",
                                           api_param_defs_json(views[i].params, views[i].n_params),
                                           "arguments", named));
    }
    return api_json_checked(a, mark);
}

void api_view_opts_init(struct api_view_opts *o, enum api_view_kind kind)
{
    memset(o, 0, sizeof *o);
    o->view = &views[kind];
    for (int i = 0; i < o->view->n_params; i++) o->params.v[i] = o->view->params[i].def;
    o->target = -1;
}

void api_view_opts_reset(struct api_view_opts *o)
{
    free(o->labels);
    o->labels = NULL;
    o->n_labels = 0;
}

static int param_index(const struct api_view_def *v, const char *name)
{
    for (int i = 0; i < v->n_params; i++)
        if (!strcmp(v->params[i].name, name)) return i;
    return -1;
}

double api_view_param(const struct api_view_opts *o, const char *name)
{
    int i = param_index(o->view, name);
    return i < 0 ? 0 : o->params.v[i];
}

static bool takes(const struct api_view_def *v, const char *name)
{
    for (int k = 0; v->named[k]; k++)
        if (!strcmp(v->named[k], name)) return true;
    return false;
}

static xai_status unknown(const struct api_view_def *v, const char *name, struct xai_err *err)
{
    char names[400] = "";
    size_t off = 0;
    for (int k = 0; v->named[k] && off < sizeof names; k++)
        off +=
            (size_t)snprintf(names + off, sizeof names - off, "%s%s", k ? ", " : "", v->named[k]);
    for (int i = 0; i < v->n_params && off < sizeof names; i++)
        off += (size_t)snprintf(names + off, sizeof names - off, ", %s", v->params[i].name);
    return xai_fail(err, XAI_INVALID_ARGUMENT, "unknown parameter '%s'; %s takes: %s",
                    api_arg_shown(name), v->name, names);
}

#define MAX_LABEL_TEXT (1 << 20)

/* labels: a comma-separated list of class indices or labels, one per image. */
static xai_status set_labels_text(const struct api_model *m, struct api_view_opts *o,
                                  const char *text, struct xai_err *err)
{
    if (strlen(text) > MAX_LABEL_TEXT)
        return xai_fail(err, XAI_TOO_LARGE, "parameter 'labels' is too long");
    int cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    if (cap > XAI_EMBED_MAX_IMAGES)
        return xai_fail(err, XAI_TOO_LARGE, "parameter 'labels' has more than %d entries",
                        XAI_EMBED_MAX_IMAGES);
    free(o->labels);
    o->n_labels = 0;
    if (!(o->labels = malloc(sizeof(int) * (size_t)cap)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    char item[160];
    for (const char *p = text;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= sizeof item) return xai_fail(err, XAI_INVALID_ARGUMENT, "a label is too long");
        memcpy(item, p, len);
        item[len] = 0;
        if (api_target_parse(m, item, &o->labels[o->n_labels], err))
            return xai_fail(err, XAI_NOT_FOUND,
                            "parameter 'labels': entry %d is not a class index or label of model "
                            "'%s' (its info lists the labels)",
                            o->n_labels, m->name);
        o->n_labels++;
        if (!comma) return XAI_OK;
        p = comma + 1;
    }
}

static xai_status set_labels_json(const struct api_model *m, struct api_view_opts *o,
                                  const json_t *val, struct xai_err *err)
{
    if (json_is_string(val)) return set_labels_text(m, o, json_string_value(val), err);
    size_t n = json_array_size(val);
    if (!json_is_array(val) || n < 1)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "parameter 'labels' must be a list of class indices or labels");
    if (n > XAI_EMBED_MAX_IMAGES)
        return xai_fail(err, XAI_TOO_LARGE, "parameter 'labels' has more than %d entries",
                        XAI_EMBED_MAX_IMAGES);
    free(o->labels);
    o->n_labels = 0;
    if (!(o->labels = malloc(sizeof(int) * n)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(val, i);
        json_int_t k = json_is_integer(e) ? json_integer_value(e) : -1;
        if (json_is_integer(e) && k >= 0 && k < m->n_labels) {
            o->labels[o->n_labels++] = (int)k;
            continue;
        }
        if (!json_is_string(e) ||
            api_target_parse(m, json_string_value(e), &o->labels[o->n_labels], err))
            return xai_fail(err, XAI_NOT_FOUND,
                            "parameter 'labels': entry %zu is not a class index or label of the "
                            "model",
                            i);
        o->n_labels++;
    }
    return XAI_OK;
}

static xai_status set_named_text(const struct api_model *m, struct api_view_opts *o,
                                 const char *name, const char *text, struct xai_err *err)
{
    if (!strcmp(name, "layer")) {
        if (!*text) return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter 'layer' is empty");
        o->layer = text;
        return XAI_OK;
    }
    if (!strcmp(name, "target")) {
        xai_status st = api_target_parse(m, text, &o->target, err);
        return st == XAI_INVALID_ARGUMENT ? XAI_NOT_FOUND : st;
    }
    return set_labels_text(m, o, text, err);
}

xai_status api_view_set_text(const struct api_model *m, struct api_view_opts *o, const char *name,
                             const char *text, struct xai_err *err)
{
    if (takes(o->view, name)) return set_named_text(m, o, name, text, err);
    int i = param_index(o->view, name);
    if (i < 0) return unknown(o->view, name, err);
    return api_param_def_set_text(&o->view->params[i], text, &o->params.v[i], err);
}

xai_status api_view_set_json(const struct api_model *m, struct api_view_opts *o, const char *name,
                             const json_t *val, struct xai_err *err)
{
    if (takes(o->view, name)) {
        if (!strcmp(name, "labels")) return set_labels_json(m, o, val, err);
        if (!strcmp(name, "target") && json_is_integer(val)) {
            json_int_t k = json_integer_value(val);
            if (k < 0 || k >= m->n_labels)
                return xai_fail(err, XAI_NOT_FOUND, "target must be a class index from 0 to %d",
                                m->n_labels - 1);
            o->target = (int)k;
            return XAI_OK;
        }
        if (!json_is_string(val))
            return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be a string", name);
        return set_named_text(m, o, name, json_string_value(val), err);
    }
    int i = param_index(o->view, name);
    if (i < 0) return unknown(o->view, name, err);
    return api_param_def_set_json(&o->view->params[i], val, &o->params.v[i], err);
}

/* ---- JSON helpers (inspect_internal.h) ---- */

json_t *api_b64_json(const void *data, size_t len)
{
    size_t n = xai_base64_encoded_len(len);
    char *buf = malloc(n + 1);
    if (!buf) {
        api_json_note_failure(); /* the answer is refused (api_json_checked) */
        return json_null();
    }
    xai_base64_encode(data, len, buf);
    json_t *s = json_stringn(buf, strlen(buf));
    free(buf);
    return s;
}

json_t *api_raw_json(const float *data, const int64_t *shape, int ndim)
{
    json_t *sh = json_array();
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        json_array_append_new(sh, json_integer(shape[i]));
        n *= shape[i];
    }
    return json_pack("{s:s, s:s, s:o, s:o}", "dtype", "float32", "byte_order", "little", "shape",
                     sh, "data", api_b64_json(data, sizeof(float) * (size_t)n));
}

xai_status api_grid_png_json(const struct xai_grid *g, json_t **out, struct xai_err *err)
{
    struct xai_blob png = {0};
    xai_status st = xai_png_encode(g->pixels, g->width, g->height, g->channels, &png, err);
    *out = st ? NULL : api_b64_json(png.data, png.len);
    xai_blob_reset(&png);
    return st;
}

xai_status api_tensor_find(const struct api_model *m, const char *name, int *value,
                           struct xai_err *err)
{
    *value = xai_model_find(m->engine, name);
    if (*value < 0)
        return xai_fail(err, XAI_NOT_FOUND,
                        "model '%s' has no tensor of that 'layer' name (its info lists them)",
                        m->name);
    return XAI_OK;
}
