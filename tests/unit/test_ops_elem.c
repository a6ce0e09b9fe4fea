/*
 * test_ops_elem.c - forward values of the elementwise and activation ops on known inputs:
 * broadcasting results, softmax axis semantics per opset and stability at large magnitudes,
 * clip bounds per opset, and the load-time refusals. (Gradients are checked against finite
 * differences by test_op_gradients.)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "op.h"

#define MAX_IN 4
#define MAX_OUT 256

/* One op invocation: inputs are runtime tensors unless marked constant or absent. */
struct call {
    const char *op;
    int opset;
    struct xai_attr attrs[4];
    int n_attrs;
    int n_in;
    struct xai_shape shape[MAX_IN];
    const float *data[MAX_IN];
    const int64_t *ints[MAX_IN]; /* int64 constant input */
    bool cst[MAX_IN], absent[MAX_IN];
    bool relu;          /* a fused Relu (op.h: xai_op_run.relu), forward and backward */
    const float *gy;    /* when set, backward runs after forward ... */
    float *gin[MAX_IN]; /* ... accumulating into these (NULL: not wanted) */
    struct xai_shape oshape;
    float out[MAX_OUT];
    struct xai_err err;
};

#define SHAPE(...)                                                                                 \
    xai_shape_make((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                      \
                   (int64_t[]){__VA_ARGS__})
#define SCALAR xai_shape_make(0, NULL)

static void set_in(struct call *c, int i, struct xai_shape s, const float *v)
{
    c->shape[i] = s;
    c->data[i] = v;
    if (c->n_in < i + 1) c->n_in = i + 1;
}

static void set_const(struct call *c, int i, struct xai_shape s, const float *v)
{
    set_in(c, i, s, v);
    c->cst[i] = true;
}

static void attr_int(struct call *c, const char *name, int64_t v)
{
    struct xai_attr *a = &c->attrs[c->n_attrs++];
    a->name = (char *)name;
    a->type = XAI_ATTR_INT;
    a->i = v;
}

static void attr_float(struct call *c, const char *name, float v)
{
    struct xai_attr *a = &c->attrs[c->n_attrs++];
    a->name = (char *)name;
    a->type = XAI_ATTR_FLOAT;
    a->f = v;
}

static void fill_consts(struct call *c, struct xai_const *k, const struct xai_const **kp,
                        bool *present)
{
    for (int i = 0; i < c->n_in; i++) {
        present[i] = !c->absent[i];
        kp[i] = NULL;
        memset(&k[i], 0, sizeof k[i]);
        k[i].shape = c->shape[i];
        if (c->ints[i]) {
            k[i].dtype = XAI_I64;
            k[i].i64 = (int64_t *)c->ints[i];
            kp[i] = &k[i];
        } else if (c->cst[i]) {
            k[i].dtype = XAI_F32;
            k[i].f = (float *)c->data[i];
            kp[i] = &k[i];
        }
    }
}

static void execute(const struct xai_op_def *d, void *params, struct call *c)
{
    struct xai_tensor tin[MAX_IN], tout = {c->oshape, c->out}, tgy = {c->oshape, NULL};
    struct xai_tensor tgin[MAX_IN];
    const struct xai_tensor *pin[MAX_IN], *pout[1] = {&tout}, *pgy[1] = {&tgy}, *pgin[MAX_IN];
    for (int i = 0; i < c->n_in; i++) {
        tin[i] = (struct xai_tensor){c->shape[i], (float *)c->data[i]};
        pin[i] = c->absent[i] || c->ints[i] ? NULL : &tin[i];
        tgin[i] = (struct xai_tensor){c->shape[i], c->gin[i]};
        pgin[i] = c->gin[i] ? &tgin[i] : NULL;
    }
    size_t sc = d->scratch ? d->scratch(params, c->shape, c->n_in, &c->oshape) : 0;
    float *scratch = calloc(sc + 1, sizeof(float));
    assert_non_null(scratch);
    struct xai_op_run r = {params, c->n_in, pin, 1, pout, pgy, pgin, scratch, 1};
    r.relu = c->relu;
    d->forward(&r);
    if (c->gy) {
        tgy.data = (float *)c->gy;
        d->backward(&r);
    }
    free(scratch);
}

/* Loads and runs the op; returns the status of loading (init, attribute check, infer). */
static xai_status run(struct call *c)
{
    const struct xai_op_def *d = xai_op_find(c->op, c->opset);
    assert_non_null(d);
    struct xai_const k[MAX_IN];
    const struct xai_const *kp[MAX_IN];
    bool present[MAX_IN];
    fill_consts(c, k, kp, present);
    struct xai_node_def nd = {"node",  c->op,   c->opset, c->n_attrs, c->attrs,
                              c->n_in, present, kp,       c->shape,   1};
    void *params = NULL;
    xai_status st = d->init(&nd, &params, &c->err);
    if (!st) st = xai_attrs_check_used(&nd, &c->err);
    if (!st) st = d->infer(params, c->shape, c->n_in, &c->oshape, 1, 1, &c->err);
    if (!st) {
        assert_true(xai_shape_numel(&c->oshape) <= MAX_OUT);
        execute(d, params, c);
    }
    if (params) {
        if (d->free_params)
            d->free_params(params);
        else
            free(params);
    }
    return st;
}

static void expect(const struct call *c, const float *want, int n, float tol)
{
    assert_int_equal(xai_shape_numel(&c->oshape), n);
    for (int i = 0; i < n; i++) {
        if (fabsf(c->out[i] - want[i]) > tol)
            fail_msg("%s: element %d is %.9g, expected %.9g", c->op, i, c->out[i], want[i]);
    }
}

static void test_add_same_shape(void **state)
{
    struct call c = {.op = "Add", .opset = 14};
    const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30, 40, 50, 60};
    set_in(&c, 0, SHAPE(2, 3), a);
    set_in(&c, 1, SHAPE(2, 3), b);
    assert_int_equal(run(&c), XAI_OK);
    assert_true(xai_shape_eq(&c.oshape, &(struct xai_shape){2, {2, 3}}));
    expect(&c, (const float[]){11, 22, 33, 44, 55, 66}, 6, 0);
}

