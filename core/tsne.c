/*
 * tsne.c - t-SNE to two dimensions, exact or Barnes-Hut; the recipe is in project.h.
 *
 * Layout: affinities (exact: dense n x n; Barnes-Hut: sparse, rows of the k nearest neighbours
 * symmetrised into CSR form), then the same gradient descent for both, with the gradient from
 * exact_gradient() or bh_gradient() (a quadtree rebuilt every iteration).
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tsne_bh.h"
#include "project.h"
#include "session.h"

#define EXAGGERATION 12.0
#define EXPLORATION_ITERS 250
#define PCA_DIMS 50

void xai_tsne_opts_default(struct xai_tsne_opts *o)
{
    *o = (struct xai_tsne_opts){30.0, 1000, XAI_TSNE_AUTO, XAI_TSNE_INIT_PCA, 0.5, 0, 0};
}

/* ---- affinities ---- */

/* Bisection on the precision beta of one row of squared distances d (m of them) so that the
 * entropy of p (written, summing to 1) is log(perplexity). */
static void row_affinities(const double *d, int m, double perplexity, double *p)
{
    double beta = 1.0, lo = -INFINITY, hi = INFINITY, want = log(perplexity);
    for (int it = 0; it < 100; it++) {
        double sum = 0, dsum = 0;
        for (int j = 0; j < m; j++) {
            p[j] = exp(-d[j] * beta);
            sum += p[j];
        }
        if (sum == 0) sum = 1e-8;
        for (int j = 0; j < m; j++) dsum += d[j] * p[j];
        double h = log(sum) + beta * dsum / sum, diff = h - want;
        for (int j = 0; j < m; j++) p[j] /= sum;
        if (fabs(diff) <= 1e-5) break;
        if (diff > 0) {
            lo = beta;
            beta = isinf(hi) ? beta * 2 : (beta + hi) / 2;
        } else {
            hi = beta;
            beta = isinf(lo) ? beta / 2 : (beta + lo) / 2;
        }
    }
}

static double sqdist(const float *a, const float *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++) {
        double t = (double)a[k] - b[k];
        s += t * t;
    }
    return s;
}

/* Dense symmetric P (n x n). */
static xai_status exact_affinities(const float *x, int n, int d, double perp, double *P,
                                   struct xai_err *err)
{
    double *row = malloc(sizeof(double) * (size_t)n), *p = malloc(sizeof(double) * (size_t)n);
    if (!row || !p) {
        free(row);
        free(p);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    }
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++)
            if (j != i) row[m++] = sqdist(x + (int64_t)i * d, x + (int64_t)j * d, d);
        row_affinities(row, m, perp, p);
        for (int j = 0, q = 0; j < n; j++) P[(int64_t)i * n + j] = j == i ? 0 : p[q++];
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double v = (P[(int64_t)i * n + j] + P[(int64_t)j * n + i]) / (2.0 * n);
            P[(int64_t)i * n + j] = P[(int64_t)j * n + i] = v;
        }
    free(row);
    free(p);
    return XAI_OK;
}

struct nb {
    double d;
    int j;
};

static int nb_cmp(const void *pa, const void *pb)
{
    const struct nb *a = pa, *b = pb;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    return a->j - b->j;
}

struct triplet {
    int i, j;
    double v;
};

static int trip_cmp(const void *pa, const void *pb)
{
    const struct triplet *a = pa, *b = pb;
    if (a->i != b->i) return a->i - b->i;
    return a->j - b->j;
}

/* Conditional affinities over each point's k nearest neighbours, as triplets (both (i,j) and
 * (j,i) for the symmetrisation). */
static xai_status knn_triplets(const float *x, int n, int d, int k, double perp, struct triplet *t,
                               struct xai_err *err)
{
    struct nb *all = malloc(sizeof *all * (size_t)n);
    double *dist = malloc(sizeof(double) * (size_t)k), *p = malloc(sizeof(double) * (size_t)k);
    xai_status st =
        all && dist && p ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    for (int i = 0; !st && i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++)
            if (j != i)
                all[m++] = (struct nb){sqdist(x + (int64_t)i * d, x + (int64_t)j * d, d), j};
        qsort(all, (size_t)m, sizeof *all, nb_cmp);
        for (int q = 0; q < k; q++) dist[q] = all[q].d;
        row_affinities(dist, k, perp, p);
        for (int q = 0; q < k; q++) {
            t[2 * ((int64_t)i * k + q)] = (struct triplet){i, all[q].j, p[q]};
            t[2 * ((int64_t)i * k + q) + 1] = (struct triplet){all[q].j, i, p[q]};
        }
    }
    free(all);
    free(dist);
    free(p);
    return st;
}

