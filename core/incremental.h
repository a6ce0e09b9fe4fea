/*
 * incremental.h - incremental inference: one model run on many copies of an image, each of
 * which differs from the image only inside a small box (occlusion's windows), recomputing every
 * layer only where it can differ from the image's own run. After Nakandala, Kumar and
 * Papakonstantinou, "Incremental and Approximate Inference for Faster Occlusion-based Deep CNN
 * Explanations" (SIGMOD 2019).
 *
 * Boxes. A change inside box B of an op's input reaches only B's projective field in its
 * output: for a sliding window (kernel k, stride s, dilation d, begin pad p; op.h: window) the
 * output positions whose window meets B, along each axis [a, b) -> [ceil((a + p - e + 1) / s),
 * floor((b - 1 + p) / s) + 1) with e = (k - 1) d + 1, clipped to the map; for pointwise ops
 * (element-wise, BatchNormalization, Concat on channels; op.h: pointwise) the bounding box of
 * the inputs' boxes. xai_incr_new works out the box of every value for every window position
 * once, per axis (boxes are products of intervals and every rule acts on each axis alone).
 *
 * Values. A BOX value stores, for each copy of a batch, only its box: [n, C, bh, bw], the
 * boxes of one batch widened to the same size (bh, bw) inside the map (the widened part is
 * recomputed from unchanged inputs, so it equals the clean value). Outside its box a copy
 * equals the clean run's value, which the session keeps. A FULL value is stored whole,
 * [n, ...]. A node runs
 *   - on crops (its output BOX) when it is a window op on a BOX input with constant other
 *     inputs: the input window of the output box, with its halo, is gathered from the clean
 *     value overlaid with each copy's box and padded explicitly beyond the map's borders
 *     (w.pad), and the op's own forward runs on it with unpadded params; or a pointwise op on
 *     BOX inputs: each input is cropped to the output box (or used as it is when its boxes are
 *     the output's), constants whole;
 *   - whole (its outputs FULL) otherwise: any other op (global pooling, Flatten, Gemm, Pad,
 *     Resize, ...), any input FULL, or an output box covering at least full_frac of its map.
 *     BOX inputs are then materialised (clean + box) for the n copies.
 * So models run incrementally up to their first non-spatial op, and fall back to plain batched
 * inference after it; results equal full recomputation up to float rounding (an op may sum in
 * another order on a crop than on the whole map).
 *
 * Approximate mode (field < 1): Nakandala et al.'s projective field thresholding. Every box
 * side longer than field x its map's side is cut to that length around its centre; changes
 * outside are dropped, so later layers see the clean values there. Fewer values reach the
 * whole-map threshold and more of the network runs on crops; the scores are no longer exact.
 *
 * Threads: the ops run on the session's threads (xai_session_set_threads), with the same
 * results as on one thread.
 *
 * Memory: the clean run keeps every BOX value the runs read (in the session); a batch's
 * buffers (boxes, FULL values, gathered crops) are planned by lifetime in one arena at
 * xai_incr_new, for max_batch copies.
 */
#ifndef XAI_INCREMENTAL_H
#define XAI_INCREMENTAL_H

#include "session.h"

typedef struct xai_incr xai_incr;

/* The boxes a run may change: bh x bw pixels of the input at rows ys[0..ny) x columns
 * xs[0..nx) (each box inside the input). */
struct xai_incr_grid {
    int bh, bw;
    int ny, nx;
    const int *ys, *xs;
};

struct xai_incr_opts {
    double full_frac; /* a box covering this fraction of its map runs whole; 0: default (0.8) */
    double field;     /* projective field threshold in (0, 1]; 0 or 1: exact */
};

/* Plans the runs, then runs x ([1, C, H, W]) through session s, which keeps what the runs read
 * and must not run again until xai_incr_free. value: the value each run returns (e.g. the
 * logits). Copies per run: at most max_batch. */
xai_status xai_incr_new(xai_session *s, const struct xai_tensor *x, int value,
                        const struct xai_incr_grid *g, const struct xai_incr_opts *o, int max_batch,
                        xai_incr **out, struct xai_err *err);
void xai_incr_free(xai_incr *inc);

/* The clean run's value (batch 1). */
const struct xai_tensor *xai_incr_clean(const xai_incr *inc);

/* Runs n copies of x (1 <= n <= max_batch): copy i holds patch + i * C * bh * bw ([C, bh, bw])
 * in the box at rows from ys[iy[i]], columns from xs[ix[i]]. *out: the value for the n copies,
 * [n, ...], valid until the next run. */
xai_status xai_incr_run(xai_incr *inc, int n, const int *iy, const int *ix, const float *patch,
                        const struct xai_tensor **out, struct xai_err *err);

/* Multiply-accumulates of the runs so far, and of the same copies run whole. */
void xai_incr_macs(const xai_incr *inc, double *done, double *whole);

/* For tests: the number of nodes that run on crops. */
int xai_incr_box_nodes(const xai_incr *inc);

#endif
