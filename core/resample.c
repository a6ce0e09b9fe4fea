/*
 * resample.c - separable triangle-filter resampling (see resample.h for the contract).
 *
 * Each axis gets a coefficient table once per call: for every output index the first input
 * index, the number of taps and their weights (double, normalised to sum 1). The horizontal pass
 * runs over only the input rows the vertical pass reads, into one intermediate image; the
 * vertical pass accumulates each output row in a double row buffer. Callers: preprocess.c (model
 * input), geometry.c (heatmap back to the original image).
 */
#include "resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct coeffs {
    int taps;   /* stride of w: the most taps any output index has */
    int *first; /* first input index read by output i */
    int *count; /* taps of output i; 0 when its centre falls outside the input window */
    double *w;  /* weights, n * taps */
};

static void coeffs_free(struct coeffs *k)
{
    free(k->first);
    free(k->count);
    free(k->w);
    memset(k, 0, sizeof *k);
}

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static int max_taps(const struct xai_resample_axis *a)
{
    double support = a->scale > 1.0 ? a->scale : 1.0;
    double taps = ceil(2.0 * support) + 1.0;
    int window = a->hi - a->lo;
    return taps < (double)window ? (int)taps : window;
}

/* Weights of output index i; returns the number of taps written to w. */
static int coeffs_one(const struct xai_resample_axis *a, int i, int *first, double *w)
{
    double support = a->scale > 1.0 ? a->scale : 1.0;
    double c = (i + 0.5) * a->scale + a->offset;
    if (!(c >= a->lo && c < a->hi)) return 0;
    /* input pixels j with |j + 0.5 - c| < support, clipped to the window */
    double j0 = floor(c - support - 0.5) + 1.0, j1 = ceil(c + support - 0.5) - 1.0;
    int lo = j0 > a->lo ? (int)j0 : a->lo;
    int hi = j1 < a->hi - 1 ? (int)j1 : a->hi - 1;
    double sum = 0.0;
    for (int j = lo; j <= hi; j++) {
        w[j - lo] = triangle((j + 0.5 - c) / support);
        sum += w[j - lo];
    }
    for (int j = lo; j <= hi; j++) w[j - lo] /= sum;
    *first = lo;
    return hi - lo + 1;
}

static xai_status coeffs_init(struct coeffs *k, const struct xai_resample_axis *a, int n,
                              struct xai_err *err)
{
    memset(k, 0, sizeof *k);
    k->taps = max_taps(a);
    k->first = calloc((size_t)n, sizeof *k->first);
    k->count = calloc((size_t)n, sizeof *k->count);
    k->w = calloc((size_t)n * (size_t)k->taps, sizeof *k->w);
    if (!k->first || !k->count || !k->w) {
        coeffs_free(k);
        return xai_fail(err, XAI_NO_MEMORY, "resample: out of memory for %d coefficients", n);
    }
    for (int i = 0; i < n; i++)
        k->count[i] = coeffs_one(a, i, &k->first[i], k->w + (size_t)i * (size_t)k->taps);
    return XAI_OK;
}

/* Input rows [*r0, *r1) that the vertical pass reads (empty when no output row is in view). */
static void rows_needed(const struct coeffs *ky, int n, int *r0, int *r1)
{
    *r0 = 0;
    *r1 = 0;
    for (int i = 0; i < n; i++) {
        if (!ky->count[i]) continue;
        int a = ky->first[i], b = ky->first[i] + ky->count[i];
        if (*r1 == 0 || a < *r0) *r0 = a;
        if (b > *r1) *r1 = b;
    }
}

static void pass_horizontal(const float *src, int src_w, int c, const struct coeffs *kx, int dst_w,
                            int r0, int r1, float *tmp)
{
    for (int r = r0; r < r1; r++) {
        const float *row = src + (size_t)r * (size_t)src_w * (size_t)c;
        float *out = tmp + (size_t)(r - r0) * (size_t)dst_w * (size_t)c;
        for (int i = 0; i < dst_w; i++) {
            const double *w = kx->w + (size_t)i * (size_t)kx->taps;
            const float *in = row + (size_t)kx->first[i] * (size_t)c;
            double acc[4] = {0, 0, 0, 0};
            for (int t = 0; t < kx->count[i]; t++)
                for (int ch = 0; ch < c; ch++) acc[ch] += w[t] * in[t * c + ch];
            for (int ch = 0; ch < c; ch++) out[(size_t)i * (size_t)c + ch] = (float)acc[ch];
        }
    }
}

