/* add.c - Add (opset 7+), numpy broadcasting (see _binary.h):
 * C = A + B; the gradient passes to both inputs unchanged. A Relu after it can be fused
 * (op.h: xai_op_run.relu), forward and backward. */
#include "_binary.h"

static inline float bin_f(float a, float b)
{
    return a + b;
}

static inline float bin_da(float a, float b, float g)
{
    return g;
}

static inline float bin_db(float a, float b, float g)
{
    return g;
}

/* defines bin_rows from the three functions above */
#include "_binary_rows.h"

static void forward(const struct xai_op_run *r)
{
    xai_binary_forward(r, &bin_rows);
}

/* Backward through a fused Relu (op.h): g = dY where the Relu's output is > 0, into both
 * inputs' gradients in one pass over y and dY (ResNet's Add -> Relu: a separate masking pass
 * read and wrote dY once more). Inputs of the output's shape only; others mask dY first. */
struct relu_ctx {
    const float *y, *gy;
    float *ga, *gb; /* NULL where not wanted */
};

static void relu_piece(void *ctx, int64_t lo, int64_t hi)
{
    const struct relu_ctx *c = ctx;
    for (int64_t i = lo; i < hi; i++) { /* read unconditionally, so that it vectorises */
        float v = c->gy[i], g = c->y[i] > 0.f ? v : 0.f;
        if (c->ga) c->ga[i] += g;
        if (c->gb) c->gb[i] += g;
    }
}

static void backward(const struct xai_op_run *r)
{
    if (!r->gout[0]) return;
    const struct xai_shape *ys = &r->out[0]->shape;
    if (r->relu && xai_shape_eq(&r->in[0]->shape, ys) && xai_shape_eq(&r->in[1]->shape, ys)) {
        struct relu_ctx c = {r->out[0]->data, r->gout[0]->data, r->gin[0] ? r->gin[0]->data : NULL,
                             r->gin[1] ? r->gin[1]->data : NULL};
        xai_par_range(r->par, xai_shape_numel(ys), XAI_PAR_ELEMS, relu_piece, &c);
        return;
    }
    if (r->relu) xai_op_mask_relu(r);
    xai_binary_backward(r, &bin_rows);
}

const struct xai_op_def xai_op_add = {
    .name = "Add",
    .opset_min = 7,
    .opset_max = 99,
    .grad_mask = 3u,
    .bwd_in = 0u,
    .fuse_relu = true,
    .relu_grad = true,
    .init = xai_binary_init,
    .infer = xai_binary_infer,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_binary_pointwise,
};