/* [N,C,H,W] + constant [C,1,1]: every (n, c) plane gets b[c]. */
static void test_add_per_channel(void **state)
{
    struct call c = {.op = "Add", .opset = 13};
    float a[2 * 3 * 2 * 2], want[24];
    const float b[] = {100, 200, 300};
    for (int i = 0; i < 24; i++) a[i] = (float)i;
    for (int i = 0; i < 24; i++) want[i] = a[i] + b[(i / 4) % 3];
    set_in(&c, 0, SHAPE(2, 3, 2, 2), a);
    set_const(&c, 1, SHAPE(3, 1, 1), b);
    assert_int_equal(run(&c), XAI_OK);
    assert_int_equal(c.oshape.ndim, 4);
    expect(&c, want, 24, 0);
}

static void test_sub_scalar_left(void **state)
{
    struct call c = {.op = "Sub", .opset = 14};
    const float one[] = {1}, x[] = {0.25f, -2, 3};
    set_const(&c, 0, SCALAR, one);
    set_in(&c, 1, SHAPE(3), x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0.75f, 3, -2}, 3, 0);
}

/* [2,1] * [1,3]: an outer product; both inputs broadcast. */
static void test_mul_outer(void **state)
{
    struct call c = {.op = "Mul", .opset = 14};
    const float a[] = {2, -3}, b[] = {1, 10, 100};
    set_in(&c, 0, SHAPE(2, 1), a);
    set_in(&c, 1, SHAPE(1, 3), b);
    assert_int_equal(run(&c), XAI_OK);
    assert_true(xai_shape_eq(&c.oshape, &(struct xai_shape){2, {2, 3}}));
    expect(&c, (const float[]){2, 20, 200, -3, -30, -300}, 6, 0);
}

