/* _perturb.c - fills for the perturbation methods; see _perturb.h. */
#include "_perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* One 1-D pass over n lines of len samples (stride between samples `step`, between lines
 * `line`), edges replicated. */
static void blur_pass(const float *in, float *out, int n, int len, int64_t line, int64_t step,
                      const float *k, int r)
{
    for (int i = 0; i < n; i++) {
        const float *src = in + i * line;
        float *dst = out + i * line;
        for (int j = 0; j < len; j++) {
            float acc = 0.f;
            for (int t = -r; t <= r; t++) acc += k[t + r] * src[clampi(j + t, 0, len - 1) * step];
            dst[j * step] = acc;
        }
    }
}

xai_status xai_m_gaussian_blur(const float *in, int c, int h, int w, double sigma, float *out,
                               struct xai_err *err)
{
    if (!(sigma > 0) || sigma > XAI_BLUR_MAX_SIGMA)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "blur sigma must be in (0, %g]",
                        XAI_BLUR_MAX_SIGMA);
    int r = (int)ceil(3.0 * sigma);
    int64_t hw = (int64_t)h * w;
    float *k = malloc(sizeof(float) * (size_t)(2 * r + 1));
    float *tmp = malloc(sizeof(float) * (size_t)hw);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the blur");
    }
    double sum = 0;
    for (int t = -r; t <= r; t++) sum += exp(-(double)t * t / (2.0 * sigma * sigma));
    for (int t = -r; t <= r; t++)
        k[t + r] = (float)(exp(-(double)t * t / (2.0 * sigma * sigma)) / sum);
    for (int ch = 0; ch < c; ch++) {
        blur_pass(in + ch * hw, tmp, h, w, w, 1, k, r);  /* along rows */
        blur_pass(tmp, out + ch * hw, w, h, 1, w, k, r); /* along columns */
    }
    free(k);
    free(tmp);
    return XAI_OK;
}

static void channel_means(const float *x, int c, int64_t hw, float *out)
{
    for (int ch = 0; ch < c; ch++) {
        double s = 0;
        for (int64_t i = 0; i < hw; i++) s += x[ch * hw + i];
        float m = (float)(s / (double)hw);
        for (int64_t i = 0; i < hw; i++) out[ch * hw + i] = m;
    }
}

static xai_status segment_means(const float *x, int c, int64_t hw, const int32_t *seg, int n_seg,
                                float *out, struct xai_err *err)
{
    double *sum = malloc(sizeof(double) * (size_t)n_seg);
    int64_t *cnt = calloc((size_t)n_seg, sizeof(int64_t));
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the segment means");
    }
    for (int64_t i = 0; i < hw; i++)
        if (seg[i] >= 0) cnt[seg[i]]++;
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + ch * hw;
        memset(sum, 0, sizeof(double) * (size_t)n_seg);
        for (int64_t i = 0; i < hw; i++)
            if (seg[i] >= 0) sum[seg[i]] += xc[i];
        for (int64_t i = 0; i < hw; i++)
            out[ch * hw + i] = seg[i] >= 0 ? (float)(sum[seg[i]] / (double)cnt[seg[i]]) : xc[i];
    }
    free(sum);
    free(cnt);
    return XAI_OK;
}

xai_status xai_m_fill(const float *x, int c, int h, int w, enum xai_fill fill, double sigma,
                      const int32_t *seg, int n_seg, float *out, struct xai_err *err)
{
    int64_t hw = (int64_t)h * w;
    switch (fill) {
    case XAI_FILL_ZERO:
        memset(out, 0, sizeof(float) * (size_t)(c * hw));
        return XAI_OK;
    case XAI_FILL_MEAN:
        channel_means(x, c, hw, out);
        return XAI_OK;
    case XAI_FILL_BLUR:
        return xai_m_gaussian_blur(x, c, h, w, sigma, out, err);
    case XAI_FILL_SEGMENT_MEAN:
        if (!seg) return xai_fail(err, XAI_INVALID_ARGUMENT, "segment_mean needs segments");
        return segment_means(x, c, hw, seg, n_seg, out, err);
    }
    return xai_fail(err, XAI_INVALID_ARGUMENT, "unknown fill");
}
