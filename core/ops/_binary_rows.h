/*
 * _binary_rows.h - row kernels of one binary op, instantiated inside the op's file.
 *
 * Before including it, the op file defines three static inline element functions:
 *   float bin_f(float a, float b)            the output
 *   float bin_da(float a, float b, float g)  g * d(output)/da
 *   float bin_db(float a, float b, float g)  g * d(output)/db
 * and gets `bin_rows`, a struct xai_binary_rows to pass to xai_binary_forward/backward.
 * Each loop is specialised on which operand is broadcast so that the common cases (same shape,
 * per-channel or scalar operand) compile to plain vectorisable loops.
 */
#ifndef XAI_OPS_BINARY_ROWS_H
#define XAI_OPS_BINARY_ROWS_H

#include "_binary.h"

static void bin_fwd_row(const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n)
{
    const float a0 = a[0], b0 = b[0];
    if (sa && sb)
        for (int64_t i = 0; i < n; i++) y[i] = bin_f(a[i], b[i]);
    else if (sa)
        for (int64_t i = 0; i < n; i++) y[i] = bin_f(a[i], b0);
    else if (sb)
        for (int64_t i = 0; i < n; i++) y[i] = bin_f(a0, b[i]);
    else
        for (int64_t i = 0; i < n; i++) y[i] = bin_f(a0, b0);
}

static void bin_grad_a_row(const float *gy, const float *a, int64_t sa, const float *b, int64_t sb,
                           float *g, int64_t n)
{
    const float a0 = a[0], b0 = b[0];
    if (!sa) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += bin_da(a0, b[i * sb], gy[i]);
        g[0] += (float)s;
    } else if (sb) {
        for (int64_t i = 0; i < n; i++) g[i] += bin_da(a[i], b[i], gy[i]);
    } else {
        for (int64_t i = 0; i < n; i++) g[i] += bin_da(a[i], b0, gy[i]);
    }
}

static void bin_grad_b_row(const float *gy, const float *a, int64_t sa, const float *b, int64_t sb,
                           float *g, int64_t n)
{
    const float a0 = a[0], b0 = b[0];
    if (!sb) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += bin_db(a[i * sa], b0, gy[i]);
        g[0] += (float)s;
    } else if (sa) {
        for (int64_t i = 0; i < n; i++) g[i] += bin_db(a[i], b[i], gy[i]);
    } else {
        for (int64_t i = 0; i < n; i++) g[i] += bin_db(a0, b[i], gy[i]);
    }
}

static const struct xai_binary_rows bin_rows = {bin_fwd_row, bin_grad_a_row, bin_grad_b_row};

#endif
