/* report_html.c - the report as one self-contained HTML document; see report.h.
 *
 * Layout: summary sentence, the pictures (image, then one overlay per method with its colour
 * bar and scale), the findings table, what each method shows and its caveat (and the
 * faithfulness curves when computed), the model and the request, and the disclaimer. No
 * script, no URL: the stylesheet is inline (its hash goes into the route's CSP) and images are
 * data: URIs. Every string from model.json goes through api_html_text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "report_internal.h"

#ifndef XAI_VERSION
#define XAI_VERSION "unknown"
#endif

const char api_report_style[] =
    "\n:root{color-scheme:light}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#111;background:#fff;max-width:60rem;margin:0 auto;padding:1.5rem}"
    "h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;"
    "border-bottom:1px solid #bbb;padding-bottom:.15rem}h3{font-size:1rem;margin:1rem 0 .3rem}"
    ".sub{margin:0;color:#444}.summary{font-size:1.15rem;border-left:4px solid #2a5d9f;"
    "padding:.4rem .8rem;background:#f1f5fb}"
    ".figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}"
    "figure{margin:0;break-inside:avoid}figure img.pic{width:100%;height:auto;display:block;"
    "background:#000}figcaption{font-size:.85rem;color:#333;margin-top:.3rem}"
    ".bar img{width:100%;height:.8rem;display:block;margin-top:.4rem}"
    ".scale{display:flex;justify-content:space-between;font-size:.8rem;"
    "font-variant-numeric:tabular-nums}"
    "table{border-collapse:collapse;margin:.3rem 0}th,td{text-align:left;padding:.25rem .7rem;"
    "border-bottom:1px solid #ddd;vertical-align:middle}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}meter{width:8rem}"
    "caption{text-align:left;font-size:.85rem;color:#333;caption-side:bottom;padding-top:.3rem}"
    "tr.target td{font-weight:600}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.3rem 0}"
    "dt{font-weight:600}dd{margin:0}.desc{white-space:pre-line}"
    "code,.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.85em;"
    "overflow-wrap:anywhere}"
    ".method,.about{break-inside:avoid}.curves{width:18rem;height:auto}"
    "footer{margin-top:2rem;border-top:2px solid #111;padding-top:.5rem;font-size:.9rem}"
    "@page{size:A4;margin:14mm}"
    "@media print{body{max-width:none;padding:0;font-size:10.5pt}"
    ".figs{grid-template-columns:repeat(3,1fr)}h2{break-after:avoid}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* A map value for a scale: 3 significant digits, no "-0". */
static void value_text(double v, char *buf, size_t n)
{
    if (fabs(v) < 1e-30) v = 0.0;
    snprintf(buf, n, "%.3g", v);
}

static void head(struct api_html *b, const struct api_report *r)
{
    const struct api_model *m = r->m;
    api_html_raw(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"xaid " XAI_VERSION "\">\n<title>");
    api_html_raw(b, "Explanation report: ");
    api_html_text(b, m->name);
    api_html_raw(b, " ");
    api_html_text(b, m->version);
    api_html_raw(b, ", ");
    api_html_text(b, m->labels[r->parts[0].ex.target]);
    api_html_raw(b, "</title>\n<style>");
    api_html_raw(b, api_report_style);
    api_html_raw(b, "</style>\n</head>\n");
}

static void intro(struct api_html *b, const struct api_report *r)
{
    api_html_raw(b, "<body>\n<header>\n<h1>Explanation report</h1>\n<p class=\"sub\">What the "
                    "model <strong>");
    api_html_text(b, r->m->name);
    api_html_raw(b, "</strong> found in one image, for the class <strong>");
    api_html_text(b, r->m->labels[r->parts[0].ex.target]);
    api_html_raw(b, "</strong>. Generated ");
    api_html_text(b, r->meta.generated);
    api_html_raw(b, " (UTC).</p>\n</header>\n<main>\n<section aria-labelledby=\"h-summary\">\n"
                    "<h2 id=\"h-summary\">Summary</h2>\n<p class=\"summary\">");
    char *s = api_report_summary(r);
    if (s)
        api_html_text(b, s);
    else
        b->failed = true;
    free(s);
    api_html_raw(b, "</p>\n</section>\n");
}

static void picture(struct api_html *b, const struct api_report *r, const struct xai_blob *png)
{
    api_html_raw(b, "<img class=\"pic\" src=\"");
    api_html_data_uri(b, "image/png", png->data, png->len);
    api_html_printf(b, "\" width=\"%d\" height=\"%d\" alt=\"", r->shown_w, r->shown_h);
}

