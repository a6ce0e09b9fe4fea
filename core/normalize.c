/*
 * normalize.c - heatmap values to colormap positions t in [0,1] (contract in render.h).
 *
 * Ranges come from min/max, percentiles or the caller. Percentiles use an expected-linear
 * selection (three-way partition quickselect with a fixed pseudo-random pivot sequence, so a
 * constant map, which is common, costs one pass) on one copy of the finite values, then
 * numpy's linear interpolation between neighbouring order statistics.
 */
#include "render.h"

#include <math.h>
#include <stdlib.h>

static void swap_f(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

/* Leaves a[k] the k-th smallest, everything after it >= a[k]. */
static float select_kth(float *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    while (hi - lo > 1) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float pivot = a[lo + (size_t)((seed >> 33) % (hi - lo))];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < pivot)
                swap_f(&a[lt++], &a[i++]);
            else if (a[i] > pivot)
                swap_f(&a[i], &a[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return a[k];
    }
    return a[k];
}

/* q-th percentile (0..100) of a[0..n), n > 0, numpy 'linear'. Reorders a. */
static float percentile(float *a, size_t n, double q)
{
    double pos = q / 100.0 * (double)(n - 1);
    size_t k = (size_t)pos;
    if (k >= n - 1) return select_kth(a, n, n - 1);
    float v0 = select_kth(a, n, k), v1 = a[k + 1];
    for (size_t i = k + 2; i < n; i++)
        if (a[i] < v1) v1 = a[i];
    return (float)(v0 + (pos - (double)k) * ((double)v1 - v0));
}

/* Copies the finite values (|x| when absolute) into a new array; *m gets their count. */
static float *finite_copy(const float *map, size_t n, bool absolute, size_t *m)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    if (!a) return NULL;
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(map[i])) a[(*m)++] = absolute ? fabsf(map[i]) : map[i];
    return a;
}

static xai_status range_percentile(const float *map, size_t n, const struct xai_norm *o, float *lo,
                                   float *hi, struct xai_err *err)
{
    size_t m;
    float *a = finite_copy(map, n, o->signed_map, &m);
    if (!a) return xai_fail(err, XAI_NO_MEMORY, "normalise: out of memory for %zu values", n);
    *lo = *hi = 0.0f;
    if (m > 0 && o->signed_map) {
        *hi = percentile(a, m, 100.0 - o->outlier_perc);
        *lo = -*hi;
    } else if (m > 0) {
        *lo = percentile(a, m, o->outlier_perc);
        *hi = percentile(a, m, 100.0 - o->outlier_perc);
    }
    free(a);
    return XAI_OK;
}

static void range_minmax(const float *map, size_t n, bool signed_map, float *lo, float *hi)
{
    float mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i])) continue;
        float v = signed_map ? fabsf(map[i]) : map[i];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    if (mx < mn) mn = mx = 0.0f; /* no finite value */
    *lo = signed_map ? -mx : mn;
    *hi = mx;
}

static xai_status check_norm(const struct xai_norm *o, struct xai_err *err)
{
    if (o->mode == XAI_NORM_PERCENTILE && !(o->outlier_perc >= 0.0f && o->outlier_perc < 50.0f))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "normalise: outlier percentage %g (0 to <50 allowed)", o->outlier_perc);
    if (o->mode == XAI_NORM_ABSOLUTE && !(isfinite(o->lo) && isfinite(o->hi) && o->lo < o->hi))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "normalise: absolute range [%g, %g] needs finite lo < hi", o->lo, o->hi);
    if (o->mode != XAI_NORM_MINMAX && o->mode != XAI_NORM_PERCENTILE &&
        o->mode != XAI_NORM_ABSOLUTE)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "normalise: unknown mode %d", (int)o->mode);
    return XAI_OK;
}

xai_status xai_norm_range(const float *map, size_t n, const struct xai_norm *o, float *lo,
                          float *hi, struct xai_err *err)
{
    xai_status st = check_norm(o, err);
    if (st != XAI_OK) return st;
    if (o->mode == XAI_NORM_PERCENTILE) return range_percentile(map, n, o, lo, hi, err);
    if (o->mode == XAI_NORM_MINMAX) {
        range_minmax(map, n, o->signed_map, lo, hi);
        return XAI_OK;
    }
    float r = fmaxf(fabsf(o->lo), fabsf(o->hi));
    *lo = o->signed_map ? -r : o->lo;
    *hi = o->signed_map ? r : o->hi;
    return XAI_OK;
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void xai_norm_apply(const float *map, size_t n, float lo, float hi, bool signed_map, float *t)
{
    double width = (double)hi - lo;
    for (size_t i = 0; i < n; i++) {
        float v = map[i];
        if (!isfinite(v) || !(width > 0.0) || (signed_map && !(hi > 0.0f)))
            t[i] = signed_map ? 0.5f : 0.0f;
        else if (signed_map)
            t[i] = 0.5f + 0.5f * clampf((float)(v / (double)hi), -1.0f, 1.0f);
        else
            t[i] = clampf((float)((v - (double)lo) / width), 0.0f, 1.0f);
    }
}

xai_status xai_normalize(const float *map, size_t n, const struct xai_norm *o, float *t,
                         struct xai_err *err)
{
    float lo, hi;
    xai_status st = xai_norm_range(map, n, o, &lo, &hi, err);
    if (st == XAI_OK) xai_norm_apply(map, n, lo, hi, o->signed_map, t);
    return st;
}
