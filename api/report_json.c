/* report_json.c - the report's content as JSON (Accept: application/json); see report.h.
 *
 * {"report": {"version", "generated", "request_id", "software"},
 *  "title", "summary", "disclaimer",
 *  "model": {"name", "version", "sha256", "description", "task"},
 *  "image": {"width", "height", "sha256", "shown_width", "shown_height", "png"},
 *  "scores": [...], "prediction": {...}, "target": {"index", "label", "probability"},
 *  "explanations": [{"title", "summary", "caveat", the explain answer's "explanation" fields
 *                    (method, params, layer, range, display_range, colormap, colorbar_png,
 *                    metrics with faithfulness when evaluated), "overlay_png" (shown size),
 *                    "evidence"}],
 *  "timing_ms": {"total"}}
 * PNGs are base64 strings, as in the explain answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json_mem.h"
#include "json_out.h"
#include "report_internal.h"

#ifndef XAI_VERSION
#define XAI_VERSION "unknown"
#endif

static json_t *png_json(const struct xai_blob *b)
{
    char *buf = malloc(xai_base64_encoded_len(b->len) + 1);
    if (!buf) {
        api_json_note_failure(); /* the answer is refused (api_json_checked) */
        return NULL;
    }
    xai_base64_encode(b->data, b->len, buf);
    json_t *s = json_string(buf);
    free(buf);
    return s;
}

static json_t *part_json(const struct api_report *r, const struct api_report_part *p)
{
    json_t *j = api_explanation_json(r->m, &p->opts, &p->ex);
    if (!j) return NULL;
    const struct xai_method_def *m = p->opts.method;
    json_object_set_new(j, "title", json_string(api_report_method_title(m)));
    json_object_set_new(j, "summary", json_string(m->summary));
    json_object_set_new(j, "caveat", json_string(m->caveat));
    json_object_set_new(j, "overlay_png", png_json(&p->overlay_png));
    json_object_set_new(j, "evidence", json_boolean(p->evidence));
    return j;
}

static json_t *parts_json(const struct api_report *r)
{
    json_t *a = json_array();
    for (int i = 0; a && i < r->n_parts; i++) {
        if (json_array_append_new(a, part_json(r, &r->parts[i]))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static char *title(const struct api_report *r)
{
    const struct api_model *m = r->m;
    const char *label = m->labels[r->parts[0].ex.target];
    size_t n = strlen(m->name) + strlen(m->version) + strlen(label) + 64;
    char *t = malloc(n);
    if (t) snprintf(t, n, "Explanation report: %s %s, %s", m->name, m->version, label);
    return t;
}

static json_t *header_json(const struct api_report *r)
{
    const struct api_model *m = r->m;
    json_t *j = api_prediction_json(m, &r->parts[0].ex.scores);
    if (!j) return NULL;
    json_t *model = json_object_get(j, "model");
    json_object_set_new(model, "description",
                        m->description ? json_string(m->description) : json_null());
    json_object_set_new(model, "task", json_string(api_task_name(m->task)));
    json_object_set_new(j, "report",
                        json_pack("{s:i, s:s, s:s, s:s}", "version", 1, "generated",
                                  r->meta.generated, "request_id", r->meta.request_id, "software",
                                  "xaid " XAI_VERSION));
    int t = r->parts[0].ex.target;
    json_object_set_new(j, "target",
                        json_pack("{s:i, s:s, s:f}", "index", t, "label", m->labels[t],
                                  "probability", (double)api_report_target_probability(r)));
    json_object_set_new(
        j, "image",
        json_pack("{s:i, s:i, s:s?, s:i, s:i, s:o}", "width", r->width, "height", r->height,
                  "sha256", r->meta.image_sha256[0] ? r->meta.image_sha256 : NULL, "shown_width",
                  r->shown_w, "shown_height", r->shown_h, "png", png_json(&r->image_png)));
    return j;
}

json_t *api_report_json(const struct api_report *r)
{
    unsigned long mark = api_json_mark(); /* members are set unchecked; failures counted */
    json_t *j = header_json(r);
    char *t = title(r), *summary = api_report_summary(r);
    if (!j || !t || !summary) {
        json_decref(j);
        free(t);
        free(summary);
        return NULL;
    }
    json_object_set_new(j, "title", json_string(t));
    json_object_set_new(j, "summary", json_string(summary));
    json_object_set_new(j, "explanations", parts_json(r));
    json_object_set_new(j, "disclaimer", json_string(api_report_disclaimer));
    json_object_set_new(j, "timing_ms", json_pack("{s:f}", "total", r->ms));
    free(t);
    free(summary);
    return api_json_checked(j, mark);
}
