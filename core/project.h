/*
 * project.h - projections of high-dimensional points (rows of an n x d float matrix) to a few
 * dimensions: PCA (pca.c) through LAPACK's symmetric eigensolver, and t-SNE (tsne.c), exact or
 * Barnes-Hut.
 *
 * PCA: the points are centred; the principal axes are the top eigenvectors of X^T X (d <= n)
 * or, equivalently, the coordinates come from the top eigenvectors of X X^T (d > n), whichever
 * matrix is smaller, computed in double precision by dsyevr (OpenBLAS ships LAPACK). The
 * coordinates are X v_i (= u_i s_i of the SVD X = U S V^T). Signs are fixed so that the
 * coordinate of largest magnitude of each component is positive.
 *
 * t-SNE (van der Maaten and Hinton 2008; Barnes-Hut: van der Maaten 2014), the usual recipe:
 *   1. points of more than 50 dimensions are reduced to 50 by PCA;
 *   2. conditional probabilities p_j|i with a Gaussian whose width is found by bisection so that
 *      the perplexity 2^H(P_i) matches the asked one, over all points (exact) or over the
 *      floor(3 * perplexity) nearest neighbours (Barnes-Hut); P = (P + P^T) / 2n;
 *   3. Student-t similarities in 2-D; gradient 4 sum_j (p_ij - q_ij)(y_i - y_j)/(1 + |y_i -
 * y_j|^2), the repulsive part by a quadtree with the Barnes-Hut criterion (cell size / distance <
 *      theta) in the Barnes-Hut variant;
 *   4. gradient descent with momentum 0.5 then 0.8 (from iteration 250), early exaggeration 12
 *      for the first 250 iterations, per-coordinate gains (+0.2 when the step changes sign,
 *      x0.8 otherwise, at least 0.01), learning rate max(n / 12 / 4, 50);
 *   5. start: the first two principal components scaled to a standard deviation of 1e-4
 *      (init pca), or Gaussian noise of deviation 1e-4 from the seed (init random).
 * t-SNE is not unique: results are compared with other implementations by how well they keep
 * neighbourhoods (trustworthiness, k-NN preservation), not coordinate by coordinate.
 */
#ifndef XAI_PROJECT_H
#define XAI_PROJECT_H

#include <stdint.h>

#include "status.h"

/* The top k principal components of x (n x d, n >= 2, 1 <= k <= min(n, d)): coords gets
 * n x k floats, explained (may be NULL) the fraction of the variance of each component. */
xai_status xai_pca(const float *x, int n, int d, int k, float *coords, double *explained,
                   struct xai_err *err);

enum xai_tsne_method { XAI_TSNE_AUTO, XAI_TSNE_EXACT, XAI_TSNE_BARNES_HUT };
enum xai_tsne_init { XAI_TSNE_INIT_PCA, XAI_TSNE_INIT_RANDOM };

#define XAI_TSNE_EXACT_MAX 500 /* AUTO runs the exact algorithm up to this many points */
#define XAI_TSNE_MAX_ITER 5000
#define XAI_TSNE_MAX_PERPLEXITY 100.0

struct xai_tsne_opts {
    double perplexity; /* lowered to (n - 1) / 3 for few points; the value used is reported */
    int iterations;    /* at least 250 (the early exaggeration phase) */
    enum xai_tsne_method method;
    enum xai_tsne_init init;
    double theta; /* Barnes-Hut accuracy (0.5) */
    uint64_t seed;
    double deadline; /* CLOCK_MONOTONIC seconds (xai_monotonic_s); 0: none. Checked every 25
                        iterations: DEADLINE_EXCEEDED past it */
};

/* perplexity 30, 1000 iterations, AUTO, PCA start, theta 0.5, seed 0, no deadline. */
void xai_tsne_opts_default(struct xai_tsne_opts *o);

struct xai_tsne_info {
    double perplexity;           /* used */
    enum xai_tsne_method method; /* used */
    double kl;                   /* KL(P || Q) at the end (exact only; -1 otherwise) */
};

/* 2-D t-SNE of x (n x d, n >= 2): y gets n x 2 floats. */
xai_status xai_tsne(const float *x, int n, int d, const struct xai_tsne_opts *o, float *y,
                    struct xai_tsne_info *info, struct xai_err *err);

#endif
