/* inspect_features.c - the `features` view: a layer's top-k activation maps for one image as a
 * tiled PNG, raw floats and, on request, each map on the original image's pixels (bilinear to
 * the model grid, then the geometry's inverse map, as heatmaps); see api/views.h. */
#include <math.h>
#include <stdlib.h>

#include "inspect_internal.h"
#include "resample.h"

static xai_status pick_layer(const struct api_model *m, const struct api_view_opts *o, int *layer,
                             struct xai_err *err)
{
    if (!o->layer) {
        *layer = m->cam_value;
        if (*layer < 0)
            return xai_fail(err, XAI_UNSUPPORTED, "model '%s' has no 4-D layer", m->name);
        return XAI_OK;
    }
    xai_status st = api_tensor_find(m, o->layer, layer, err);
    if (!st && api_model_layer(m, *layer) < 0)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "parameter 'layer' must name a 4-D activation [N, C, H, W] of model '%s'",
                        m->name);
    return st;
}

/* Every selected map on the original pixels: k x height x width floats. */
static xai_status map_back(const struct api_input *in, const struct xai_features *f, json_t **out,
                           struct xai_err *err)
{
    const struct xai_geometry *g = &in->geo;
    int64_t big = (int64_t)g->src_width * g->src_height, grid = (int64_t)g->width * g->height;
    if (big * f->k > (1 << 26))
        return xai_fail(err, XAI_TOO_LARGE,
                        "map_back of %d channels on this image is over the size limit; ask for "
                        "fewer (top_k)",
                        f->k);
    float *all = malloc(sizeof(float) * (size_t)(big * f->k));
    float *tmp = malloc(sizeof(float) * (size_t)grid);
    xai_status st = all && tmp ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory");
    int64_t hw = (int64_t)f->height * f->width;
    for (int i = 0; !st && i < f->k; i++) {
        st = xai_resize(f->maps + i * hw, f->width, f->height, 1, tmp, g->width, g->height, err);
        if (!st) st = xai_geometry_map_back(g, tmp, all + i * big, NULL, err);
    }
    int64_t shape[3] = {f->k, g->src_height, g->src_width};
    if (!st) *out = api_raw_json(all, shape, 3);
    free(all);
    free(tmp);
    return st;
}

static json_t *channels_json(const struct xai_features *f)
{
    json_t *a = json_array();
    for (int i = 0; a && i < f->k; i++)
        json_array_append_new(
            a, json_pack("{s:i, s:f}", "index", f->index[i], "mean", (double)f->mean[i]));
    return a;
}

static xai_status answer(const struct api_model *m, const struct api_input *in,
                         const struct api_view_opts *o, int layer, const struct xai_features *f,
                         json_t *png, json_t **out, struct xai_err *err)
{
    json_t *j = json_pack(
        "{s:o, s:s, s:[i,i,i], s:i, s:o, s:i, s:f, s:s, s:o}", "model", api_model_ref_json(m),
        "layer", m->engine->values[layer].name, "shape", f->channels, f->height, f->width, "top_k",
        f->k, "channels", channels_json(f), "dead_channels", f->dead, "dead_fraction",
        (double)f->dead / f->channels, "colormap",
        o->view->params[2].choices[(int)api_view_param(o, "colormap")], "grid_png", png);
    if (!j) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the answer");
    int64_t shape[3] = {f->k, f->height, f->width};
    if (api_view_param(o, "raw") != 0)
        json_object_set_new(j, "raw", api_raw_json(f->maps, shape, 3));
    json_t *mapped = NULL;
    xai_status st = api_view_param(o, "map_back") != 0 ? map_back(in, f, &mapped, err) : XAI_OK;
    if (mapped) json_object_set_new(j, "mapped", mapped);
    if (st) json_decref(j);
    *out = st ? NULL : j;
    return st;
}

xai_status api_features_run(const struct api_model *m, xai_session *s, const struct api_input *in,
                            const struct api_view_opts *o, json_t **out, struct xai_err *err)
{
    *out = NULL;
    int layer;
    struct xai_features f = {0};
    struct xai_grid g = {0};
    json_t *png = NULL;
    enum xai_colormap cm;
    xai_status st = pick_layer(m, o, &layer, err);
    if (!st)
        st = xai_colormap_parse(o->view->params[2].choices[(int)api_view_param(o, "colormap")], &cm,
                                err);
    xai_session_keep_clear(s);
    if (!st) st = xai_features_run(s, &in->tensor, layer, (int)api_view_param(o, "top_k"), &f, err);
    if (!st)
        st = xai_tile_grid(f.maps, f.k, 1, f.height, f.width, (int)ceil(sqrt((double)f.k)),
                           (int)api_view_param(o, "zoom"), cm == XAI_CMAP_GRAY ? -1 : (int)cm, &g,
                           err);
    if (!st) st = api_grid_png_json(&g, &png, err);
    if (!st)
        st = answer(m, in, o, layer, &f, png, out, err);
    else
        json_decref(png);
    xai_grid_reset(&g);
    xai_features_reset(&f);
    return st;
}
