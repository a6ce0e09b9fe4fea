/*
 * test_ops_shape.c - forward values of the pooling, shape and resampling ops in the cases where
 * a gradient check cannot tell a wrong forward from a right one: pooling windows under
 * ceil_mode and count_include_pad, every Resize coordinate and rounding mode, and the
 * batch-proportional elements of Reshape's (and Slice's) constant inputs. Also checks that
 * unsupported attribute values are refused with a message naming node, op and attribute.
 *
 * Expected arrays marked "torch" were produced once with PyTorch 1.13
 * (torch.nn.functional.avg_pool2d / max_pool2d / interpolate, run by /usr/bin/python3) and
 * pasted here; the others are worked out by hand in the comments next to them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "op.h"

#define MAXIN 8

/* One node built by hand, with storage for everything init and forward look at. */
struct node {
    const char *op;
    int opset, n_attrs, n_in, n_out;
    struct xai_attr attrs[8];
    int64_t attr_ints[8][8];
    bool present[MAXIN];
    struct xai_const consts[MAXIN];
    const struct xai_const *cst[MAXIN];
    int64_t i64[MAXIN][8];
    uint8_t flags[MAXIN][8];
    struct xai_shape init_shape[MAXIN]; /* as init sees them (batch 1) */
    struct xai_tensor tin[MAXIN];
    const struct xai_tensor *pin[MAXIN];
    const struct xai_op_def *def;
    void *params;
    struct xai_shape out_shape;
    struct xai_err err;
};

static struct xai_shape shape(int ndim, const int64_t *d)
{
    return xai_shape_make(ndim, d);
}

static struct node *node_new(const char *op, int opset)
{
    struct node *n = test_calloc(1, sizeof *n);
    n->op = op;
    n->opset = opset;
    n->n_out = 1;
    return n;
}

static void attr_int(struct node *n, const char *name, int64_t v)
{
    struct xai_attr *a = &n->attrs[n->n_attrs++];
    a->name = (char *)name;
    a->type = XAI_ATTR_INT;
    a->i = v;
}

static void attr_str(struct node *n, const char *name, const char *v)
{
    struct xai_attr *a = &n->attrs[n->n_attrs++];
    a->name = (char *)name;
    a->type = XAI_ATTR_STRING;
    a->s = (char *)v;
}

static void attr_ints(struct node *n, const char *name, int cnt, const int64_t *v)
{
    int k = n->n_attrs++;
    struct xai_attr *a = &n->attrs[k];
    memcpy(n->attr_ints[k], v, sizeof(int64_t) * (size_t)cnt);
    a->name = (char *)name;
    a->type = XAI_ATTR_INTS;
    a->n = cnt;
    a->ints = n->attr_ints[k];
}

/* A runtime float input; init sees the same shape unless init_shape is changed afterwards. */
static void in_data(struct node *n, struct xai_shape s, float *data)
{
    int i = n->n_in++;
    n->present[i] = true;
    n->init_shape[i] = s;
    n->tin[i] = (struct xai_tensor){s, data};
    n->pin[i] = &n->tin[i];
}

/* A constant int64 input, with optional batch flags. */
static void in_ints(struct node *n, int cnt, const int64_t *v, const uint8_t *flags)
{
    int i = n->n_in++;
    int64_t d[1] = {cnt};
    n->present[i] = true;
    memcpy(n->i64[i], v, sizeof(int64_t) * (size_t)cnt);
    if (flags) memcpy(n->flags[i], flags, (size_t)cnt);
    n->consts[i] =
        (struct xai_const){XAI_I64, shape(1, d), NULL, n->i64[i], flags ? n->flags[i] : NULL};
    n->cst[i] = &n->consts[i];
    n->init_shape[i] = n->consts[i].shape;
}

/* A constant float input (Resize's scales); forward also sees it, as the executor does. */
static void in_floats(struct node *n, int cnt, float *v)
{
    int i = n->n_in;
    int64_t d[1] = {cnt};
    in_data(n, shape(1, d), v);
    n->consts[i] = (struct xai_const){XAI_F32, shape(1, d), v, NULL, NULL};
    n->cst[i] = &n->consts[i];
}

