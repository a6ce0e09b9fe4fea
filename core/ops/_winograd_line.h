/*
 * _winograd_line.h - what the transforms of _winograd_rows.c and _winograd2_rows.c share:
 * how they are compiled, and the line helpers both use. Internal to those two files.
 */
#ifndef XAI_OPS_WINOGRAD_LINE_H
#define XAI_OPS_WINOGRAD_LINE_H

#include <stdint.h>
#include <string.h>

/* The transforms are compiled for AVX-512 and AVX2 too, picked at load by the CPU (GCC's
 * function multi-versioning): wider vectors, the same operations in the same order (no
 * contraction into FMA in ISO C mode), so the same numbers on any of them. The helpers are
 * inlined into each version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
/* (not in sanitizer builds: their runtime is not up yet when the loader runs the resolvers) */
#define ROW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ROW_CLONES
#endif
#define HELPER static inline __attribute__((always_inline))

/* row[q] = src[q - pw] where that is inside [0, w), else 0; q < n. */
HELPER void pad_line(const float *src, int64_t w, int64_t pw, int64_t n, float *row)
{
    int64_t lo = pw < 0 ? 0 : pw > n ? n : pw, hi = w + pw < lo ? lo : w + pw > n ? n : w + pw;
    memset(row, 0, sizeof(float) * (size_t)lo);
    if (hi > lo) memcpy(row + lo, src + lo - pw, sizeof(float) * (size_t)(hi - lo));
    memset(row + hi, 0, sizeof(float) * (size_t)(n - hi));
}

/* y[k] += x[k]. */
HELPER void add_to(int64_t n, const float *restrict x, float *restrict y)
{
    for (int64_t k = 0; k < n; k++) y[k] += x[k];
}

#endif
