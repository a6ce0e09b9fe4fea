/* explain.c - the explanation pipeline; see explain.h. */
#include "explain.h"

#include "explain_internal.h"
#include "json_mem.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void api_explain_opts_default(struct api_explain_opts *o)
{
    memset(o, 0, sizeof *o);
    o->target = -1;
    o->layer = -1;
    o->outputs = API_OUT_OVERLAY | API_OUT_RAW;
    o->norm.mode = XAI_NORM_PERCENTILE;
    o->norm.outlier_perc = 2.f;
    xai_render_opts_default(&o->render);
    o->max_batch = 16;
    o->evaluate_steps = 20;
    o->cmap_auto = true;
}

void api_explanation_reset(struct api_explanation *e)
{
    api_scores_reset(&e->scores);
    xai_method_result_reset(&e->result);
    free(e->map);
    free(e->mask);
    free(e->classes);
    xai_blob_reset(&e->overlay_png);
    xai_blob_reset(&e->heatmap_png);
    xai_blob_reset(&e->colorbar_png);
    memset(e, 0, sizeof *e);
}

/* The range of model input values: intensities 0 and full scale after normalisation. */
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

static xai_status pick_layer(const struct api_model *m, const struct api_explain_opts *o,
                             int *layer, struct xai_err *err)
{
    *layer = -1;
    if (!(o->method->needs & XAI_NEEDS_LAYER)) return XAI_OK;
    *layer = o->layer >= 0 ? o->layer : m->cam_value;
    if (*layer < 0)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "method '%s' needs a 4-D layer and model '%s' has none", o->method->name,
                        m->name);
    if (api_model_layer(m, *layer) < 0)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "that layer is not a 4-D activation of model '%s'", m->name);
    return XAI_OK;
}

/* The method's view of the model and the request (the method model lives in *mm). */
static void make_req(const struct api_model *m, xai_session *s, const struct api_input *in,
                     const struct api_explain_opts *o, const struct api_explanation *out,
                     struct xai_method_model *mm, struct xai_method_req *req)
{
    *mm = (struct xai_method_model){m->engine,
                                    m->output,
                                    m->cam_value,
                                    m->classifier.present ? m->classifier.weight : -1,
                                    m->classifier.present ? m->classifier.bias : -1,
                                    m->task == API_TASK_MULTILABEL,
                                    0.f,
                                    0.f,
                                    m->recon_value,
                                    m->attention_values,
                                    m->n_attention};
    input_range(&m->pre, &mm->input_lo, &mm->input_hi);
    *req = (struct xai_method_req){
        mm,         s,          &in->tensor, out->target,
        out->layer, &o->params, o->seed,     o->max_batch > 0 ? o->max_batch : 1,
        &in->image, &in->geo,   NULL};
}

static xai_status run_method(const struct api_model *m, xai_session *s, const struct api_input *in,
                             const struct api_explain_opts *o, struct api_explanation *out,
                             struct xai_err *err)
{
    struct xai_method_model mm;
    struct xai_method_req req;
    make_req(m, s, in, o, out, &mm, &req);
    xai_session_keep_clear(s); /* a worker's session starts every request lean */
    xai_status st = o->method->run(&req, &out->result, err);
    if (st || !o->evaluate) return st;
    st = xai_faithfulness(&req, out->result.map, o->evaluate_steps, &out->faith, err);
    out->evaluated = st == XAI_OK;
    return st;
}

static xai_status map_back(const struct api_input *in, struct api_explanation *out,
                           struct xai_err *err)
{
    size_t n = (size_t)in->image.width * (size_t)in->image.height;
    out->width = in->image.width;
    out->height = in->image.height;
    out->map = malloc(sizeof(float) * n);
    out->mask = malloc(n);
    if (!out->map || !out->mask) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the map");
    const struct xai_method_result *r = &out->result;
    size_t mn = (size_t)r->width * (size_t)r->height;
    out->lo = out->hi = mn ? r->map[0] : 0.f;
    for (size_t i = 1; i < mn; i++) {
        if (r->map[i] < out->lo) out->lo = r->map[i];
        if (r->map[i] > out->hi) out->hi = r->map[i];
    }
    xai_status st = xai_geometry_map_back(&in->geo, r->map, out->map, out->mask, err);
    if (!st && r->classes) st = api_classes_map_back(in, r, out->mask, &out->classes, err);
    return st;
}

