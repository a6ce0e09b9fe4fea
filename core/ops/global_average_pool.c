/* global_average_pool.c - GlobalAveragePool: the mean over all spatial positions of each
 * (n, c) plane; [N, C, D...] -> [N, C, 1...]. */
#include "_layout.h"

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    *params = NULL;
    return xai_lay_check_io(nd, err);
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    char b[96];
    if (in[0].ndim < 3)
        return xai_fail(err, XAI_SHAPE_MISMATCH, "GlobalAveragePool: input %s needs rank >= 3",
                        xai_shape_str(&in[0], b, sizeof b));
    out[0] = in[0];
    for (int i = 2; i < in[0].ndim; i++) out[0].d[i] = 1;
    return XAI_OK;
}

static void forward(const struct xai_op_run *r)
{
    const struct xai_shape *s = &r->in[0]->shape;
    int64_t planes = s->d[0] * s->d[1], n = xai_shape_numel(s) / (planes ? planes : 1);
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    for (int64_t p = 0; p < planes; p++) {
        float acc = 0.f;
        for (int64_t i = 0; i < n; i++) acc += x[p * n + i];
        y[p] = n ? acc / (float)n : 0.f;
    }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0] || !r->gin[0]) return;
    const struct xai_shape *s = &r->in[0]->shape;
    int64_t planes = s->d[0] * s->d[1], n = xai_shape_numel(s) / (planes ? planes : 1);
    const float *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    for (int64_t p = 0; n && p < planes; p++) {
        float g = gy[p] / (float)n;
        for (int64_t i = 0; i < n; i++) gx[p * n + i] += g;
    }
}

const struct xai_op_def xai_op_global_average_pool = {
    .name = "GlobalAveragePool",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