/* Sparse symmetric P in CSR form (row starts, columns, values). */
static xai_status sparse_affinities(const float *x, int n, int d, double perp,
                                    struct xai_tsne_sparse *P, struct xai_err *err)
{
    int k = (int)(3.0 * perp + 1);
    if (k > n - 1) k = n - 1;
    int64_t nt = 2 * (int64_t)n * k;
    struct triplet *t = malloc(sizeof *t * (size_t)nt);
    if (!t) return xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    xai_status st = knn_triplets(x, n, d, k, perp, t, err);
    P->row = calloc((size_t)n + 1, sizeof(int64_t));
    P->col = malloc(sizeof(int) * (size_t)nt);
    P->val = malloc(sizeof(double) * (size_t)nt);
    if (!st && (!P->row || !P->col || !P->val))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    if (!st) {
        qsort(t, (size_t)nt, sizeof *t, trip_cmp);
        int64_t m = 0;
        for (int64_t q = 0; q < nt; q++) {
            if (m && P->col[m - 1] == t[q].j && t[q - 1].i == t[q].i) {
                P->val[m - 1] += t[q].v;
                continue;
            }
            P->col[m] = t[q].j;
            P->val[m] = t[q].v;
            P->row[t[q].i + 1] = ++m;
        }
        for (int i = 0; i < n; i++)
            if (P->row[i + 1] < P->row[i]) P->row[i + 1] = P->row[i];
        for (int64_t q = 0; q < m; q++) P->val[q] /= 2.0 * n;
    }
    free(t);
    return st;
}

/* ---- gradients ---- */

/* Exact gradient (and, when kl is not NULL, KL(P||Q)) with P multiplied by exag. */
static void exact_gradient(const double *P, const double *y, int n, double exag, double *num,
                           double *grad, double *kl)
{
    double z = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double q = i == j ? 0 : 1.0 / (1.0 + dx * dx + dy * dy);
            num[(int64_t)i * n + j] = q;
            z += q;
        }
    double k = 0;
    for (int i = 0; i < n; i++) {
        double gx = 0, gy = 0;
        for (int j = 0; j < n; j++) {
            double q = num[(int64_t)i * n + j], p = P[(int64_t)i * n + j];
            double f = (p * exag - q / z) * q;
            gx += f * (y[2 * i] - y[2 * j]);
            gy += f * (y[2 * i + 1] - y[2 * j + 1]);
            if (kl && p > 0 && j != i) k += p * log(p / fmax(q / z, 1e-300));
        }
        grad[2 * i] = 4 * gx;
        grad[2 * i + 1] = 4 * gy;
    }
    if (kl) *kl = k;
}

/* ---- the descent ---- */

static void init_random(double *y, int n, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < 2 * n; i += 2) {
        /* splitmix64 pairs -> Box-Muller */
        uint64_t a = xai_tsne_rng(&s), b = xai_tsne_rng(&s);
        double u1 = 1.0 - (double)(a >> 11) * (1.0 / 9007199254740992.0);
        double u2 = (double)(b >> 11) * (1.0 / 9007199254740992.0);
        double r = sqrt(-2.0 * log(u1));
        y[i] = 1e-4 * r * cos(6.283185307179586 * u2);
        y[i + 1] = 1e-4 * r * sin(6.283185307179586 * u2);
    }
}

static xai_status init_pca(const float *x, int n, int d, double *y, struct xai_err *err)
{
    int k = d < 2 ? d : 2;
    float *c = malloc(sizeof(float) * (size_t)n * 2);
    if (!c) return xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    xai_status st = xai_pca(x, n, d, k, c, NULL, err);
    if (!st) {
        double m = 0, v = 0;
        for (int i = 0; i < n; i++) m += c[(int64_t)i * k];
        m /= n;
        for (int i = 0; i < n; i++) v += (c[(int64_t)i * k] - m) * (c[(int64_t)i * k] - m);
        double sd = sqrt(v / n);
        double f = sd > 0 ? 1e-4 / sd : 1.0;
        for (int i = 0; i < n; i++) {
            y[2 * i] = c[(int64_t)i * k] * f;
            y[2 * i + 1] = k > 1 ? c[(int64_t)i * k + 1] * f : 0;
        }
    }
    free(c);
    return st;
}

static void descend_step(double *y, double *grad, double *upd, double *gains, int n,
                         double momentum, double lr)
{
    for (int i = 0; i < 2 * n; i++) {
        bool inc = upd[i] * grad[i] < 0;
        gains[i] = inc ? gains[i] + 0.2 : gains[i] * 0.8;
        if (gains[i] < 0.01) gains[i] = 0.01;
        upd[i] = momentum * upd[i] - lr * gains[i] * grad[i];
        y[i] += upd[i];
    }
}

struct run {
    int n;
    bool exact;
    double *P; /* exact */
    struct xai_tsne_sparse S;
    double theta;
    double *num; /* exact: n x n scratch */
    struct xai_quadtree tree;
};

static xai_status gradient(struct run *r, const double *y, double exag, double *grad,
                           struct xai_err *err)
{
    if (r->exact) {
        exact_gradient(r->P, y, r->n, exag, r->num, grad, NULL);
        return XAI_OK;
    }
    return xai_tsne_bh_gradient(&r->S, y, r->n, exag, r->theta, &r->tree, grad, err);
}

