/*
 * _vec.h - small loops over float vectors written so that compilers vectorise them at -O2
 * (GCC 12's default cost model there only vectorises loops whose trip count is a known
 * multiple of the vector width, hence the fixed inner loops of 8); and the lane masks of the
 * kernels written in AVX-512 intrinsics.
 */
#ifndef XAI_OPS_VEC_H
#define XAI_OPS_VEC_H

#include <stdint.h>

/* y[k] += a * x[k], k < n; x and y must not overlap. */
static inline void xai_vec_axpy(int64_t n, float a, const float *restrict x, float *restrict y)
{
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) y[k + u] += a * x[k + u];
    for (; k < n; k++) y[k] += a * x[k];
}

/* y[k] += x[k], k < n; x and y must not overlap. */
static inline void xai_vec_add(int64_t n, const float *restrict x, float *restrict y)
{
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) y[k + u] += x[k + u];
    for (; k < n; k++) y[k] += x[k];
}

/* y[k] = a * x[k] + b, k < n; x and y may be the same array. */
static inline void xai_vec_affine(int64_t n, float a, float b, const float *x, float *y)
{
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) y[k + u] = a * x[k + u] + b;
    for (; k < n; k++) y[k] = a * x[k] + b;
}

/* y[k] = max(y[k], 0), k < n (as Relu: NaN gives 0). */
static inline void xai_vec_relu(int64_t n, float *y)
{
    for (int64_t k = 0; k < n; k++) y[k] = y[k] > 0.f ? y[k] : 0.f;
}

/* y[k] = max(a * x[k] + b, 0), k < n; x and y may be the same array. */
static inline void xai_vec_affine_relu(int64_t n, float a, float b, const float *x, float *y)
{
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) {
            float v = a * x[k + u] + b;
            y[k + u] = v > 0.f ? v : 0.f;
        }
    for (; k < n; k++) {
        float v = a * x[k] + b;
        y[k] = v > 0.f ? v : 0.f;
    }
}

/* y[k] = v, k < n. */
static inline void xai_vec_fill(int64_t n, float v, float *y)
{
    for (int64_t k = 0; k < n; k++) y[k] = v;
}

/* For the kernels written in AVX-512 intrinsics: the __mmask16 of a vector's first n lanes
 * (none for n <= 0, all 16 for n >= 16), for a row's last, partial vector. */
static inline uint16_t xai_lanes16(int64_t n)
{
    return n >= 16 ? 0xffff : n <= 0 ? 0 : (uint16_t)((1u << n) - 1);
}

#endif
