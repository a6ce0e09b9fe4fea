/*
 * tsne_bh.c - the Barnes-Hut gradient of t-SNE (van der Maaten 2014): a quadtree over the
 * current 2-D points; for each point, a cell whose side over its distance to the point is below
 * theta counts as one point of weight count at its centre of mass. Coincident points share a
 * leaf (the tree stops splitting at MAX_DEPTH or when a new point falls exactly on a leaf's).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsne_bh.h"

#define MAX_DEPTH 48

uint64_t xai_tsne_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void xai_quadtree_reset(struct xai_quadtree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

static int new_nodes(struct xai_quadtree *t, int k)
{
    if (t->n + k > t->cap) {
        int cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->n + k) cap *= 2;
        struct xai_qnode *p = realloc(t->nodes, sizeof *p * (size_t)cap);
        if (!p) return -1;
        t->nodes = p;
        t->cap = cap;
    }
    t->n += k;
    return t->n - k;
}

static int split(struct xai_quadtree *t, int idx)
{
    int base = new_nodes(t, 4);
    if (base < 0) return -1;
    struct xai_qnode *nd = &t->nodes[idx];
    double h = nd->half / 2;
    for (int q = 0; q < 4; q++)
        t->nodes[base + q] = (struct xai_qnode){
            nd->cx + (q & 1 ? h : -h), nd->cy + (q & 2 ? h : -h), h, 0, 0, 0, -1};
    /* the leaf's points (all at one place) move to the child of their quadrant */
    double px = nd->sx / nd->count, py = nd->sy / nd->count;
    struct xai_qnode *c = &t->nodes[base + (px > nd->cx) + 2 * (py > nd->cy)];
    c->sx = nd->sx;
    c->sy = nd->sy;
    c->count = nd->count;
    nd->child = base;
    return 0;
}

static int insert(struct xai_quadtree *t, double x, double y)
{
    int idx = 0;
    for (int depth = 0;; depth++) {
        struct xai_qnode *nd = &t->nodes[idx];
        if (nd->child < 0) {
            if (nd->count == 0 || depth >= MAX_DEPTH ||
                (nd->sx / nd->count == x && nd->sy / nd->count == y)) {
                nd->sx += x;
                nd->sy += y;
                nd->count++;
                return 0;
            }
            if (split(t, idx)) return -1;
            nd = &t->nodes[idx];
        }
        nd->sx += x;
        nd->sy += y;
        nd->count++;
        idx = nd->child + (x > nd->cx) + 2 * (y > nd->cy);
    }
}

static int build(struct xai_quadtree *t, const double *y, int n)
{
    double x0 = y[0], x1 = y[0], y0 = y[1], y1 = y[1];
    for (int i = 1; i < n; i++) {
        x0 = fmin(x0, y[2 * i]), x1 = fmax(x1, y[2 * i]);
        y0 = fmin(y0, y[2 * i + 1]), y1 = fmax(y1, y[2 * i + 1]);
    }
    t->n = 0;
    if (new_nodes(t, 1) < 0) return -1;
    double half = fmax(x1 - x0, y1 - y0) / 2 * (1 + 1e-6) + 1e-12;
    t->nodes[0] = (struct xai_qnode){(x0 + x1) / 2, (y0 + y1) / 2, half, 0, 0, 0, -1};
    for (int i = 0; i < n; i++)
        if (insert(t, y[2 * i], y[2 * i + 1])) return -1;
    return 0;
}

/* Repulsive forces on point (px, py): adds to z (sum of q) and fx, fy (sum of q^2 (p - y_j)). */
static void repulse(const struct xai_quadtree *t, double px, double py, double theta, double *z,
                    double *fx, double *fy)
{
    int stack[4 * MAX_DEPTH + 8], top = 0;
    stack[top++] = 0;
    while (top) {
        const struct xai_qnode *nd = &t->nodes[stack[--top]];
        if (nd->count == 0) continue;
        double mx = nd->sx / nd->count, my = nd->sy / nd->count;
        double dx = px - mx, dy = py - my, d2 = dx * dx + dy * dy;
        if (nd->child >= 0 && !(2 * nd->half < theta * sqrt(d2))) {
            for (int q = 0; q < 4; q++) stack[top++] = nd->child + q;
            continue;
        }
        if (d2 == 0 && nd->child < 0) { /* the point's own leaf: the others coincide with it */
            *z += nd->count - 1;
            continue;
        }
        double q = 1.0 / (1.0 + d2), w = nd->count * q;
        *z += w;
        *fx += w * q * dx;
        *fy += w * q * dy;
    }
}

xai_status xai_tsne_bh_gradient(const struct xai_tsne_sparse *P, const double *y, int n,
                                double exag, double theta, struct xai_quadtree *t, double *grad,
                                struct xai_err *err)
{
    if (build(t, y, n)) return xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    double z = 0;
    for (int i = 0; i < n; i++) {
        double fx = 0, fy = 0;
        repulse(t, y[2 * i], y[2 * i + 1], theta, &z, &fx, &fy);
        grad[2 * i] = -fx; /* the repulsive sum, divided by Z below */
        grad[2 * i + 1] = -fy;
    }
    for (int i = 0; i < n; i++) {
        double ax = 0, ay = 0;
        for (int64_t e = P->row[i]; e < P->row[i + 1]; e++) {
            int j = P->col[e];
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double q = 1.0 / (1.0 + dx * dx + dy * dy);
            ax += P->val[e] * exag * q * dx;
            ay += P->val[e] * exag * q * dy;
        }
        grad[2 * i] = 4 * (ax + grad[2 * i] / z);
        grad[2 * i + 1] = 4 * (ay + grad[2 * i + 1] / z);
    }
    return XAI_OK;
}
