/*
 * test_im2col.c - xai_im2col and xai_col2im_add against their definitions (_im2col.h), bit for
 * bit, over a sweep of window geometries: the contiguous stride-1 path, the paired stride-2
 * path (including images so small that the two taps of a pair have disjoint ranges), the
 * generic strided path, dilations, asymmetric pads, and a row stride ld wider than oh*ow.
 * col2im must add each pixel's contributions in kernel-tap order, as the definition does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/_im2col.h"

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pad)
{
    int64_t span = in + 2 * pad - ((k - 1) * d + 1);
    return span < 0 ? 0 : span / s + 1;
}

static void check(const struct xai_win *g, int64_t extra)
{
    int64_t taps = g->kh * g->kw, n = g->oh * g->ow, ld = n + extra;
    int64_t rows = g->c * taps, isz = g->c * g->h * g->w;
    float *img = test_malloc(sizeof(float) * (size_t)isz);
    float *col = test_malloc(sizeof(float) * (size_t)(rows * ld));
    float *want = test_malloc(sizeof(float) * (size_t)(rows * ld));
    float *gi = test_malloc(sizeof(float) * (size_t)isz);
    float *gw = test_malloc(sizeof(float) * (size_t)isz);
    for (int64_t i = 0; i < isz; i++) img[i] = gi[i] = gw[i] = (float)(rand() % 2001) / 1000.f - 1;
    for (int64_t i = 0; i < rows * ld; i++) col[i] = want[i] = -7.f; /* padding columns kept */
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++)
                for (int64_t y = 0; y < g->oh; y++)
                    for (int64_t x = 0; x < g->ow; x++) {
                        int64_t r = y * g->sh - g->ph + i * g->dh,
                                c = x * g->sw - g->pw + j * g->dw;
                        bool in = r >= 0 && r < g->h && c >= 0 && c < g->w;
                        want[((ci * g->kh + i) * g->kw + j) * ld + y * g->ow + x] =
                            in ? img[(ci * g->h + r) * g->w + c] : 0.f;
                    }
    xai_im2col(g, img, col, ld);
    if (memcmp(col, want, sizeof(float) * (size_t)(rows * ld)))
        fail_msg("im2col differs: c%lld %lldx%lld k%lldx%lld s%lldx%lld d%lldx%lld p%lldx%lld",
                 (long long)g->c, (long long)g->h, (long long)g->w, (long long)g->kh,
                 (long long)g->kw, (long long)g->sh, (long long)g->sw, (long long)g->dh,
                 (long long)g->dw, (long long)g->ph, (long long)g->pw);
    for (int64_t i = 0; i < rows * ld; i++) col[i] = (float)(rand() % 2001) / 1000.f - 1;
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++)
                for (int64_t y = 0; y < g->oh; y++)
                    for (int64_t x = 0; x < g->ow; x++) {
                        int64_t r = y * g->sh - g->ph + i * g->dh,
                                c = x * g->sw - g->pw + j * g->dw;
                        if (r >= 0 && r < g->h && c >= 0 && c < g->w)
                            gw[(ci * g->h + r) * g->w + c] +=
                                col[((ci * g->kh + i) * g->kw + j) * ld + y * g->ow + x];
                    }
    xai_col2im_add(g, col, ld, gi);
    if (memcmp(gi, gw, sizeof(float) * (size_t)isz))
        fail_msg("col2im differs: c%lld %lldx%lld k%lldx%lld s%lldx%lld d%lldx%lld p%lldx%lld",
                 (long long)g->c, (long long)g->h, (long long)g->w, (long long)g->kh,
                 (long long)g->kw, (long long)g->sh, (long long)g->sw, (long long)g->dh,
                 (long long)g->dw, (long long)g->ph, (long long)g->pw);
    test_free(img);
    test_free(col);
    test_free(want);
    test_free(gi);
    test_free(gw);
}

static void sweep(void **state)
{
    static const int64_t sizes[] = {1, 2, 3, 5, 8, 13};
    int ran = 0;
    for (int hi = 0; hi < 6; hi++)
        for (int wi = 0; wi < 6; wi++)
            for (int64_t k = 1; k <= 4; k++)
                for (int64_t s = 1; s <= 3; s++)
                    for (int64_t d = 1; d <= 2; d++)
                        for (int64_t p = 0; p <= 2; p++) {
                            struct xai_win g = {2,
                                                sizes[hi],
                                                sizes[wi],
                                                k,
                                                k == 4 ? 3 : k,
                                                s,
                                                s == 3 ? 2 : s,
                                                d,
                                                d,
                                                p,
                                                p == 2 ? 1 : p,
                                                0,
                                                0};
                            g.oh = out_size(g.h, g.kh, g.sh, g.dh, g.ph);
                            g.ow = out_size(g.w, g.kw, g.sw, g.dw, g.pw);
                            if (g.oh < 1 || g.ow < 1) continue;
                            check(&g, (hi + wi) % 3 == 0 ? 5 : 0);
                            ran++;
                        }
    assert_true(ran > 1000);
}

/* ResNet's stem: 7x7 stride 2 pad 3 on 3 channels, and its stride-2 3x3 layers. */
static void resnet_shapes(void **state)
{
    struct xai_win a = {3, 40, 38, 7, 7, 2, 2, 1, 1, 3, 3, 20, 19};
    check(&a, 0);
    struct xai_win b = {4, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 14, 14};
    check(&b, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep),
        cmocka_unit_test(resnet_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
