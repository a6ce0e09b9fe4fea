/* softmax.c - Softmax (opset 1+, axis semantics by opset: see _softmax.h).
 * y = exp(x - max) / sum exp(x - max), stable for any magnitude;
 * backward: dx = y * (dy - sum(dy * y)) along the normalised elements. */
#include "_softmax.h"

#include <math.h>

/* One block: m holds the maxima on entry; s is scratch for the sums. */
static void block_forward(const float *x, float *y, const struct xai_softmax_layout *l,
                          const float *m, float *s)
{
    int64_t in = l->inner;
    for (int64_t j = 0; j < in; j++) s[j] = 0.f;
    for (int64_t k = 0; k < l->len; k++) {
        const float *xr = x + k * in;
        float *yr = y + k * in;
        for (int64_t j = 0; j < in; j++) {
            yr[j] = expf(xr[j] - m[j]);
            s[j] += yr[j];
        }
    }
    for (int64_t j = 0; j < in; j++) s[j] = 1.f / s[j];
    for (int64_t k = 0; k < l->len; k++)
        for (int64_t j = 0; j < in; j++) y[k * in + j] *= s[j];
}

static void forward(const struct xai_op_run *r)
{
    if (xai_shape_numel(&r->in[0]->shape) == 0) return;
    struct xai_softmax_layout l = xai_softmax_layout(r->p, &r->in[0]->shape);
    float *m = r->scratch, *s = r->scratch + l.inner;
    int64_t block = l.len * l.inner;
    for (int64_t o = 0; o < l.outer; o++) {
        const float *x = r->in[0]->data + o * block;
        xai_softmax_block_max(x, &l, m);
        block_forward(x, r->out[0]->data + o * block, &l, m, s);
    }
}

static void block_backward(const float *y, const float *gy, float *gx,
                           const struct xai_softmax_layout *l, float *d)
{
    int64_t in = l->inner;
    for (int64_t j = 0; j < in; j++) d[j] = 0.f;
    for (int64_t k = 0; k < l->len; k++)
        for (int64_t j = 0; j < in; j++) d[j] += gy[k * in + j] * y[k * in + j];
    for (int64_t k = 0; k < l->len; k++)
        for (int64_t j = 0; j < in; j++) {
            int64_t i = k * in + j;
            gx[i] += y[i] * (gy[i] - d[j]);
        }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    struct xai_softmax_layout l = xai_softmax_layout(r->p, &r->in[0]->shape);
    int64_t block = l.len * l.inner;
    for (int64_t o = 0; o < l.outer; o++)
        block_backward(r->out[0]->data + o * block, r->gout[0]->data + o * block,
                       r->gin[0]->data + o * block, &l, r->scratch);
}

const struct xai_op_def xai_op_softmax = {
    .name = "Softmax",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .bwd_out = true,
    .init = xai_softmax_init,
    .infer = xai_softmax_infer,
    .scratch = xai_softmax_scratch,
    .forward = forward,
    .backward = backward,
};
