/*
 * views.h - the inspection views as requests and answers: filters, features, maximize
 * and embed (core/inspect.h does the work). Each view has a parameter table (struct
 * xai_param_def, as methods do: names, types, ranges, defaults, help), plus a few named
 * arguments that are not numbers: `layer` (every view but maximize), `target` (maximize),
 * `labels` (embed). The CLI (`xaid filters|features|maximize|embed`) and the HTTP routes
 * (`/v1/models/{model}/filters` ...) set them through api_view_set_text / _json, then call
 * api_<view>_run, which answers the JSON object of the route.
 *
 * Limits (validated like every other parameter): top_k <= 1024, steps <= 2000, 2 to 2000 images
 * per embedding, iterations 250 to 5000, perplexity 1 to 100 (lowered to (images - 1) / 3 for
 * small batches, and reported), batch 1 to 256, images x feature dimension <= 2^25.
 */
#ifndef API_VIEWS_H
#define API_VIEWS_H

#include <jansson.h>

#include "inspect.h"
#include "model_repo.h"
#include "predict.h"
#include "project.h"

#define API_MAX_VIEW_ARGS 24 /* arguments one request may set */

enum api_view_kind { API_VIEW_FILTERS, API_VIEW_FEATURES, API_VIEW_MAXIMIZE, API_VIEW_EMBED };

struct api_view_def {
    const char *name;
    const char *summary;
    const struct xai_param_def *params;
    int n_params;
    const char *const *named; /* NULL-terminated names of the non-table arguments */
};

const struct api_view_def *api_view_def(enum api_view_kind kind);
/* Every view, with its parameters, as JSON (for `xaid views --json`). */
json_t *api_views_json(void);

struct api_view_opts {
    const struct api_view_def *view;
    struct xai_param_values params; /* validated, in the table's order */
    const char *layer; /* filters: a Conv's output, node or weight name; features, embed: a
                          tensor name; NULL: the view's default (owned by the caller) */
    int target;        /* maximize: class index, -1 for the model's first class */
    int *labels;       /* embed: class index per image (malloc'd), or NULL */
    int n_labels;
};

/* Defaults of the view's table, no layer, target -1, no labels. */
void api_view_opts_init(struct api_view_opts *o, enum api_view_kind kind);
void api_view_opts_reset(struct api_view_opts *o);
/* Sets one argument by name, from text (query strings, CLI flags: labels comma-separated) or
 * a JSON value (labels: an array of indices or label strings, or a comma-separated string).
 * INVALID_ARGUMENT naming the argument and what is allowed (never echoing values); NOT_FOUND
 * for an unknown class. */
xai_status api_view_set_text(const struct api_model *m, struct api_view_opts *o, const char *name,
                             const char *text, struct xai_err *err);
xai_status api_view_set_json(const struct api_model *m, struct api_view_opts *o, const char *name,
                             const json_t *val, struct xai_err *err);
/* Value of a parameter of the table by name (for the run functions). */
double api_view_param(const struct api_view_opts *o, const char *name);

/* filters (no image): {"model", "layer", "node", "shape", "grid": {...}, "grid_png",
 * "weights" (raw=true)}. */
xai_status api_filters_run(const struct api_model *m, const struct api_view_opts *o,
                           json_t **answer, struct xai_err *err);

/* features of one prepared image: {"model", "layer", "shape", "top_k", "channels": [{"index",
 * "mean"}], "dead_channels", "dead_fraction", "grid_png", "raw" (raw=true), "mapped"
 * (map_back=true: each channel on the original image's pixels)}. */
xai_status api_features_run(const struct api_model *m, xai_session *s, const struct api_input *in,
                            const struct api_view_opts *o, json_t **answer, struct xai_err *err);

/* class maximisation: {"model", "target", "params", "image_png", "raw" (raw=true), "trace":
 * {"score", "objective"}, "score_start", "score_end", "monotonic"}. */
xai_status api_maximize_run(const struct api_model *m, xai_session *s,
                            const struct api_view_opts *o, json_t **answer, struct xai_err *err);

/* One image of a batch (bytes owned by the caller). */
struct api_image_ref {
    const unsigned char *data;
    size_t len;
};

/* Embedding of n images (2 to XAI_EMBED_MAX_IMAGES; labels, when set, one per image):
 * {"model", "layer", "dim", "count", "projection", "params", "points": [{"index", "x", "y",
 * "prediction": {...}, "label"}], "knn_agreement", "explained_variance" (pca) or "tsne",
 * "scatter_png", "features" (raw=true)}. lim: the decoder's caps per image (NULL: defaults).
 * TOO_LARGE beyond the image count or the feature-size cap. */
xai_status api_embed_run(const struct api_model *m, xai_session *s,
                         const struct api_image_ref *imgs, int n,
                         const struct xai_image_limits *lim, const struct api_view_opts *o,
                         json_t **answer, struct xai_err *err);

/* ---- archives (api/archive.c): the images of a zip or (ustar) tar file ---- */

#define API_ARCHIVE_MAX_TOTAL ((size_t)1 << 30) /* bytes of all members, uncompressed */

/* Members of an archive: regular files in archive order, hidden files and folders (a name
 * part starting with '.', __MACOSX) skipped. Stored members point into the archive; deflated
 * zip members are inflated into owned buffers (released by api_archive_reset). */
struct api_archive {
    int n;
    struct api_image_ref *items;
    unsigned char **owned;
    int n_owned;
};

/* True when buf looks like a zip or tar archive. */
bool api_archive_detect(const void *buf, size_t len);
/* Reads the members of a zip (stored or deflated; no zip64, no encryption) or tar archive, at
 * most max_items, each at most max_item bytes. BAD_IMAGE for a malformed archive, TOO_LARGE
 * beyond the caps, UNSUPPORTED_MEDIA for other formats. */
xai_status api_archive_read(const void *buf, size_t len, int max_items, size_t max_item,
                            struct api_archive *out, struct xai_err *err);
void api_archive_reset(struct api_archive *a);

#endif
