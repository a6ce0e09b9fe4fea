/* report.c - making a report: the methods, the pictures, the summary; see report.h. The
 * document itself is written by report_html.c and report_json.c. */
#include "report.h"

#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "report_internal.h"
#include "resample.h"

const char api_report_disclaimer[] =
    "This report explains the output of a machine-learning model for one image; it is not a "
    "diagnosis. The likelihoods are the model\xE2\x80\x99s own estimates, and the highlighted "
    "regions show "
    "where each method found the model\xE2\x80\x99s evidence, not where a finding is. A qualified "
    "clinician must interpret the image itself.";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void api_report_meta_init(struct api_report_meta *meta, const char *request_id, const void *bytes,
                          size_t len)
{
    memset(meta, 0, sizeof *meta);
    if (request_id) snprintf(meta->request_id, sizeof meta->request_id, "%s", request_id);
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(meta->generated, sizeof meta->generated, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!bytes) return;
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, bytes);
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(meta->image_sha256 + 2 * i, 3, "%02x", d[i]);
}

void api_report_reset(struct api_report *r)
{
    for (int i = 0; i < API_REPORT_MAX_PARTS; i++) {
        api_explanation_reset(&r->parts[i].ex);
        xai_blob_reset(&r->parts[i].overlay_png);
    }
    xai_blob_reset(&r->image_png);
    memset(r, 0, sizeof *r);
}

/* ---- pictures at the report's size ---- */

