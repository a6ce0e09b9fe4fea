/*
 * test_perturb.c - the perturbation methods' parts without PyTorch: SLIC's properties on
 * synthetic images (label count, connectivity, boundary recall), label compaction, the weighted
 * ridge solve, the Gaussian blur, superpixels mapped through a letterbox geometry, and occlusion
 * and LIME on a linear model (Flatten -> Gemm), where both have closed forms:
 *   occlusion, zero fill: S(x) - S(occluded) = sum over the window of w_t,i x_i;
 *   LIME, zero fill: the score is exactly linear in z with coefficient sum_{i in k} w_t,i x_i.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "method.h"
#include "methods/_perturb.h"
#include "methods/_ridge.h"
#include "methods/_superpixels.h"
#include "onnx_builder.h"
#include "slic.h"

/* ---- SLIC ---- */

/* Gray image: a dark left part, a bright right part and a mid-gray disk; truth labels 0, 1, 2. */
static void synthetic(int w, int h, float *img, int32_t *truth)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double dx = x - 0.3 * w, dy = y - 0.5 * h;
            int t = dx * dx + dy * dy < 0.04 * w * w ? 2 : x < 0.6 * w ? 0 : 1;
            truth[y * w + x] = t;
            img[y * w + x] = t == 0 ? 40.f : t == 1 ? 220.f : 130.f;
        }
}

static int is_boundary(const int32_t *l, int w, int h, int x, int y)
{
    int v = l[y * w + x];
    return (x + 1 < w && l[y * w + x + 1] != v) || (y + 1 < h && l[(y + 1) * w + x] != v) ||
           (x > 0 && l[y * w + x - 1] != v) || (y > 0 && l[(y - 1) * w + x] != v);
}

/* Fraction of truth boundary pixels with a superpixel boundary within 2 pixels. */
static double boundary_recall(const int32_t *truth, const int32_t *sp, int w, int h)
{
    int hits = 0, total = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!is_boundary(truth, w, h, x, y)) continue;
            int hit = 0;
            for (int yy = y - 2; yy <= y + 2; yy++)
                for (int xx = x - 2; xx <= x + 2; xx++)
                    if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                        hit |= is_boundary(sp, w, h, xx, yy);
            hits += hit, total++;
        }
    return (double)hits / total;
}

/* Number of 4-connected components of label lab. */
static int components(const int32_t *l, int w, int h, int32_t lab, int *seen, int *stack)
{
    int n = 0;
    memset(seen, 0, sizeof(int) * (size_t)(w * h));
    for (int i = 0; i < w * h; i++) {
        if (l[i] != lab || seen[i]) continue;
        n++;
        int top = 0;
        stack[top++] = i, seen[i] = 1;
        while (top) {
            int p = stack[--top], x = p % w, y = p / w;
            int nb[4] = {x + 1 < w ? p + 1 : -1, x > 0 ? p - 1 : -1, y + 1 < h ? p + w : -1,
                         y > 0 ? p - w : -1};
            for (int d = 0; d < 4; d++)
                if (nb[d] >= 0 && !seen[nb[d]] && l[nb[d]] == lab)
                    seen[nb[d]] = 1, stack[top++] = nb[d];
        }
    }
    return n;
}

static void check_slic(const float *img, const int32_t *truth, int w, int h, int c, double comp)
{
    int32_t *l = malloc(sizeof(int32_t) * (size_t)(w * h));
    int *seen = malloc(sizeof(int) * (size_t)(w * h)),
        *stack = malloc(sizeof(int) * (size_t)(w * h));
    struct xai_slic_opts o;
    xai_slic_default(&o);
    o.n_segments = 40;
    o.compactness = comp;
    struct xai_err err = {{0}};
    int k = 0;
    assert_int_equal(xai_slic(img, w, h, c, &o, l, &k, &err), XAI_OK);
    assert_true(k >= 20 && k <= 60);
    for (int32_t lab = 0; lab < k; lab++)
        assert_int_equal(components(l, w, h, lab, seen, stack), 1);
    double br = boundary_recall(truth, l, w, h);
    assert_true(br >= 0.9);
    free(l);
    free(seen);
    free(stack);
}

static void test_slic_gray(void **state)
{
    (void)state;
    int w = 120, h = 90;
    float *img = malloc(sizeof(float) * (size_t)(w * h));
    int32_t *truth = malloc(sizeof(int32_t) * (size_t)(w * h));
    synthetic(w, h, img, truth);
    check_slic(img, truth, w, h, 1, 0.1);
    free(img);
    free(truth);
}

