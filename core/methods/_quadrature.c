/* _quadrature.c - integration rules for integrated gradients; see _quadrature.h. */
#include "_quadrature.h"

#include <math.h>

const char *const xai_quad_rule_names[] = {"gausslegendre",  "riemann_left",      "riemann_right",
                                           "riemann_middle", "riemann_trapezoid", NULL};

/* P_n(z) by the three-term recurrence; *dp receives P_n'(z). */
static double legendre(int n, double z, double *dp)
{
    double p0 = 1.0, p1 = z;
    if (n == 0) {
        *dp = 0.0;
        return 1.0;
    }
    for (int j = 2; j <= n; j++) {
        double p2 = ((2.0 * j - 1.0) * z * p1 - (j - 1.0) * p0) / j;
        p0 = p1;
        p1 = p2;
    }
    *dp = n * (z * p1 - p0) / (z * z - 1.0);
    return p1;
}

/* Roots of P_n by Newton's method from Tricomi's estimate, symmetric pairs, ascending. */
static void gauss_legendre(int n, double *alpha, double *w)
{
    for (int i = 0; i < (n + 1) / 2; i++) {
        double z = cos(3.14159265358979323846 * (i + 0.75) / (n + 0.5)), dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double dz = legendre(n, z, &dp) / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        legendre(n, z, &dp);
        double wt = 2.0 / ((1.0 - z * z) * dp * dp);
        alpha[i] = 0.5 * (1.0 - z);
        alpha[n - 1 - i] = 0.5 * (1.0 + z);
        w[i] = w[n - 1 - i] = 0.5 * wt;
    }
}

xai_status xai_quadrature(enum xai_quad_rule rule, int n, double *alpha, double *w,
                          struct xai_err *err)
{
    if (rule == XAI_QUAD_GAUSS_LEGENDRE) {
        if (n < 1) return xai_fail(err, XAI_INVALID_ARGUMENT, "gausslegendre needs steps >= 1");
        gauss_legendre(n, alpha, w);
        return XAI_OK;
    }
    if (rule < XAI_QUAD_RIEMANN_LEFT || rule > XAI_QUAD_RIEMANN_TRAPEZOID)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "unknown integration rule");
    if (n < 2) return xai_fail(err, XAI_INVALID_ARGUMENT, "Riemann rules need steps >= 2");
    for (int k = 0; k < n; k++) {
        double shift = rule == XAI_QUAD_RIEMANN_RIGHT    ? 1.0
                       : rule == XAI_QUAD_RIEMANN_MIDDLE ? 0.5
                                                         : 0.0;
        alpha[k] = rule == XAI_QUAD_RIEMANN_TRAPEZOID ? (double)k / (n - 1) : (k + shift) / n;
        w[k] = rule == XAI_QUAD_RIEMANN_TRAPEZOID ? 1.0 / (n - 1) : 1.0 / n;
    }
    if (rule == XAI_QUAD_RIEMANN_TRAPEZOID) w[0] = w[n - 1] = 0.5 / (n - 1);
    return XAI_OK;
}
