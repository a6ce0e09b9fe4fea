/*
 * _ridge.h - weighted ridge regression with an unpenalised intercept (LIME's surrogate), as
 * scikit-learn's Ridge(alpha).fit(X, y, sample_weight=w) defines it:
 *   x_mean = sum_i w_i x_i / sum w,  y_mean likewise,  Xc = X - x_mean,  yc = y - y_mean,
 *   coef = (Xc' W Xc + alpha I)^-1 Xc' W yc,  intercept = y_mean - x_mean . coef,
 * solved in double precision by a Cholesky factorisation (K x K, K features).
 */
#ifndef XAI_METHODS_RIDGE_H
#define XAI_METHODS_RIDGE_H

#include <stdint.h>

#include "status.h"

struct xai_ridge_fit {
    double intercept;
    double r2; /* weighted coefficient of determination on the training samples */
};

/* x: n x k (row-major, 0/1 or any values), y and w: n; coef: k. alpha > 0. */
xai_status xai_m_ridge(const uint8_t *x, const float *y, const double *w, int n, int k,
                       double alpha, double *coef, struct xai_ridge_fit *fit, struct xai_err *err);

#endif
