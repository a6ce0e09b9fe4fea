/*
 * report.h - a report for clinicians on one explanation, after the Mimir tool the review this
 * project grew out of describes: an image, a layer and a target class in; out a reproducible
 * document a non-technical reader can follow: how likely the model finds the image to show
 * the target, and where its evidence was, by the requested method (default guided grad-CAM)
 * with plain grad-CAM beside it.
 *
 *   api_input --api_report_make--> struct api_report --api_report_html--> one HTML file
 *                                                    --api_report_json--> the same as JSON
 *
 * The HTML document is self-contained: the stylesheet is inline, images are data: URIs, and
 * it has no script and no URL, so it can be archived and opened offline, and prints on A4.
 * Every string from model.json is escaped; the image is re-encoded from its decoded pixels,
 * so metadata of the upload (EXIF, text chunks) never reaches the report, and no client file
 * name is ever known here. The CLI (`xaid report`) and the HTTP route call the same functions.
 */
#ifndef API_REPORT_H
#define API_REPORT_H

#include <jansson.h>

#include "explain.h"
#include "request.h"

#define API_REPORT_METHOD "guided_gradcam" /* when the request names no method */
#define API_REPORT_COMPANION "gradcam"     /* shown beside any other method */
#define API_REPORT_MAX_PARTS 2
#define API_REPORT_MAX_SIDE 1024 /* pictures are scaled down to this longer side */

/* Who and when: what makes a report traceable. */
struct api_report_meta {
    char request_id[65];
    char generated[32];    /* UTC, ISO 8601, e.g. 2026-11-01T12:34:56Z */
    char image_sha256[65]; /* of the uploaded bytes (identifies the input, reveals nothing) */
};

/* One method's explanation as the report shows it. */
struct api_report_part {
    struct api_explain_opts opts;
    struct api_explanation ex;
    struct xai_blob overlay_png; /* at the report's picture size */
    bool evidence;               /* some positive value in the map: something is highlighted */
};

struct api_report {
    const struct api_model *m;
    struct api_report_meta meta;
    int width, height;         /* of the original image */
    int shown_w, shown_h;      /* of the pictures (API_REPORT_MAX_SIDE) */
    struct xai_blob image_png; /* the decoded image, re-encoded */
    int n_parts;               /* 1 when the method is the companion itself, else 2 */
    struct api_report_part parts[API_REPORT_MAX_PARTS];
    double ms; /* to make the report (methods, renders) */
};

/* request_id (NULL: none) is copied (cut at 64 characters), the time is now, and the image
 * digest is that of bytes (NULL: none). */
void api_report_meta_init(struct api_report_meta *meta, const char *request_id, const void *bytes,
                          size_t len);

/* Runs o's method (its params, target, layer, colormap, opacity, seed, evaluate) and, unless
 * it is grad-CAM itself, grad-CAM with its defaults on the same target and layer, then renders
 * the pictures. o->outputs is ignored. Errors: those of api_explain. out is empty on failure. */
xai_status api_report_make(const struct api_model *m, xai_session *s, const struct api_input *in,
                           const struct api_explain_opts *o, const struct api_report_meta *meta,
                           struct api_report *out, struct xai_err *err);
void api_report_reset(struct api_report *r);

/* The report's options from request arguments (the explain parameters, api/request.h), with
 * API_REPORT_METHOD when none names a method. Errors: api_request_parse's. */
xai_status api_report_parse(const struct api_model *m, const struct api_args *a,
                            struct api_explain_opts *o, struct xai_err *err);
/* Decode + api_report_make, like api_run_explain: the image digest is that of bytes; t gets
 * decode, forward, explain and encode (all methods, renders included). out is empty on
 * failure. */
xai_status api_run_report(const struct api_model *m, xai_session *s, const void *bytes, size_t len,
                          const struct api_explain_opts *o, const char *request_id,
                          struct api_report *out, struct api_timing *t, struct xai_err *err);

/* The plain-language summary, e.g. "The model estimates a 93 % likelihood of nodule. The
 * highlighted region is where the evidence for nodule was strongest." (malloc'd UTF-8 text;
 * NULL when out of memory). Worded for multiclass and multilabel models. */
char *api_report_summary(const struct api_report *r);
/* A probability as the report prints it: "93 %", "99.6 %", "0.4 %", "> 99.9 %", "< 0.1 %"
 * (U+00A0 before %), never rounding up to 100 % or down to 0 %. */
void api_report_percent(double p, char *buf, size_t n);

/* The HTML document (caller frees), NULL when out of memory. */
char *api_report_html(const struct api_report *r, size_t *len);
/* The same content as JSON (new reference, NULL when out of memory). */
json_t *api_report_json(const struct api_report *r);

/* The report's one sentence about what it is not. */
extern const char api_report_disclaimer[];

/* "'sha256-...'" of the report's inline stylesheet, for a Content-Security-Policy that lets
 * the report's style apply and nothing else (out: at least 64 bytes). */
void api_report_style_source(char *out, size_t n);

#endif
