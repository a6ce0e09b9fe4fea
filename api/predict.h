/*
 * predict.h - one image through one model: decode, preprocess, forward, class scores.
 *
 * The predict pipeline every request shares, whatever it asks for (a prediction, a heatmap, a
 * report):
 *
 *   bytes --api_prepare--> struct api_input    decoded image + model input + geometry
 *         --api_predict--> struct api_scores   per-class logit and probability, ranked
 *
 * api_input keeps the decoded original and the geometry because attribution methods run the
 * same input tensor through the engine again (with gradients, or perturbed), and rendering
 * maps their model-grid heatmaps back onto the original pixels (xai_geometry_map_back) and
 * overlays them on it. Nothing here logs or echoes request data: error messages describe what
 * was wrong with the bytes or the target and what is allowed, never the bytes themselves.
 */
#ifndef API_PREDICT_H
#define API_PREDICT_H

#include <stddef.h>

#include "image.h"
#include "model_repo.h"
#include "preprocess.h"
#include "session.h"

/* One request's image as the model sees it. Caller-owned; release with api_input_reset. */
struct api_input {
    struct xai_image image;   /* the decoded original */
    struct xai_geometry geo;  /* model grid <-> original pixels */
    float *data;              /* the model input, CHW floats (owned) */
    struct xai_tensor tensor; /* view of data as [1, C, H, W] */
};

struct api_score {
    int index;         /* class index (position in the model's labels) */
    const char *label; /* the model's label (owned by the model) */
    float probability; /* softmax (multiclass) or sigmoid (multilabel) of the logit */
    float logit;
};

/* Scores of one image. Caller-owned; release with api_scores_reset. */
struct api_scores {
    int n;
    struct api_score *scores; /* n entries, highest probability first (ties: lower index) */
    struct api_score top;     /* the prediction: scores[0] */
};

/* Decodes bytes (PNG or JPEG; lim NULL means the decoder's defaults) and preprocesses the image
 * for m. On failure out is empty: BAD_IMAGE, TOO_LARGE, UNSUPPORTED_MEDIA from the decoder,
 * NO_MEMORY. */
xai_status api_prepare(const struct api_model *m, const void *bytes, size_t len,
                       const struct xai_image_limits *lim, struct api_input *out,
                       struct xai_err *err);
void api_input_reset(struct api_input *in);

/* Runs the forward pass of in on s (a session of m->engine) and ranks the classes. The session
 * then holds every activation of this image, for methods to read. On failure out is empty. */
xai_status api_predict(const struct api_model *m, xai_session *s, const struct api_input *in,
                       struct api_scores *out, struct xai_err *err);
/* The ranking of one image's logits (m->n_labels floats), without the engine: methods that run
 * batches use it per item. BAD_MODEL for non-finite logits, NO_MEMORY. */
xai_status api_scores_compute(const struct api_model *m, const float *logits,
                              struct api_scores *out, struct xai_err *err);
void api_scores_reset(struct api_scores *s);
/* The entry of class index in s, or NULL. */
const struct api_score *api_scores_find(const struct api_scores *s, int index);

/* Probabilities of n logits: softmax over all of them (multiclass) or the sigmoid of each
 * (multilabel), computed in double precision without overflow. probs may alias logits. */
void api_probabilities(enum api_task task, const float *logits, int n, float *probs);

/* A target class given as an index ("2") or a label ("nodule", exact match). INVALID_ARGUMENT
 * naming the allowed indices and labels (never echoing text) for anything else. */
xai_status api_target_parse(const struct api_model *m, const char *text, int *index,
                            struct xai_err *err);

#endif
