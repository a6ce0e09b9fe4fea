/*
 * test_lrp.c - the lrp method on small models built in the test:
 *   - every rule on a one-layer model against values computed by hand from the definitions
 *     (Zennit's rules, see core/methods/_lrp_rules.h), and a MatMul dense layer (no params:
 *     the first-layer rule must still find it);
 *   - conservation: epsilon, zplus and alpha-beta on bias-free conv/relu/dense models, also
 *     through a residual Add, MaxPool, Concat, AveragePool, GlobalAveragePool and a standalone
 *     BatchNormalization, keep the target score within 1e-4;
 *   - zplus and alpha1_beta0 are the same rule and give non-negative relevance;
 *   - a model with an op LRP has no rule for is refused, naming the op.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "method.h"
#include "onnx_builder.h"

/* cmocka's float comparison, for doubles (older cmocka has no assert_double_equal). */
#define assert_near(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

enum { EPS_PLUS_FLAT, EPS_GAMMA_BOX, EPSILON, GAMMA, ALPHA2_BETA1, ALPHA1_BETA0, ZPLUS, FLAT, WSQ };

struct toy {
    xai_model *m;
    xai_session *s;
};

static void toy_load(struct mb *b, struct toy *t)
{
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    struct xai_err err = {{0}};
    xai_status st = xai_model_load_buffer(buf, len, &t->m, &err);
    if (st) print_error("load: %s\n", err.msg);
    assert_int_equal(st, XAI_OK);
    assert_int_equal(xai_session_new(t->m, &t->s, &err), XAI_OK);
    free(buf);
    mb_free(b);
}

static void toy_free(struct toy *t)
{
    xai_session_free(t->s);
    xai_model_free(t->m);
}

struct lrp_out {
    xai_status st;
    char msg[512];
    float map[64];
    double conservation, score;
};

/* Runs lrp with rule `rule` (and epsilon, gamma) on input x of shape [1, c, h, w]. */
static struct lrp_out run_lrp(struct toy *t, const float *x, int c, int h, int w, int target,
                              int rule, double eps, double gamma)
{
    const struct xai_method_def *d = xai_method_find("lrp");
    assert_non_null(d);
    struct xai_param_values pv;
    xai_method_defaults(d, &pv);
    pv.v[xai_method_param_index(d, "rule")] = rule;
    pv.v[xai_method_param_index(d, "epsilon")] = eps;
    pv.v[xai_method_param_index(d, "gamma")] = gamma;
    struct xai_tensor in = {{4, {1, c, h, w}}, (float *)x};
    struct xai_method_model mm = {t->m, t->m->outputs[0], -1, -1, -1, false, -1.f, 2.f, -1, NULL,
                                  0};
    struct xai_method_req req = {&mm, t->s, &in, target, -1, &pv, 0, 1, NULL, NULL, NULL};
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    struct lrp_out o = {0};
    o.st = d->run(&req, &res, &err);
    snprintf(o.msg, sizeof o.msg, "%s", err.msg);
    if (o.st) return o;
    assert_true(res.height * res.width <= 64);
    memcpy(o.map, res.map, sizeof(float) * (size_t)(res.height * res.width));
    o.conservation = NAN;
    for (int i = 0; i < res.n_metrics; i++)
        if (!strcmp(res.metrics[i].name, "lrp_conservation")) o.conservation = res.metrics[i].value;
    o.score = xai_session_value(t->s, t->m->outputs[0])->data[target];
    xai_method_result_reset(&res);
    return o;
}

/* x [1,1,1,2] -> Conv 1x2 (W [2,1,1,2], b [2]) -> Flatten -> y [1,2]; target 0 has
 * w = (2, 1), b = 0.5. */