static void in_absent(struct node *n)
{
    n->n_in++;
}

/* init, check_used and infer at the given batch; returns the status. */
static xai_status prepare(struct node *n, int64_t batch)
{
    n->def = xai_op_find(n->op, n->opset);
    assert_non_null(n->def);
    struct xai_node_def nd = {"n1",    n->op,      n->opset, n->n_attrs,    n->attrs,
                              n->n_in, n->present, n->cst,   n->init_shape, n->n_out};
    struct xai_shape rt[MAXIN];
    for (int i = 0; i < n->n_in; i++) rt[i] = n->pin[i] ? n->tin[i].shape : n->init_shape[i];
    xai_status st = n->def->init(&nd, &n->params, &n->err);
    if (!st) st = xai_attrs_check_used(&nd, &n->err);
    if (!st) st = n->def->infer(n->params, rt, n->n_in, &n->out_shape, 1, batch, &n->err);
    return st;
}

static void node_free(struct node *n)
{
    if (n->params) {
        if (n->def->free_params)
            n->def->free_params(n->params);
        else
            free(n->params);
    }
    test_free(n);
}

/* Runs the node at `batch` and compares its output with want (shape and values). */
static void check_forward(struct node *n, int64_t batch, struct xai_shape want_shape,
                          const float *want)
{
    assert_int_equal(prepare(n, batch), XAI_OK);
    char a[96], b[96];
    if (!xai_shape_eq(&n->out_shape, &want_shape))
        fail_msg("%s: output shape %s, expected %s", n->op,
                 xai_shape_str(&n->out_shape, a, sizeof a),
                 xai_shape_str(&want_shape, b, sizeof b));
    int64_t cnt = xai_shape_numel(&n->out_shape);
    float *y = test_calloc((size_t)cnt, sizeof(float));
    struct xai_tensor tout = {n->out_shape, y};
    const struct xai_tensor *pout[1] = {&tout};
    struct xai_op_run r = {n->params, n->n_in, n->pin, 1, pout, NULL, NULL, NULL, batch};
    n->def->forward(&r);
    for (int64_t i = 0; i < cnt; i++)
        if (fabsf(y[i] - want[i]) > 1e-5f * (1.f + fabsf(want[i])))
            fail_msg("%s: element %lld is %.8g, expected %.8g", n->op, (long long)i, (double)y[i],
                     (double)want[i]);
    test_free(y);
    node_free(n);
}

