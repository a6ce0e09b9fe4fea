/*
 * integrated_gradients.c - integrated gradients (Sundararajan et al. 2017; Captum's
 * IntegratedGradients with multiply_by_inputs=True):
 *     IG_i(x) = (x_i - x'_i) * integral_0^1 dS/dx_i (x' + a (x - x')) da
 * with S the target logit and x' a baseline, the integral taken with `steps` points of a rule
 * of _quadrature.h (Captum's names and nodes; gausslegendre is Captum's default). The map is the
 * signed channel sum of IG.
 *
 * Baselines: zeros (the all-zero input tensor, Captum's default: after normalisation the mean
 * intensity), black (every element input_lo, the normalised value of intensity 0; exact for
 * models with one normalisation for all channels), blur (the input blurred with a Gaussian of
 * blur_sigma model-input pixels: separable, kernel exp(-i^2 / (2 sigma^2)) for |i| <=
 * ceil(3 sigma) normalised to sum 1, borders clamped to the edge pixel), uniform_noise (x'_e =
 * input_lo + (input_hi - input_lo) * u_e, u_e the uniform draws of the RNG of _common.h from
 * state req->seed in element order C, H, W), constant (every element baseline_value).
 *
 * Completeness: sum_i IG_i = S(x) - S(x') exactly for the exact integral. The metrics report
 * the quadrature's error as Captum's convergence delta, ig_delta = sum_i IG_i - (S(x) - S(x')),
 * and ig_delta_relative = |ig_delta| / |S(x) - S(x')| (omitted when S(x) = S(x')), with
 * ig_score = S(x) and ig_baseline_score = S(x'). On the demo model's ten examples,
 * gausslegendre at 50 steps leaves |delta| below 0.09 logit with the zeros and black baselines;
 * relative to |dS| that is 3e-4 to 0.026, except where S(x') is close to S(x) (0.22 for
 * clear-2.jpg, dS = 0.1): read ig_delta_relative only when dS is not small. A ReLU network's
 * gradient is piecewise constant along the path, so the error falls unevenly, not
 * monotonically, as steps grow (tests/unit/test_integrated_gradients.c).
 *
 * What it answers: how much each pixel, changed from the baseline to its value, adds to or takes
 * from the target score; the attributions add up to the score difference.
 * Cost: `steps` forward and backward passes (batched) plus two forward passes for the scores.
 * Caveat: the answer is relative to the baseline, and different baselines give different maps
 * (a black baseline gives no attribution to black pixels, e.g. to dark lung fields); in chest
 * radiographs IG maps were found nonspecific (Seah et al. 2018, cited in the review).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "_common.h"
#include "_perturb.h"
#include "_quadrature.h"

#define IG_MAX_STEPS 200
#define IG_MAX_BATCH 64

enum { P_STEPS, P_RULE, P_BASELINE, P_BLUR_SIGMA, P_BASELINE_VALUE, P_BATCH };
enum { B_ZEROS, B_BLACK, B_BLUR, B_UNIFORM, B_CONSTANT };

static const char *const baseline_names[] = {"zeros",         "black",    "blur",
                                             "uniform_noise", "constant", NULL};

static const struct xai_param_def params[] = {
    {"steps", XAI_PARAM_INT, 50, 2, IG_MAX_STEPS, NULL,
     "points on the straight path from the baseline to the input"},
    {"rule", XAI_PARAM_ENUM, 0, 0, 0, xai_quad_rule_names,
     "integration rule, Captum's names (gausslegendre is Captum's default)"},
    {"baseline", XAI_PARAM_ENUM, 0, 0, 0, baseline_names,
     "reference input: zeros (all-zero tensor), black (the input value of intensity 0), blur "
     "(Gaussian-blurred input), uniform_noise (uniform over the input range, seeded), constant "
     "(baseline_value)"},
    {"blur_sigma", XAI_PARAM_FLOAT, 10, 0.5, 64, NULL,
     "baseline=blur: Gaussian standard deviation in model-input pixels"},
    {"baseline_value", XAI_PARAM_FLOAT, 0, -100, 100, NULL,
     "baseline=constant: the value of every input element, in model-input (normalised) units"},
    {"batch_size", XAI_PARAM_INT, 0, 0, IG_MAX_BATCH, NULL,
     "path points per batch; 0 uses the server's batch cap, which also bounds it"},
};

struct ig {
    int steps, batch;
    int64_t item;
    double *alpha, *w, *total; /* steps, steps, item */
    float *base, *diff;        /* item: x', x - x' */
    float *path, *grad;        /* max(batch, 2) * item */
};

static void ig_free(struct ig *g)
{
    free(g->alpha);
    free(g->w);
    free(g->total);
    free(g->base);
    free(g->diff);
    free(g->path);
    free(g->grad);
}

static int ig_batch(const struct xai_method_req *req)
{
    int cap = req->max_batch > 0 ? req->max_batch : 1;
    int want = (int)req->params->v[P_BATCH];
    return want > 0 && want < cap ? want : cap;
}

static xai_status ig_alloc(const struct xai_method_req *req, struct ig *g, struct xai_err *err)
{
    g->steps = (int)req->params->v[P_STEPS];
    if (g->steps < 2 || g->steps > IG_MAX_STEPS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "steps must be from 2 to %d", IG_MAX_STEPS);
    g->batch = ig_batch(req);
    if (g->batch > g->steps) g->batch = g->steps;
    g->item = xai_m_item_numel(req);
    size_t item = (size_t)g->item, nb = (size_t)(g->batch < 2 ? 2 : g->batch) * item;
    g->alpha = malloc(sizeof(double) * (size_t)g->steps);
    g->w = malloc(sizeof(double) * (size_t)g->steps);
    g->total = calloc(item, sizeof(double));
    g->base = malloc(sizeof(float) * item);
    g->diff = malloc(sizeof(float) * item);
    g->path = malloc(sizeof(float) * nb);
    g->grad = malloc(sizeof(float) * nb);
    if (g->alpha && g->w && g->total && g->base && g->diff && g->path && g->grad) return XAI_OK;
    return xai_fail(err, XAI_NO_MEMORY, "out of memory for integrated gradients");
}