static void one_layer(struct toy *t)
{
    struct mb b;
    mb_init(&b, 13);
    const int64_t xd[] = {1, 1, 1, 2}, wd[] = {2, 1, 1, 2}, bd[] = {2};
    const float w[] = {2.f, 1.f, -1.f, 1.f}, bias[] = {0.5f, 0.f};
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    mb_init_f(&b, "b", 1, bd, bias);
    mb_node(&b, "Conv", "x,w,b", "c");
    mb_node(&b, "Flatten", "c", "y");
    mb_output(&b, "y");
    toy_load(&b, t);
}

static void expect_pair(struct lrp_out o, float r0, float r1)
{
    assert_int_equal(o.st, XAI_OK);
    assert_float_equal(o.map[0], r0, 1e-4f);
    assert_float_equal(o.map[1], r1, 1e-4f);
}

/* x = (1.5, -0.5), z = 3 = S. Input range (-1, 2) for ZBox. */
static void test_rules_by_hand(void **state)
{
    (void)state;
    struct toy t;
    one_layer(&t);
    const float x[] = {1.5f, -0.5f};
    const float s = 3.f;
    /* epsilon 0.5: x w S / (z + eps) */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, EPSILON, 0.5, 0.25), 3.f * s / 3.5f, -0.5f * s / 3.5f);
    /* zplus: z+ = W+ x+ + b+ + W- x- = 3 + 0.5 */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, ZPLUS, 1e-6, 0.25), 3.f * s / 3.5f, 0.f);
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, ALPHA1_BETA0, 1e-6, 0.25), 3.f * s / 3.5f, 0.f);
    /* alpha2_beta1: negative part W- x+ + b- + W+ x- = -0.5 */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, ALPHA2_BETA1, 1e-6, 0.25), 2.f * 3.f * s / 3.5f,
                -(-0.5f * s / -0.5f));
    /* gamma 0.25, z > 0: (W + g W+) x+ + b + g b+ + (W + g W-) x- = 3.75 + 0.625 - 0.5 */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, GAMMA, 1e-6, 0.25), 3.75f * s / 3.875f,
                -0.5f * s / 3.875f);
    /* flat: ones, no bias: z = 2 */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, FLAT, 1e-6, 0.25), s / 2.f, s / 2.f);
    /* the first (only) layer of epsilon_plus_flat is Flat */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, EPS_PLUS_FLAT, 1e-6, 0.25), s / 2.f, s / 2.f);
    /* wsquare: W^2 1 + b^2 = 5.25 */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, WSQ, 1e-6, 0.25), 4.f * s / 5.25f, 1.f * s / 5.25f);
    /* zbox (first conv of epsilon_gamma_box), l = -1, h = 2:
     * z - (W+ l + b+) - (W- h + b-) = 3 + 2.5 - 0; R = (x W - l W+ - h W-) g */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, EPS_GAMMA_BOX, 1e-6, 0.25), 5.f * s / 5.5f,
                0.5f * s / 5.5f);
    toy_free(&t);
}

/* x [1,1,1,2] -> Flatten -> MatMul (constant B [2,2], column 0 = (2, 1)) -> y [1,2]: a dense
 * layer without params of its own (the first-layer rule must still find it). */
static void test_matmul_dense(void **state)
{
    (void)state;
    struct mb b;
    struct toy t;
    mb_init(&b, 13);
    const int64_t xd[] = {1, 1, 1, 2}, wd[] = {2, 2};
    const float w[] = {2.f, -1.f, 1.f, 1.f};
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "w", 2, wd, w);
    mb_node(&b, "Flatten", "x", "f");
    mb_node(&b, "MatMul", "f,w", "y");
    mb_output(&b, "y");
    toy_load(&b, &t);
    const float x[] = {1.5f, -0.5f};
    const float s = 2.5f;
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, EPSILON, 0.5, 0.25), 3.f * s / 3.f, -0.5f * s / 3.f);
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, EPS_PLUS_FLAT, 1e-6, 0.25), s / 2.f, s / 2.f);
    /* epsilon_gamma_box: no convolution, so no ZBox layer; Epsilon (1e-6) for the dense one */
    expect_pair(run_lrp(&t, x, 1, 1, 2, 0, EPS_GAMMA_BOX, 1e-6, 0.25), 3.f, -0.5f);
    toy_free(&t);
}

