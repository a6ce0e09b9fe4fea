/*
 * inspect.h - looking inside a model rather than at one prediction.
 *
 * Four views, one file each, all on the model grid (api/ maps them back onto images and
 * encodes them; nothing here knows HTTP or JSON):
 *
 *   filters   inspect_filters.c   the learned kernels of a convolution, as a tiled picture
 *   features  inspect_features.c  a layer's activation maps for one image: the top-k channels
 *                                 by mean activation, and the fraction of dead (all-zero) maps
 *   maximize  inspect_maximize.c  class maximisation (Simonyan et al. 2014): the input that
 *                                 maximises S_c(I) - lambda ||I||^2, by gradient ascent
 *   embed     inspect_embed.c     a layer's feature vectors for a batch of images, projected
 *                                 to 2-D by PCA (pca.c, LAPACK) or t-SNE (tsne.c)
 *
 * Pictures: tile.c lays out small planes as a grid (each tile min-max scaled), plot.c draws
 * scatter plots and legends with the bitmap font of font.c.
 */
#ifndef XAI_INSPECT_H
#define XAI_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "method.h"
#include "render.h"
#include "session.h"

/* ---- pictures: 8-bit pixels, rows packed (1 gray or 3 RGB channels) ---- */

struct xai_grid {
    uint8_t *pixels;
    int width, height, channels;
};
void xai_grid_reset(struct xai_grid *g);

#define XAI_GRID_MAX_PIXELS (4096 * 4096) /* largest tiled picture */
#define XAI_GRID_MAX_ZOOM 32

/* Lays out n tiles (n x c x h x w floats, c 1 or 3) in rows of cols tiles, each tile min-max
 * scaled on its own (a constant tile is mid-gray), enlarged zoom times (nearest neighbour),
 * with a 1-pixel dark gap. One-channel tiles are gray, or coloured by cmap when cmap >= 0;
 * three-channel tiles are RGB. TOO_LARGE when the picture would exceed XAI_GRID_MAX_PIXELS. */
xai_status xai_tile_grid(const float *tiles, int n, int c, int h, int w, int cols, int zoom,
                         int cmap, struct xai_grid *out, struct xai_err *err);

/* ---- filters ---- */

struct xai_filters {
    int node;                  /* the Conv node */
    int out_ch, in_ch, kh, kw; /* weight [out_ch, in_ch, kh, kw] (in_ch per group) */
    const float *weights;      /* the model's, BatchNorm folded in (not owned) */
};

/* The convolution named by name: its output tensor, node or weight name; NULL: the first Conv
 * of the graph. NOT_FOUND for an unknown name or a model without convolutions,
 * INVALID_ARGUMENT for a name that is not a 2-D convolution with a constant weight. */
xai_status xai_filters_find(const xai_model *m, const char *name, struct xai_filters *out,
                            struct xai_err *err);
/* The kernels as a tiled picture: one RGB tile per output channel when the kernel has three
 * input channels, else one gray tile per (output, input) pair, a row per output channel (a
 * square grid when there is one input channel). */
xai_status xai_filters_grid(const struct xai_filters *f, int zoom, struct xai_grid *out,
                            struct xai_err *err);

/* ---- features ---- */

#define XAI_FEATURES_MAX_K 1024

struct xai_features {
    int channels, height, width; /* of the layer, batch 1 */
    int k;                       /* channels returned */
    int *index;                  /* their indices, by mean activation (descending, ties: lower) */
    float *mean;                 /* their mean activations */
    float *maps;                 /* k x height x width activations */
    int dead;                    /* channels whose map is zero everywhere */
};

/* Forward pass of input ([1, C, H, W]) keeping layer (a value index of a 4-D activation);
 * the top_k channels (at most the layer's channels) by mean activation. */
xai_status xai_features_run(xai_session *s, const struct xai_tensor *input, int layer, int top_k,
                            struct xai_features *out, struct xai_err *err);
void xai_features_reset(struct xai_features *f);

/* ---- class maximisation ---- */

#define XAI_MAXIMIZE_MAX_STEPS 2000

struct xai_maximize_opts {
    int steps;         /* gradient ascent steps */
    double lr;         /* step size, in input units per pixel (RMS) */
    double l2;         /* lambda of the L2 penalty */
    double blur_sigma; /* Gaussian blur every blur_every steps (0: never) */
    int blur_every;
    int jitter;      /* random shift of up to jitter pixels before each gradient (0: none) */
    double init_std; /* the start: Gaussian noise of this deviation around 0 */
    uint64_t seed;
};

/* steps 100, lr 0.01, l2 0.01, no blur (every 4 steps when set), no jitter, init_std 0.01. */
void xai_maximize_opts_default(struct xai_maximize_opts *o);

struct xai_maximize_result {
    float *image; /* C x H x W, the model input that was found */
    int steps;
    float *score;     /* steps + 1 values: S_c at each iterate (score[0] at the start) */
    float *objective; /* steps + 1 values: S_c - lambda ||I||^2 */
};

/* Gradient ascent on the target logit of req->target from seeded noise, in the model's input
 * space, every iterate clamped to [mm->input_lo, mm->input_hi]. req->input gives the shape
 * ([1, C, H, W]) only. */
xai_status xai_maximize_run(const struct xai_method_req *req, const struct xai_maximize_opts *o,
                            struct xai_maximize_result *out, struct xai_err *err);
void xai_maximize_result_reset(struct xai_maximize_result *r);

/* ---- embeddings ---- */

#define XAI_EMBED_MIN_IMAGES 2
#define XAI_EMBED_MAX_IMAGES 2000
#define XAI_EMBED_MAX_FLOATS (1 << 25) /* images x feature dimension */
/* images x multiply-adds per image: an embedding must fit the server's default 30 s deadline
 * on a 2-core machine (the demo model: 2000 images are 1e11) */
#define XAI_EMBED_MAX_MACS 1e12

/* The default embedding layer: the input of the linear layer (Gemm or MatMul) that computes
 * output, or -1. */
int xai_embed_default_layer(const xai_model *m, int output);

/* Runs n inputs (n x item floats at x; item the numel of one [C, H, W]) in batches of at most
 * max_batch, writing each one's flattened layer value to feat (n x dim floats, dim the layer's
 * numel per item) and its output (n x classes) to logits when not NULL. */
xai_status xai_embed_features(xai_session *s, const struct xai_shape *item, const float *x, int n,
                              int layer, int output, int max_batch, float *feat, float *logits,
                              struct xai_err *err);

/* Mean fraction, over the n points (rows of y, d dimensions), of each point's k nearest
 * neighbours (Euclidean, itself excluded, ties by index) that share its label. */
double xai_knn_agreement(const float *y, int n, int d, const int *labels, int k);

#endif
