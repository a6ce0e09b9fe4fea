/*
 * explain.h - one explanation: an attribution method on one prepared image, its map brought
 * back onto the original pixels, and the renderings a viewer asked for.
 *
 *   api_input (api_prepare) --api_explain--> struct api_explanation --api_explanation_json-->
 *
 * The CLI (`xaid explain`) and the HTTP server call the same function, so every method is
 * reachable without a network.
 */
#ifndef API_EXPLAIN_H
#define API_EXPLAIN_H

#include <jansson.h>

#include "faithfulness.h"
#include "method.h"
#include "predict.h"
#include "params.h"
#include "render.h"

enum api_outputs {
    API_OUT_OVERLAY = 1u,
    API_OUT_HEATMAP = 2u,
    API_OUT_RAW = 4u,
    API_OUT_COLORBAR = 8u, /* the colormap used, low values left (API_COLORBAR_W x _H) */
};

#define API_COLORBAR_W 256
#define API_COLORBAR_H 16

struct api_explain_opts {
    const struct xai_method_def *method;
    struct xai_param_values params; /* validated (api_param_set_*) */
    int target;                     /* class index, or -1 for the top prediction */
    int layer;                      /* value index of a 4-D layer, or -1 for the model's default */
    unsigned outputs;               /* enum api_outputs */
    struct xai_norm norm;           /* how the rendered map is scaled */
    struct xai_render_opts render;  /* colormap, opacity */
    bool cmap_auto;                 /* colormap by the map: jet unsigned, bwr signed (default) */
    uint64_t seed;
    int max_batch;
    bool evaluate;      /* add deletion/insertion curves (faithfulness.h) */
    int evaluate_steps; /* points of each curve minus one (default 20) */
};

/* Defaults: outputs overlay + raw, percentile 2 % normalisation, colormap by the map (jet for
 * unsigned maps, the diverging blue-white-red for signed ones), opacity 0.5, seed 0, batches
 * of 16, no evaluation; method and params must be set by the caller. */
void api_explain_opts_default(struct api_explain_opts *o);

struct api_explanation {
    struct api_scores scores;
    int target;
    int layer;                       /* value index used, -1 when the method uses none */
    struct xai_method_result result; /* the map on the model grid, metrics */
    int width, height;               /* of the original image */
    float *map;                      /* width*height floats on the original pixels */
    uint8_t *mask;                   /* 1 where the model saw the pixel */
    int32_t *classes;                /* class per original pixel (-1: none) for methods that
                                        label pixels (dominant_class), else NULL */
    float lo, hi;                    /* range of the raw map */
    float display_lo, display_hi;    /* map values drawn at the colormap's two ends (o->norm);
                                        signed maps: display_lo = -display_hi */
    struct xai_blob overlay_png, heatmap_png, colorbar_png;
    enum xai_colormap cmap; /* the colormap used */
    bool evaluated;
    struct xai_faith faith;
    double ms_forward, ms_explain, ms_encode; /* ms_explain includes the evaluation */
};

/* Runs in->tensor through s (a session of m->engine): prediction, method, map back, renders.
 * Errors: INVALID_ARGUMENT (layer or target), UNSUPPORTED (the method does not fit the model),
 * NO_MEMORY, and whatever the method reports. out is empty on failure but for the timings. */
xai_status api_explain(const struct api_model *m, xai_session *s, const struct api_input *in,
                       const struct api_explain_opts *o, struct api_explanation *out,
                       struct xai_err *err);
void api_explanation_reset(struct api_explanation *e);

/* The "explanation" object of the API's answer (method, params, geometry, range, display
 * range, raw map, PNGs as base64, metrics); NULL when out of memory. */
json_t *api_explanation_json(const struct api_model *m, const struct api_explain_opts *o,
                             const struct api_explanation *e);

#endif