#define SHAPE(...)                                                                                 \
    shape((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define INTS(...)                                                                                  \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[])                         \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/* x * sin(x) for x = 0..35, as float32 (torch). */
static float x6[36] = {
    0.f,         0.84147096f, 1.8185948f, 0.42335999f, -3.02721f,    -4.7946215f,
    -1.6764929f, 4.598906f,   7.914866f,  3.7090664f,  -5.4402113f,  -10.999892f,
    -6.4388752f, 5.4621716f,  13.868504f, 9.7543182f,  -4.6064529f,  -16.343758f,
    -13.51777f,  2.847667f,   18.258905f, 17.569767f,  -0.19472881f, -19.463068f,
    -21.733881f, -3.308794f,  19.826519f, 25.822151f,  7.5853624f,   -19.245382f,
    -29.640949f, -12.525167f, 17.645655f, 32.997089f,  17.988811f,   -14.986393f};

static struct node *pool_node(const char *op)
{
    struct node *n = node_new(op, 11);
    attr_ints(n, "kernel_shape", INTS(3, 3));
    attr_ints(n, "strides", INTS(2, 2));
    attr_ints(n, "pads", INTS(1, 1, 1, 1));
    attr_int(n, "ceil_mode", 1);
    in_data(n, SHAPE(1, 1, 6, 6), x6);
    return n;
}

/* 6x6, k3 s2 p1 ceil_mode: 4x4 outputs; the last window starts at 5 and covers 5, 6 (the end
 * padding) and 7 (beyond it, never counted). torch avg_pool2d(..., ceil_mode=True, ...). */
static void avg_pool_ceil_include_pad(void **state)
{
    static const float want[16] = {0.41820934f, 2.1451404f, -2.2366121f, -2.6324189f,
                                   -0.9693771f, 9.3315754f, -2.8905511f, -7.8011193f,
                                   -8.6532106f, 13.237087f, 5.3415122f,  -8.9491405f,
                                   -7.0276856f, 6.3529296f, 5.999918f,   -3.7465982f};
    struct node *n = pool_node("AveragePool");
    attr_int(n, "count_include_pad", 1);
    check_forward(n, 1, SHAPE(1, 1, 4, 4), want);
}

static void avg_pool_ceil_exclude_pad(void **state)
{
    static const float want[16] = {0.94097102f, 3.2177105f, -3.3549182f, -7.8972569f,
                                   -1.4540657f, 9.3315754f, -2.8905511f, -15.602239f,
                                   -12.979816f, 13.237087f, 5.3415122f,  -17.898281f,
                                   -21.083057f, 12.705859f, 11.999836f,  -14.986393f};
    struct node *n = pool_node("AveragePool");
    attr_int(n, "count_include_pad", 0);
    check_forward(n, 1, SHAPE(1, 1, 4, 4), want);
}

static void max_pool_ceil(void **state)
{
    static const float want[16] = {4.598906f,   7.914866f,  3.7090664f, -4.7946215f,
                                   5.4621716f,  18.258905f, 17.569767f, -10.999892f,
                                   2.847667f,   32.997089f, 32.997089f, -14.986393f,
                                   -12.525167f, 32.997089f, 32.997089f, -14.986393f};
    check_forward(pool_node("MaxPool"), 1, SHAPE(1, 1, 4, 4), want);
}

/* SAME_UPPER k3 s2 on width 6: out 3, total pad 1, at the end. Windows [0,3), [2,5), [4,6)+pad;
 * count_include_pad counts the pad: (a+b+c)/3 for each. Input 0..5 on one row. */
static void avg_pool_same_upper(void **state)
{
    static float x[6] = {0, 1, 2, 3, 4, 5};
    static const float want[3] = {1.f, 3.f, 3.f};
    struct node *n = node_new("AveragePool", 11);
    attr_ints(n, "kernel_shape", INTS(1, 3));
    attr_ints(n, "strides", INTS(1, 2));
    attr_str(n, "auto_pad", "SAME_UPPER");
    attr_int(n, "count_include_pad", 1);
    in_data(n, SHAPE(1, 1, 1, 6), x);
    check_forward(n, 1, SHAPE(1, 1, 1, 3), want);
}

static float x34[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static struct node *resize_node(const char *mode, const char *ctm, const char *nearest, float *x,
                                struct xai_shape xs)
{
    struct node *n = node_new("Resize", 13);
    attr_str(n, "mode", mode);
    attr_str(n, "coordinate_transformation_mode", ctm);
    if (nearest) attr_str(n, "nearest_mode", nearest);
    in_data(n, xs, x);
    in_absent(n);
    return n;
}

static void resize_nearest_scales_up(void **state)
{
    static const float want[48] = {/* torch interpolate(scale_factor=2, mode='nearest') */
                                   1, 1, 2,  2,  3,  3,  4,  4,  1, 1, 2,  2,  3,  3,  4,  4,
                                   5, 5, 6,  6,  7,  7,  8,  8,  5, 5, 6,  6,  7,  7,  8,  8,
                                   9, 9, 10, 10, 11, 11, 12, 12, 9, 9, 10, 10, 11, 11, 12, 12};
    static float scales[4] = {1, 1, 2, 2};
    struct node *n = resize_node("nearest", "asymmetric", "floor", x34, SHAPE(1, 1, 3, 4));
    in_floats(n, 4, scales);
    check_forward(n, 1, SHAPE(1, 1, 6, 8), want);
}

/* ((0.5 i - 3)^2 for i = 0..19) as 4x5 */
static float x45[20] = {9, 6.25, 4, 2.25,  1,  0.25,  0,  0.25,  1,  2.25,
                        4, 6.25, 9, 12.25, 16, 20.25, 25, 30.25, 36, 42.25};

static void resize_nearest_sizes_down(void **state)
{
    static const float want[6] = {9, 4, 0.25f, 0.25f, 4, 9}; /* torch size=(3,2) nearest */
    struct node *n = resize_node("nearest", "asymmetric", "floor", x45, SHAPE(1, 1, 4, 5));
    in_absent(n);
    in_ints(n, INTS(1, 1, 3, 2), NULL);
    check_forward(n, 1, SHAPE(1, 1, 3, 2), want);
}

static void resize_linear_half_pixel_up(void **state)
{
    static const float want[48] = {
        /* torch bilinear scale_factor=2, align_corners=False */
        1,     1.25f,  1.75f,  2.25f, 2.75f, 3.25f, 3.75f, 4,      2,      2.25f,  2.75f,  3.25f,
        3.75f, 4.25f,  4.75f,  5,     4,     4.25f, 4.75f, 5.25f,  5.75f,  6.25f,  6.75f,  7,
        6,     6.25f,  6.75f,  7.25f, 7.75f, 8.25f, 8.75f, 9,      8,      8.25f,  8.75f,  9.25f,
        9.75f, 10.25f, 10.75f, 11,    9,     9.25f, 9.75f, 10.25f, 10.75f, 11.25f, 11.75f, 12};
    static float scales[4] = {1, 1, 2, 2};
    struct node *n = resize_node("linear", "half_pixel", NULL, x34, SHAPE(1, 1, 3, 4));
    in_floats(n, 4, scales);
    check_forward(n, 1, SHAPE(1, 1, 6, 8), want);
}

static void resize_linear_half_pixel_down(void **state)
{
    static float x[24] = {0,     0.1f,  0.4f,  0.9f,  1.6f,  2.5f,  3.6f,  4.9f,
                          6.4f,  8.1f,  10,    12.1f, 14.4f, 16.9f, 19.6f, 22.5f,
                          25.6f, 28.9f, 32.4f, 36.1f, 40,    44.1f, 48.4f, 52.9f};
    static const float want[6] = {2.1500001f, 3.95f,      6.5500002f,
                                  24.950001f, 31.549999f, 38.950001f};
    static float scales[4] = {1, 1, 0.5f, 0.5f}; /* torch bilinear scale_factor=0.5 */
    struct node *n = resize_node("linear", "half_pixel", NULL, x, SHAPE(1, 1, 4, 6));
    in_floats(n, 4, scales);
    check_forward(n, 1, SHAPE(1, 1, 2, 3), want);
}

static void resize_linear_align_corners(void **state)
{
    static const float want[35] = {/* torch bilinear size=(5,7), align_corners=True */
                                   1,    1.5f, 2,    2.5f, 3, 3.5f, 4,  3,     3.5f, 4,     4.5f, 5,
                                   5.5f, 6,    5,    5.5f, 6, 6.5f, 7,  7.5f,  8,    7,     7.5f, 8,
                                   8.5f, 9,    9.5f, 10,   9, 9.5f, 10, 10.5f, 11,   11.5f, 12};
    struct node *n = resize_node("linear", "align_corners", NULL, x34, SHAPE(1, 1, 3, 4));
    in_absent(n);
    in_ints(n, INTS(1, 1, 5, 7), NULL);
    check_forward(n, 1, SHAPE(1, 1, 5, 7), want);
}

/* Output height 1: half_pixel samples source row 1.5 (as torch does: torch bilinear
 * size=(1,3), align_corners=False), pytorch_half_pixel samples row 0 = 9, 6.25, 4, 2.25, 1.
 * Along W (5 -> 3, scale 0.6) the sources are 1/3, 2 and 11/3, so row 0 gives
 * 9 * 2/3 + 6.25 / 3 = 8.0833333, 4, and 2.25 / 3 + 1 * 2/3 = 1.4166667. */
static void resize_linear_height_one(void **state)
{
    static const float torch_half[3] = {2.4583333f, 4.625f, 8.291666f};
    static const float row0[3] = {8.0833333f, 4, 1.4166667f};
    struct node *n = resize_node("linear", "half_pixel", NULL, x45, SHAPE(1, 1, 4, 5));
    in_absent(n);
    in_ints(n, INTS(1, 1, 1, 3), NULL);
    check_forward(n, 1, SHAPE(1, 1, 1, 3), torch_half);
    n = resize_node("linear", "pytorch_half_pixel", NULL, x45, SHAPE(1, 1, 4, 5));
    in_absent(n);
    in_ints(n, INTS(1, 1, 1, 3), NULL);
    check_forward(n, 1, SHAPE(1, 1, 1, 3), row0);
}

/* Width 4 -> 6 (scale 1.5) on 0, 1, 2, 3; half_pixel sources: -1/6, 0.5, 7/6, 11/6, 2.5, 19/6. */
static void resize_nearest_modes(void **state)
{
    static float x[4] = {0, 1, 2, 3}, scales[4] = {1, 1, 1, 1.5f};
    static const float prefer_floor[6] = {0, 0, 1, 2, 2, 3};
    static const float prefer_ceil[6] = {0, 1, 1, 2, 3, 3}; /* = torch 'nearest-exact' */
    /* asymmetric sources 0, 2/3, 4/3, 2, 8/3, 10/3: ceil -> 0, 1, 2, 2, 3, 4 -> clamped 3 */
    static const float asym_ceil[6] = {0, 1, 2, 2, 3, 3};
    /* align_corners 4 -> 7: sources 0, 0.5, ..., 3; floor */
    static const float align_floor[7] = {0, 0, 1, 1, 2, 2, 3};
    const char *modes[3] = {"round_prefer_floor", "round_prefer_ceil", "ceil"};
    const char *ctms[3] = {"half_pixel", "half_pixel", "asymmetric"};
    const float *wants[3] = {prefer_floor, prefer_ceil, asym_ceil};
    for (int i = 0; i < 3; i++) {
        struct node *n = resize_node("nearest", ctms[i], modes[i], x, SHAPE(1, 1, 1, 4));
        in_floats(n, 4, scales);
        check_forward(n, 1, SHAPE(1, 1, 1, 6), wants[i]);
    }
    struct node *n = resize_node("nearest", "align_corners", "floor", x, SHAPE(1, 1, 1, 4));
    in_absent(n);
    in_ints(n, INTS(1, 1, 1, 7), NULL);
    check_forward(n, 1, SHAPE(1, 1, 1, 7), align_floor);
}

/* Sizes whose batch element is flagged: [1*batch, 1, 4, 2] at batch 3 upsamples W of every
 * image of the batch. */
static void resize_sizes_batch_flag(void **state)
{
    static float x[6] = {1, 2, 3, 4, 5, 6};
    static const float want[12] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6};
    struct node *n = resize_node("nearest", "asymmetric", "floor", x, SHAPE(3, 1, 1, 2));
    n->init_shape[0] = SHAPE(1, 1, 1, 2);
    in_absent(n);
    in_ints(n, INTS(1, 1, 1, 4), (const uint8_t[]){1, 0, 0, 0});
    check_forward(n, 3, SHAPE(3, 1, 1, 4), want);
}

/* Reshape to [1*batch, -1] and [1*batch, 2, -1] at batch 3; forward copies, backward adds. */
static void reshape_batch_flags(void **state)
{
    float x[12], gy[12], gx[12];
    for (int i = 0; i < 12; i++) {
        x[i] = (float)i;
        gy[i] = (float)(i * 2);
        gx[i] = 1.f;
    }
    struct node *n = node_new("Reshape", 13);
    in_data(n, SHAPE(3, 2, 2), x);
    n->init_shape[0] = SHAPE(1, 2, 2);
    in_ints(n, INTS(1, 2, -1), (const uint8_t[]){1, 0, 0});
    assert_int_equal(prepare(n, 3), XAI_OK);
    struct xai_shape want = SHAPE(3, 2, 2);
    assert_true(xai_shape_eq(&n->out_shape, &want));
    struct xai_tensor tgy = {n->out_shape, gy}, tgx = {n->tin[0].shape, gx};
    const struct xai_tensor *pgo[1] = {&tgy}, *pgi[2] = {&tgx, NULL};
    struct xai_op_run r = {n->params, 2, n->pin, 1, pgo, pgo, pgi, NULL, 3};
    n->def->backward(&r);
    for (int i = 0; i < 12; i++) assert_true(gx[i] == 1.f + (float)(i * 2));
    node_free(n);
    n = node_new("Reshape", 13);
    in_data(n, SHAPE(3, 2, 2), x);
    n->init_shape[0] = SHAPE(1, 2, 2);
    in_ints(n, INTS(1, -1), (const uint8_t[]){1, 0});
    check_forward(n, 3, SHAPE(3, 4), x);
}

/* Without the flag, [1, 4] means exactly that, and a batch of 3 no longer fits. */
static void reshape_unflagged_mismatch(void **state)
{
    static float x[12];
    struct node *n = node_new("Reshape", 13);
    in_data(n, SHAPE(3, 4), x);
    n->init_shape[0] = SHAPE(1, 4);
    in_ints(n, INTS(1, 4), NULL);
    assert_int_equal(prepare(n, 3), XAI_SHAPE_MISMATCH);
    node_free(n);
}

/* Slice with ends [1 * batch, 3] (the first flagged) on axes 0, 1 and starts [0, 1]: keeps the
 * whole batch at batch 2 and drops column 0. */
static void slice_batch_flag(void **state)
{
    static float x[6] = {0, 1, 2, 3, 4, 5};
    static const float want[4] = {1, 2, 4, 5};
    struct node *n = node_new("Slice", 13);
    in_data(n, SHAPE(2, 3), x);
    n->init_shape[0] = SHAPE(1, 3);
    in_ints(n, INTS(0, 1), NULL);
    in_ints(n, INTS(1, 3), (const uint8_t[]){1, 0});
    in_ints(n, INTS(0, 1), NULL);
    check_forward(n, 2, SHAPE(2, 2), want);
}

/* [1, 2, 3] padded (2, 1) along the only axis. */
static void pad_modes(void **state)
{
    static float x[3] = {1, 2, 3};
    static const float reflect[6] = {3, 2, 1, 2, 3, 2}, edge[6] = {1, 1, 1, 2, 3, 3},
                       constant[6] = {7, 7, 1, 2, 3, 7};
    static float value = 7;
    const char *modes[3] = {"reflect", "edge", "constant"};
    const float *wants[3] = {reflect, edge, constant};
    for (int i = 0; i < 3; i++) {
        struct node *n = node_new("Pad", 13);
        attr_str(n, "mode", modes[i]);
        in_data(n, SHAPE(3), x);
        in_ints(n, INTS(2, 1), NULL);
        in_floats(n, 1, &value);
        n->consts[2].shape.ndim = 0;
        check_forward(n, 1, SHAPE(6), wants[i]);
    }
    /* cropping the start: the copied middle part begins inside the input */
    static const float cropped[4] = {2, 3, 7, 7};
    struct node *n = node_new("Pad", 13);
    attr_str(n, "mode", "constant");
    in_data(n, SHAPE(3), x);
    in_ints(n, INTS(-1, 2), NULL);
    in_floats(n, 1, &value);
    n->consts[2].shape.ndim = 0;
    check_forward(n, 1, SHAPE(4), cropped);
}

static void transpose_and_reduce(void **state)
{
    static float x[6] = {0, 1, 2, 3, 4, 5}; /* [[0,1,2],[3,4,5]] */
    static const float t[6] = {0, 3, 1, 4, 2, 5}, mean1[2] = {1, 4}, mean0[3] = {1.5f, 2.5f, 3.5f};
    struct node *n = node_new("Transpose", 13);
    in_data(n, SHAPE(2, 3), x);
    check_forward(n, 1, SHAPE(3, 2), t);
    n = node_new("ReduceMean", 13);
    attr_ints(n, "axes", INTS(-1));
    attr_int(n, "keepdims", 0);
    in_data(n, SHAPE(2, 3), x);
    check_forward(n, 1, SHAPE(2), mean1);
    n = node_new("ReduceMean", 13);
    attr_ints(n, "axes", INTS(0));
    in_data(n, SHAPE(2, 3), x);
    check_forward(n, 1, SHAPE(1, 3), mean0);
}

/* init fails and the message names the node, the op and the attribute. */
static void expect_refusal(struct node *n, const char *attr)
{
    assert_int_not_equal(prepare(n, 1), XAI_OK);
    assert_non_null(strstr(n->err.msg, "n1"));
    assert_non_null(strstr(n->err.msg, n->op));
    if (attr && !strstr(n->err.msg, attr)) fail_msg("message '%s' lacks '%s'", n->err.msg, attr);
    node_free(n);
}

static void resize_refusals(void **state)
{
    static float x[16];
    struct node *n = resize_node("cubic", "half_pixel", NULL, x, SHAPE(1, 1, 4, 4));
    static float scales[4] = {1, 1, 2, 2};
    in_floats(n, 4, scales);
    expect_refusal(n, "mode");
    n = resize_node("linear", "tf_crop_and_resize", NULL, x, SHAPE(1, 1, 4, 4));
    in_floats(n, 4, scales);
    expect_refusal(n, "coordinate_transformation_mode");
    static float channel_scales[4] = {1, 2, 2, 2};
    n = resize_node("nearest", "asymmetric", "floor", x, SHAPE(1, 1, 4, 4));
    in_floats(n, 4, channel_scales);
    expect_refusal(n, "axis 1");
}

static void pool_and_shape_refusals(void **state)
{
    static float x[16];
    struct node *n;
    n = node_new("MaxPool", 11);
    attr_ints(n, "kernel_shape", INTS(2, 2));
    in_data(n, SHAPE(1, 1, 4, 4), x);
    n->n_out = 2;
    expect_refusal(n, "Indices");
    n = node_new("MaxPool", 11);
    attr_ints(n, "kernel_shape", INTS(2, 2));
    attr_int(n, "storage_order", 1);
    in_data(n, SHAPE(1, 1, 4, 4), x);
    expect_refusal(n, "storage_order");
    n = node_new("AveragePool", 11);
    attr_ints(n, "kernel_shape", INTS(2, 2));
    attr_str(n, "auto_pad", "SAME");
    in_data(n, SHAPE(1, 1, 4, 4), x);
    expect_refusal(n, "auto_pad");
    n = node_new("Pad", 19);
    attr_str(n, "mode", "wrap");
    in_data(n, SHAPE(4, 4), x);
    in_ints(n, INTS(0, 1, 0, 1), NULL);
    expect_refusal(n, "mode");
    n = node_new("Reshape", 14);
    attr_int(n, "allowzero", 1);
    in_data(n, SHAPE(4, 4), x);
    in_ints(n, INTS(16), NULL);
    expect_refusal(n, "allowzero");
    n = node_new("AveragePool", 11);
    attr_ints(n, "kernel_shape", INTS(2, 2));
    attr_int(n, "unknown_thing", 1);
    in_data(n, SHAPE(1, 1, 4, 4), x);
    expect_refusal(n, "unknown_thing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(avg_pool_ceil_include_pad),
        cmocka_unit_test(avg_pool_ceil_exclude_pad),
        cmocka_unit_test(max_pool_ceil),
        cmocka_unit_test(avg_pool_same_upper),
        cmocka_unit_test(resize_nearest_scales_up),
        cmocka_unit_test(resize_nearest_sizes_down),
        cmocka_unit_test(resize_linear_half_pixel_up),
        cmocka_unit_test(resize_linear_half_pixel_down),
        cmocka_unit_test(resize_linear_align_corners),
        cmocka_unit_test(resize_linear_height_one),
        cmocka_unit_test(resize_nearest_modes),
        cmocka_unit_test(resize_sizes_batch_flag),
        cmocka_unit_test(reshape_batch_flags),
        cmocka_unit_test(reshape_unflagged_mismatch),
        cmocka_unit_test(slice_batch_flag),
        cmocka_unit_test(pad_modes),
        cmocka_unit_test(transpose_and_reduce),
        cmocka_unit_test(resize_refusals),
        cmocka_unit_test(pool_and_shape_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