static void pass_vertical(const float *tmp, int r0, const struct coeffs *ky, size_t row_len,
                          int dst_h, double *acc, float *dst)
{
    for (int i = 0; i < dst_h; i++) {
        const double *w = ky->w + (size_t)i * (size_t)ky->taps;
        memset(acc, 0, row_len * sizeof *acc);
        for (int t = 0; t < ky->count[i]; t++) {
            const float *in = tmp + (size_t)(ky->first[i] + t - r0) * row_len;
            for (size_t e = 0; e < row_len; e++) acc[e] += w[t] * in[e];
        }
        float *out = dst + (size_t)i * row_len;
        for (size_t e = 0; e < row_len; e++) out[e] = (float)acc[e];
    }
}

static xai_status check_axis(const struct xai_resample_axis *a, int in_size, const char *name,
                             struct xai_err *err)
{
    if (!(isfinite(a->scale) && a->scale > 0.0 && isfinite(a->offset)))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "resample: %s scale must be finite and > 0",
                        name);
    if (a->lo < 0 || a->hi > in_size || a->lo >= a->hi)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "resample: %s window [%d,%d) is not inside [0,%d)", name, a->lo, a->hi,
                        in_size);
    return XAI_OK;
}

static xai_status check_args(int src_w, int src_h, int channels, const struct xai_resample_axis *ax,
                             const struct xai_resample_axis *ay, int dst_w, int dst_h,
                             struct xai_err *err)
{
    if (src_w <= 0 || src_h <= 0 || dst_w <= 0 || dst_h <= 0)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "resample: empty size %dx%d -> %dx%d", src_w,
                        src_h, dst_w, dst_h);
    if (channels < 1 || channels > 4)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "resample: %d channels (1 to 4 allowed)",
                        channels);
    xai_status st = check_axis(ax, src_w, "x", err);
    return st != XAI_OK ? st : check_axis(ay, src_h, "y", err);
}

static xai_status run_passes(const float *src, int src_w, int channels, const struct coeffs *kx,
                             const struct coeffs *ky, float *dst, int dst_w, int dst_h,
                             struct xai_err *err)
{
    int r0, r1;
    rows_needed(ky, dst_h, &r0, &r1);
    size_t row_len = (size_t)dst_w * (size_t)channels;
    float *tmp = malloc((size_t)(r1 - r0) * row_len * sizeof *tmp + 1);
    double *acc = malloc(row_len * sizeof *acc);
    if (!tmp || !acc) {
        free(tmp);
        free(acc);
        return xai_fail(err, XAI_NO_MEMORY, "resample: out of memory for %zu floats",
                        (size_t)(r1 - r0) * row_len);
    }
    pass_horizontal(src, src_w, channels, kx, dst_w, r0, r1, tmp);
    pass_vertical(tmp, r0, ky, row_len, dst_h, acc, dst);
    free(tmp);
    free(acc);
    return XAI_OK;
}

xai_status xai_resample(const float *src, int src_w, int src_h, int channels,
                        const struct xai_resample_axis *ax, const struct xai_resample_axis *ay,
                        float *dst, int dst_w, int dst_h, struct xai_err *err)
{
    xai_status st = check_args(src_w, src_h, channels, ax, ay, dst_w, dst_h, err);
    if (st != XAI_OK) return st;
    struct coeffs kx, ky;
    if ((st = coeffs_init(&kx, ax, dst_w, err)) != XAI_OK) return st;
    if ((st = coeffs_init(&ky, ay, dst_h, err)) != XAI_OK) {
        coeffs_free(&kx);
        return st;
    }
    st = run_passes(src, src_w, channels, &kx, &ky, dst, dst_w, dst_h, err);
    coeffs_free(&kx);
    coeffs_free(&ky);
    return st;
}

struct xai_resample_axis xai_resample_axis_fit(int in_size, int out_size)
{
    struct xai_resample_axis a = {0};
    a.scale = out_size > 0 ? (double)in_size / out_size : 0.0;
    a.offset = 0.0;
    a.lo = 0;
    a.hi = in_size;
    return a;
}

xai_status xai_resize(const float *src, int src_w, int src_h, int channels, float *dst, int dst_w,
                      int dst_h, struct xai_err *err)
{
    struct xai_resample_axis ax = xai_resample_axis_fit(src_w, dst_w);
    struct xai_resample_axis ay = xai_resample_axis_fit(src_h, dst_h);
    return xai_resample(src, src_w, src_h, channels, &ax, &ay, dst, dst_w, dst_h, err);
}