static xai_status render(const struct api_model *m, const struct api_input *in,
                         const struct api_explain_opts *o, struct api_explanation *out,
                         struct xai_err *err)
{
    const struct xai_method_result *r = &out->result;
    out->cmap = !o->cmap_auto ? o->render.cmap : r->signed_map ? XAI_CMAP_BWR : XAI_CMAP_JET;
    struct xai_norm norm = o->norm;
    norm.signed_map = r->signed_map;
    xai_status st = xai_norm_range(r->map, (size_t)r->width * (size_t)r->height, &norm,
                                   &out->display_lo, &out->display_hi, err);
    if (!st && (o->outputs & API_OUT_COLORBAR))
        st = xai_render_colorbar_png(out->cmap, API_COLORBAR_W, API_COLORBAR_H, &out->colorbar_png,
                                     err);
    if (st || !(o->outputs & (API_OUT_OVERLAY | API_OUT_HEATMAP))) return st;
    size_t n = (size_t)out->width * (size_t)out->height;
    float *t = malloc(sizeof(float) * n);
    if (!t) return xai_fail(err, XAI_NO_MEMORY, "out of memory for rendering");
    xai_norm_apply(out->map, n, out->display_lo, out->display_hi, r->signed_map, t);
    struct xai_render_opts ro = o->render;
    ro.signed_map = r->signed_map;
    ro.cmap = out->cmap;
    if (out->classes) {
        st = api_classes_render(m, in, t, out->classes, ro.opacity, o->outputs, &out->overlay_png,
                                &out->heatmap_png, err);
        free(t);
        return st;
    }
    if (o->outputs & API_OUT_OVERLAY)
        st = xai_render_overlay_png(&in->image, t, out->mask, &ro, &out->overlay_png, err);
    if (!st && (o->outputs & API_OUT_HEATMAP))
        st = xai_render_heatmap_png(t, out->mask, out->width, out->height, &ro, &out->heatmap_png,
                                    err);
    free(t);
    return st;
}

xai_status api_explain(const struct api_model *m, xai_session *s, const struct api_input *in,
                       const struct api_explain_opts *o, struct api_explanation *out,
                       struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    double t0 = now_ms();
    xai_status st = api_predict(m, s, in, &out->scores, err);
    if (!st && o->target >= m->n_labels)
        st = xai_fail(err, XAI_INVALID_ARGUMENT, "target must be a class index below %d",
                      m->n_labels);
    out->target = o->target >= 0 ? o->target : out->scores.top.index;
    if (!st) st = pick_layer(m, o, &out->layer, err);
    double t1 = now_ms();
    if (!st) st = run_method(m, s, in, o, out, err);
    double t2 = now_ms();
    if (!st) st = map_back(in, out, err);
    if (!st) st = render(m, in, o, out, err);
    double forward = t1 - t0, explain = t2 - t1, encode = now_ms() - t2;
    if (st) api_explanation_reset(out); /* the timings stay, for logs of failed requests */
    out->ms_forward = forward;
    out->ms_explain = explain;
    out->ms_encode = encode;
    return st;
}

static json_t *base64_json(const void *data, size_t len)
{
    size_t n = xai_base64_encoded_len(len);
    char *buf = n ? malloc(n + 1) : NULL;
    if (!buf) {
        if (n) api_json_note_failure(); /* the answer is refused (api_json_checked) */
        return json_null();
    }
    xai_base64_encode(data, len, buf);
    json_t *s = json_stringn(buf, strlen(buf));
    free(buf);
    return s;
}

static json_t *raw_json(const struct api_explanation *e)
{
    return json_pack("{s:s, s:s, s:[i,i], s:o}", "dtype", "float32", "byte_order", "little",
                     "shape", e->height, e->width, "data",
                     base64_json(e->map, sizeof(float) * (size_t)e->width * (size_t)e->height));
}

static json_t *floats_json(const float *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

static json_t *faith_json(const struct xai_faith *f)
{
    return json_pack("{s:o, s:o, s:o, s:f, s:f}", "fractions",
                     floats_json(f->fraction, f->steps + 1), "deletion",
                     floats_json(f->deletion, f->steps + 1), "insertion",
                     floats_json(f->insertion, f->steps + 1), "deletion_auc", f->deletion_auc,
                     "insertion_auc", f->insertion_auc);
}

static json_t *metrics_json(const struct api_explanation *e)
{
    const struct xai_method_result *r = &e->result;
    json_t *o = json_object();
    for (int i = 0; o && i < r->n_metrics; i++)
        json_object_set_new(o, r->metrics[i].name, json_real(r->metrics[i].value));
    if (o && e->evaluated) json_object_set_new(o, "faithfulness", faith_json(&e->faith));
    return o;
}

json_t *api_explanation_json(const struct api_model *m, const struct api_explain_opts *o,
                             const struct api_explanation *e)
{
    unsigned long mark = api_json_mark(); /* members are set unchecked; failures counted */
    json_t *j = json_pack("{s:s, s:o, s:i, s:i, s:[f,f], s:[f,f], s:b, s:s, s:o}", "method",
                          o->method->name, "params", api_params_json(o->method, &o->params),
                          "width", e->width, "height", e->height, "range", (double)e->lo,
                          (double)e->hi, "display_range", (double)e->display_lo,
                          (double)e->display_hi, "signed", e->result.signed_map, "colormap",
                          xai_colormap_name(e->cmap), "metrics", metrics_json(e));
    if (!j) return NULL;
    if (e->layer >= 0)
        json_object_set_new(j, "layer", json_string(m->engine->values[e->layer].name));
    if (o->outputs & API_OUT_RAW) json_object_set_new(j, "raw", raw_json(e));
    if (e->classes) json_object_update_new(j, api_classes_json(m, e->classes, e->width, e->height));
    if (e->overlay_png.len)
        json_object_set_new(j, "overlay_png", base64_json(e->overlay_png.data, e->overlay_png.len));
    if (e->heatmap_png.len)
        json_object_set_new(j, "heatmap_png", base64_json(e->heatmap_png.data, e->heatmap_png.len));
    if (e->colorbar_png.len)
        json_object_set_new(j, "colorbar_png",
                            base64_json(e->colorbar_png.data, e->colorbar_png.len));
    return api_json_checked(j, mark);
}
