/* _ridge.c - weighted ridge regression for LIME; see _ridge.h. */
#include "_ridge.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* In-place Cholesky of the lower triangle of a (k x k, row-major); 0 unless not positive
 * definite. */
static int cholesky(double *a, int k)
{
    for (int j = 0; j < k; j++) {
        double d = a[(int64_t)j * k + j];
        for (int t = 0; t < j; t++) d -= a[(int64_t)j * k + t] * a[(int64_t)j * k + t];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        a[(int64_t)j * k + j] = d;
        for (int i = j + 1; i < k; i++) {
            double s = a[(int64_t)i * k + j];
            for (int t = 0; t < j; t++) s -= a[(int64_t)i * k + t] * a[(int64_t)j * k + t];
            a[(int64_t)i * k + j] = s / d;
        }
    }
    return 0;
}

/* Solves L L' x = b in place (L: the lower triangle of a). */
static void cholesky_solve(const double *a, int k, double *b)
{
    for (int i = 0; i < k; i++) {
        for (int t = 0; t < i; t++) b[i] -= a[(int64_t)i * k + t] * b[t];
        b[i] /= a[(int64_t)i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) {
        for (int t = i + 1; t < k; t++) b[i] -= a[(int64_t)t * k + i] * b[t];
        b[i] /= a[(int64_t)i * k + i];
    }
}

/* Weighted means of the columns of x and of y. */
static void weighted_means(const uint8_t *x, const float *y, const double *w, int n, int k,
                           double *xm, double *ym)
{
    double sw = 0;
    memset(xm, 0, sizeof(double) * (size_t)k);
    *ym = 0;
    for (int i = 0; i < n; i++) {
        sw += w[i];
        *ym += w[i] * y[i];
        for (int j = 0; j < k; j++) xm[j] += w[i] * x[(int64_t)i * k + j];
    }
    for (int j = 0; j < k; j++) xm[j] /= sw;
    *ym /= sw;
}

static double r_squared(const uint8_t *x, const float *y, const double *w, int n, int k,
                        const double *coef, double intercept, double ym)
{
    double res = 0, tot = 0;
    for (int i = 0; i < n; i++) {
        double p = intercept;
        for (int j = 0; j < k; j++) p += coef[j] * x[(int64_t)i * k + j];
        res += w[i] * (y[i] - p) * (y[i] - p);
        tot += w[i] * (y[i] - ym) * (y[i] - ym);
    }
    return tot > 0 ? 1.0 - res / tot : 1.0;
}

xai_status xai_m_ridge(const uint8_t *x, const float *y, const double *w, int n, int k,
                       double alpha, double *coef, struct xai_ridge_fit *fit, struct xai_err *err)
{
    if (n < 1 || k < 1 || !(alpha > 0))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "ridge: needs samples, features, alpha > 0");
    double *m = malloc(sizeof(double) * (size_t)n * (size_t)k);
    double *a = malloc(sizeof(double) * (size_t)k * (size_t)k);
    double *v = malloc(sizeof(double) * (size_t)n);
    double *xm = malloc(sizeof(double) * (size_t)k);
    xai_status st = XAI_OK;
    if (!m || !a || !v || !xm) {
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the regression");
        goto done;
    }
    double ym;
    weighted_means(x, y, w, n, k, xm, &ym);
    for (int i = 0; i < n; i++) { /* rows scaled by sqrt(w): M' M = Xc' W Xc */
        double s = sqrt(w[i]);
        v[i] = s * (y[i] - ym);
        for (int j = 0; j < k; j++) m[(int64_t)i * k + j] = s * (x[(int64_t)i * k + j] - xm[j]);
    }
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, k, n, 1.0, m, k, 0.0, a, k);
    for (int j = 0; j < k; j++) a[(int64_t)j * k + j] += alpha;
    cblas_dgemv(CblasRowMajor, CblasTrans, n, k, 1.0, m, k, v, 1, 0.0, coef, 1);
    if (cholesky(a, k)) {
        st = xai_fail(err, XAI_INTERNAL, "ridge: the normal equations are not positive definite");
        goto done;
    }
    cholesky_solve(a, k, coef);
    fit->intercept = ym;
    for (int j = 0; j < k; j++) fit->intercept -= xm[j] * coef[j];
    fit->r2 = r_squared(x, y, w, n, k, coef, fit->intercept, ym);
done:
    free(m);
    free(a);
    free(v);
    free(xm);
    return st;
}