static void scale(struct api_html *b, const struct api_report_part *p, const char *title)
{
    const struct api_explanation *e = &p->ex;
    char lo[32], hi[32];
    value_text(e->display_lo, lo, sizeof lo);
    value_text(e->display_hi, hi, sizeof hi);
    api_html_raw(b, "<div class=\"bar\"><img src=\"");
    api_html_data_uri(b, "image/png", e->colorbar_png.data, e->colorbar_png.len);
    api_html_printf(b,
                    "\" width=\"%d\" height=\"%d\" alt=\"Colour scale of the %s map, from %s "
                    "on the left to %s on the right\">",
                    API_COLORBAR_W, API_COLORBAR_H, title, lo, hi);
    api_html_printf(b, "<div class=\"scale\" aria-hidden=\"true\"><span>%s</span>", lo);
    if (e->result.signed_map) api_html_raw(b, "<span>0</span>");
    api_html_printf(b, "<span>%s</span></div></div>\n", hi);
}

static void overlay_caption(struct api_html *b, const struct api_report *r,
                            const struct api_report_part *p, const char *title)
{
    const char *target = r->m->labels[p->ex.target];
    api_html_raw(b, "<figcaption><strong>");
    api_html_text(b, title);
    api_html_raw(b, "</strong>. ");
    if (!p->evidence) {
        api_html_raw(b, "This method found no evidence for ");
        api_html_text(b, target);
        api_html_raw(b, " in this image: nothing is highlighted. ");
    } else if (p->ex.result.signed_map) {
        api_html_raw(b, "Red marks positive values (towards ");
        api_html_text(b, target);
        api_html_raw(b, "), blue negative ones (away from it); the stronger the colour, the "
                        "larger the value, and values near zero are left uncoloured. ");
    } else {
        api_html_raw(b, "The warmer and stronger the colour, the higher the method ranks the "
                        "region for ");
        api_html_text(b, target);
        api_html_raw(b, " (what the ranking means is below); low values are left "
                        "uncoloured. ");
    }
    api_html_raw(b, "Values are in the method's own units; values beyond the scale's ends are "
                    "drawn in the end colours.</figcaption>\n");
}

static void figures(struct api_html *b, const struct api_report *r)
{
    api_html_raw(b, "<section aria-labelledby=\"h-pictures\">\n<h2 id=\"h-pictures\">Image and "
                    "evidence</h2>\n<div class=\"figs\">\n<figure>");
    picture(b, r, &r->image_png);
    api_html_raw(b, "The image as decoded\">\n<figcaption><strong>The image</strong> as "
                    "decoded");
    api_html_printf(b, " (%d \xC3\x97 %d pixels%s); the model sees it resized to %d \xC3\x97 %d.",
                    r->width, r->height, r->shown_w != r->width ? ", shown scaled down" : "",
                    r->m->pre.width, r->m->pre.height);
    api_html_raw(b, "</figcaption>\n</figure>\n");
    for (int i = 0; i < r->n_parts; i++) {
        const struct api_report_part *p = &r->parts[i];
        const char *title = api_report_method_title(p->opts.method);
        api_html_raw(b, "<figure>");
        picture(b, r, &p->overlay_png);
        api_html_printf(b, "%s map over the image, for ", title);
        api_html_text(b, r->m->labels[p->ex.target]);
        api_html_raw(b, "\">\n");
        scale(b, p, title);
        overlay_caption(b, r, p, title);
        api_html_raw(b, "</figure>\n");
    }
    api_html_raw(b, "</div>\n</section>\n");
}

static void finding_row(struct api_html *b, const struct api_report *r, const struct api_score *s)
{
    const struct api_explanation *e = &r->parts[0].ex;
    bool top = s->index == e->scores.top.index, target = s->index == e->target;
    char p[32];
    api_report_percent(s->probability, p, sizeof p);
    api_html_raw(b, target ? "<tr class=\"target\"><td>" : "<tr><td>");
    api_html_text(b, s->label);
    api_html_printf(b,
                    "</td><td class=\"num\">%s</td><td><meter min=\"0\" max=\"1\" "
                    "value=\"%.4f\" aria-hidden=\"true\">%s</meter> ",
                    p, (double)s->probability, p);
    if (top) api_html_raw(b, r->m->task == API_TASK_MULTILABEL ? "highest score" : "prediction");
    if (top && target) api_html_raw(b, ", ");
    if (target) api_html_raw(b, "target of the explanation");
    api_html_raw(b, "</td></tr>\n");
}

