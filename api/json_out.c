/*
 * json_out.c - JSON shapes of models and predictions (contract in json_out.h), built with
 * jansson's json_pack. Strings come from validated model.json fields (UTF-8, checked by jansson
 * when the file was read), so packing fails only when memory runs out.
 */
#include "json_out.h"

#include "method.h"

json_t *api_model_ref_json(const struct api_model *m)
{
    return json_pack("{s:s, s:s, s:s}", "name", m->name, "version", m->version, "sha256",
                     m->sha256);
}

json_t *api_score_json(const struct api_score *s)
{
    return json_pack("{s:i, s:s, s:f, s:f}", "index", s->index, "label", s->label, "probability",
                     (double)s->probability, "logit", (double)s->logit);
}

json_t *api_prediction_json(const struct api_model *m, const struct api_scores *s)
{
    json_t *scores = json_array();
    for (int i = 0; scores && i < s->n; i++) {
        if (json_array_append_new(scores, api_score_json(&s->scores[i]))) {
            json_decref(scores);
            return NULL;
        }
    }
    return json_pack("{s:o, s:o, s:o}", "model", api_model_ref_json(m), "scores", scores,
                     "prediction", api_score_json(&s->top));
}

static json_t *strings(char *const *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i]))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* {"name", "shape": [C, H, W]} of one CAM-capable layer. */
static json_t *layer_json(const struct api_layer *l)
{
    return json_pack("{s:s, s:[I,I,I]}", "name", l->name, "shape", (json_int_t)l->shape.d[1],
                     (json_int_t)l->shape.d[2], (json_int_t)l->shape.d[3]);
}

static json_t *layers_json(const struct api_model *m)
{
    json_t *a = json_array();
    for (int i = 0; a && i < m->n_layers; i++) {
        if (json_array_append_new(a, layer_json(&m->layers[i]))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static const char *resize_name(enum xai_resize_mode r)
{
    return r == XAI_RESIZE_LETTERBOX     ? "letterbox"
           : r == XAI_RESIZE_CENTER_CROP ? "center_crop"
                                         : "stretch";
}

int api_method_fits(const struct api_model *m, const struct xai_method_def *d)
{
    if ((d->needs & XAI_NEEDS_GAP_HEAD) && !m->classifier.present) return 0;
    if ((d->needs & XAI_NEEDS_RECONSTRUCTION) && m->recon_value < 0) return 0;
    if ((d->needs & XAI_NEEDS_ATTENTION) && !m->n_attention) return 0;
    if ((d->needs & XAI_NEEDS_LAYER) && m->n_layers == 0) return 0;
    if (!d->fits) return 1;
    xai_status st = d->fits(m->engine, m->output, NULL);
    return st == XAI_OK ? 1 : st == XAI_NO_MEMORY ? -1 : 0;
}

static json_t *methods_json(const struct api_model *m)
{
    int n;
    const struct xai_method_def *const *all = xai_method_all(&n);
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        int fits = api_method_fits(m, all[i]);
        if (fits < 0) {
            json_decref(a);
            return NULL;
        }
        if (!fits) continue;
        if (json_array_append_new(a, json_string(all[i]->name))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *api_model_info_json(const struct api_model *m)
{
    const struct xai_preprocess *p = &m->pre;
    json_t *j = api_model_ref_json(m);
    if (!j) return NULL;
    /* each member's value is made only when the ones before it are in (set_new takes it) */
    if (json_object_set_new(j, "description", json_string(m->description)) ||
        json_object_set_new(j, "task", json_string(api_task_name(m->task))) ||
        json_object_set_new(j, "labels", strings(m->labels, m->n_labels)) ||
        json_object_set_new(j, "input",
                            json_pack("{s:s, s:i, s:i, s:i, s:s}", "name", m->input_name,
                                      "channels", p->channels, "height", p->height, "width",
                                      p->width, "resize", resize_name(p->resize))) ||
        json_object_set_new(j, "cam_layer",
                            m->cam_layer ? json_string(m->cam_layer) : json_null()) ||
        json_object_set_new(j, "layers", layers_json(m)) ||
        json_object_set_new(j, "reconstruction",
                            m->recon_name ? json_string(m->recon_name) : json_null()) ||
        json_object_set_new(j, "attention", strings(m->attention_names, m->n_attention)) ||
        json_object_set_new(j, "methods", methods_json(m))) {
        json_decref(j);
        return NULL;
    }
    return j;
}