static xai_status optimise(struct run *r, int iterations, double deadline, double *y,
                           struct xai_err *err)
{
    int n = r->n;
    double lr = fmax(n / EXAGGERATION / 4.0, 50.0);
    double *grad = calloc(2 * (size_t)n, sizeof(double));
    double *upd = calloc(2 * (size_t)n, sizeof(double));
    double *gains = malloc(sizeof(double) * 2 * (size_t)n);
    xai_status st =
        grad && upd && gains ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    for (int i = 0; !st && i < 2 * n; i++) gains[i] = 1.0;
    for (int it = 0; !st && it < iterations; it++) {
        if (deadline > 0 && it % 25 == 0 && xai_monotonic_s() > deadline) {
            st = xai_fail(err, XAI_DEADLINE_EXCEEDED, "t-SNE stopped at its deadline");
            break;
        }
        bool explore = it < EXPLORATION_ITERS;
        st = gradient(r, y, explore ? EXAGGERATION : 1.0, grad, err);
        if (!st) descend_step(y, grad, upd, gains, n, explore ? 0.5 : 0.8, lr);
    }
    free(grad);
    free(upd);
    free(gains);
    return st;
}

/* x reduced to at most PCA_DIMS dimensions (a copy either way) into *out, *dout. */
static xai_status reduce(const float *x, int n, int d, float **out, int *dout, struct xai_err *err)
{
    int k = d > PCA_DIMS ? (n < PCA_DIMS ? n : PCA_DIMS) : d;
    *dout = k;
    *out = malloc(sizeof(float) * (size_t)n * (size_t)k);
    if (!*out) return xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    if (k == d) {
        memcpy(*out, x, sizeof(float) * (size_t)n * (size_t)d);
        return XAI_OK;
    }
    return xai_pca(x, n, d, k, *out, NULL, err);
}

static xai_status check(int n, int d, const struct xai_tsne_opts *o, struct xai_err *err)
{
    if (n < 2 || d < 1) return xai_fail(err, XAI_INVALID_ARGUMENT, "t-SNE needs at least 2 points");
    if (!(o->perplexity >= 1 && o->perplexity <= XAI_TSNE_MAX_PERPLEXITY))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "perplexity must be from 1 to %g",
                        XAI_TSNE_MAX_PERPLEXITY);
    if (o->iterations < EXPLORATION_ITERS || o->iterations > XAI_TSNE_MAX_ITER)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "iterations must be from %d to %d",
                        EXPLORATION_ITERS, XAI_TSNE_MAX_ITER);
    if (!(o->theta > 0 && o->theta <= 1))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "theta must be in (0, 1]");
    return XAI_OK;
}

static void run_reset(struct run *r)
{
    free(r->P);
    free(r->num);
    free(r->S.row);
    free(r->S.col);
    free(r->S.val);
    xai_quadtree_reset(&r->tree);
}

xai_status xai_tsne(const float *x, int n, int d, const struct xai_tsne_opts *o, float *y,
                    struct xai_tsne_info *info, struct xai_err *err)
{
    xai_status st = check(n, d, o, err);
    if (st) return st;
    struct run r = {0};
    r.n = n;
    r.theta = o->theta;
    r.exact =
        o->method == XAI_TSNE_EXACT || (o->method == XAI_TSNE_AUTO && n <= XAI_TSNE_EXACT_MAX);
    double perp = fmax(1.0, fmin(o->perplexity, (n - 1) / 3.0));
    float *xr = NULL;
    int dr = 0;
    double *yd = malloc(sizeof(double) * 2 * (size_t)n);
    if (!yd) return xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    st = reduce(x, n, d, &xr, &dr, err);
    if (!st && r.exact) {
        r.P = malloc(sizeof(double) * (size_t)n * (size_t)n);
        r.num = malloc(sizeof(double) * (size_t)n * (size_t)n);
        st = r.P && r.num ? exact_affinities(xr, n, dr, perp, r.P, err)
                          : xai_fail(err, XAI_NO_MEMORY, "out of memory for t-SNE");
    } else if (!st) {
        st = sparse_affinities(xr, n, dr, perp, &r.S, err);
    }
    if (!st && o->init == XAI_TSNE_INIT_PCA)
        st = init_pca(xr, n, dr, yd, err);
    else if (!st)
        init_random(yd, n, o->seed);
    if (!st) st = optimise(&r, o->iterations, o->deadline, yd, err);
    double kl = -1;
    if (!st && r.exact) {
        double *g = malloc(sizeof(double) * 2 * (size_t)n);
        if (g) exact_gradient(r.P, yd, n, 1.0, r.num, g, &kl);
        free(g);
    }
    for (int i = 0; !st && i < 2 * n; i++) y[i] = (float)yd[i];
    if (!st && info)
        *info = (struct xai_tsne_info){perp, r.exact ? XAI_TSNE_EXACT : XAI_TSNE_BARNES_HUT, kl};
    run_reset(&r);
    free(xr);
    free(yd);
    return st;
}