/* [2,3,1,5] * [3,4,1] -> [2,3,4,5], against index arithmetic. */
static void test_mul_both_broadcast(void **state)
{
    struct call c = {.op = "Mul", .opset = 7};
    float a[30], b[12], want[120];
    for (int i = 0; i < 30; i++) a[i] = (float)(i + 1);
    for (int i = 0; i < 12; i++) b[i] = (float)(i % 5) - 1.5f;
    for (int n = 0; n < 2; n++)
        for (int ch = 0; ch < 3; ch++)
            for (int h = 0; h < 4; h++)
                for (int w = 0; w < 5; w++)
                    want[((n * 3 + ch) * 4 + h) * 5 + w] = a[(n * 3 + ch) * 5 + w] * b[ch * 4 + h];
    set_in(&c, 0, SHAPE(2, 3, 1, 5), a);
    set_in(&c, 1, SHAPE(3, 4, 1), b);
    assert_int_equal(run(&c), XAI_OK);
    assert_true(xai_shape_eq(&c.oshape, &(struct xai_shape){4, {2, 3, 4, 5}}));
    expect(&c, want, 120, 0);
}

static void test_div_row_broadcast(void **state)
{
    struct call c = {.op = "Div", .opset = 14};
    const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {2, 4, -8};
    set_in(&c, 0, SHAPE(2, 3), a);
    set_const(&c, 1, SHAPE(3), b);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0.5f, 0.5f, -0.375f, 2, 1.25f, -0.75f}, 6, 0);
}

/* Backward sums over broadcast dimensions and accumulates into what is already there. */
static void test_add_backward_reduces(void **state)
{
    struct call c = {.op = "Add", .opset = 14};
    const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {0, 0, 0};
    const float gy[] = {1, 2, 3, 4, 5, 6};
    float ga[6] = {0}, gb[3] = {1, 1, 1};
    set_in(&c, 0, SHAPE(2, 3), a);
    set_in(&c, 1, SHAPE(3), b);
    c.gy = gy;
    c.gin[0] = ga;
    c.gin[1] = gb;
    assert_int_equal(run(&c), XAI_OK);
    for (int i = 0; i < 6; i++) assert_float_equal(ga[i], gy[i], 0);
    assert_float_equal(gb[0], 1 + 1 + 4, 0);
    assert_float_equal(gb[1], 1 + 2 + 5, 0);
    assert_float_equal(gb[2], 1 + 3 + 6, 0);
}

/* Add with a fused Relu: forward max(a + b, 0); backward dY where that output is > 0, into
 * both inputs (same shapes: one pass; broadcast: dY masked in place, then the usual rule). */
static void test_add_relu(void **state)
{
    const float a[] = {1, -2, 3, -4, 0.5f, -6}, b[] = {-1, 1, -3.5f, 5, 0.25f, 2};
    float gy[] = {1, 2, 3, 4, 5, 6}, ga[6] = {0}, gb[6] = {0};
    struct call c = {.op = "Add", .opset = 14, .relu = true, .gy = gy, .gin = {ga, gb}};
    set_in(&c, 0, SHAPE(2, 3), a);
    set_in(&c, 1, SHAPE(2, 3), b);
    assert_int_equal(run(&c), XAI_OK);
    const float y[] = {0, 0, 0, 1, 0.75f, 0}, g[] = {0, 0, 0, 4, 5, 0};
    expect(&c, y, 6, 0);
    for (int i = 0; i < 6; i++) {
        assert_float_equal(ga[i], g[i], 0);
        assert_float_equal(gb[i], g[i], 0);
    }
    float gy2[] = {1, 2, 3, 4, 5, 6}, ga2[6] = {0}, gb2[3] = {0};
    struct call d = {.op = "Add", .opset = 14, .relu = true, .gy = gy2, .gin = {ga2, gb2}};
    set_in(&d, 0, SHAPE(2, 3), a);
    set_in(&d, 1, SHAPE(3), b); /* a + (-1, 1, -3.5) per row: 0, -1, -0.5, -5, 1.5, -9.5 */
    assert_int_equal(run(&d), XAI_OK);
    const float y2[] = {0, 0, 0, 0, 1.5f, 0};
    expect(&d, y2, 6, 0);
    for (int i = 0; i < 6; i++) assert_float_equal(ga2[i], i == 4 ? 5 : 0, 0);
    assert_float_equal(gb2[0], 0, 0);
    assert_float_equal(gb2[1], 5, 0);
    assert_float_equal(gb2[2], 0, 0);
}

