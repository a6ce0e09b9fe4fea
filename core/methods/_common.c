/* _common.c - shared pieces of the attribution methods; see _common.h. */
#include "_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t xai_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double xai_rng_uniform(uint64_t *s)
{
    return (double)(xai_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

double xai_rng_normal(uint64_t *s)
{
    double u1 = 1.0 - xai_rng_uniform(s), u2 = xai_rng_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int64_t xai_m_item_numel(const struct xai_method_req *req)
{
    return xai_shape_numel(&req->input->shape) / req->input->shape.d[0];
}

static xai_status forward_batch(const struct xai_method_req *req, const float *x, int b,
                                struct xai_err *err)
{
    struct xai_tensor in = {req->input->shape, (float *)x};
    in.shape.d[0] = b;
    return xai_session_forward(req->s, &in, err);
}

static const struct xai_tensor *target_logits(const struct xai_method_req *req, float *scores,
                                              struct xai_err *err)
{
    const struct xai_tensor *y = xai_session_value(req->s, req->mm->output);
    if (!y || y->shape.ndim != 2)
        return xai_fail(err, XAI_INTERNAL, "the model output is not [N, classes]"), NULL;
    int64_t classes = y->shape.d[1];
    for (int64_t i = 0; scores && i < y->shape.d[0]; i++)
        scores[i] = y->data[i * classes + req->target];
    return y;
}

xai_status xai_m_scores(const struct xai_method_req *req, const float *x, int n, float *scores,
                        struct xai_err *err)
{
    int64_t item = xai_m_item_numel(req);
    int step = req->max_batch > 0 ? req->max_batch : 1;
    for (int i = 0; i < n; i += step) {
        int b = n - i < step ? n - i : step;
        xai_status st = forward_batch(req, x + (int64_t)i * item, b, err);
        if (st) return st;
        if (!target_logits(req, scores + i, err)) return XAI_INTERNAL;
    }
    return XAI_OK;
}

static xai_status grad_batch(const struct xai_method_req *req, const float *x, int b,
                             const struct xai_backward_opts *opts, float *grad, float *scores,
                             struct xai_err *err)
{
    xai_status st = forward_batch(req, x, b, err);
    if (st) return st;
    const struct xai_tensor *y = target_logits(req, scores, err);
    if (!y) return XAI_INTERNAL;
    int64_t n = xai_shape_numel(&y->shape), classes = y->shape.d[1];
    float *seed = calloc((size_t)n, sizeof(float));
    if (!seed) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (int i = 0; i < b; i++) seed[(int64_t)i * classes + req->target] = 1.f;
    struct xai_tensor g = {y->shape, seed};
    struct xai_grad_seed gs = {req->mm->output, &g};
    st = xai_session_backward(req->s, &gs, 1, opts, err);
    free(seed);
    if (st) return st;
    const struct xai_tensor *gi = xai_session_grad(req->s, req->mm->model->input);
    if (!gi) return xai_fail(err, XAI_INTERNAL, "no gradient reached the input");
    memcpy(grad, gi->data, sizeof(float) * (size_t)xai_shape_numel(&gi->shape));
    return XAI_OK;
}

xai_status xai_m_input_grad(const struct xai_method_req *req, const float *x, int n,
                            const struct xai_backward_opts *opts, float *grad, float *scores,
                            struct xai_err *err)
{
    int64_t item = xai_m_item_numel(req);
    int step = req->max_batch > 0 ? req->max_batch : 1;
    for (int i = 0; i < n; i += step) {
        int b = n - i < step ? n - i : step;
        xai_status st = grad_batch(req, x + (int64_t)i * item, b, opts, grad + (int64_t)i * item,
                                   scores ? scores + i : NULL, err);
        if (st) return st;
    }
    return XAI_OK;
}

void xai_m_reduce_channels(const float *chw, int c, int h, int w, enum xai_reduce mode, float *out)
{
    int64_t hw = (int64_t)h * w;
    for (int64_t i = 0; i < hw; i++) {
        float acc = 0.f;
        for (int k = 0; k < c; k++) {
            float v = chw[(int64_t)k * hw + i];
            if (mode == XAI_REDUCE_SUM)
                acc += v;
            else if (mode == XAI_REDUCE_SUM_ABS)
                acc += fabsf(v);
            else
                acc = fabsf(v) > acc ? fabsf(v) : acc;
        }
        out[i] = acc;
    }
}

xai_status xai_m_result_init(const struct xai_method_req *req, bool signed_map,
                             struct xai_method_result *out, struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    const struct xai_shape *s = &req->input->shape;
    out->height = (int)s->d[2];
    out->width = (int)s->d[3];
    out->signed_map = signed_map;
    out->map = calloc((size_t)out->height * (size_t)out->width, sizeof(float));
    if (!out->map) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the map");
    return XAI_OK;
}
