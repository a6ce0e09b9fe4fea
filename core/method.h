/*
 * method.h - attribution methods: what each one is, its parameters, and how it is run.
 *
 * Every method is one file core/methods/<name>.c defining
 *     const struct xai_method_def xai_method_<name>;
 * the build generates the table from the file names (files starting with '_' are helpers).
 * The table is the single source for parameter names, types, ranges and defaults: the API's
 * /v1/methods, request validation and openapi.yaml are generated from or checked against it.
 *
 * A method receives the preprocessed input ([1,C,H,W]), the target class, its validated
 * parameters and a session over the shared model, and returns a map on the model input grid
 * (H x W floats); the image layer maps it back to the original geometry. Methods that need
 * many forward/backward passes (SmoothGrad, integrated gradients, occlusion, LIME) run them
 * as batches of at most req->max_batch items through the same session.
 *
 * The target score is the model's output logit for the target class (before softmax or
 * sigmoid), as Captum, pytorch-grad-cam and Zennit attribute by default.
 */
#ifndef XAI_METHOD_H
#define XAI_METHOD_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "preprocess.h"
#include "session.h"

enum xai_param_type { XAI_PARAM_INT, XAI_PARAM_FLOAT, XAI_PARAM_BOOL, XAI_PARAM_ENUM };

struct xai_param_def {
    const char *name;
    enum xai_param_type type;
    double def;                 /* ENUM: index of the default choice; BOOL: 0 or 1 */
    double min, max;            /* INT and FLOAT: inclusive range */
    const char *const *choices; /* ENUM: NULL-terminated list */
    const char *help;
};

#define XAI_MAX_PARAMS 12

/* Parameter values in the order of the method's table (ENUM as the choice index). */
struct xai_param_values {
    double v[XAI_MAX_PARAMS];
};

/* What a method may need beyond the graph, from the model repository. */
struct xai_method_model {
    const xai_model *model;
    int output;           /* value index of the logits [N, classes] */
    int cam_layer;        /* default layer for CAM-type methods (4-D value), or -1 */
    int head_weight;      /* GAP -> linear head: weight constant [classes, channels], or -1 */
    int head_bias;        /* its bias constant [classes], or -1 */
    bool multilabel;      /* sigmoid outputs instead of softmax */
    float input_lo;       /* range of the model's input values after normalisation, */
    float input_hi;       /* e.g. for SmoothGrad's noise level and baselines */
    int reconstruction;   /* value index of an output shaped like the input (an autoencoder's
                             reconstruction), or -1 */
    const int *attention; /* value indices of attention-map outputs */
    int n_attention;
};

enum xai_method_needs {
    XAI_NEEDS_LAYER = 1u,          /* uses a 4-D layer (req->layer) */
    XAI_NEEDS_GAP_HEAD = 2u,       /* needs head_weight (CAM) */
    XAI_NEEDS_RECONSTRUCTION = 4u, /* needs an autoencoder's reconstruction output */
    XAI_NEEDS_ATTENTION = 8u,      /* needs attention-map outputs */
};

struct xai_method_req {
    const struct xai_method_model *mm;
    xai_session *s;
    const struct xai_tensor *input; /* [1, C, H, W], preprocessed */
    int target;                     /* class index */
    int layer;                      /* value index for layer methods (resolved by the caller) */
    const struct xai_param_values *params;
    uint64_t seed;
    int max_batch;                  /* batch cap for multi-pass methods (>= 1) */
    const struct xai_image *image;  /* the decoded original (LIME's superpixels) */
    const struct xai_geometry *geo; /* original <-> model input geometry */
    const int32_t *segments;        /* LIME: superpixel label per model-input pixel (H*W), or
                                       NULL to compute SLIC superpixels on the original image */
};

#define XAI_MAX_METRICS 8

struct xai_method_result {
    float *map; /* height * width, row-major, malloc'd */
    int height, width;
    bool signed_map;
    int32_t *classes; /* NULL, or a class index per pixel of map (-1: none), malloc'd */
    int n_metrics;
    struct {
        const char *name;
        double value;
    } metrics[XAI_MAX_METRICS];
};

struct xai_method_def {
    const char *name;
    const char *summary; /* one line: what the map answers */
    const char *caveat;  /* one line: the review's warning for this method */
    const struct xai_param_def *params;
    int n_params;
    unsigned needs; /* enum xai_method_needs */
    bool signed_map;
    xai_status (*run)(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err);
    /* Whether the method can explain value `output` of model m at all, beyond `needs` (LRP:
     * a relevance rule for every node on the way): XAI_OK, or UNSUPPORTED saying why not
     * (NO_MEMORY when it could not tell). NULL: always. */
    xai_status (*fits)(const xai_model *m, int output, struct xai_err *err);
};

const struct xai_method_def *xai_method_find(const char *name);
const struct xai_method_def *const *xai_method_all(int *n);
/* Index of a parameter in a method's table, or -1. */
int xai_method_param_index(const struct xai_method_def *m, const char *name);
/* Fills every parameter with its default. */
void xai_method_defaults(const struct xai_method_def *m, struct xai_param_values *v);
/* Checks one value against its definition (range, integer-ness, choice), naming the
 * parameter and what is allowed in the message. */
xai_status xai_method_param_check(const struct xai_method_def *m, int idx, double value,
                                  struct xai_err *err);
/* The same for one parameter definition (the inspection views' tables use it too). */
xai_status xai_param_check(const struct xai_param_def *p, double value, struct xai_err *err);

void xai_method_result_reset(struct xai_method_result *r);
/* Appends a named metric (e.g. "ig_delta") to a result. */
void xai_method_metric(struct xai_method_result *r, const char *name, double value);

#endif
