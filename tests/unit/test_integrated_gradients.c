/*
 * test_integrated_gradients.c - integrated gradients beyond the PyTorch comparison
 * (tests/methods): the quadrature rules themselves, exactness on a linear model for every rule
 * and baseline, the convergence delta on the demo model, batching and bad parameters.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "methods/_quadrature.h"
#include "gradient_fixtures.h"

#define N_RULES 5
#define N_BASELINES 5
enum { GL, LEFT, RIGHT, MIDDLE, TRAPEZOID };

static void test_weights_sum_to_one(void **state)
{
    static const int ns[] = {2, 3, 7, 50, 200};
    double a[200], w[200];
    for (int r = 0; r < N_RULES; r++)
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
            assert_int_equal(xai_quadrature((enum xai_quad_rule)r, ns[i], a, w, NULL), XAI_OK);
            double sum = 0;
            for (int k = 0; k < ns[i]; k++) {
                sum += w[k];
                assert_true(a[k] >= 0 && a[k] <= 1 && w[k] > 0);
                if (k) assert_true(a[k] > a[k - 1]);
            }
            assert_true(fabs(sum - 1) < 1e-12);
        }
}

/* Gauss-Legendre with n nodes integrates a^(2n-1) exactly: 1 / (2n); n = 2 has the nodes
 * (1 -+ 1/sqrt(3)) / 2 with weights 1/2. */
static void test_gauss_legendre(void **state)
{
    double a[64], w[64];
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS_LEGENDRE, 2, a, w, NULL), XAI_OK);
    assert_true(fabs(a[0] - (0.5 - 0.5 / sqrt(3.0))) < 1e-15);
    assert_true(fabs(a[1] - (0.5 + 0.5 / sqrt(3.0))) < 1e-15);
    assert_true(fabs(w[0] - 0.5) < 1e-15 && fabs(w[1] - 0.5) < 1e-15);
    for (int n = 1; n <= 64; n++) {
        assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS_LEGENDRE, n, a, w, NULL), XAI_OK);
        double q = 0;
        for (int k = 0; k < n; k++) q += w[k] * pow(a[k], 2 * n - 1);
        assert_true(fabs(q * 2 * n - 1) < 1e-11);
    }
}

/* Captum's Riemann nodes; the trapezoid rule (and the midpoint rule) integrate a exactly. */
static void test_riemann_nodes(void **state)
{
    double a[8], w[8];
    xai_quadrature(XAI_QUAD_RIEMANN_LEFT, 4, a, w, NULL);
    assert_true(a[0] == 0 && a[3] == 0.75 && w[0] == 0.25);
    xai_quadrature(XAI_QUAD_RIEMANN_RIGHT, 4, a, w, NULL);
    assert_true(a[0] == 0.25 && a[3] == 1 && w[3] == 0.25);
    xai_quadrature(XAI_QUAD_RIEMANN_MIDDLE, 4, a, w, NULL);
    assert_true(a[0] == 0.125 && a[3] == 0.875);
    for (int rule = XAI_QUAD_RIEMANN_MIDDLE; rule <= XAI_QUAD_RIEMANN_TRAPEZOID; rule++) {
        xai_quadrature((enum xai_quad_rule)rule, 5, a, w, NULL);
        double q = 0;
        for (int k = 0; k < 5; k++) q += w[k] * a[k];
        assert_true(fabs(q - 0.5) < 1e-15);
    }
    xai_quadrature(XAI_QUAD_RIEMANN_TRAPEZOID, 5, a, w, NULL);
    assert_true(a[0] == 0 && a[4] == 1 && w[0] == 0.125 && w[1] == 0.25);
    assert_int_equal(xai_quadrature(XAI_QUAD_RIEMANN_LEFT, 1, a, w, NULL), XAI_INVALID_ARGUMENT);
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS_LEGENDRE, 1, a, w, NULL), XAI_OK);
    assert_true(a[0] == 0.5 && w[0] == 1);
}

/* The baseline of the linear fixture's input as the method builds it, for checking. */
static void linear_baseline(const struct gf_model *g, int kind, float *b)
{
    for (int i = 0; i < LIN_N; i++)
        b[i] = kind == 0 ? 0.f : kind == 1 ? g->mm.input_lo : kind == 4 ? 0.75f : NAN;
}

/* On a linear model the gradient is W[target] everywhere on the path, so every rule (weights
 * summing to 1) gives IG = W (x - x') exactly and a delta of 0, whatever the baseline. */
