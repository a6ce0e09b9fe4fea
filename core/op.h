/*
 * op.h - what an operator is to the engine.
 *
 * Every ONNX operator xaid runs is one struct xai_op_def in its own file under core/ops/,
 * named xai_op_<file basename>; the build generates the registry from the file names, so
 * adding an op touches that file only (plus its test).
 *
 * Life of an op inside a loaded model:
 *   init      once at load: reads attributes and constant inputs (struct xai_node_def), checks
 *             them, stores what it needs in an immutable params block. Every attribute must be
 *             consumed with the xai_attr_* readers; one left unread is refused by the loader
 *             with a message naming the node, the op and the attribute.
 *   infer     output shapes from input shapes. `batch` is the run's batch size (the graph
 *             input's first dimension), for ops whose folded constants depend on it.
 *   scratch   floats of scratch memory forward or backward needs (NULL: none), per thread:
 *             a run with a thread pool gets one such block per thread (xai_op_scratch).
 *   forward   computes outputs from inputs.
 *   backward  ACCUMULATES (+=) the gradient of each input whose gin[i] is non-NULL, from the
 *             gradients of the outputs. Only inputs in grad_mask are ever asked for. It may
 *             read only the activations it declares in bwd_in / bwd_out: the others are
 *             overwritten by then (their shapes stay valid).
 *
 * Params are read-only after init, so one model serves many threads at once.
 */
#ifndef XAI_OP_H
#define XAI_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "par.h"
#include "status.h"
#include "tensor.h"

enum xai_dtype { XAI_F32 = 1, XAI_I64 = 7 };

/* A constant known at load time: an initializer, a Constant node, or a folded subgraph.
 * For int64 constants, batch[i] != 0 marks element i as proportional to the run's batch
 * size: its value is i64[i] * batch (i64[i] holds the value for batch 1). */
struct xai_const {
    enum xai_dtype dtype;
    struct xai_shape shape;
    float *f;
    int64_t *i64;
    uint8_t *batch;
};

enum xai_attr_type {
    XAI_ATTR_FLOAT = 1,
    XAI_ATTR_INT = 2,
    XAI_ATTR_STRING = 3,
    XAI_ATTR_TENSOR = 4,
    XAI_ATTR_FLOATS = 6,
    XAI_ATTR_INTS = 7,
};

struct xai_attr {
    char *name;
    enum xai_attr_type type;
    float f;
    int64_t i;
    char *s;
    struct xai_const *t;
    int n;
    float *floats;
    int64_t *ints;
    bool used; /* set by the readers below; the loader refuses unread attributes */
};

/* What an op's init sees of one node. */
struct xai_node_def {
    const char *name;
    const char *op_type;
    int opset;
    int n_attrs;
    struct xai_attr *attrs;
    int n_in;
    const bool *in_present;                  /* false for an omitted optional input ("") */
    const struct xai_const *const *in_const; /* non-NULL where the input is a constant */
    const struct xai_shape *in_shape;        /* shapes at batch 1 (for present inputs) */
    int n_out;
};

/* Attribute readers: fill *out (default when absent, if has_default) and mark the attribute
 * used. Type mismatches and missing required attributes fail with a message naming the node. */
xai_status xai_attr_int(const struct xai_node_def *nd, const char *name, int64_t def, int64_t *out,
                        struct xai_err *err);
xai_status xai_attr_float(const struct xai_node_def *nd, const char *name, float def, float *out,
                          struct xai_err *err);
/* String attribute; *out points into the node (valid during init only) or to def. */
xai_status xai_attr_string(const struct xai_node_def *nd, const char *name, const char *def,
                           const char **out, struct xai_err *err);
/* Integer list; *n is the count (0 when absent). Copies at most max values into out. */
xai_status xai_attr_ints(const struct xai_node_def *nd, const char *name, int64_t *out, int max,
                         int *n, struct xai_err *err);
xai_status xai_attr_floats(const struct xai_node_def *nd, const char *name, float *out, int max,
                           int *n, struct xai_err *err);
/* Fails naming the first attribute that init did not read (an unsupported attribute). */
xai_status xai_attrs_check_used(const struct xai_node_def *nd, struct xai_err *err);
/* Marks an attribute as accepted without reading it (e.g. one whose value is irrelevant). */
void xai_attr_ignore(const struct xai_node_def *nd, const char *name);
/* Reads a constant int64 input (e.g. Reshape's shape). Fails when the input is not constant. */
xai_status xai_input_ints(const struct xai_node_def *nd, int idx, int64_t *out, uint8_t *batch,
                          int max, int *n, struct xai_err *err);
/* Reads a constant float scalar input, or def when the input is omitted. */
xai_status xai_input_float(const struct xai_node_def *nd, int idx, float def, float *out,
                           struct xai_err *err);

/* A Concat along axis 1 that the session fused into the node reading it (session.c; ops with
 * fuse_concat): the node's input 0 is the concatenation of in[0..n), channel blocks in order,
 * which is never stored. Backward adds input 0's gradient into gin[i] (NULL: not wanted)
 * instead of gin[0]. */
