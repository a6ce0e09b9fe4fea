/*
 * model.h - a loaded model: an immutable graph of runtime nodes over named values.
 *
 * Built by the ONNX importer (onnx_import.c), read by the executor (session.c), the CLI and
 * the methods. After xai_model_load returns, nothing in it changes, so any number of
 * threads may share one const xai_model *.
 *
 * Values are every named tensor of the graph: the graph input, constants (initializers,
 * Constant nodes, folded subgraphs; BatchNorm folded into convolutions) and activations.
 * Nodes are in topological order and contain runtime ops only: Identity and Dropout are
 * dropped, constant subgraphs folded away.
 */
#ifndef XAI_MODEL_H
#define XAI_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "op.h"
#include "status.h"
#include "tensor.h"

typedef struct xai_model xai_model;

/* Limits on one node, enforced by the importer (DenseNet-121's Concat has 25 inputs). */
#define XAI_MAX_NODE_INPUTS 64
#define XAI_MAX_NODE_OUTPUTS 8

struct xai_value {
    char *name;
    int producer;           /* index of the producing node; -1 for the input and constants */
    struct xai_const *cst;  /* non-NULL for constants */
    struct xai_shape shape; /* shape at batch size 1 (at fixed_batch when that is set) */
    uint8_t batch_dims;     /* bit d: dimension d scales with the batch size (0 if fixed) */
    bool grad;              /* depends on the graph input, so it can carry a gradient */
};

struct xai_node {
    char *name;
    const struct xai_op_def *op;
    void *params;
    int n_in;
    int *in; /* value indices; -1 for an omitted optional input */
    int n_out;
    int *out;
};

struct xai_model {
    int n_values;
    struct xai_value *values;
    int n_nodes;
    struct xai_node *nodes;
    int input; /* value index of the single float input */
    int n_outputs;
    int *outputs;
    int64_t opset;
    char *producer;
    char sha256[65];
    int64_t n_params;    /* float parameters held in constants */
    int64_t fixed_batch; /* 0 when the input's batch dimension is dynamic, else its size; also
                            1 for a dynamic input whose graph cannot run other batch sizes */
};

void xai_const_free(struct xai_const *c);

/* Loads an ONNX file. On failure returns a status and a message naming what was wrong. */
xai_status xai_model_load(const char *path, xai_model **out, struct xai_err *err);
xai_status xai_model_load_buffer(const void *buf, size_t len, xai_model **out, struct xai_err *err);
void xai_model_free(xai_model *m);

/* Index of the value with this ONNX name, or -1. */
int xai_model_find(const xai_model *m, const char *name);
/* Shapes of every value for a given batch size (out has m->n_values entries). */
xai_status xai_model_infer(const xai_model *m, int64_t batch, struct xai_shape *out,
                           struct xai_err *err);
/* Multiply-accumulate count of one forward pass at batch 1 (for `xaid info`). */
int64_t xai_model_macs(const xai_model *m);

#endif