static float weight(int i, float scale)
{
    return scale * sinf(1.3f * (float)i + 0.4f);
}

static void init_weights(struct mb *b, const char *name, size_t nd, const int64_t *d, float scale,
                         float shift)
{
    size_t n = mb_numel(nd, d);
    float *w = malloc(sizeof(float) * n);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) w[i] = weight((int)i, scale) + shift;
    mb_init_f(b, name, nd, d, w);
    free(w);
}

static Xonnx__NodeProto *conv3(struct mb *b, const char *in, const char *out)
{
    static const int64_t pads[] = {1, 1, 1, 1};
    Xonnx__NodeProto *n = mb_node(b, "Conv", in, out);
    mb_attr_ints(b, n, "pads", 4, pads);
    return n;
}

/* x [1,1,6,6] -> Conv 3x3 (4 ch, no bias) -> Relu -> Flatten -> Gemm (no bias) -> y [1,3]. */
static void plain_net(struct toy *t, bool bias)
{
    struct mb b;
    mb_init(&b, 13);
    const int64_t xd[] = {1, 1, 6, 6}, wd[] = {4, 1, 3, 3}, gd[] = {3, 144}, bd[] = {4}, cd[] = {3};
    mb_input(&b, "x", 1, 4, xd);
    init_weights(&b, "w", 4, wd, 0.5f, 0.05f);
    init_weights(&b, "g", 2, gd, 0.2f, 0.05f);
    if (bias) {
        init_weights(&b, "wb", 1, bd, 0.3f, 0.f);
        init_weights(&b, "gb", 1, cd, 0.3f, 0.f);
    }
    conv3(&b, bias ? "x,w,wb" : "x,w", "c");
    mb_node(&b, "Relu", "c", "r");
    mb_node(&b, "Flatten", "r", "f");
    mb_attr_i(&b, mb_node(&b, "Gemm", bias ? "f,g,gb" : "f,g", "y"), "transB", 1);
    mb_output(&b, "y");
    toy_load(&b, t);
}

static void image(float *x, int n)
{
    for (int i = 0; i < n; i++) x[i] = cosf(0.9f * (float)i) * 1.5f + 0.2f;
}

/* The class with the largest logit (positive here), after a plain forward pass. */
static int top_class(struct toy *t, const float *x, int c, int h, int w)
{
    struct xai_tensor in = {{4, {1, c, h, w}}, (float *)x};
    struct xai_err err = {{0}};
    assert_int_equal(xai_session_forward(t->s, &in, &err), XAI_OK);
    const struct xai_tensor *y = xai_session_value(t->s, t->m->outputs[0]);
    int best = 0;
    for (int k = 1; k < y->shape.d[1]; k++)
        if (y->data[k] > y->data[best]) best = k;
    assert_true(y->data[best] > 0.f);
    return best;
}

static void test_conservation_plain(void **state)
{
    (void)state;
    struct toy t;
    plain_net(&t, false);
    float x[36];
    image(x, 36);
    int target = top_class(&t, x, 1, 6, 6);
    const int rules[] = {EPSILON, ZPLUS, ALPHA1_BETA0, ALPHA2_BETA1, GAMMA};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct lrp_out o = run_lrp(&t, x, 1, 6, 6, target, rules[i], 1e-9, 0.25);
        assert_int_equal(o.st, XAI_OK);
        double sum = 0;
        for (int k = 0; k < 36; k++) sum += o.map[k];
        assert_near(o.conservation, 1.0, 1e-4);
        assert_near(sum / o.score, 1.0, 1e-4);
    }
    toy_free(&t);
}