struct xai_cat {
    int n;
    const struct xai_tensor *const *in;
    const struct xai_tensor *const *gin;
};

/* Everything forward and backward see. in[i]/gin[i] follow the node's input order; in[i] is
 * NULL for omitted inputs and for int64 constant inputs (consumed by init). */
struct xai_op_run {
    const void *p;
    int n_in;
    const struct xai_tensor *const *in;
    int n_out;
    const struct xai_tensor *const *out;
    const struct xai_tensor *const *gout; /* gradient of each output; NULL where none flows */
    const struct xai_tensor *const *gin;  /* accumulate into these; NULL where not wanted */
    float *scratch;
    int64_t batch;
    /* The session's worker threads (NULL: run serially). An op that splits its work with
     * xai_par_for splits it by shape only, so that its results do not depend on the thread
     * count (par.h); thread tid uses the scratch block xai_op_scratch(r, tid). */
    xai_par *par;
    size_t scratch_stride; /* floats from one thread's scratch block to the next */
    /* A Relu node the session fused into this one (session.c). Forward (ops with fuse_relu):
     * write max(y, 0), which the session reads as the Relu's output. Backward (ops with
     * relu_grad): out[0] is the Relu's output and gout[0] the gradient of the Relu's output,
     * not yet masked: use gout[0] * (out[0] > 0); gout[0]'s memory is the op's to overwrite. */
    bool relu;
    const struct xai_cat *cat; /* a fused Concat (see struct xai_cat); NULL: none */
};

static inline float *xai_op_scratch(const struct xai_op_run *r, int tid)
{
    return r->scratch + (size_t)tid * r->scratch_stride;
}

/* The sliding window of an op along axes (h, w), for xai_op_def.window. Output position o
 * of an axis reads input positions o * s - pb + t * d for taps t < k. */
struct xai_op_window {
    int64_t k[2], s[2], d[2], pb[2]; /* kernel, strides, dilations, begin pads (after auto_pad) */
    float pad;                       /* what a tap in the padding reads: 0, or -INFINITY (max) */
};

/* What xai_op_def.window answers. */
enum xai_window_fit { XAI_WINDOW_NO, XAI_WINDOW_YES, XAI_WINDOW_NO_MEMORY };

struct xai_op_def {
    const char *name;
    int opset_min, opset_max;
    unsigned grad_mask; /* bit i: backward can produce the gradient of input i */
    /* What backward reads besides shapes and output gradients: bit i of bwd_in, the data of
     * input i; bwd_out, the data of the outputs. The session keeps only these activations for
     * the backward pass (session.c); tests/ops poisons everything else to check them. */
    unsigned bwd_in;
    bool bwd_out;
    /* forward honours xai_op_run.relu (single-output ops whose backward reads no output) */
    bool fuse_relu;
    /* backward honours xai_op_run.relu (masks the output gradient itself) */
    bool relu_grad;
    /* forward and backward honour xai_op_run.cat (input 0 read as a Concat's inputs) */
    bool fuse_concat;
    xai_status (*init)(const struct xai_node_def *nd, void **params, struct xai_err *err);
    void (*free_params)(void *params); /* NULL: free() */
    xai_status (*infer)(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err);
    size_t (*scratch)(const void *p, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out);
    void (*forward)(const struct xai_op_run *r);
    void (*backward)(const struct xai_op_run *r);
    /* Multiply-accumulates of one forward pass (NULL: counted as zero). */
    int64_t (*macs)(const void *p, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out);
    /* Incremental inference (core/incremental.h) recomputes an op only on the part of its
     * output that an input change reaches, by running forward on crops. Two kinds of ops allow
     * it along the last two axes (h, w) of 4-D tensors; NULL hooks: neither.
     * pointwise  output (n, c, y, x) reads the inputs at (y, x) only: true when, for these
     *            shapes, every input either has the output's h and w (it is cropped along with
     *            the output) or is used whole (a per-channel or scalar operand). Element-wise
     *            ops, BatchNormalization, Concat on channels.
     * window     a sliding window (Conv, MaxPool, AveragePool): fills w for input 0 of shape
     *            in and sets *unpadded to a copy of the params with no padding (malloc'd,
     *            owning nothing, freed with free()), which computes output (y, x) from the
     *            window at (y * s, x * s) of a crop padded explicitly with w->pad. Returns
     *            XAI_WINDOW_NO when the op cannot run so (e.g. ceil_mode, averages that
     *            exclude padding), XAI_WINDOW_NO_MEMORY when the copy cannot be allocated (an
     *            error, not a reason to run the op whole, which would need more memory). */
    bool (*pointwise)(const void *p, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out);
    enum xai_window_fit (*window)(const void *p, const struct xai_shape *in,
                                  struct xai_op_window *w, void **unpadded);
};

/* The registry: the op for an ONNX op_type at an opset, or NULL. */
const struct xai_op_def *xai_op_find(const char *op_type, int opset);
/* All registered ops (for tests and `xaid info --ops`). */
const struct xai_op_def *const *xai_op_all(int *n);

#endif