static void test_div_backward(void **state)
{
    struct call c = {.op = "Div", .opset = 14};
    const float a[] = {3, -1}, b[] = {2}, gy[] = {1, 1};
    float ga[2] = {0}, gb[1] = {0};
    set_in(&c, 0, SHAPE(2), a);
    set_in(&c, 1, SHAPE(1), b);
    c.gy = gy;
    c.gin[0] = ga;
    c.gin[1] = gb;
    assert_int_equal(run(&c), XAI_OK);
    assert_float_equal(ga[0], 0.5f, 1e-7f);
    assert_float_equal(ga[1], 0.5f, 1e-7f);
    assert_float_equal(gb[0], -(3.f - 1.f) / 4.f, 1e-7f);
}

static void test_binary_refuses_int_constant(void **state)
{
    struct call c = {.op = "Add", .opset = 14};
    const float a[] = {1, 2};
    const int64_t k[] = {3};
    set_in(&c, 0, SHAPE(2), a);
    set_in(&c, 1, SCALAR, NULL);
    c.ints[1] = k;
    assert_int_equal(run(&c), XAI_UNSUPPORTED);
    assert_non_null(strstr(c.err.msg, "integer constant"));
}

static void test_binary_shape_mismatch(void **state)
{
    struct call c = {.op = "Mul", .opset = 14};
    const float a[6] = {0}, b[4] = {0};
    set_in(&c, 0, SHAPE(2, 3), a);
    set_in(&c, 1, SHAPE(4), b);
    assert_int_equal(run(&c), XAI_SHAPE_MISMATCH);
}

static void softmax_call(struct call *c, const char *op, int opset, const float *x)
{
    memset(c, 0, sizeof *c);
    c->op = op;
    c->opset = opset;
    set_in(c, 0, SHAPE(1, 3, 2), x);
}

/* Opset 13 normalises along axis 1 only; opset 11 flattens [1,3,2] to [1,6] at axis 1. */
static void test_softmax_axis_by_opset(void **state)
{
    const float x[] = {0, 1, 2, 3, 4, 5};
    struct call c;
    softmax_call(&c, "Softmax", 13, x);
    attr_int(&c, "axis", 1);
    assert_int_equal(run(&c), XAI_OK);
    const float ax1[] = {0.01587624f, 0.01587624f, 0.11731043f,
                         0.11731043f, 0.86681333f, 0.86681333f};
    expect(&c, ax1, 6, 1e-6f);
    softmax_call(&c, "Softmax", 11, x);
    attr_int(&c, "axis", 1);
    assert_int_equal(run(&c), XAI_OK);
    const float flat[] = {0.00426978f, 0.01160646f, 0.03154963f,
                          0.08576079f, 0.23312201f, 0.63369132f};
    expect(&c, flat, 6, 1e-6f);
    softmax_call(&c, "Softmax", 11, x); /* default axis 1 before opset 13 */
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, flat, 6, 1e-6f);
}

static void test_softmax_default_axis_13(void **state)
{
    const float x[] = {0, 1, 2, 3, 4, 5};
    struct call c;
    softmax_call(&c, "Softmax", 13, x); /* default axis -1: pairs */
    assert_int_equal(run(&c), XAI_OK);
    const float s = 1.f / (1.f + expf(1.f));
    expect(&c, (const float[]){s, 1 - s, s, 1 - s, s, 1 - s}, 6, 1e-6f);
}

static void test_softmax_large_magnitudes(void **state)
{
    const float x[] = {1000, 1001, 1002, -1000, -1001, -1002};
    struct call c = {.op = "Softmax", .opset = 13};
    set_in(&c, 0, SHAPE(2, 3), x);
    assert_int_equal(run(&c), XAI_OK);
    const float p0 = 0.09003057f, p1 = 0.24472847f, p2 = 0.66524096f;
    expect(&c, (const float[]){p0, p1, p2, p2, p1, p0}, 6, 1e-6f);
}

