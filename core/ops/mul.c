/* mul.c - Mul (opset 7+), numpy broadcasting (see _binary.h):
 * C = A * B; dC/dA = B, dC/dB = A. */
#include "_binary.h"

static inline float bin_f(float a, float b)
{
    return a * b;
}

static inline float bin_da(float a, float b, float g)
{
    return g * b;
}

static inline float bin_db(float a, float b, float g)
{
    return g * a;
}

/* defines bin_rows from the three functions above */
#include "_binary_rows.h"

static void forward(const struct xai_op_run *r)
{
    xai_binary_forward(r, &bin_rows);
}

static void backward(const struct xai_op_run *r)
{
    xai_binary_backward(r, &bin_rows);
}

const struct xai_op_def xai_op_mul = {
    .name = "Mul",
    .opset_min = 7,
    .opset_max = 99,
    .grad_mask = 3u,
    .bwd_in = 3u,
    .init = xai_binary_init,
    .infer = xai_binary_infer,
    .forward = forward,
    .backward = backward,
    .pointwise = xai_binary_pointwise,
};
