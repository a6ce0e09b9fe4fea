/*
 * tsne_bh.h - internals of tsne.c: the sparse affinities and the Barnes-Hut gradient over a
 * quadtree (tsne_bh.c).
 */
#ifndef XAI_TSNE_BH_H
#define XAI_TSNE_BH_H

#include <stdint.h>

#include "status.h"

/* Symmetric P in CSR form: row i's entries are col/val[row[i] .. row[i+1]). */
struct xai_tsne_sparse {
    int64_t *row;
    int *col;
    double *val;
};

struct xai_qnode {
    double cx, cy, half; /* the square cell: centre and half its side */
    double sx, sy;       /* sum of the positions of its points */
    int count;
    int child; /* index of the first of 4 children, -1 for a leaf */
};

/* A quadtree reused from one iteration to the next (nodes grow, never shrink). */
struct xai_quadtree {
    struct xai_qnode *nodes;
    int n, cap;
};
void xai_quadtree_reset(struct xai_quadtree *t);

/* grad (n x 2) of KL(P||Q) with P multiplied by exag: the attractive part exactly over P's
 * entries, the repulsive part by the Barnes-Hut approximation with accuracy theta. */
xai_status xai_tsne_bh_gradient(const struct xai_tsne_sparse *P, const double *y, int n,
                                double exag, double theta, struct xai_quadtree *t, double *grad,
                                struct xai_err *err);

/* splitmix64 (the generator of core/methods/_common.h). */
uint64_t xai_tsne_rng(uint64_t *s);

#endif
