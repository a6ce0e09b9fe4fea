/*
 * pca.c - principal component analysis through LAPACK's dsyevr (OpenBLAS ships LAPACK); see
 * project.h. The eigenproblem is the smaller of X^T X (d x d) and X X^T (n x n), built with
 * dsyrk in double precision; dsyevr computes only the k eigenpairs asked for.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project.h"

/* LAPACK (Fortran calling convention, hidden string lengths last). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);

/* Top k eigenpairs of the symmetric n x n matrix a (destroyed): w gets them in ascending order,
 * z the eigenvectors (column j at z + j * n). */
static xai_status top_eigen(double *a, int n, int k, double *w, double *z, struct xai_err *err)
{
    int il = n - k + 1, iu = n, m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
    double vl = 0, vu = 0, abstol = 0, wq = 0;
    int *isuppz = malloc(sizeof(int) * 2 * (size_t)k);
    if (!isuppz) return xai_fail(err, XAI_NO_MEMORY, "out of memory for PCA");
    dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w, z, &n, isuppz, &wq,
            &lwork, &iwq, &liwork, &info, 1, 1, 1);
    lwork = (int)wq;
    liwork = iwq;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    if (work && iwork && !info)
        dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w, z, &n, isuppz, work,
                &lwork, iwork, &liwork, &info, 1, 1, 1);
    xai_status st = !work || !iwork ? xai_fail(err, XAI_NO_MEMORY, "out of memory for PCA")
                    : info || m != k
                        ? xai_fail(err, XAI_INTERNAL, "PCA: LAPACK dsyevr failed (info %d)", info)
                        : XAI_OK;
    free(isuppz);
    free(work);
    free(iwork);
    return st;
}

/* Centred copy of x in double; returns the total sum of squares. */
static double centre(const float *x, int n, int d, double *xc)
{
    double total = 0;
    for (int j = 0; j < d; j++) {
        double mean = 0;
        for (int i = 0; i < n; i++) mean += x[(int64_t)i * d + j];
        mean /= n;
        for (int i = 0; i < n; i++) {
            double v = x[(int64_t)i * d + j] - mean;
            xc[(int64_t)i * d + j] = v;
            total += v * v;
        }
    }
    return total;
}

/* Coordinates (n x k, components by decreasing eigenvalue) from the eigenvectors z of the
 * smaller matrix (size s), eigenvalues w ascending. */
static void coordinates(const double *xc, int n, int d, int k, const double *w, const double *z,
                        double *c)
{
    if (d <= n) { /* z: axes v_j (d each); c = X V */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) {
                const double *v = z + (int64_t)(k - 1 - j) * d;
                c[(int64_t)i * k + j] = cblas_ddot(d, xc + (int64_t)i * d, 1, v, 1);
            }
        return;
    }
    for (int j = 0; j < k; j++) { /* z: u_j (n each); c = u_j sqrt(lambda_j) */
        double s = sqrt(w[k - 1 - j] > 0 ? w[k - 1 - j] : 0);
        const double *u = z + (int64_t)(k - 1 - j) * n;
        for (int i = 0; i < n; i++) c[(int64_t)i * k + j] = u[i] * s;
    }
}

/* Each component's sign: its coordinate of largest magnitude is positive. */
static void fix_signs(double *c, int n, int k)
{
    for (int j = 0; j < k; j++) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (fabs(c[(int64_t)i * k + j]) > fabs(c[(int64_t)best * k + j])) best = i;
        if (c[(int64_t)best * k + j] >= 0) continue;
        for (int i = 0; i < n; i++) c[(int64_t)i * k + j] = -c[(int64_t)i * k + j];
    }
}

xai_status xai_pca(const float *x, int n, int d, int k, float *coords, double *explained,
                   struct xai_err *err)
{
    if (n < 2 || d < 1 || k < 1 || k > n || k > d)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "PCA needs at least 2 points and 1 to min(points, dimensions) components");
    int s = d <= n ? d : n;
    double *xc = malloc(sizeof(double) * (size_t)n * (size_t)d);
    double *a = malloc(sizeof(double) * (size_t)s * (size_t)s);
    double *w = malloc(sizeof(double) * (size_t)s);
    double *z = malloc(sizeof(double) * (size_t)s * (size_t)k);
    double *c = malloc(sizeof(double) * (size_t)n * (size_t)k);
    xai_status st =
        xc && a && w && z && c ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory for PCA");
    if (!st) {
        double total = centre(x, n, d, xc);
        if (d <= n) /* X^T X; the lower triangle in column-major is the upper in row-major */
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0, xc, d, 0.0, a, d);
        else
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0, xc, d, 0.0, a, n);
        st = top_eigen(a, s, k, w, z, err);
        if (!st) {
            coordinates(xc, n, d, k, w, z, c);
            fix_signs(c, n, k);
            for (int64_t i = 0; i < (int64_t)n * k; i++) coords[i] = (float)c[i];
            for (int j = 0; explained && j < k; j++)
                explained[j] = total > 0 ? w[k - 1 - j] / total : 0;
        }
    }
    free(xc);
    free(a);
    free(w);
    free(z);
    free(c);
    return st;
}
