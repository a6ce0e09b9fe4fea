/*
 * onnx_internal.h - what the files of the ONNX importer share, and the hooks its tests use.
 *
 * The importer turns an ONNX ModelProto into a struct xai_model (model.h):
 *   onnx_import.c  entry points, file reading, sha256, protobuf parse, top-level order
 *   onnx_wire.c    pre-scan of the protobuf wire format (nesting depth of subgraphs)
 *   onnx_tensor.c  TensorProto and AttributeProto conversion, constant helpers
 *   onnx_graph.c   the value table: names, initializers, the graph input, node outputs
 *   onnx_topo.c    topological sort (Kahn), cycle detection
 *   onnx_nodes.c   the pass over the sorted nodes: aliases, Constant, folding, runtime nodes
 *   onnx_fold.c    constant folding of shape subgraphs (data movement ops)
 *   onnx_fold_math.c  constant folding of Cast, arithmetic, Equal, Where, ConstantOfShape, Range
 *   onnx_bn.c      BatchNormalization folded into the preceding Conv/ConvTranspose
 *   onnx_finish.c  graph outputs, batch checks, parameter count, removal of unused values
 * Nothing here is visible outside core/ but through model.h, except to the unit tests.
 */
#ifndef XAI_ONNX_INTERNAL_H
#define XAI_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "onnx_subset.pb-c.h"

#define XAI_ONNX_MAX_BYTES ((size_t)2 << 30)  /* largest model file accepted: 2 GiB */
#define XAI_ONNX_MAX_NUMEL ((int64_t)1 << 29) /* elements in one constant */
#define XAI_FOLD_MAX_NUMEL ((int64_t)1 << 27) /* elements in one constant made at load */
#define XAI_FOLD_MAX_TOTAL ((int64_t)1 << 28) /* elements of all constants made at load */
/* ...and at most one element per byte of the model file (at least XAI_FOLD_MIN_TOTAL): folding
 * a constant makes at most as many elements as its float inputs hold, four bytes each, so real
 * models stay far below, while a few bytes of ConstantOfShape or Expand cannot make GiBs. */
#define XAI_FOLD_MIN_TOTAL ((int64_t)1 << 22)
#define XAI_ONNX_MAX_GRAPH_DEPTH 8 /* nesting of subgraphs in attributes */
#define XAI_ONNX_OPSET_MIN 7
#define XAI_ONNX_OPSET_MAX 18
#define XAI_NODE_MAX_IN XAI_MAX_NODE_INPUTS /* limits of the executor (model.h) */
#define XAI_NODE_MAX_OUT XAI_MAX_NODE_OUTPUTS

/* Load options; the tests substitute fake ops through find_op. */
struct xai_onnx_opts {
    const struct xai_op_def *(*find_op)(const char *op_type, int opset); /* NULL: xai_op_find */
};

xai_status xai_onnx_load(const void *buf, size_t len, const struct xai_onnx_opts *opts,
                         xai_model **out, struct xai_err *err);

/* Lower-case hex sha256 of buf (64 characters and a NUL). */
void xai_sha256_hex(const void *buf, size_t len, char out[65]);

/* Fails when attribute subgraphs nest deeper than max (protobuf-c parses recursively).
 * Malformed wire data is left for the parser to report. */
xai_status xai_onnx_check_depth(const uint8_t *buf, size_t len, int max, struct xai_err *err);

/* ---- constants and attributes (onnx_tensor.c) ---- */

/* A new constant of this type and shape, zero-filled (batch flags only when with_batch).
 * what names the constant in the error message when the shape is too large. */
xai_status xai_cst_new(enum xai_dtype dt, const struct xai_shape *shape, bool with_batch,
                       const char *what, struct xai_const **out, struct xai_err *err);
xai_status xai_cst_clone(const struct xai_const *c, const char *what, struct xai_const **out,
                         struct xai_err *err);
bool xai_cst_flag(const struct xai_const *c, int64_t k);
bool xai_cst_any_flag(const struct xai_const *c);
/* Converts a TensorProto; what ("initializer 'w'") names it in messages. */
xai_status xai_onnx_tensor(const Xonnx__TensorProto *t, const char *what, struct xai_const **out,
                           struct xai_err *err);
/* Converts an initializer, taking its data from the message where it can (little-endian
 * float raw_data becomes the constant's floats without a copy) and freeing it otherwise, so
 * that the parsed file and the constants are not all in memory at once. */
xai_status xai_onnx_tensor_take(Xonnx__TensorProto *t, const char *what, struct xai_const **out,
                                struct xai_err *err);
/* Converts a node's attributes. node/op name the node in messages. */
xai_status xai_onnx_attrs(const Xonnx__NodeProto *np, const char *node, const char *op,
                          struct xai_attr **out, int *n, struct xai_err *err);