static void test_log_softmax(void **state)
{
    const float x[] = {1000, 1001, 1002, -1000, -1001, -1002};
    struct call c = {.op = "LogSoftmax", .opset = 11};
    set_in(&c, 0, SHAPE(2, 3), x);
    attr_int(&c, "axis", -1);
    assert_int_equal(run(&c), XAI_OK);
    const float l0 = -2.40760596f, l1 = -1.40760596f, l2 = -0.40760596f;
    expect(&c, (const float[]){l0, l1, l2, l2, l1, l0}, 6, 1e-4f);
    const float y[] = {0, 1, 2, 3, 4, 5};
    softmax_call(&c, "LogSoftmax", 13, y);
    attr_int(&c, "axis", -2);
    assert_int_equal(run(&c), XAI_OK);
    const float lsm[] = {-4.14293163f, -4.14293163f, -2.14293163f,
                         -2.14293163f, -0.14293163f, -0.14293163f};
    expect(&c, lsm, 6, 1e-5f);
}

static void test_softmax_bad_axis(void **state)
{
    const float x[6] = {0};
    struct call c;
    softmax_call(&c, "Softmax", 13, x);
    attr_int(&c, "axis", 3);
    assert_int_equal(run(&c), XAI_BAD_MODEL);
}

static const float clip_x[] = {-2, -0.5f, 0, 0.5f, 2};

static void test_clip_attributes(void **state)
{
    struct call c = {.op = "Clip", .opset = 6};
    set_in(&c, 0, SHAPE(5), clip_x);
    attr_float(&c, "min", -0.25f);
    attr_float(&c, "max", 1.f);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-0.25f, -0.25f, 0, 0.5f, 1}, 5, 0);
    memset(&c, 0, sizeof c);
    c.op = "Clip";
    c.opset = 6;
    set_in(&c, 0, SHAPE(5), clip_x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, clip_x, 5, 0);
}

static void test_clip_inputs(void **state)
{
    const float lo[] = {0}, hi[] = {0.25f};
    struct call c = {.op = "Clip", .opset = 13};
    set_in(&c, 0, SHAPE(5), clip_x);
    set_const(&c, 1, SCALAR, lo);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0, 0, 0, 0.5f, 2}, 5, 0);
    memset(&c, 0, sizeof c);
    c.op = "Clip";
    c.opset = 11;
    set_in(&c, 0, SHAPE(5), clip_x);
    c.absent[1] = true;
    c.n_in = 3;
    set_const(&c, 2, SCALAR, hi);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-2, -0.5f, 0, 0.25f, 0.25f}, 5, 0);
}

/* min > max: everything becomes max, and no gradient passes. */
static void test_clip_min_above_max(void **state)
{
    const float lo[] = {1}, hi[] = {-1}, gy[] = {1, 1, 1, 1, 1};
    float gx[5] = {0};
    struct call c = {.op = "Clip", .opset = 13};
    set_in(&c, 0, SHAPE(5), clip_x);
    set_const(&c, 1, SCALAR, lo);
    set_const(&c, 2, SCALAR, hi);
    c.gy = gy;
    c.gin[0] = gx;
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-1, -1, -1, -1, -1}, 5, 0);
    for (int i = 0; i < 5; i++) assert_float_equal(gx[i], 0, 0);
}

/* Bounds included in the gradient, as torch.clamp. */
static void test_clip_gradient_at_bounds(void **state)
{
    const float lo[] = {-0.5f}, hi[] = {0.5f}, gy[] = {1, 1, 1, 1, 1};
    float gx[5] = {0};
    struct call c = {.op = "Clip", .opset = 12};
    set_in(&c, 0, SHAPE(5), clip_x);
    set_const(&c, 1, SCALAR, lo);
    set_const(&c, 2, SCALAR, hi);
    c.gy = gy;
    c.gin[0] = gx;
    assert_int_equal(run(&c), XAI_OK);
    const float want[] = {0, 1, 1, 1, 0};
    for (int i = 0; i < 5; i++) assert_float_equal(gx[i], want[i], 0);
}