static void test_slic_colour(void **state)
{
    (void)state;
    int w = 100, h = 110;
    float *g = malloc(sizeof(float) * (size_t)(w * h)),
          *img = malloc(sizeof(float) * (size_t)(3 * w * h));
    int32_t *truth = malloc(sizeof(int32_t) * (size_t)(w * h));
    synthetic(w, h, g, truth);
    static const float rgb[3][3] = {{200, 30, 30}, {30, 160, 40}, {40, 60, 210}};
    for (int i = 0; i < w * h; i++)
        for (int ch = 0; ch < 3; ch++) img[3 * i + ch] = rgb[truth[i]][ch];
    check_slic(img, truth, w, h, 3, 10.0);
    free(g);
    free(img);
    free(truth);
}

static void test_slic_bad(void **state)
{
    (void)state;
    float img[4] = {0};
    int32_t l[4];
    int k;
    struct xai_slic_opts o;
    xai_slic_default(&o);
    struct xai_err err = {{0}};
    assert_int_equal(xai_slic(img, 2, 2, 2, &o, l, &k, &err), XAI_INVALID_ARGUMENT);
    o.compactness = 0;
    assert_int_equal(xai_slic(img, 2, 2, 1, &o, l, &k, &err), XAI_INVALID_ARGUMENT);
    xai_slic_default(&o); /* more segments than pixels: one per pixel, then merged */
    assert_int_equal(xai_slic(img, 2, 2, 1, &o, l, &k, &err), XAI_OK);
    assert_true(k >= 1 && k <= 4);
}

/* ---- helpers ---- */

static void test_compact_labels(void **state)
{
    (void)state;
    int32_t l[8] = {7, -3, 2, 7, 100, 2, -1, 7}, want[8] = {1, -1, 0, 1, 2, 0, -1, 1};
    int k = 0;
    struct xai_err err = {{0}};
    assert_int_equal(xai_m_compact_labels(l, 8, &k, &err), XAI_OK);
    assert_int_equal(k, 3);
    for (int i = 0; i < 8; i++) assert_int_equal(l[i], want[i]);
    int32_t none[2] = {-1, -5};
    assert_int_equal(xai_m_compact_labels(none, 2, &k, &err), XAI_INVALID_ARGUMENT);
}

static void test_ridge(void **state)
{
    (void)state;
    enum { N = 200, K = 10 };
    uint8_t z[N * K];
    float y[N];
    double w[N], coef[K], beta[K];
    uint64_t s = 7;
    for (int j = 0; j < K; j++) beta[j] = j - 4.5;
    for (int i = 0; i < N; i++) {
        double v = 3.0;
        for (int j = 0; j < K; j++) {
            z[i * K + j] = xai_rng_uniform(&s) < 0.5;
            v += beta[j] * z[i * K + j];
        }
        y[i] = (float)v;
        w[i] = 0.1 + xai_rng_uniform(&s);
    }
    struct xai_ridge_fit fit;
    struct xai_err err = {{0}};
    assert_int_equal(xai_m_ridge(z, y, w, N, K, 1e-4, coef, &fit, &err), XAI_OK);
    for (int j = 0; j < K; j++) assert_true(fabs(coef[j] - beta[j]) < 1e-3);
    assert_true(fabs(fit.intercept - 3.0) < 1e-3);
    assert_true(fit.r2 > 0.99999);
    assert_int_equal(xai_m_ridge(z, y, w, N, K, 1e6, coef, &fit, &err), XAI_OK);
    for (int j = 0; j < K; j++) assert_true(fabs(coef[j]) < 0.1); /* shrunk to ~0 */
    assert_int_equal(xai_m_ridge(z, y, w, N, K, 0, coef, &fit, &err), XAI_INVALID_ARGUMENT);
}

static void test_blur(void **state)
{
    (void)state;
    enum { H = 9, W = 11 };
    float in[2 * H * W], out[2 * H * W];
    struct xai_err err = {{0}};
    for (int i = 0; i < H * W; i++) in[i] = 3.f, in[H * W + i] = 0.f;
    in[H * W + 4 * W + 5] = 1.f; /* an impulse in the middle of channel 1 */
    assert_int_equal(xai_m_gaussian_blur(in, 2, H, W, 1.0, out, &err), XAI_OK);
    double sum = 0;
    for (int i = 0; i < H * W; i++) {
        assert_float_equal(out[i], 3.f, 1e-5f);
        sum += out[H * W + i];
    }
    assert_float_equal(sum, 1.0, 1e-5);
    assert_float_equal(out[H * W + 4 * W + 4], out[H * W + 4 * W + 6], 1e-7f);
    assert_float_equal(out[H * W + 3 * W + 5], out[H * W + 4 * W + 4], 1e-7f);
    assert_true(out[H * W + 4 * W + 5] > out[H * W + 4 * W + 4]);
    assert_int_equal(xai_m_gaussian_blur(in, 2, H, W, 0.0, out, &err), XAI_INVALID_ARGUMENT);
}

