/* _util.h - small helpers shared by op files (not an op: names starting with '_' are skipped
 * by the registry generator). */
#ifndef XAI_OPS_UTIL_H
#define XAI_OPS_UTIL_H

#include "op.h"

/* init for ops without attributes or constant inputs. */
xai_status xai_op_init_none(const struct xai_node_def *nd, void **params, struct xai_err *err);
/* No parameters; BAD_MODEL unless inputs 0 and 1 are given, and nothing more (MatMul). */
xai_status xai_op_init_two(const struct xai_node_def *nd, void **params, struct xai_err *err);
/* infer for ops whose single output has the shape of input 0. */
xai_status xai_op_infer_same(const void *p, const struct xai_shape *in, int n_in,
                             struct xai_shape *out, int n_out, int64_t batch, struct xai_err *err);
/* pointwise for ops whose output (y, x) reads input 0 at (y, x) and any other input whole
 * (element-wise unary ops, BatchNormalization). */
bool xai_op_pointwise_yes(const void *p, const struct xai_shape *in, int n_in,
                          const struct xai_shape *out);

/* Elements per item of the parallel loops of memory-bound ops (xai_par_range). */
#define XAI_PAR_ELEMS 16384

/* fn(ctx, lo, hi) over [0, n) in pieces of `piece` (the last one shorter), on the run's
 * threads (par.h: a fixed split, so the same numbers whatever the thread count). */
typedef void (*xai_range_fn)(void *ctx, int64_t lo, int64_t hi);
void xai_par_range(xai_par *par, int64_t n, int64_t piece, xai_range_fn fn, void *ctx);
/* Pieces of about XAI_PAR_ELEMS elements for items of `each` elements (at least one item). */
int64_t xai_par_piece(int64_t each);

/* Backward through a fused Relu (op.h: xai_op_run.relu) for ops that read dY plainly: masks
 * gout[0] in place where out[0] (the Relu's output) is not > 0, on the run's threads. */
void xai_op_mask_relu(const struct xai_op_run *r);

#endif
