/* _noise.c - the noise tunnel of smoothgrad, smoothgrad_sq and vargrad; see _noise.h. */
#include "_noise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const xai_noise_reduce_choices[] = {"max_abs", "sum_abs", "sum", NULL};
static const enum xai_reduce reduce_modes[] = {XAI_REDUCE_MAX_ABS, XAI_REDUCE_SUM_ABS,
                                               XAI_REDUCE_SUM};

struct noise_buf {
    float *x, *g;     /* batch * item: noisy copies, their gradients */
    double *sum, *sq; /* item: running sums of g and g^2 */
};

/* Frees and clears, so that freeing again (the caller's cleanup after a failed init) is safe. */
static void noise_buf_free(struct noise_buf *b)
{
    free(b->x);
    free(b->g);
    free(b->sum);
    free(b->sq);
    memset(b, 0, sizeof *b);
}

static xai_status noise_buf_init(struct noise_buf *b, int batch, int64_t item, struct xai_err *err)
{
    size_t nb = (size_t)batch * (size_t)item;
    b->x = malloc(sizeof(float) * nb);
    b->g = malloc(sizeof(float) * nb);
    b->sum = calloc((size_t)item, sizeof(double));
    b->sq = calloc((size_t)item, sizeof(double));
    if (b->x && b->g && b->sum && b->sq) return XAI_OK;
    noise_buf_free(b);
    return xai_fail(err, XAI_NO_MEMORY, "out of memory for %d noisy copies", batch);
}

/* Fills b noisy copies of x in the documented draw order (continues the state rng). */
static void draw_copies(const float *x, int64_t item, int b, double sigma, uint64_t *rng,
                        float *dst)
{
    for (int k = 0; k < b; k++)
        for (int64_t e = 0; e < item; e++)
            dst[(int64_t)k * item + e] = x[e] + (float)(sigma * xai_rng_normal(rng));
}

static void accumulate(const float *g, int64_t item, int b, double *sum, double *sq)
{
    for (int k = 0; k < b; k++)
        for (int64_t e = 0; e < item; e++) {
            double v = g[(int64_t)k * item + e];
            sum[e] += v;
            sq[e] += v * v;
        }
}

static void finish(const struct noise_buf *b, int64_t item, int n, enum xai_noise_stat stat,
                   float *out)
{
    for (int64_t e = 0; e < item; e++) {
        double mean = b->sum[e] / n, msq = b->sq[e] / n;
        double v = stat == XAI_NOISE_MEAN      ? mean
                   : stat == XAI_NOISE_MEAN_SQ ? msq
                                               : msq - mean * mean;
        out[e] = (float)(v > 0 || stat == XAI_NOISE_MEAN ? v : 0);
    }
}

xai_status xai_noise_stats(const struct xai_method_req *req, int samples, double sigma_frac,
                           enum xai_noise_stat stat, float *stat_out, struct xai_err *err)
{
    if (samples < 1 || samples > XAI_NOISE_MAX_SAMPLES)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "samples must be from 1 to %d",
                        XAI_NOISE_MAX_SAMPLES);
    int64_t item = xai_m_item_numel(req);
    int batch = req->max_batch > 0 ? req->max_batch : 1;
    if (batch > samples) batch = samples;
    double sigma = sigma_frac * ((double)req->mm->input_hi - (double)req->mm->input_lo);
    uint64_t rng = req->seed;
    struct noise_buf b = {0};
    xai_status st = noise_buf_init(&b, batch, item, err);
    for (int k = 0; !st && k < samples; k += batch) {
        int nb = samples - k < batch ? samples - k : batch;
        draw_copies(req->input->data, item, nb, sigma, &rng, b.x);
        st = xai_m_input_grad(req, b.x, nb, NULL, b.g, NULL, err);
        if (!st) accumulate(b.g, item, nb, b.sum, b.sq);
    }
    if (!st) finish(&b, item, samples, stat, stat_out);
    noise_buf_free(&b);
    return st;
}

xai_status xai_noise_run(const struct xai_method_req *req, enum xai_noise_stat stat,
                         struct xai_method_result *out, struct xai_err *err)
{
    const double *v = req->params->v;
    int reduce = (int)v[2];
    if (reduce < 0 || reduce > 2)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "reduce must be max_abs, sum_abs or sum");
    const struct xai_shape *s = &req->input->shape;
    int64_t item = xai_m_item_numel(req);
    float *a = malloc(sizeof(float) * (size_t)item);
    if (!a) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st = xai_noise_stats(req, (int)v[0], v[1], stat, a, err);
    bool signed_map = stat == XAI_NOISE_MEAN && reduce_modes[reduce] == XAI_REDUCE_SUM;
    if (!st) st = xai_m_result_init(req, signed_map, out, err);
    if (!st)
        xai_m_reduce_channels(a, (int)s->d[1], (int)s->d[2], (int)s->d[3], reduce_modes[reduce],
                              out->map);
    free(a);
    return st;
}