/* src (w x h x ch) at the shown size, in a new buffer (a plain copy when no scaling). */
static xai_status shown_copy(const struct api_report *r, const float *src, int ch, float **out,
                             struct xai_err *err)
{
    size_t n = (size_t)r->shown_w * (size_t)r->shown_h * (size_t)ch;
    *out = malloc(sizeof(float) * n);
    if (!*out) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the report's pictures");
    if (r->shown_w == r->width && r->shown_h == r->height) {
        memcpy(*out, src, sizeof(float) * n);
        return XAI_OK;
    }
    xai_status st = xai_resize(src, r->width, r->height, ch, *out, r->shown_w, r->shown_h, err);
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* The decoded image as 8-bit gray or RGB PNG: only pixels, no metadata of the upload. */
static xai_status image_png(const struct xai_image *img, struct xai_blob *png, struct xai_err *err)
{
    size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    uint8_t *px = malloc(n);
    if (!px) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the report's image");
    for (size_t i = 0; i < n; i++) px[i] = xai_render_display_byte(img->data[i], img->max_value);
    xai_status st = xai_png_encode(px, img->width, img->height, img->channels, png, err);
    free(px);
    return st;
}

/* The overlay of one part on the shown image: colour weight = opacity x the value's alpha, so
 * that only what the method ranks high is coloured and the rest shows the bare image. */
static xai_status part_overlay(const struct api_report *r, const struct xai_image *shown,
                               struct api_report_part *p, struct xai_err *err)
{
    const struct api_explanation *e = &p->ex;
    float *t = NULL, *maskf = NULL;
    uint8_t *mask = malloc((size_t)r->width * (size_t)r->height);
    xai_status st = mask ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory for the report");
    if (!st) st = shown_copy(r, e->map, 1, &t, err);
    if (!st) {
        size_t n = (size_t)r->width * (size_t)r->height;
        maskf = malloc(sizeof(float) * n);
        if (!maskf) st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the report");
        for (size_t i = 0; maskf && i < n; i++) maskf[i] = e->mask[i] ? 1.f : 0.f;
    }
    float *shown_mask = NULL;
    if (!st) st = shown_copy(r, maskf, 1, &shown_mask, err);
    size_t sn = (size_t)r->shown_w * (size_t)r->shown_h;
    for (size_t i = 0; !st && i < sn; i++) mask[i] = shown_mask[i] >= 0.5f;
    if (!st) {
        xai_norm_apply(t, sn, e->display_lo, e->display_hi, e->result.signed_map, t);
        struct xai_render_opts ro = p->opts.render;
        ro.cmap = e->cmap;
        ro.signed_map = e->result.signed_map;
        ro.value_alpha = true;
        st = xai_render_overlay_png(shown, t, mask, &ro, &p->overlay_png, err);
    }
    free(shown_mask);
    free(maskf);
    free(t);
    free(mask);
    return st;
}

/* ---- running the methods ---- */

static void part_opts(const struct api_explain_opts *o, int index, struct api_explain_opts *po)
{
    *po = *o;
    po->outputs = API_OUT_COLORBAR;
    if (index == 0) return;
    po->method = xai_method_find(API_REPORT_COMPANION);
    xai_method_defaults(po->method, &po->params);
}

static xai_status run_parts(const struct api_model *m, xai_session *s, const struct api_input *in,
                            const struct api_explain_opts *o, struct api_report *r,
                            struct xai_err *err)
{
    r->n_parts = strcmp(o->method->name, API_REPORT_COMPANION) ? 2 : 1;
    for (int i = 0; i < r->n_parts; i++) {
        struct api_report_part *p = &r->parts[i];
        part_opts(o, i, &p->opts);
        if (!p->opts.method)
            return xai_fail(err, XAI_INTERNAL, "method '%s' is not built in", API_REPORT_COMPANION);
        /* the companion explains the class the first method explained */
        if (i > 0) p->opts.target = r->parts[0].ex.target;
        xai_status st = api_explain(m, s, in, &p->opts, &p->ex, err);
        if (st) return st;
        p->evidence = p->ex.hi > 0.f && p->ex.display_hi > p->ex.display_lo;
    }
    return XAI_OK;
}

static xai_status render_pictures(const struct api_input *in, struct api_report *r,
                                  struct xai_err *err)
{
    struct xai_image shown = in->image;
    shown.width = r->shown_w;
    shown.height = r->shown_h;
    shown.data = NULL;
    xai_status st = shown_copy(r, in->image.data, in->image.channels, &shown.data, err);
    if (!st) st = image_png(&shown, &r->image_png, err);
    for (int i = 0; !st && i < r->n_parts; i++) st = part_overlay(r, &shown, &r->parts[i], err);
    free(shown.data);
    return st;
}

xai_status api_report_make(const struct api_model *m, xai_session *s, const struct api_input *in,
                           const struct api_explain_opts *o, const struct api_report_meta *meta,
                           struct api_report *out, struct xai_err *err)
{
    double t0 = now_ms();
    memset(out, 0, sizeof *out);
    out->m = m;
    out->meta = *meta;
    out->width = in->image.width;
    out->height = in->image.height;
    int side = out->width > out->height ? out->width : out->height;
    double scale = side > API_REPORT_MAX_SIDE ? (double)API_REPORT_MAX_SIDE / side : 1.0;
    out->shown_w = (int)fmax(1.0, round(out->width * scale));
    out->shown_h = (int)fmax(1.0, round(out->height * scale));
    xai_status st = run_parts(m, s, in, o, out, err);
    if (!st) st = render_pictures(in, out, err);
    if (st) {
        api_report_reset(out);
        return st;
    }
    out->ms = now_ms() - t0;
    return XAI_OK;
}

xai_status api_report_parse(const struct api_model *m, const struct api_args *a,
                            struct api_explain_opts *o, struct xai_err *err)
{
    struct api_args with = *a;
    bool named = false;
    for (int i = 0; i < a->n; i++) named |= !strcmp(a->a[i].name, "method");
    if (!named) {
        xai_status st = api_args_add_text(&with, "method", API_REPORT_METHOD, err);
        if (st) return st;
    }
    return api_request_parse(m, &with, o, err);
}

xai_status api_run_report(const struct api_model *m, xai_session *s, const void *bytes, size_t len,
                          const struct api_explain_opts *o, const char *request_id,
                          struct api_report *out, struct api_timing *t, struct xai_err *err)
{
    struct api_input in;
    struct api_report_meta meta;
    double t0 = api_now_ms();
    memset(out, 0, sizeof *out);
    xai_status st = api_prepare(m, bytes, len, NULL, &in, err);
    t->decode = api_now_ms() - t0;
    if (st) return st;
    api_report_meta_init(&meta, request_id, bytes, len);
    st = api_report_make(m, s, &in, o, &meta, out, err);
    api_input_reset(&in);
    for (int i = 0; !st && i < out->n_parts; i++) {
        t->forward += out->parts[i].ex.ms_forward;
        t->explain += out->parts[i].ex.ms_explain;
    }
    if (!st) t->encode = out->ms - t->forward - t->explain;
    return st;
}

/* ---- words ---- */

void api_report_percent(double p, char *buf, size_t n)
{
    const char *pc = "\xC2\xA0%"; /* no-break space, then % */
    if (!(p >= 0.0)) p = 0.0;
    if (p > 0.999)
        snprintf(buf, n, "> 99.9%s", pc);
    else if (p >= 0.99 || (p < 0.01 && p >= 0.001))
        snprintf(buf, n, "%.1f%s", floor(p * 1000.0 + 1e-9) / 10.0, pc);
    else if (p >= 0.01)
        snprintf(buf, n, "%.0f%s", p * 100.0, pc);
    else
        snprintf(buf, n, "< 0.1%s", pc);
}

static const struct {
    const char *name, *title;
} titles[] = {
    {"cam", "CAM"},
    {"deconvnet", "deconvnet"},
    {"gradcam", "grad-CAM"},
    {"gradcam_pp", "grad-CAM++"},
    {"gradient_x_input", "gradient \xC3\x97 input"},
    {"guided_backprop", "guided backpropagation"},
    {"guided_gradcam", "guided grad-CAM"},
    {"integrated_gradients", "integrated gradients"},
    {"lime", "LIME"},
    {"lrp", "layer-wise relevance propagation (LRP)"},
    {"occlusion", "occlusion"},
    {"saliency", "saliency (gradient)"},
    {"smoothgrad", "SmoothGrad"},
    {"smoothgrad_sq", "SmoothGrad squared"},
    {"vargrad", "VarGrad"},
};

const char *api_report_method_title(const struct xai_method_def *m)
{
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (!strcmp(titles[i].name, m->name)) return titles[i].title;
    return m->name;
}

float api_report_target_probability(const struct api_report *r)
{
    const struct api_score *t = api_scores_find(&r->parts[0].ex.scores, r->parts[0].ex.target);
    return t ? t->probability : 0.f;
}

static bool any_evidence(const struct api_report *r)
{
    for (int i = 0; i < r->n_parts; i++)
        if (r->parts[i].evidence) return true;
    return false;
}

char *api_report_summary(const struct api_report *r)
{
    const struct api_explanation *e = &r->parts[0].ex;
    const char *target = r->m->labels[e->target];
    const struct api_score *top = &e->scores.top;
    bool multilabel = r->m->task == API_TASK_MULTILABEL;
    char p[32], tp[32], out[2048];
    api_report_percent(api_report_target_probability(r), p, sizeof p);
    api_report_percent(top->probability, tp, sizeof tp);
    int n = multilabel ? snprintf(out, sizeof out,
                                  "The model estimates a %s likelihood that the image shows %s. It "
                                  "scores each finding on its own, so the likelihoods of "
                                  "different findings need not add up to 100\xC2\xA0%%.",
                                  p, target)
                       : snprintf(out, sizeof out, "The model estimates a %s likelihood of %s.", p,
                                  target);
    if (e->target != top->index && n > 0 && (size_t)n < sizeof out)
        n += snprintf(out + n, sizeof out - (size_t)n, " Its %s is %s (%s).",
                      multilabel ? "highest-scored finding" : "most likely class", top->label, tp);
    if (n > 0 && (size_t)n < sizeof out)
        snprintf(out + n, sizeof out - (size_t)n,
                 any_evidence(r) ? " The highlighted region is where the evidence for %s was "
                                   "strongest."
                                 : " The methods found no evidence for %s in this image, so "
                                   "nothing is highlighted.",
                 target);
    return strdup(out);
}

/* ---- the stylesheet's hash ---- */

void api_report_style_source(char *out, size_t n)
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    char b64[64];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(api_report_style), (const uint8_t *)api_report_style);
    sha256_digest(&ctx, sizeof d, d);
    xai_base64_encode(d, sizeof d, b64);
    snprintf(out, n, "'sha256-%s'", b64);
}
