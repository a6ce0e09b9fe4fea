/*
 * lime.c - LIME for images (Ribeiro et al. 2016), as the lime package's LimeImageExplainer and
 * Captum's Lime define it, with SLIC superpixels: the K superpixels of the original image
 * (see _superpixels.h; SLIC with n_segments, or the caller's segments) are the interpretable
 * features. `samples` binary vectors z over them are drawn: z_0 keeps every superpixel (the
 * lime package's first sample, the unperturbed image); for i = 1..samples-1 and k = 0..K-1, in
 * that order, z_ik = 1 (kept) when the next uniform draw of the RNG (_common.h, seeded with
 * req->seed) is below 0.5. Each z becomes an input: x where the pixel's superpixel is kept, the
 * fill (zero, the input's channel mean, a blurred copy, or each superpixel's own mean, see
 * _perturb.h) where it is removed; pixels of no superpixel are never removed. The target logits
 * y_i of these inputs are fitted by weighted ridge regression (_ridge.h: scikit-learn's Ridge
 * with intercept, lime's default alpha = 1) on z with the weights of the lime package's
 * exponential kernel on the cosine distance to the unperturbed sample,
 *   d_i = 1 - cos(z_i, 1) = 1 - sqrt(|z_i| / K)   (1 when nothing is kept),
 *   w_i = exp(-d_i^2 / (2 width^2))               (lime: sqrt(exp(-d^2 / width^2)), width 0.25).
 * The map gives each pixel its superpixel's coefficient (0 for pixels of no superpixel).
 *
 * Answers: how much, by a local linear model of the score, does keeping this superpixel (rather
 * than the fill) add to the target logit? Signed.
 *
 * Cost: `samples` forward passes in batches of req->max_batch, one SLIC run (O(10 x 16 x
 * pixels) on the original, shrunk to at most 2^18 pixels) and a K x K solve; no backward pass.
 *
 * Caveat: the explanation depends on the segmentation, the fill and the random samples (another
 * seed gives another map), and the linear surrogate can fit poorly (see the r2 metric); Seah et
 * al. found LIME's maps nonspecific on chest radiographs (review, sections 3.1.2 and 5).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "_perturb.h"
#include "_ridge.h"
#include "_superpixels.h"

#define XAI_LIME_MAX_SAMPLES 1024

static const char *const fills[] = {"zero", "mean", "blur", "segment_mean", NULL};

enum { P_SEGMENTS, P_COMPACTNESS, P_SAMPLES, P_FILL, P_SIGMA, P_WIDTH, P_ALPHA, P_COUNT };

static const struct xai_param_def params[] = {
    {"n_segments", XAI_PARAM_INT, 50, 2, 500, NULL,
     "SLIC: approximate number of superpixels on the original image"},
    {"compactness", XAI_PARAM_FLOAT, 0, 0, 1000, NULL,
     "SLIC: colour against space (larger: squarer superpixels); 0 = auto: 10 on colour "
     "(CIELAB) images, 0.1 on gray ones"},
    {"samples", XAI_PARAM_INT, 256, 16, XAI_LIME_MAX_SAMPLES, NULL,
     "perturbed inputs scored (forward passes); the first keeps every superpixel"},
    {"fill", XAI_PARAM_ENUM, 0, 0, 0, fills,
     "what replaces a removed superpixel: zero (model-input 0), mean (the input's channel mean), "
     "blur, or segment_mean (the superpixel's own mean, the lime package's default)"},
    {"sigma", XAI_PARAM_FLOAT, 0, 0, XAI_BLUR_MAX_SIGMA, NULL,
     "blur fill: Gaussian sigma in model-input pixels; 0 = a quarter of the mean superpixel side"},
    {"kernel_width", XAI_PARAM_FLOAT, 0.25, 0.01, 10, NULL,
     "width of the exponential kernel on the cosine distance to the unperturbed sample"},
    {"alpha", XAI_PARAM_FLOAT, 1, 0.001, 1000, NULL, "ridge penalty of the linear surrogate"},
};

struct lime_run {
    int c, h, w, k, n;
    int32_t *seg;   /* h*w */
    float *fill;    /* c*h*w */
    uint8_t *z;     /* n x k */
    float *y;       /* n */
    double *weight; /* n */
    double *coef;   /* k */
};

static void draw_samples(struct lime_run *r, uint64_t seed)
{
    uint64_t s = seed;
    memset(r->z, 1, (size_t)r->k);
    for (int64_t i = (int64_t)r->k; i < (int64_t)r->n * r->k; i++)
        r->z[i] = xai_rng_uniform(&s) < 0.5;
}

