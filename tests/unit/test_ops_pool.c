/*
 * test_ops_pool.c - MaxPool and AveragePool, forward and backward, against a naive reference
 * written from the definitions, bit for bit, over a sweep of 1-D and 2-D geometries (kernel,
 * stride, asymmetric pads, ceil_mode, count_include_pad). The ops run 2-D windows without
 * dilation on fast paths of their own; the reference scans every window in row-major order
 * like the generic path, so the sums, the first maxima (values drawn from a few integers, so
 * ties are common) and the order of the gradient additions must all agree exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "op.h"

struct geom {
    int64_t h, w, kh, kw, sh, sw, pt, pl, pb, pr;
    int ceil_mode, include_pad;
};

static struct xai_attr ints_attr(const char *name, int n, int64_t *v)
{
    return (struct xai_attr){.name = (char *)name, .type = XAI_ATTR_INTS, .n = n, .ints = v};
}

static struct xai_attr int_attr(const char *name, int64_t v)
{
    return (struct xai_attr){.name = (char *)name, .type = XAI_ATTR_INT, .i = v};
}

/* Window taps along one axis of output position o, as input indices start + t, t < k. */
static int64_t start_of(int64_t o, int64_t s, int64_t pad)
{
    return o * s - pad;
}

static bool inside(int64_t i, int64_t n)
{
    return i >= 0 && i < n;
}

/* The reference, one plane. mode 0: max, 1: average. */
static void ref_plane(const struct geom *g, int mode, int64_t oh, int64_t ow, const float *x,
                      float *y, const float *gy, float *gx)
{
    for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++) {
            int64_t ys = start_of(oy, g->sh, g->pt), xs = start_of(ox, g->sw, g->pl);
            int64_t best = -1, cy = 0, cx = 0;
            float acc = 0.f;
            for (int64_t i = 0; i < g->kh; i++) {
                int64_t yy = ys + i;
                cy += g->include_pad ? yy < g->h + g->pb : inside(yy, g->h);
                if (!inside(yy, g->h)) continue;
                for (int64_t j = 0; j < g->kw; j++) {
                    int64_t xx = xs + j;
                    if (!inside(xx, g->w)) continue;
                    int64_t at = yy * g->w + xx;
                    acc += x[at];
                    if (best < 0 || x[at] > x[best]) best = at;
                }
            }
            for (int64_t j = 0; j < g->kw; j++)
                cx += g->include_pad ? xs + j < g->w + g->pr : inside(xs + j, g->w);
            int64_t n = cy * cx, o = oy * ow + ox;
            if (mode == 0) {
                y[o] = best < 0 ? 0.f : x[best];
                if (best >= 0) gx[best] += gy[o];
                continue;
            }
            y[o] = n > 0 ? acc / (float)n : 0.f;
            if (n <= 0) continue;
            float v = gy[o] / (float)n;
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++)
                    if (inside(ys + i, g->h) && inside(xs + j, g->w))
                        gx[(ys + i) * g->w + xs + j] += v;
        }
}

/* Runs one geometry (nsp spatial axes: 1 uses the w axis only) through the op and the
 * reference; returns false when the op refuses the geometry (kernel larger than the input). */