/* Superpixels of a sw x sh gray original (dark left half, bright right half) on a 64 x 64
 * input: bar pixels (letterbox) belong to no segment, the others to one, and the two halves
 * never share a segment. */
static void check_superpixels(int sw, int sh, enum xai_resize_mode mode)
{
    enum { M = 64 };
    float *px = malloc(sizeof(float) * (size_t)sw * (size_t)sh);
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) px[(int64_t)y * sw + x] = x < sw / 2 ? 30.f : 200.f;
    struct xai_image im = {sw, sh, 1, 8, false, XAI_IMAGE_PNG, 255.f, px};
    struct xai_preprocess pp;
    xai_preprocess_default(&pp);
    pp.channels = 1, pp.width = pp.height = M, pp.resize = mode;
    struct xai_geometry geo = xai_geometry_make(&pp, sw, sh);
    float x[M * M] = {0};
    struct xai_tensor in = {{4, {1, 1, M, M}}, x};
    struct xai_param_values pv = {{0}};
    struct xai_method_req req = {NULL, NULL, &in, 0, -1, &pv, 1, 1, &im, &geo, NULL};
    int32_t seg[M * M];
    int k = 0;
    struct xai_err err = {{0}};
    assert_int_equal(xai_m_superpixels(&req, 8, 0, seg, &k, &err), XAI_OK);
    assert_true(k >= 4 && k <= 16);
    for (int v = 0; v < M; v++)
        for (int u = 0; u < M; u++) {
            int bar = v < geo.valid_y0 || v >= geo.valid_y1;
            assert_int_equal(seg[v * M + u] < 0, bar);
        }
    for (int u = 0; u < M / 2; u++)
        for (int u2 = M / 2; u2 < M; u2++) assert_int_not_equal(seg[32 * M + u], seg[32 * M + u2]);
    free(px);
}

static void test_superpixels_letterbox(void **state)
{
    (void)state;
    check_superpixels(128, 64, XAI_RESIZE_LETTERBOX); /* 16 bar rows on top and bottom */
}

/* An original over XAI_SP_MAX_PIXELS is box-averaged (here by 2) before SLIC. */
static void test_superpixels_large(void **state)
{
    (void)state;
    check_superpixels(1030, 520, XAI_RESIZE_STRETCH);
}

/* ---- occlusion and LIME on a linear model ---- */

enum { LC = 2, LH = 8, LW = 8, LN = LC * LH * LW, LK = 3 };

struct linear {
    xai_model *m;
    xai_session *s;
    float w[LK * LN], b[LK], x[LN];
};

static int linear_setup(void **state)
{
    struct linear *f = calloc(1, sizeof *f);
    struct mb mb;
    mb_init(&mb, 13);
    int64_t in_dims[4] = {-1, LC, LH, LW}, wd[2] = {LK, LN}, bd[1] = {LK};
    for (int i = 0; i < LK * LN; i++) f->w[i] = sinf(0.37f * (float)i);
    for (int i = 0; i < LK; i++) f->b[i] = 0.5f * (float)i;
    for (int i = 0; i < LN; i++) f->x[i] = cosf(0.23f * (float)i) + 0.2f;
    mb_input(&mb, "x", 1, 4, in_dims);
    mb_init_f(&mb, "W", 2, wd, f->w);
    mb_init_f(&mb, "B", 1, bd, f->b);
    mb_attr_i(&mb, mb_node(&mb, "Flatten", "x", "f"), "axis", 1);
    mb_attr_i(&mb, mb_node(&mb, "Gemm", "f,W,B", "y"), "transB", 1);
    mb_output(&mb, "y");
    size_t len;
    uint8_t *buf = mb_pack(&mb, &len);
    struct xai_err err = {{0}};
    assert_int_equal(xai_model_load_buffer(buf, len, &f->m, &err), XAI_OK);
    assert_int_equal(xai_session_new(f->m, &f->s, &err), XAI_OK);
    free(buf);
    mb_free(&mb);
    *state = f;
    return 0;
}

static int linear_teardown(void **state)
{
    struct linear *f = *state;
    xai_session_free(f->s);
    xai_model_free(f->m);
    free(f);
    return 0;
}

