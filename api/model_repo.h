/*
 * model_repo.h - the model repository: every model the service can run, with what a request
 * needs to use it.
 *
 * A repository is a folder of model folders, each holding model.onnx (the network) and
 * model.json (labels, task, input geometry, preprocessing, default CAM layer, classifier; the
 * format is documented in docs/models.md). Loading validates model.json strictly and against
 * the ONNX graph (input size and channels, output size = number of labels, layers exist and
 * have the right shapes), so a model that loads can serve any request without further checks.
 * Any bad model fails the whole load, with a message naming the file and the field: a service
 * never starts with a silently missing or misconfigured model.
 *
 * After loading, everything here is immutable and shared by all threads, like the xai_model
 * it holds. Called by the server at start, by the CLI, and by the attribution methods (which
 * read the CAM layer, the classifier and the layer list).
 */
#ifndef API_MODEL_REPO_H
#define API_MODEL_REPO_H

#include <stdbool.h>

#include "model.h"
#include "preprocess.h"
#include "status.h"

#define API_MODEL_JSON_MAX_BYTES (4 << 20) /* model.json larger than this is refused */
#define API_REPO_MAX_MODELS 256
#define API_MAX_ATTENTION 16 /* attention outputs a model may declare */

enum api_task {
    API_TASK_MULTICLASS, /* one class per image: softmax over the logits */
    API_TASK_MULTILABEL, /* independent findings: sigmoid of each logit */
};

/* A 4-D activation [N, C, H, W] of the graph: a candidate layer for CAM methods. */
struct api_layer {
    int value;              /* value index in the engine model */
    const char *name;       /* its ONNX tensor name (owned by the engine model) */
    struct xai_shape shape; /* at batch 1 */
};

/* The linear classifier after global average pooling (CAM's weights): logits = W . gap + b. */
struct api_classifier {
    bool present;
    char *weight_name, *bias_name; /* bias_name NULL when the classifier has no bias */
    int weight;                    /* value index: constant [classes, channels] */
    int bias;                      /* value index: constant [classes], or -1 */
};

struct api_model {
    char *name, *version, *description;
    char *dir; /* the folder it was loaded from (server configuration, never client data) */
    int n_labels;
    char **labels;
    enum api_task task;

    char *input_name, *output_name; /* ONNX names (from model.json or the graph) */
    int input;                      /* value index of the engine's input */
    int output;                     /* value index of the scores (logits), a graph output */
    struct xai_preprocess pre;

    char *cam_layer;        /* ONNX name of the default CAM layer; NULL when the graph has none */
    int cam_value;          /* its value index, or -1 */
    bool cam_layer_guessed; /* not in model.json: the last 4-D layer with H*W > 1 */
    struct api_classifier classifier;

    char *recon_name; /* "reconstruction.output": an output shaped like the input, or NULL */
    int recon_value;  /* its value index, or -1 */
    int n_attention;  /* "attention.outputs": attention-map outputs */
    char **attention_names;
    int *attention_values;

    int n_layers;
    struct api_layer *layers; /* every 4-D activation, in execution order */

    xai_model *engine;
    char sha256[65]; /* of model.onnx */
};

struct api_repo {
    char *dir;
    int n_models;
    struct api_model **models; /* sorted by folder name */
};

/* Loads one model folder (DIR/model.onnx + DIR/model.json). NOT_FOUND when a file is missing,
 * BAD_MODEL for an invalid one (the message names the file and the field), IO, NO_MEMORY. */
xai_status api_model_load(const char *dir, struct api_model **out, struct xai_err *err);
void api_model_free(struct api_model *m);

/* Loads every subfolder of dir that holds model.onnx or model.json (hidden folders skipped),
 * in name order. NOT_FOUND when dir does not exist or has no model; INVALID_ARGUMENT when dir
 * is itself a model folder; BAD_MODEL (or NOT_FOUND for a missing file, IO, NO_MEMORY) when
 * any model fails, naming its file, and for two models with the same name. */
xai_status api_repo_load(const char *dir, struct api_repo **out, struct xai_err *err);
/* The model with this name, or NULL. */
const struct api_model *api_repo_find(const struct api_repo *r, const char *name);
void api_repo_free(struct api_repo *r);

/* Index of the layer with this value index in m->layers, or -1. */
int api_model_layer(const struct api_model *m, int value);
const char *api_task_name(enum api_task t);

#endif
