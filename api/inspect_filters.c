/* inspect_filters.c - the `filters` view: a convolution's kernels as a tiled PNG and, on
 * request, the raw weights; see api/views.h. */
#include "inspect_internal.h"

static json_t *answer_json(const struct api_model *m, const struct xai_filters *f,
                           const struct api_view_opts *o, const struct xai_grid *g, json_t *png)
{
    const struct xai_node *nd = &m->engine->nodes[f->node];
    int zoom = (int)api_view_param(o, "zoom");
    json_t *j =
        json_pack("{s:o, s:s, s:s, s:s, s:[i,i,i,i], s:b, s:{s:i, s:i, s:i, s:s}, s:o}", "model",
                  api_model_ref_json(m), "layer", m->engine->values[nd->out[0]].name, "node",
                  nd->name ? nd->name : "", "weight", m->engine->values[nd->in[1]].name, "shape",
                  f->out_ch, f->in_ch, f->kh, f->kw, "rgb", f->in_ch == 3, "grid", "width",
                  g->width, "height", g->height, "zoom", zoom, "tiles",
                  f->in_ch == 3   ? "one RGB tile per output channel"
                  : f->in_ch == 1 ? "one tile per output channel"
                                  : "a row per output channel, a tile per input channel",
                  "grid_png", png);
    if (j && api_view_param(o, "raw") != 0) {
        int64_t shape[4] = {f->out_ch, f->in_ch, f->kh, f->kw};
        json_object_set_new(j, "weights", api_raw_json(f->weights, shape, 4));
    }
    return j;
}

xai_status api_filters_run(const struct api_model *m, const struct api_view_opts *o,
                           json_t **answer, struct xai_err *err)
{
    *answer = NULL;
    struct xai_filters f;
    struct xai_grid g = {0};
    json_t *png = NULL;
    xai_status st = xai_filters_find(m->engine, o->layer, &f, err);
    if (!st) st = xai_filters_grid(&f, (int)api_view_param(o, "zoom"), &g, err);
    if (!st) st = api_grid_png_json(&g, &png, err);
    if (!st && !(*answer = answer_json(m, &f, o, &g, png)))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the answer");
    xai_grid_reset(&g);
    return st;
}
