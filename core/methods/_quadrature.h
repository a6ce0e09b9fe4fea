/*
 * _quadrature.h - the quadrature rules of integrated gradients over alpha in [0, 1], as Captum
 * names them (captum/attr/_utils/approximation_methods.py): n nodes alpha_k with weights w_k,
 * integral_0^1 f(a) da ~ sum_k w_k f(alpha_k).
 *
 *   gausslegendre      Gauss-Legendre nodes and weights mapped from [-1, 1] to [0, 1]
 *                      (alpha = (1 + t) / 2, w = w_t / 2; numpy.polynomial.legendre.leggauss),
 *                      ascending; exact for polynomials of degree 2n - 1.
 *   riemann_left       alpha_k = k / n,             w_k = 1 / n     (k = 0..n-1)
 *   riemann_right      alpha_k = (k + 1) / n,       w_k = 1 / n
 *   riemann_middle     alpha_k = (k + 1/2) / n,     w_k = 1 / n
 *   riemann_trapezoid  alpha_k = k / (n - 1),       w_k = 1 / (n - 1), halved at both ends.
 *
 * The trapezoid weights differ from Captum's on purpose: Captum uses Captum's alphas (spacing
 * 1/(n-1)) with step sizes 1/n halved at the ends, which sum to (n-1)/n, so its trapezoid rule
 * scales every attribution by (n-1)/n and does not integrate even a constant gradient exactly.
 * Here every rule's weights sum to 1. Riemann rules need n >= 2, Gauss-Legendre n >= 1.
 */
#ifndef XAI_METHODS_QUADRATURE_H
#define XAI_METHODS_QUADRATURE_H

#include "status.h"

enum xai_quad_rule {
    XAI_QUAD_GAUSS_LEGENDRE,
    XAI_QUAD_RIEMANN_LEFT,
    XAI_QUAD_RIEMANN_RIGHT,
    XAI_QUAD_RIEMANN_MIDDLE,
    XAI_QUAD_RIEMANN_TRAPEZOID,
};

/* The rules' names in enum order, NULL-terminated (a parameter's choices). */
extern const char *const xai_quad_rule_names[];

/* Writes n nodes (alpha) and weights (w); INVALID_ARGUMENT for an unknown rule or a too small
 * n. */
xai_status xai_quadrature(enum xai_quad_rule rule, int n, double *alpha, double *w,
                          struct xai_err *err);

#endif