static void test_linear_model_exact(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_linear(&g), 0);
    const int target = 1;
    for (int r = 0; r < N_RULES; r++)
        for (int base = 0; base < N_BASELINES; base++)
            for (int steps = 2; steps <= 5; steps += 3) {
                struct gf_param p[] = {{"rule", r},
                                       {"baseline", base},
                                       {"steps", steps},
                                       {"baseline_value", 0.75},
                                       {"blur_sigma", 1.0}};
                struct xai_method_result res = {0};
                struct xai_err err = {{0}};
                assert_int_equal(
                    run_method(&g, "integrated_gradients", target, p, 5, 7, 3, &res, &err), XAI_OK);
                assert_true(res.signed_map && res.height == 4 && res.width == 4);
                assert_true(fabs(metric(&res, "ig_delta")) < 1e-5);
                float b[LIN_N];
                linear_baseline(&g, base, b);
                for (int px = 0; px < LIN_HW && !isnan(b[0]); px++) {
                    double want = 0;
                    for (int c = 0; c < LIN_C; c++) {
                        int i = c * LIN_HW + px;
                        want += lin_weight(target, i) * (g.x[i] - b[i]);
                    }
                    assert_true(fabs(res.map[px] - want) < 1e-5);
                }
                xai_method_result_reset(&res);
            }
    gf_free(&g);
}

/* |delta| of one run on the demo model. */
static double demo_delta(struct gf_model *g, int target, int rule, int base, int steps, double *rel)
{
    struct gf_param p[] = {{"rule", rule}, {"baseline", base}, {"steps", steps}};
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    assert_int_equal(run_method(g, "integrated_gradients", target, p, 3, 1, 16, &res, &err),
                     XAI_OK);
    double d = fabs(metric(&res, "ig_delta"));
    if (rel) *rel = metric(&res, "ig_delta_relative");
    xai_method_result_reset(&res);
    return d;
}

/*
 * The demo model on nodule-2.png (target nodule). Measured (this engine and PyTorch agree to
 * the digits shown): gausslegendre at 50 steps, |delta| / |S(x) - S(x')| = 2.7e-4 for the zeros
 * baseline and 0.013 for black. Over all ten examples at 50 steps the absolute delta stays below
 * 0.09 logit, but the relative delta reaches 0.22 for clear-2.jpg, whose score at the zeros
 * baseline (3.28) is within 0.1 of its score (3.18): the relative delta is only meaningful when
 * the score difference is not small. A ReLU network's path integrand is piecewise constant, so
 * the error falls unevenly with steps (riemann_left: 1.5 at 2 steps, 0.035 at 3, 0.98 at 4); the
 * test compares the worst of 2..4 steps (0.45 to 4.8 logit by rule) with 128 steps (0.0015 to
 * 0.027). Mean |delta| over the ten examples, zeros baseline, gausslegendre: 2.9 at 4 steps,
 * 0.11 at 16, 0.023 at 64, 0.009 at 200.
 */
static void test_demo_convergence(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_demo(&g, "nodule-2.png"), 0);
    double rel;
    demo_delta(&g, 1, GL, 0, 50, &rel);
    assert_true(rel < 1e-3);
    demo_delta(&g, 1, GL, 1, 50, &rel);
    assert_true(rel < 0.03);
    for (int r = 0; r < N_RULES; r++) {
        double coarse = 0, fine = demo_delta(&g, 1, r, 0, 128, NULL);
        for (int steps = 2; steps <= 4; steps++)
            coarse = fmax(coarse, demo_delta(&g, 1, r, 0, steps, NULL));
        assert_true(fine < 0.1 * coarse);
        assert_true(fine < 0.05);
    }
    gf_free(&g);
}

/* The batch size changes how the path is cut into batches, not the result. */
static void test_batch_size(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_demo(&g, "opacity-1.png"), 0);
    struct xai_method_result a = {0}, b = {0};
    struct xai_err err = {{0}};
    struct gf_param p1[] = {{"steps", 7}, {"batch_size", 1}},
                    p3[] = {{"steps", 7}, {"batch_size", 3}};
    assert_int_equal(run_method(&g, "integrated_gradients", 2, p1, 2, 1, 16, &a, &err), XAI_OK);
    assert_int_equal(run_method(&g, "integrated_gradients", 2, p3, 2, 1, 16, &b, &err), XAI_OK);
    double d2 = 0, n2 = 0;
    for (int i = 0; i < 128 * 128; i++) {
        d2 += (a.map[i] - b.map[i]) * (a.map[i] - b.map[i]);
        n2 += a.map[i] * a.map[i];
    }
    assert_true(sqrt(d2 / n2) < 1e-5);
    assert_true(fabs(metric(&a, "ig_delta") - metric(&b, "ig_delta")) < 1e-4);
    xai_method_result_reset(&a);
    xai_method_result_reset(&b);
    gf_free(&g);
}

static void test_bad_parameters(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_linear(&g), 0);
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    static const struct gf_param bad[][1] = {
        {{"steps", 1}},    {{"steps", 201}},    {{"steps", 2.5}},          {{"rule", 5}},
        {{"baseline", 5}}, {{"blur_sigma", 0}}, {{"baseline_value", 1e9}}, {{"batch_size", 65}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_method(&g, "integrated_gradients", 0, bad[i], 1, 1, 4, &res, &err),
                         XAI_INVALID_ARGUMENT);
        assert_non_null(strstr(err.msg, bad[i][0].name));
        assert_null(res.map);
    }
    gf_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_sum_to_one), cmocka_unit_test(test_gauss_legendre),
        cmocka_unit_test(test_riemann_nodes),      cmocka_unit_test(test_linear_model_exact),
        cmocka_unit_test(test_demo_convergence),   cmocka_unit_test(test_batch_size),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