static bool run_case(const struct geom *g, int mode, int nsp)
{
    const char *op = mode == 0 ? "MaxPool" : "AveragePool";
    const struct xai_op_def *def = xai_op_find(op, 11);
    assert_non_null(def);
    int64_t k[2] = {g->kh, g->kw}, s[2] = {g->sh, g->sw};
    int64_t pads[4] = {g->pt, g->pl, g->pb, g->pr}, pads1[2] = {g->pl, g->pr};
    struct xai_attr attrs[5];
    int na = 0;
    attrs[na++] = ints_attr("kernel_shape", nsp, k + 2 - nsp);
    attrs[na++] = ints_attr("strides", nsp, s + 2 - nsp);
    attrs[na++] = ints_attr("pads", 2 * nsp, nsp == 2 ? pads : pads1);
    attrs[na++] = int_attr("ceil_mode", g->ceil_mode);
    if (mode == 1) attrs[na++] = int_attr("count_include_pad", g->include_pad);
    int64_t planes = 6, d[4] = {2, 3, g->h, g->w}, d1[3] = {2, 3, g->w};
    struct xai_shape xs = nsp == 2 ? xai_shape_make(4, d) : xai_shape_make(3, d1), ys;
    bool present = true;
    const struct xai_const *cst = NULL;
    struct xai_node_def nd = {"p", op, 11, na, attrs, 1, &present, &cst, &xs, 1};
    void *params = NULL;
    struct xai_err err = {{0}};
    assert_int_equal(def->init(&nd, &params, &err), XAI_OK);
    if (def->infer(params, &xs, 1, &ys, 1, 2, &err)) {
        free(params);
        return false;
    }
    int64_t isz = g->h * g->w, oh = nsp == 2 ? ys.d[2] : 1, ow = ys.d[nsp + 1], osz = oh * ow;
    float *x = test_malloc(sizeof(float) * (size_t)(planes * isz));
    float *gy = test_malloc(sizeof(float) * (size_t)(planes * osz));
    float *y = test_calloc((size_t)(planes * osz), sizeof(float));
    float *yr = test_calloc((size_t)(planes * osz), sizeof(float));
    float *gx = test_calloc((size_t)(planes * isz), sizeof(float));
    float *gxr = test_calloc((size_t)(planes * isz), sizeof(float));
    for (int64_t i = 0; i < planes * isz; i++) x[i] = (float)(rand() % 7 - 3) * 0.37f;
    /* MaxPool: signed zeros and NaNs too, which the first maximum by strict > keeps or skips
     * as the reference does (every path must, vectorised ones included) */
    for (int64_t i = 0; mode == 0 && i < planes * isz; i++)
        x[i] = rand() % 11 == 0 ? -0.f : rand() % 31 == 0 ? NAN : x[i];
    for (int64_t i = 0; i < planes * osz; i++) gy[i] = (float)(rand() % 1000) / 999.f - 0.3f;
    for (int64_t p = 0; p < planes; p++)
        ref_plane(g, mode, oh, ow, x + p * isz, yr + p * osz, gy + p * osz, gxr + p * isz);
    struct xai_tensor tx = {xs, x}, ty = {ys, y}, tgy = {ys, gy}, tgx = {xs, gx};
    const struct xai_tensor *in[1] = {&tx}, *out[1] = {&ty}, *gout[1] = {&tgy}, *gin[1] = {&tgx};
    struct xai_op_run r = {params, 1, in, 1, out, gout, gin, NULL, 2};
    def->forward(&r);
    def->backward(&r);
    if (memcmp(y, yr, sizeof(float) * (size_t)(planes * osz)) ||
        memcmp(gx, gxr, sizeof(float) * (size_t)(planes * isz)))
        fail_msg("%s %dd %lldx%lld k%lldx%lld s%lldx%lld pads %lld,%lld,%lld,%lld ceil %d "
                 "include_pad %d: %s differs from the reference",
                 op, nsp, (long long)g->h, (long long)g->w, (long long)g->kh, (long long)g->kw,
                 (long long)g->sh, (long long)g->sw, (long long)g->pt, (long long)g->pl,
                 (long long)g->pb, (long long)g->pr, g->ceil_mode, g->include_pad,
                 memcmp(y, yr, sizeof(float) * (size_t)(planes * osz)) ? "forward" : "backward");
    test_free(x);
    test_free(gy);
    test_free(y);
    test_free(yr);
    test_free(gx);
    test_free(gxr);
    free(params);
    return true;
}

static void sweep(int mode, int include_pad)
{
    static const int64_t pads[][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 1}};
    int ran = 0;
    for (int64_t k = 1; k <= 4; k++)
        for (int64_t s = 1; s <= 3; s++)
            for (int ph = 0; ph < 5; ph++)
                for (int pw = 0; pw < 5; pw++)
                    for (int c = 0; c < 2; c++) {
                        struct geom g = {7,           9,
                                         k,           k == 4 ? 2 : k,
                                         s,           s == 3 ? 1 : s,
                                         pads[ph][0], pads[pw][0],
                                         pads[ph][1], pads[pw][1],
                                         c,           include_pad};
                        ran += run_case(&g, mode, 2);
                        struct geom g1 = g;
                        g1.h = 1, g1.kh = 1, g1.sh = 1, g1.pt = g1.pb = 0;
                        ran += run_case(&g1, mode, 1);
                    }
    assert_true(ran > 1000);
}

static void max_pool_sweep(void **state)
{
    sweep(0, 0);
}

static void avg_pool_sweep(void **state)
{
    sweep(1, 0);
}

static void avg_pool_include_pad_sweep(void **state)
{
    sweep(1, 1);
}

/* Rows wider than MaxPool's backward chunk of window columns, ResNet's stem pool geometry. */
static void wide_rows(void **state)
{
    for (int mode = 0; mode < 2; mode++) {
        struct geom g = {5, 301, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0};
        assert_true(run_case(&g, mode, 2));
        struct geom g1 = {4, 300, 3, 3, 1, 1, 0, 0, 0, 0, 0, 1};
        assert_true(run_case(&g1, mode, 2));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(max_pool_sweep),
        cmocka_unit_test(avg_pool_sweep),
        cmocka_unit_test(avg_pool_include_pad_sweep),
        cmocka_unit_test(wide_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
