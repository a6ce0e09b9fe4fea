/*
 * test_noise_methods.c - smoothgrad, smoothgrad_sq, vargrad and gradient_x_input beyond the
 * PyTorch comparison (tests/methods): closed forms on a linear model (constant gradient W),
 * reproducibility from the seed, batching, and the reductions.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gradient_fixtures.h"

enum { MAX_ABS, SUM_ABS, SUM };

/* The reduction of W[target] (the linear model's gradient), squared when sq. */
static double lin_reduced(int target, int px, int reduce, bool sq)
{
    double acc = 0;
    for (int c = 0; c < LIN_C; c++) {
        double v = lin_weight(target, c * LIN_HW + px);
        v = sq ? v * v : v;
        acc = reduce == SUM ? acc + v : reduce == SUM_ABS ? acc + fabs(v) : fmax(acc, fabs(v));
    }
    return acc;
}

/* Noise does not change a constant gradient: smoothgrad = W, smoothgrad_sq = W^2, vargrad = 0,
 * in every reduction; batches of 3 over 7 samples exercise a partial last batch. */
static void test_linear_closed_forms(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_linear(&g), 0);
    const char *names[] = {"smoothgrad", "smoothgrad_sq", "vargrad"};
    for (int m = 0; m < 3; m++)
        for (int reduce = 0; reduce < 3; reduce++) {
            struct gf_param p[] = {{"samples", 7}, {"sigma", 0.3}, {"reduce", reduce}};
            struct xai_method_result res = {0};
            struct xai_err err = {{0}};
            assert_int_equal(run_method(&g, names[m], 2, p, 3, 99, 3, &res, &err), XAI_OK);
            assert_int_equal(res.signed_map, m == 0 && reduce == SUM);
            for (int px = 0; px < LIN_HW; px++) {
                double want = m == 2 ? 0 : lin_reduced(2, px, reduce, m == 1);
                assert_true(fabs(res.map[px] - want) < 1e-6);
            }
            xai_method_result_reset(&res);
        }
    gf_free(&g);
}

static void test_gradient_x_input_linear(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_linear(&g), 0);
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    assert_int_equal(run_method(&g, "gradient_x_input", 0, NULL, 0, 1, 1, &res, &err), XAI_OK);
    assert_true(res.signed_map);
    for (int px = 0; px < LIN_HW; px++) {
        double want = 0;
        for (int c = 0; c < LIN_C; c++)
            want += lin_weight(0, c * LIN_HW + px) * g.x[c * LIN_HW + px];
        assert_true(fabs(res.map[px] - want) < 1e-5);
    }
    xai_method_result_reset(&res);
    gf_free(&g);
}

static double rel_l2(const float *a, const float *b, int n)
{
    double d2 = 0, n2 = 0;
    for (int i = 0; i < n; i++) {
        d2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        n2 += (double)b[i] * b[i];
    }
    return n2 > 0 ? sqrt(d2 / n2) : sqrt(d2);
}

/* On the demo model: the seed fixes the noise (same seed, same map, whatever the batch size);
 * another seed gives another map; sigma 0 gives saliency. */
static void test_demo_seed_and_batch(void **state)
{
    struct gf_model g;
    assert_int_equal(gf_demo(&g, "nodule-3.png"), 0);
    struct gf_param p[] = {{"samples", 5}};
    struct xai_method_result a = {0}, b = {0}, c = {0};
    struct xai_err err = {{0}};
    assert_int_equal(run_method(&g, "smoothgrad", 1, p, 1, 42, 16, &a, &err), XAI_OK);
    assert_int_equal(run_method(&g, "smoothgrad", 1, p, 1, 42, 2, &b, &err), XAI_OK);
    assert_int_equal(run_method(&g, "smoothgrad", 1, p, 1, 43, 16, &c, &err), XAI_OK);
    assert_true(rel_l2(b.map, a.map, 128 * 128) < 1e-5);
    assert_true(rel_l2(c.map, a.map, 128 * 128) > 0.05);
    xai_method_result_reset(&a);
    xai_method_result_reset(&b);
    xai_method_result_reset(&c);
    struct gf_param p0[] = {{"samples", 3}, {"sigma", 0}};
    assert_int_equal(run_method(&g, "smoothgrad", 1, p0, 2, 42, 16, &a, &err), XAI_OK);
    assert_int_equal(run_method(&g, "saliency", 1, NULL, 0, 42, 16, &b, &err), XAI_OK);
    assert_true(rel_l2(a.map, b.map, 128 * 128) < 1e-6);
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
    static const struct {
        const char *method;
        struct gf_param p[1];
    } bad[] = {{"smoothgrad", {{"samples", 0}}},  {"smoothgrad", {{"samples", 101}}},
               {"smoothgrad", {{"sigma", -0.1}}}, {"smoothgrad_sq", {{"sigma", 2}}},
               {"vargrad", {{"samples", 1}}},     {"vargrad", {{"reduce", 3}}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_method(&g, bad[i].method, 0, bad[i].p, 1, 1, 4, &res, &err),
                         XAI_INVALID_ARGUMENT);
        assert_non_null(strstr(err.msg, bad[i].p[0].name));
        assert_null(res.map);
    }
    gf_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_closed_forms),
        cmocka_unit_test(test_gradient_x_input_linear),
        cmocka_unit_test(test_demo_seed_and_batch),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