static void test_clip_refuses_runtime_bound(void **state)
{
    const float lo[] = {0};
    struct call c = {.op = "Clip", .opset = 13};
    set_in(&c, 0, SHAPE(5), clip_x);
    set_in(&c, 1, SCALAR, lo);
    assert_int_equal(run(&c), XAI_UNSUPPORTED);
}

static const float act_x[] = {-4, -3, -1, 0, 1, 3, 4};

static void test_leaky_relu(void **state)
{
    struct call c = {.op = "LeakyRelu", .opset = 16};
    set_in(&c, 0, SHAPE(7), act_x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-0.04f, -0.03f, -0.01f, 0, 1, 3, 4}, 7, 1e-7f);
    memset(&c, 0, sizeof c);
    c.op = "LeakyRelu";
    c.opset = 6;
    set_in(&c, 0, SHAPE(7), act_x);
    attr_float(&c, "alpha", 0.5f);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-2, -1.5f, -0.5f, 0, 1, 3, 4}, 7, 0);
}

static void test_hard_sigmoid_and_swish(void **state)
{
    struct call c = {.op = "HardSigmoid", .opset = 6};
    set_in(&c, 0, SHAPE(7), act_x);
    attr_float(&c, "alpha", 1.f / 6.f);
    assert_int_equal(run(&c), XAI_OK);
    const float third = 1.f / 3.f;
    expect(&c, (const float[]){0, 0, third, 0.5f, 1 - third, 1, 1}, 7, 1e-6f);
    memset(&c, 0, sizeof c);
    c.op = "HardSigmoid";
    c.opset = 6;
    set_in(&c, 0, SHAPE(7), act_x); /* defaults alpha 0.2, beta 0.5 */
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0, 0, 0.3f, 0.5f, 0.7f, 1, 1}, 7, 1e-6f);
    memset(&c, 0, sizeof c);
    c.op = "HardSwish";
    c.opset = 14;
    set_in(&c, 0, SHAPE(7), act_x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0, 0, -third, 0, 2 * third, 3, 4}, 7, 1e-6f);
    assert_null(xai_op_find("HardSwish", 13));
}

static void test_hard_swish_gradient(void **state)
{
    const float gy[] = {1, 1, 1, 1, 1, 1, 1};
    float gx[7] = {0};
    struct call c = {.op = "HardSwish", .opset = 14};
    set_in(&c, 0, SHAPE(7), act_x);
    c.gy = gy;
    c.gin[0] = gx;
    assert_int_equal(run(&c), XAI_OK);
    /* torch 1.13: hardswish_backward at -4, -3, -1, 0, 1, 3, 4 */
    const float want[] = {0, -0.5f, 1.f / 6.f, 0.5f, 5.f / 6.f, 1.5f, 1};
    for (int i = 0; i < 7; i++) assert_float_equal(gx[i], want[i], 1e-6f);
}

static void test_sigmoid_tanh(void **state)
{
    const float x[] = {-100, -2, 0, 2, 100};
    struct call c = {.op = "Sigmoid", .opset = 13};
    set_in(&c, 0, SHAPE(5), x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0, 0.11920292f, 0.5f, 0.88079708f, 1}, 5, 1e-7f);
    assert_true(c.out[0] >= 0.f && !isnan(c.out[0]));
    const float t[] = {-3, -0.5f, 0, 0.5f, 3};
    memset(&c, 0, sizeof c);
    c.op = "Tanh";
    c.opset = 13;
    set_in(&c, 0, SHAPE(5), t);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-0.99505475f, -0.46211716f, 0, 0.46211716f, 0.99505475f}, 5, 1e-6f);
}

static void test_exp_sqrt_neg_erf(void **state)
{
    const float x[] = {0, 1, 4, 2.25f};
    struct call c = {.op = "Exp", .opset = 13};
    set_in(&c, 0, SHAPE(4), x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){1, 2.7182818f, 54.598150f, 9.4877358f}, 4, 1e-4f);
    c = (struct call){.op = "Sqrt", .opset = 13};
    set_in(&c, 0, SHAPE(4), x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){0, 1, 2, 1.5f}, 4, 0);
    c = (struct call){.op = "Neg", .opset = 13};
    set_in(&c, 0, SHAPE(4), x);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-0.f, -1, -4, -2.25f}, 4, 0);
    const float e[] = {-1.5f, -0.5f, 0, 0.5f, 2};
    c = (struct call){.op = "Erf", .opset = 13};
    set_in(&c, 0, SHAPE(5), e);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-0.96610515f, -0.52049988f, 0, 0.52049988f, 0.99532227f}, 5, 1e-6f);
}