static xai_status make_baseline(const struct xai_method_req *req, struct ig *g, struct xai_err *err)
{
    const double *v = req->params->v;
    double lo = req->mm->input_lo, hi = req->mm->input_hi;
    uint64_t rng = req->seed;
    switch ((int)v[P_BASELINE]) {
    case B_ZEROS:
    case B_BLACK:
    case B_CONSTANT: {
        float c = (int)v[P_BASELINE] == B_ZEROS   ? 0.f
                  : (int)v[P_BASELINE] == B_BLACK ? req->mm->input_lo
                                                  : (float)v[P_BASELINE_VALUE];
        for (int64_t e = 0; e < g->item; e++) g->base[e] = c;
        return XAI_OK;
    }
    case B_BLUR:
        return xai_m_gaussian_blur(req->input->data, (int)req->input->shape.d[1],
                                   (int)req->input->shape.d[2], (int)req->input->shape.d[3],
                                   v[P_BLUR_SIGMA], g->base, err);
    case B_UNIFORM:
        for (int64_t e = 0; e < g->item; e++)
            g->base[e] = (float)(lo + (hi - lo) * xai_rng_uniform(&rng));
        return XAI_OK;
    }
    return xai_fail(err, XAI_INVALID_ARGUMENT, "unknown baseline");
}

/* total += sum over the path points [k0, k0 + b) of w_k * gradient. */
static xai_status integrate_chunk(const struct xai_method_req *req, struct ig *g, int k0, int b,
                                  struct xai_err *err)
{
    for (int j = 0; j < b; j++) {
        float a = (float)g->alpha[k0 + j], *p = g->path + (int64_t)j * g->item;
        for (int64_t e = 0; e < g->item; e++) p[e] = g->base[e] + a * g->diff[e];
    }
    struct xai_method_req r = *req;
    r.max_batch = g->batch;
    xai_status st = xai_m_input_grad(&r, g->path, b, NULL, g->grad, NULL, err);
    for (int j = 0; !st && j < b; j++) {
        const float *gr = g->grad + (int64_t)j * g->item;
        double wk = g->w[k0 + j];
        for (int64_t e = 0; e < g->item; e++) g->total[e] += wk * gr[e];
    }
    return st;
}

static xai_status integrate(const struct xai_method_req *req, struct ig *g, struct xai_err *err)
{
    xai_status st =
        xai_quadrature((enum xai_quad_rule)req->params->v[P_RULE], g->steps, g->alpha, g->w, err);
    if (!st) st = make_baseline(req, g, err);
    if (st) return st;
    for (int64_t e = 0; e < g->item; e++) g->diff[e] = req->input->data[e] - g->base[e];
    for (int k = 0; !st && k < g->steps; k += g->batch)
        st = integrate_chunk(req, g, k, g->steps - k < g->batch ? g->steps - k : g->batch, err);
    return st;
}

/* S(x) and S(x') in one batch (two when the batch cap is 1). */
static xai_status end_scores(const struct xai_method_req *req, struct ig *g, float *scores,
                             struct xai_err *err)
{
    memcpy(g->path, req->input->data, sizeof(float) * (size_t)g->item);
    memcpy(g->path + g->item, g->base, sizeof(float) * (size_t)g->item);
    struct xai_method_req r = *req;
    r.max_batch = g->batch;
    return xai_m_scores(&r, g->path, 2, scores, err);
}

static xai_status finish(const struct xai_method_req *req, struct ig *g,
                         struct xai_method_result *out, struct xai_err *err)
{
    float scores[2];
    xai_status st = end_scores(req, g, scores, err);
    if (!st) st = xai_m_result_init(req, true, out, err);
    if (st) return st;
    double sum = 0.0;
    for (int64_t e = 0; e < g->item; e++) {
        double a = g->total[e] * g->diff[e];
        sum += a;
        g->grad[e] = (float)a;
    }
    const struct xai_shape *s = &req->input->shape;
    xai_m_reduce_channels(g->grad, (int)s->d[1], (int)s->d[2], (int)s->d[3], XAI_REDUCE_SUM,
                          out->map);
    double ds = (double)scores[0] - scores[1], delta = sum - ds;
    xai_method_metric(out, "ig_delta", delta);
    if (ds != 0.0) xai_method_metric(out, "ig_delta_relative", fabs(delta) / fabs(ds));
    xai_method_metric(out, "ig_score", scores[0]);
    xai_method_metric(out, "ig_baseline_score", scores[1]);
    return XAI_OK;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    struct ig g = {0};
    xai_status st = ig_alloc(req, &g, err);
    if (!st) st = integrate(req, &g, err);
    if (!st) st = finish(req, &g, out, err);
    ig_free(&g);
    return st;
}

const struct xai_method_def xai_method_integrated_gradients = {
    .name = "integrated_gradients",
    .summary = "How much each pixel, changed from the baseline to its value, adds to or takes "
               "from the target score; the attributions sum to the score difference.",
    .caveat = "The map is relative to the chosen baseline (a black baseline cannot credit black "
              "pixels), and IG maps of chest radiographs have been found nonspecific.",
    .params = params,
    .n_params = 6,
    .signed_map = true,
    .run = run,
};