static void test_zplus_non_negative(void **state)
{
    (void)state;
    struct toy t;
    plain_net(&t, true);
    float x[36];
    image(x, 36);
    int target = top_class(&t, x, 1, 6, 6);
    struct lrp_out a = run_lrp(&t, x, 1, 6, 6, target, ZPLUS, 1e-6, 0.25);
    struct lrp_out b = run_lrp(&t, x, 1, 6, 6, target, ALPHA1_BETA0, 1e-6, 0.25);
    assert_int_equal(a.st, XAI_OK);
    assert_int_equal(b.st, XAI_OK);
    int positive = 0;
    for (int k = 0; k < 36; k++) {
        assert_true(a.map[k] >= 0.f);
        assert_float_equal(a.map[k], b.map[k], 1e-6f);
        positive += a.map[k] > 0.f;
    }
    assert_true(positive > 0);
    /* biases absorb relevance: conserved no more */
    assert_true(a.conservation < 1.0 - 1e-3);
    toy_free(&t);
}

/* x [1,1,6,6] -> Conv a -> Relu -> Conv b -> Add(relu) -> Relu -> MaxPool 2x2 ->
 * Concat(itself, channels) -> GlobalAveragePool -> Flatten -> Gemm; all bias-free. */
static void residual_net(struct toy *t)
{
    struct mb b;
    mb_init(&b, 13);
    const int64_t xd[] = {1, 1, 6, 6}, ad[] = {3, 1, 3, 3}, bd[] = {3, 3, 3, 3}, gd[] = {2, 6};
    const int64_t k2[] = {2, 2};
    mb_input(&b, "x", 1, 4, xd);
    init_weights(&b, "wa", 4, ad, 0.5f, 0.1f);
    init_weights(&b, "wb", 4, bd, 0.3f, 0.f);
    init_weights(&b, "g", 2, gd, 0.5f, 0.2f);
    conv3(&b, "x,wa", "a");
    mb_node(&b, "Relu", "a", "ra");
    conv3(&b, "ra,wb", "cb");
    mb_node(&b, "Add", "cb,ra", "s");
    mb_node(&b, "Relu", "s", "rs");
    Xonnx__NodeProto *mp = mb_node(&b, "MaxPool", "rs", "p");
    mb_attr_ints(&b, mp, "kernel_shape", 2, k2);
    mb_attr_ints(&b, mp, "strides", 2, k2);
    mb_attr_i(&b, mb_node(&b, "Concat", "p,p", "cc"), "axis", 1);
    mb_node(&b, "GlobalAveragePool", "cc", "gap");
    mb_node(&b, "Flatten", "gap", "f");
    mb_attr_i(&b, mb_node(&b, "Gemm", "f,g", "y"), "transB", 1);
    mb_output(&b, "y");
    toy_load(&b, t);
}

static void test_conservation_residual(void **state)
{
    (void)state;
    struct toy t;
    residual_net(&t);
    float x[36];
    image(x, 36);
    int target = top_class(&t, x, 1, 6, 6);
    struct lrp_out o = run_lrp(&t, x, 1, 6, 6, target, EPSILON, 1e-9, 0.25);
    assert_int_equal(o.st, XAI_OK);
    assert_near(o.conservation, 1.0, 1e-4);
    o = run_lrp(&t, x, 1, 6, 6, target, ZPLUS, 1e-6, 0.25);
    assert_int_equal(o.st, XAI_OK);
    assert_near(o.conservation, 1.0, 1e-4);
    toy_free(&t);
}

/* x [1,1,6,6] -> BatchNormalization (standalone: no conv before it) -> Conv -> Relu ->
 * AveragePool 2x2 -> Flatten -> Gemm, bias-free: BN passes relevance, AveragePool splits it
 * by contribution. */