static void test_pow(void **state)
{
    const float x[] = {-2, 0.5f, 3}, two[] = {2}, half[] = {0.5f};
    const int64_t three[] = {3};
    struct call c = {.op = "Pow", .opset = 13};
    set_in(&c, 0, SHAPE(3), x);
    set_const(&c, 1, SCALAR, two);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){4, 0.25f, 9}, 3, 0);
    c = (struct call){.op = "Pow", .opset = 15};
    set_in(&c, 0, SHAPE(3), x);
    set_in(&c, 1, SCALAR, NULL);
    c.ints[1] = three;
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){-8, 0.125f, 27}, 3, 1e-6f);
    c = (struct call){.op = "Pow", .opset = 7};
    set_in(&c, 0, SHAPE(3), (const float[]){4, 0.25f, 9});
    set_const(&c, 1, SHAPE(1), half);
    assert_int_equal(run(&c), XAI_OK);
    expect(&c, (const float[]){2, 0.5f, 3}, 3, 1e-6f);
}

static void test_pow_refuses_runtime_exponent(void **state)
{
    const float x[] = {1, 2}, p[] = {2, 3};
    struct call c = {.op = "Pow", .opset = 13};
    set_in(&c, 0, SHAPE(2), x);
    set_in(&c, 1, SHAPE(2), p);
    assert_int_equal(run(&c), XAI_UNSUPPORTED);
    c = (struct call){.op = "Pow", .opset = 13};
    set_in(&c, 0, SHAPE(2), x);
    set_const(&c, 1, SHAPE(2), p); /* constant but not a scalar */
    assert_int_equal(run(&c), XAI_UNSUPPORTED);
}

static void test_unknown_attribute_refused(void **state)
{
    struct call c = {.op = "Sigmoid", .opset = 13};
    set_in(&c, 0, SHAPE(5), clip_x);
    attr_float(&c, "alpha", 1.f);
    assert_int_equal(run(&c), XAI_UNSUPPORTED);
    assert_non_null(strstr(c.err.msg, "alpha"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_same_shape),
        cmocka_unit_test(test_add_per_channel),
        cmocka_unit_test(test_sub_scalar_left),
        cmocka_unit_test(test_mul_outer),
        cmocka_unit_test(test_mul_both_broadcast),
        cmocka_unit_test(test_div_row_broadcast),
        cmocka_unit_test(test_add_backward_reduces),
        cmocka_unit_test(test_add_relu),
        cmocka_unit_test(test_div_backward),
        cmocka_unit_test(test_binary_refuses_int_constant),
        cmocka_unit_test(test_binary_shape_mismatch),
        cmocka_unit_test(test_softmax_axis_by_opset),
        cmocka_unit_test(test_softmax_default_axis_13),
        cmocka_unit_test(test_softmax_large_magnitudes),
        cmocka_unit_test(test_log_softmax),
        cmocka_unit_test(test_softmax_bad_axis),
        cmocka_unit_test(test_clip_attributes),
        cmocka_unit_test(test_clip_inputs),
        cmocka_unit_test(test_clip_min_above_max),
        cmocka_unit_test(test_clip_gradient_at_bounds),
        cmocka_unit_test(test_clip_refuses_runtime_bound),
        cmocka_unit_test(test_leaky_relu),
        cmocka_unit_test(test_hard_sigmoid_and_swish),
        cmocka_unit_test(test_hard_swish_gradient),
        cmocka_unit_test(test_sigmoid_tanh),
        cmocka_unit_test(test_exp_sqrt_neg_erf),
        cmocka_unit_test(test_pow),
        cmocka_unit_test(test_pow_refuses_runtime_exponent),
        cmocka_unit_test(test_unknown_attribute_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
