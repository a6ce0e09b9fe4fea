/* inspect_maximize.c - the `maximize` view: class maximisation from the model's own input
 * space, the image rendered back to pixel intensities (the inverse of the model's intensity
 * scale and mean/std), with the score trace; see api/views.h. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "inspect_internal.h"

/* Input range after normalisation: intensities 0 and full scale (as api/explain.c). */
static void input_range(const struct xai_preprocess *p, float *lo, float *hi)
{
    *lo = FLT_MAX;
    *hi = -FLT_MAX;
    for (int c = 0; c < p->channels; c++) {
        float a = (0.f - p->mean[c]) / p->std[c], b = (p->scale - p->mean[c]) / p->std[c];
        if (a < *lo) *lo = a;
        if (b > *hi) *hi = b;
    }
}

static void read_opts(const struct api_view_opts *o, struct xai_maximize_opts *mo)
{
    xai_maximize_opts_default(mo);
    mo->steps = (int)api_view_param(o, "steps");
    mo->lr = api_view_param(o, "lr");
    mo->l2 = api_view_param(o, "l2");
    mo->blur_sigma = api_view_param(o, "blur_sigma");
    mo->blur_every = (int)api_view_param(o, "blur_every");
    mo->jitter = (int)api_view_param(o, "jitter");
    mo->init_std = api_view_param(o, "init_std");
    mo->seed = (uint64_t)api_view_param(o, "seed");
}

/* The model input (CHW) as 8-bit pixels: value * std + mean, over scale, to [0, 255]. */
static xai_status image_png(const struct xai_preprocess *p, const float *x, json_t **out,
                            struct xai_err *err)
{
    int c = p->channels, h = p->height, w = p->width;
    int64_t hw = (int64_t)h * w;
    uint8_t *px = malloc((size_t)(hw * c));
    if (!px) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (int64_t i = 0; i < hw; i++)
        for (int k = 0; k < c; k++) {
            float v = (x[k * hw + i] * p->std[k] + p->mean[k]) / p->scale;
            px[i * c + k] = (uint8_t)lrintf(255.f * (v < 0 ? 0 : v > 1 ? 1 : v));
        }
    struct xai_grid g = {px, w, h, c};
    xai_status st = api_grid_png_json(&g, out, err);
    free(px);
    return st;
}

static json_t *floats_json(const float *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

static bool monotonic(const float *v, int n)
{
    for (int i = 1; i < n; i++)
        if (v[i] < v[i - 1]) return false;
    return true;
}

static json_t *answer_json(const struct api_model *m, const struct api_view_opts *o, int target,
                           const struct xai_maximize_result *r, json_t *png)
{
    json_t *j = json_pack(
        "{s:o, s:{s:i, s:s}, s:o, s:o, s:{s:o, s:o}, s:f, s:f, s:b}", "model",
        api_model_ref_json(m), "target", "index", target, "label", m->labels[target], "params",
        api_param_values_json(o->view->params, o->view->n_params, &o->params), "image_png", png,
        "trace", "score", floats_json(r->score, r->steps + 1), "objective",
        floats_json(r->objective, r->steps + 1), "score_start", (double)r->score[0], "score_end",
        (double)r->score[r->steps], "monotonic", monotonic(r->score, r->steps + 1));
    if (j && api_view_param(o, "raw") != 0) {
        int64_t shape[3] = {m->pre.channels, m->pre.height, m->pre.width};
        json_object_set_new(j, "raw", api_raw_json(r->image, shape, 3));
    }
    return j;
}

xai_status api_maximize_run(const struct api_model *m, xai_session *s,
                            const struct api_view_opts *o, json_t **answer, struct xai_err *err)
{
    *answer = NULL;
    int target = o->target >= 0 ? o->target : 0;
    struct xai_maximize_opts mo;
    read_opts(o, &mo);
    struct xai_method_model mm = {m->engine, m->output, -1, -1, -1, false, 0.f, 0.f, -1, NULL, 0};
    input_range(&m->pre, &mm.input_lo, &mm.input_hi);
    struct xai_tensor shape = {{4, {1, m->pre.channels, m->pre.height, m->pre.width}}, NULL};
    struct xai_method_req req = {&mm, s, &shape, target, -1, NULL, mo.seed, 1, NULL, NULL, NULL};
    struct xai_maximize_result r;
    json_t *png = NULL;
    xai_session_keep_clear(s);
    xai_status st = xai_maximize_run(&req, &mo, &r, err);
    if (!st) st = image_png(&m->pre, r.image, &png, err);
    if (!st && !(*answer = answer_json(m, o, target, &r, png)))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the answer");
    xai_maximize_result_reset(&r);
    return st;
}