static void findings(struct api_html *b, const struct api_report *r)
{
    const struct api_scores *sc = &r->parts[0].ex.scores;
    api_html_raw(b, "<section aria-labelledby=\"h-findings\">\n<h2 id=\"h-findings\">"
                    "Findings</h2>\n<table>\n<caption>");
    api_html_raw(b, r->m->task == API_TASK_MULTILABEL
                        ? "Each finding is scored on its own (sigmoid), so the likelihoods need "
                          "not add up to 100\xC2\xA0%."
                        : "The classes exclude each other (softmax): the likelihoods add up to "
                          "100\xC2\xA0%.");
    api_html_raw(b, " A likelihood is the model's estimate for this image; how well it matches "
                    "how often the finding is really present depends on the model's "
                    "calibration, which this report does not measure.</caption>\n<thead><tr>"
                    "<th scope=\"col\">Class</th><th scope=\"col\">Likelihood</th>"
                    "<th scope=\"col\">Note</th></tr></thead>\n<tbody>\n");
    for (int i = 0; i < sc->n; i++) finding_row(b, r, &sc->scores[i]);
    api_html_raw(b, "</tbody>\n</table>\n</section>\n");
}

static void layer_text(struct api_html *b, const struct api_report *r,
                       const struct api_explanation *e)
{
    int li = e->layer >= 0 ? api_model_layer(r->m, e->layer) : -1;
    if (li < 0) {
        api_html_raw(b, "none: the method works on the input pixels");
        return;
    }
    const struct api_layer *l = &r->m->layers[li];
    api_html_raw(b, "<code>");
    api_html_text(b, l->name);
    api_html_printf(b, "</code> (%lld feature maps of %lld \xC3\x97 %lld cells%s)",
                    (long long)l->shape.d[1], (long long)l->shape.d[2], (long long)l->shape.d[3],
                    e->layer == r->m->cam_value ? "; the model's default layer" : "");
}

static void params_text(struct api_html *b, const struct api_report_part *p)
{
    const struct xai_method_def *m = p->opts.method;
    if (!m->n_params) api_html_raw(b, "none");
    for (int i = 0; i < m->n_params; i++) {
        const struct xai_param_def *d = &m->params[i];
        double v = p->opts.params.v[i];
        api_html_printf(b, "%s<code>%s=", i ? ", " : "", d->name);
        if (d->type == XAI_PARAM_ENUM)
            api_html_raw(b, d->choices[(int)v]);
        else if (d->type == XAI_PARAM_BOOL)
            api_html_raw(b, v != 0 ? "true" : "false");
        else
            api_html_printf(b, "%g", v);
        api_html_raw(b, "</code>");
    }
}

/* Deletion and insertion curves as a small inline SVG: x = fraction of pixels, y = target
 * probability. */
static void curves_svg(struct api_html *b, const struct xai_faith *f)
{
    api_html_raw(b, "<svg class=\"curves\" viewBox=\"-30 -8 240 140\" role=\"img\" "
                    "aria-label=\"Deletion and insertion curves\">"
                    "<path d=\"M0 0V100H200\" fill=\"none\" stroke=\"#555\"/>"
                    "<text x=\"-4\" y=\"4\" font-size=\"9\" text-anchor=\"end\">1</text>"
                    "<text x=\"-4\" y=\"103\" font-size=\"9\" text-anchor=\"end\">0</text>"
                    "<text x=\"0\" y=\"114\" font-size=\"9\">none</text>"
                    "<text x=\"200\" y=\"114\" font-size=\"9\" text-anchor=\"end\">all "
                    "pixels</text><text x=\"100\" y=\"128\" font-size=\"9\" "
                    "text-anchor=\"middle\">pixels changed, highest-ranked first</text>"
                    "<text x=\"-8\" y=\"50\" font-size=\"9\" text-anchor=\"middle\" "
                    "transform=\"rotate(-90 -8 50)\">likelihood</text>");
    const float *ys[2] = {f->deletion, f->insertion};
    const char *styles[2] = {"stroke=\"#c0392b\"", "stroke=\"#2a5d9f\" stroke-dasharray=\"5 3\""};
    for (int c = 0; c < 2; c++) {
        api_html_printf(b, "<polyline fill=\"none\" stroke-width=\"2\" %s points=\"", styles[c]);
        for (int i = 0; i <= f->steps; i++)
            api_html_printf(b, "%s%.1f,%.1f", i ? " " : "", 200.0 * f->fraction[i],
                            100.0 - 100.0 * fmin(1.0, fmax(0.0, ys[c][i])));
        api_html_raw(b, "\"/>");
    }
    api_html_raw(b, "</svg>");
}