static void bn_pool_net(struct toy *t)
{
    struct mb b;
    mb_init(&b, 13);
    const int64_t xd[] = {1, 1, 6, 6}, one[] = {1}, wd[] = {2, 1, 3, 3}, gd[] = {2, 18};
    const int64_t k2[] = {2, 2};
    const float scale[] = {1.5f}, shift[] = {0.3f}, mean[] = {0.1f}, var[] = {2.f};
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "sc", 1, one, scale);
    mb_init_f(&b, "sh", 1, one, shift);
    mb_init_f(&b, "mu", 1, one, mean);
    mb_init_f(&b, "var", 1, one, var);
    init_weights(&b, "w", 4, wd, 0.5f, 0.1f);
    init_weights(&b, "g", 2, gd, 0.5f, 0.1f);
    mb_node(&b, "BatchNormalization", "x,sc,sh,mu,var", "bn");
    conv3(&b, "bn,w", "c");
    mb_node(&b, "Relu", "c", "r");
    Xonnx__NodeProto *ap = mb_node(&b, "AveragePool", "r", "p");
    mb_attr_ints(&b, ap, "kernel_shape", 2, k2);
    mb_attr_ints(&b, ap, "strides", 2, k2);
    mb_node(&b, "Flatten", "p", "f");
    mb_attr_i(&b, mb_node(&b, "Gemm", "f,g", "y"), "transB", 1);
    mb_output(&b, "y");
    toy_load(&b, t);
}

static void test_batchnorm_pass_avgpool_norm(void **state)
{
    (void)state;
    struct toy t;
    bn_pool_net(&t);
    float x[36];
    image(x, 36);
    int target = top_class(&t, x, 1, 6, 6);
    struct lrp_out o = run_lrp(&t, x, 1, 6, 6, target, EPSILON, 1e-9, 0.25);
    assert_int_equal(o.st, XAI_OK);
    assert_near(o.conservation, 1.0, 1e-4);
    toy_free(&t);
}

static void test_unsupported_op(void **state)
{
    (void)state;
    struct mb b;
    struct toy t;
    mb_init(&b, 13);
    const int64_t xd[] = {1, 1, 1, 2}, wd[] = {2, 1, 1, 2}, one[] = {1};
    const float w[] = {2.f, 1.f, -1.f, 1.f}, two[] = {2.f};
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "w", 4, wd, w);
    mb_init_f(&b, "k", 1, one, two);
    mb_node(&b, "Conv", "x,w", "c");
    mb_node(&b, "Mul", "c,k", "m");
    mb_node(&b, "Flatten", "m", "y");
    mb_output(&b, "y");
    toy_load(&b, &t);
    const float x[] = {1.f, 2.f};
    struct lrp_out o = run_lrp(&t, x, 1, 1, 2, 0, EPS_PLUS_FLAT, 1e-6, 0.25);
    assert_int_equal(o.st, XAI_UNSUPPORTED);
    assert_non_null(strstr(o.msg, "Mul"));
    toy_free(&t);
}

static void test_params(void **state)
{
    (void)state;
    const struct xai_method_def *d = xai_method_find("lrp");
    struct xai_err err = {{0}};
    int eps = xai_method_param_index(d, "epsilon"), rule = xai_method_param_index(d, "rule");
    assert_int_equal(xai_method_param_check(d, eps, 0.0, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(xai_method_param_check(d, eps, 1e-6, &err), XAI_OK);
    assert_int_equal(xai_method_param_check(d, rule, 8, &err), XAI_OK);
    assert_int_equal(xai_method_param_check(d, rule, 9, &err), XAI_INVALID_ARGUMENT);
    assert_string_equal(d->params[rule].choices[(int)d->params[rule].def], "epsilon_plus_flat");
    assert_true(d->signed_map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_by_hand),
        cmocka_unit_test(test_matmul_dense),
        cmocka_unit_test(test_conservation_plain),
        cmocka_unit_test(test_zplus_non_negative),
        cmocka_unit_test(test_conservation_residual),
        cmocka_unit_test(test_batchnorm_pass_avgpool_norm),
        cmocka_unit_test(test_unsupported_op),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