static xai_status run_method(struct linear *f, const char *name, const double *params, int np,
                             const int32_t *seg, struct xai_method_result *res, struct xai_err *err)
{
    const struct xai_method_def *def = xai_method_find(name);
    assert_non_null(def);
    struct xai_param_values pv;
    xai_method_defaults(def, &pv);
    for (int i = 0; i < np; i++) pv.v[i] = params[i];
    struct xai_method_model mm = {f->m, f->m->outputs[0], -1, -1, -1, false, -3.f, 3.f, -1, NULL,
                                  0};
    struct xai_tensor in = {{4, {1, LC, LH, LW}}, f->x};
    struct xai_method_req req = {&mm, f->s, &in, 1, -1, &pv, 99, 3, NULL, NULL, seg};
    return def->run(&req, res, err);
}

static void test_occlusion_linear(void **state)
{
    struct linear *f = *state;
    const float *wt = f->w + LN; /* target 1 */
    for (int fill = 0; fill < 2; fill++) {
        double params[3] = {4, 2, fill}; /* patch 4, stride 2: windows at 0, 2, 4 per axis */
        struct xai_method_result res = {0};
        struct xai_err err = {{0}};
        assert_int_equal(run_method(f, "occlusion", params, 3, NULL, &res, &err), XAI_OK);
        double mean[LC] = {0};
        for (int c = 0; c < LC; c++)
            for (int i = 0; i < LH * LW; i++) mean[c] += f->x[c * LH * LW + i] / (LH * LW);
        for (int y = 0; y < LH; y++)
            for (int x = 0; x < LW; x++) {
                double sum = 0;
                int n = 0;
                for (int y0 = 0; y0 <= LH - 4; y0 += 2)
                    for (int x0 = 0; x0 <= LW - 4; x0 += 2) {
                        if (y < y0 || y >= y0 + 4 || x < x0 || x >= x0 + 4) continue;
                        for (int c = 0; c < LC; c++)
                            for (int yy = y0; yy < y0 + 4; yy++)
                                for (int xx = x0; xx < x0 + 4; xx++) {
                                    int i = c * LH * LW + yy * LW + xx;
                                    sum += wt[i] * (f->x[i] - (fill ? mean[c] : 0));
                                }
                        n++;
                    }
                assert_float_equal(res.map[y * LW + x], sum / n, 1e-4);
            }
        xai_method_result_reset(&res);
    }
}

static void test_occlusion_bad_params(void **state)
{
    struct linear *f = *state;
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    double big[2] = {9, 0}, wide[2] = {4, 5};
    assert_int_equal(run_method(f, "occlusion", big, 2, NULL, &res, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "larger than"));
    assert_int_equal(run_method(f, "occlusion", wide, 2, NULL, &res, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "exceeds patch"));
    assert_null(res.map);
}

static void test_lime_linear(void **state)
{
    struct linear *f = *state;
    int32_t seg[LH * LW];
    for (int i = 0; i < LH * LW; i++) seg[i] = (i / LW < 2) ? -1 : 10 * ((i % LW) / 3) + 5;
    /* n_segments, compactness, samples, fill zero, sigma, width, alpha */
    double params[7] = {50, 0, 64, 0, 0, 0.25, 0.001};
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    assert_int_equal(run_method(f, "lime", params, 7, seg, &res, &err), XAI_OK);
    const float *wt = f->w + LN;
    for (int p = 0; p < LH * LW; p++) {
        double want = 0;
        for (int q = 0; seg[p] >= 0 && q < LH * LW; q++)
            for (int c = 0; c < LC && seg[q] == seg[p]; c++)
                want += wt[c * LH * LW + q] * f->x[c * LH * LW + q];
        assert_float_equal(res.map[p], want, 1e-3);
    }
    assert_string_equal(res.metrics[0].name, "segments");
    assert_float_equal(res.metrics[0].value, 3, 0);
    assert_true(res.metrics[1].value > 0.9999); /* r2 */
    xai_method_result_reset(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slic_gray),
        cmocka_unit_test(test_slic_colour),
        cmocka_unit_test(test_slic_bad),
        cmocka_unit_test(test_compact_labels),
        cmocka_unit_test(test_ridge),
        cmocka_unit_test(test_blur),
        cmocka_unit_test(test_superpixels_letterbox),
        cmocka_unit_test(test_superpixels_large),
        cmocka_unit_test_setup_teardown(test_occlusion_linear, linear_setup, linear_teardown),
        cmocka_unit_test_setup_teardown(test_occlusion_bad_params, linear_setup, linear_teardown),
        cmocka_unit_test_setup_teardown(test_lime_linear, linear_setup, linear_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