static void kernel_weights(struct lime_run *r, double width)
{
    for (int i = 0; i < r->n; i++) {
        int kept = 0;
        for (int j = 0; j < r->k; j++) kept += r->z[(int64_t)i * r->k + j];
        double d = 1.0 - sqrt((double)kept / r->k);
        r->weight[i] = exp(-d * d / (2.0 * width * width));
    }
}

static void make_item(const struct lime_run *r, const float *x, int sample, float *dst)
{
    int64_t hw = (int64_t)r->h * r->w;
    const uint8_t *z = r->z + (int64_t)sample * r->k;
    for (int ch = 0; ch < r->c; ch++)
        for (int64_t i = 0; i < hw; i++) {
            int32_t l = r->seg[i];
            dst[ch * hw + i] = l < 0 || z[l] ? x[ch * hw + i] : r->fill[ch * hw + i];
        }
}

static xai_status score_samples(const struct xai_method_req *req, struct lime_run *r,
                                struct xai_err *err)
{
    int step = req->max_batch > 0 ? req->max_batch : 1;
    int cap = r->n < step ? r->n : step;
    int64_t item = xai_m_item_numel(req);
    float *buf = malloc(sizeof(float) * (size_t)(cap * item));
    if (!buf) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the perturbed inputs");
    xai_status st = XAI_OK;
    for (int i = 0; i < r->n && !st; i += cap) {
        int b = r->n - i < cap ? r->n - i : cap;
        for (int j = 0; j < b; j++) make_item(r, req->input->data, i + j, buf + j * item);
        st = xai_m_scores(req, buf, b, r->y + i, err);
    }
    free(buf);
    return st;
}

static void free_run(struct lime_run *r)
{
    free(r->seg);
    free(r->fill);
    free(r->z);
    free(r->y);
    free(r->weight);
    free(r->coef);
}

static xai_status prepare(const struct xai_method_req *req, struct lime_run *r, struct xai_err *err)
{
    const double *v = req->params->v;
    const struct xai_shape *s = &req->input->shape;
    r->c = (int)s->d[1], r->h = (int)s->d[2], r->w = (int)s->d[3], r->n = (int)v[P_SAMPLES];
    int64_t hw = (int64_t)r->h * r->w;
    r->seg = malloc(sizeof(int32_t) * (size_t)hw);
    r->fill = malloc(sizeof(float) * (size_t)(hw * r->c));
    if (!r->seg || !r->fill) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st =
        xai_m_superpixels(req, (int)v[P_SEGMENTS], v[P_COMPACTNESS], r->seg, &r->k, err);
    if (st) return st;
    double sigma = v[P_SIGMA] > 0 ? v[P_SIGMA] : fmax(sqrt((double)hw / r->k) / 4.0, 0.5);
    if (sigma > XAI_BLUR_MAX_SIGMA) sigma = XAI_BLUR_MAX_SIGMA;
    st = xai_m_fill(req->input->data, r->c, r->h, r->w, (enum xai_fill)v[P_FILL], sigma, r->seg,
                    r->k, r->fill, err);
    if (st) return st;
    r->z = malloc((size_t)r->n * (size_t)r->k);
    r->y = malloc(sizeof(float) * (size_t)r->n);
    r->weight = malloc(sizeof(double) * (size_t)r->n);
    r->coef = malloc(sizeof(double) * (size_t)r->k);
    if (!r->z || !r->y || !r->weight || !r->coef)
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the samples");
    return XAI_OK;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    struct lime_run r = {0};
    struct xai_ridge_fit fit = {0};
    xai_status st = prepare(req, &r, err);
    if (!st) {
        draw_samples(&r, req->seed);
        kernel_weights(&r, req->params->v[P_WIDTH]);
        st = score_samples(req, &r, err);
    }
    if (!st)
        st = xai_m_ridge(r.z, r.y, r.weight, r.n, r.k, req->params->v[P_ALPHA], r.coef, &fit, err);
    if (!st) st = xai_m_result_init(req, true, out, err);
    if (!st) {
        for (int64_t i = 0; i < (int64_t)r.h * r.w; i++)
            out->map[i] = r.seg[i] < 0 ? 0.f : (float)r.coef[r.seg[i]];
        xai_method_metric(out, "segments", r.k);
        xai_method_metric(out, "r2", fit.r2);
        xai_method_metric(out, "intercept", fit.intercept);
        xai_method_metric(out, "target_logit", r.y[0]);
    }
    free_run(&r);
    return st;
}

const struct xai_method_def xai_method_lime = {
    .name = "lime",
    .summary = "How much each superpixel, kept rather than removed, adds to the target score in "
               "a local linear model.",
    .caveat = "Depends on the superpixels, the fill and the random samples; check the fit (r2).",
    .params = params,
    .n_params = P_COUNT,
    .signed_map = true,
    .run = run,
};