static void faithfulness(struct api_html *b, const struct api_report_part *p)
{
    const struct xai_faith *f = &p->ex.faith;
    api_html_printf(b,
                    "<dt>Faithfulness</dt><dd>Deletion area %.3f (red, solid: the likelihood as "
                    "the highest-ranked pixels are blurred away; lower means the map found what "
                    "the model relies on). Insertion area %.3f (blue, dashed: the likelihood as "
                    "they are restored into a blurred image; higher is better). Blurred images "
                    "are not natural images: read these as evidence about the map, not as a "
                    "score of it.<br>",
                    f->deletion_auc, f->insertion_auc);
    curves_svg(b, f);
    api_html_raw(b, "</dd>\n");
}

static void methods(struct api_html *b, const struct api_report *r)
{
    api_html_raw(b, "<section aria-labelledby=\"h-methods\">\n<h2 id=\"h-methods\">How the "
                    "pictures were made</h2>\n");
    for (int i = 0; i < r->n_parts; i++) {
        const struct api_report_part *p = &r->parts[i];
        const struct xai_method_def *m = p->opts.method;
        api_html_raw(b, "<div class=\"method\">\n<h3>");
        api_html_text(b, api_report_method_title(m));
        api_html_printf(b, " <code>(%s)</code></h3>\n<dl>\n<dt>What it shows</dt><dd>", m->name);
        api_html_text(b, m->summary);
        api_html_raw(b, "</dd>\n<dt>Caveat</dt><dd>");
        api_html_text(b, m->caveat);
        api_html_raw(b, "</dd>\n<dt>Layer</dt><dd>");
        layer_text(b, r, &p->ex);
        api_html_raw(b, "</dd>\n<dt>Parameters</dt><dd>");
        params_text(b, p);
        api_html_raw(b, "</dd>\n");
        if (p->ex.evaluated) faithfulness(b, p);
        api_html_raw(b, "</dl>\n</div>\n");
    }
    api_html_raw(b, "</section>\n");
}

static void about(struct api_html *b, const struct api_report *r)
{
    const struct api_model *m = r->m;
    api_html_raw(b, "<section aria-labelledby=\"h-about\">\n<h2 id=\"h-about\">Model and "
                    "request</h2>\n<dl class=\"about\">\n<dt>Model</dt><dd>");
    api_html_text(b, m->name);
    api_html_raw(b, ", version ");
    api_html_text(b, m->version);
    api_html_printf(b, " (%s, %d classes)</dd>\n<dt>Model sha256</dt><dd class=\"mono\">",
                    m->task == API_TASK_MULTILABEL ? "multi-label" : "multiclass", m->n_labels);
    api_html_text(b, m->sha256);
    api_html_raw(b, "</dd>\n<dt>Description</dt><dd class=\"desc\">");
    api_html_text(b, m->description ? m->description : "none given");
    api_html_raw(b, "</dd>\n<dt>Generated</dt><dd>");
    api_html_text(b, r->meta.generated);
    api_html_raw(b, " (UTC)</dd>\n<dt>Request id</dt><dd class=\"mono\">");
    api_html_text(b, r->meta.request_id[0] ? r->meta.request_id : "none");
    api_html_raw(b, "</dd>\n<dt>Image sha256</dt><dd class=\"mono\">");
    api_html_text(b, r->meta.image_sha256[0] ? r->meta.image_sha256 : "not recorded");
    api_html_printf(b,
                    "</dd>\n<dt>Random seed</dt><dd>%llu</dd>\n<dt>Software</dt><dd>xaid "
                    "%s</dd>\n</dl>\n</section>\n</main>\n",
                    (unsigned long long)r->parts[0].opts.seed, XAI_VERSION);
}

static void footer(struct api_html *b)
{
    api_html_raw(b, "<footer>\n<p><strong>Not a diagnosis.</strong> ");
    api_html_text(b, api_report_disclaimer);
    api_html_raw(b, "</p>\n</footer>\n</body>\n</html>\n");
}

char *api_report_html(const struct api_report *r, size_t *len)
{
    struct api_html b = {0};
    head(&b, r);
    intro(&b, r);
    figures(&b, r);
    findings(&b, r);
    methods(&b, r);
    about(&b, r);
    footer(&b);
    return api_html_take(&b, len);
}
