/* relu.c - Relu: y = max(x, 0); dy/dx = 1 where x > 0, which is where y > 0: backward reads
 * the output, so that the input need not be kept (and a Relu fused into its producer, see
 * session.c, never has one). */
#include "_util.h"

struct relu_ctx {
    const struct xai_op_run *r;
};

static void fwd_range(void *c, int64_t lo, int64_t hi)
{
    const struct xai_op_run *r = ((const struct relu_ctx *)c)->r;
    const float *x = r->in[0]->data;
    float *y = r->out[0]->data;
    for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

static void bwd_range(void *c, int64_t lo, int64_t hi)
{
    const struct xai_op_run *r = ((const struct relu_ctx *)c)->r;
    const float *y = r->out[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    for (int64_t i = lo; i < hi; i++) { /* gy read unconditionally, so that it vectorises */
        float g = gy[i];
        gx[i] += y[i] > 0.f ? g : 0.f;
    }
}

static void forward(const struct xai_op_run *r)
{
    struct relu_ctx c = {r};
    xai_par_range(r->par, xai_shape_numel(&r->in[0]->shape), XAI_PAR_ELEMS, fwd_range, &c);
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    struct relu_ctx c = {r};
    xai_par_range(r->par, xai_shape_numel(&r->in[0]->shape), XAI_PAR_ELEMS, bwd_range, &c);
}

const struct xai_op_def xai_op_relu = {
    .name = "Relu",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_out = true,
    .init = xai_op_init_none,
    .infer = xai_op_infer_same,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_op_pointwise_yes,
};