void xai_onnx_attrs_free(struct xai_attr *a, int n);
/* Formats "node 'NAME' (OP): " followed by fmt into err and returns st. */
xai_status xai_node_fail(const char *node, const char *op, struct xai_err *err, xai_status st,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- the import state ---- */

/* One ONNX node as read from the graph. */
struct imp_node {
    const Xonnx__NodeProto *np;
    char *name;     /* the node's name, or OP_<index> when it has none */
    const char *op; /* op_type */
    int n_in, n_out;
    int *in, *out;     /* value indices; -1 for an omitted ("") input or output */
    bool conv_pending; /* a Conv whose instantiation waits for the BatchNormalization after it */
};

/* A name table (open addressing) from value names to value indices. */
struct name_table {
    int *slot; /* value index + 1; 0 for empty */
    size_t cap;
    size_t used;
};

struct imp {
    const struct xai_onnx_opts *opts;
    const Xonnx__GraphProto *g;
    int opset;
    xai_model *m; /* owns the values and the runtime nodes built so far */
    int cap_values, cap_nodes;
    /* per value, import only (cap_values entries each) */
    struct xai_shape *shape2; /* shape at batch 2 (dynamic models) */
    int *alias;               /* value this one stands for (Identity, Dropout), else -1 */
    int *uses;                /* node inputs and graph outputs naming the value */
    int *consumer;            /* a node (index into nodes) that reads it, else -1 */
    int *gprod;               /* node (index into nodes) that outputs it, else -1 */
    bool *defined;            /* known: input, constant, alias or output of a built node */
    struct name_table names;
    int n_nodes;
    struct imp_node *nodes;
    int *order;     /* topological order of nodes */
    bool dynamic;   /* shapes are tracked at batch 1 and 2 */
    bool fell_back; /* a node failed at batch 2: the model runs at batch 1 only */
    int64_t batch1; /* batch size of the first shape pass: 1, or the fixed batch */
    int64_t made;   /* elements of the constants made at load so far */
    int64_t budget; /* elements they may total (XAI_FOLD_MIN_TOTAL..XAI_FOLD_MAX_TOTAL) */
    struct xai_err *err;
};

/* onnx_graph.c */
xai_status xai_imp_build_values(struct imp *im);
/* Adds a value (takes name); returns its index or -1 when out of memory. */
int xai_imp_add_value(struct imp *im, char *name);
/* A fresh value name "BASE_SUFFIX[_N]" not used yet (malloc'd, NULL when out of memory). */
char *xai_imp_unique_name(struct imp *im, const char *base, const char *suffix);
int xai_imp_find(const struct imp *im, const char *name);
int xai_imp_resolve(const struct imp *im, int v);
void xai_imp_free(struct imp *im);
/* Sets value v to constant c (taking it). */
void xai_imp_set_const(struct imp *im, int v, struct xai_const *c);

/* onnx_topo.c */
xai_status xai_imp_toposort(struct imp *im);

/* onnx_nodes.c */
xai_status xai_imp_run_nodes(struct imp *im);
xai_status xai_imp_instantiate(struct imp *im, struct imp_node *n, const struct xai_op_def *d);
/* The generic path for a node that is not dropped, a Constant or a folded BatchNorm. */
xai_status xai_imp_generic(struct imp *im, struct imp_node *n);
const struct xai_op_def *xai_imp_find_op(const struct imp *im, const char *op);
/* Counts a constant made at load against XAI_FOLD_MAX_TOTAL. */
xai_status xai_imp_budget(struct imp *im, const struct xai_const *c);
/* TOO_LARGE naming the budget (for a constant refused before it is made). */
xai_status xai_imp_budget_fail(const struct imp *im);

/* onnx_bn.c */
xai_status xai_imp_batchnorm(struct imp *im, struct imp_node *bn);
/* True for a Conv/ConvTranspose with constant weights whose only consumer is a BatchNorm. */
bool xai_imp_bn_candidate(const struct imp *im, const struct imp_node *n);
/* Folds y = (conv(x) - mean) / sqrt(var + eps) * scale + beta into a convolution's weights.
 * w has shape wshape: [M, C/g, k...] for Conv, [C, M/g, k...] for ConvTranspose (transpose).
 * bias (M floats, initialised by the caller, zeros when the conv had none) is rewritten too. */
xai_status xai_bn_fold_weights(float *w, const struct xai_shape *wshape, bool transpose,
                               int64_t group, float *bias, const float *scale, const float *beta,
                               const float *mean, const float *var, float eps, struct xai_err *err);

/* onnx_finish.c */
xai_status xai_imp_finish(struct imp *im);

/* ---- constant folding (onnx_fold.c, onnx_fold_math.c) ---- */

struct xai_fold {
    const struct xai_node_def *nd; /* in_const is non-NULL for every present input but Shape's */
    const struct xai_shape *in_shape2; /* shapes at batch 2, when dynamic */
    bool dynamic;
    struct xai_const *out; /* the folded output */
    int64_t room;          /* elements the output may have within the load's budget */
};

typedef xai_status (*xai_fold_fn)(struct xai_fold *f, struct xai_err *err);
/* The folding function for an op type, or NULL when the importer does not fold it; *flags
 * gets the inputs that may carry batch flags (flags elsewhere: not folded). */
xai_fold_fn xai_fold_find(const char *op_type, unsigned *flags);
xai_fold_fn xai_fold_find_math(const char *op_type, unsigned *flags);
/* Fails naming the node. */
xai_status xai_fold_fail(const struct xai_fold *f, struct xai_err *err, xai_status st,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reads int64 input idx (no batch flags allowed) into out (max values). */
xai_status xai_fold_ints(const struct xai_fold *f, int idx, int64_t *out, int max, int *n,
                         struct xai_err *err);
/* Copies element si of src to element di of dst (same dtype), with its batch flag. */
void xai_cst_copy_elem(struct xai_const *dst, int64_t di, const struct xai_const *src, int64_t si);
/* offs[k] = base + sum_d index_d(k) * stride[d] for every element k of shape s. */
void xai_strided_offsets(const struct xai_shape *s, const int64_t *stride, int64_t base,
                         int64_t *offs);
/* A copy of src with shape 'shape' whose element k is src element offs[k] (offs NULL: k). */
/* TOO_LARGE when an output of n elements does not fit in what is left of the load's budget. */
xai_status xai_fold_room(const struct xai_fold *f, int64_t n, struct xai_err *err);
xai_status xai_fold_take(struct xai_fold *f, const struct xai_const *src,
                         const struct xai_shape *shape, const int64_t *offs, struct xai_err *err);

#endif
