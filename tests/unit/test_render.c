/*
 * test_render.c - normalisation, colormaps, heatmap/overlay/colour-bar pixels and PNG encoding.
 *
 * PNGs are decoded back with libpng's simplified read API and compared pixel by pixel with
 * values computed here from the documented formulas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

/* ---- normalisation ---- */

static void test_minmax(void **state)
{
    (void)state;
    float map[] = {3, 1, 5, 2, 4}, t[5], lo, hi;
    struct xai_norm o = {XAI_NORM_MINMAX, false, 0, 0, 0};
    assert_int_equal(xai_normalize(map, 5, &o, t, NULL), XAI_OK);
    float want[] = {0.5f, 0, 1, 0.25f, 0.75f};
    for (int i = 0; i < 5; i++) assert_float_equal(t[i], want[i], 1e-6);
    /* signed: symmetric around 0 */
    float smap[] = {-2, 1, 4, 0};
    o.signed_map = true;
    assert_int_equal(xai_norm_range(smap, 4, &o, &lo, &hi, NULL), XAI_OK);
    assert_float_equal(lo, -4, 0);
    assert_float_equal(hi, 4, 0);
    xai_norm_apply(smap, 4, lo, hi, true, t);
    float swant[] = {0.25f, 0.625f, 1, 0.5f};
    for (int i = 0; i < 4; i++) assert_float_equal(t[i], swant[i], 1e-6);
}

static void test_percentile_known(void **state)
{
    (void)state;
    /* 0..100 shuffled: P(2) = 2, P(98) = 98 */
    float map[101], t[101], lo, hi;
    for (int i = 0; i < 101; i++) map[i] = (float)((i * 37) % 101);
    struct xai_norm o = {XAI_NORM_PERCENTILE, false, 2, 0, 0};
    assert_int_equal(xai_norm_range(map, 101, &o, &lo, &hi, NULL), XAI_OK);
    assert_float_equal(lo, 2, 1e-5);
    assert_float_equal(hi, 98, 1e-5);
    /* interpolation between order statistics: 0..10, P(25) = 2.5, P(75) = 7.5 */
    float small[] = {10, 3, 7, 0, 5, 1, 9, 2, 8, 4, 6};
    o.outlier_perc = 25;
    assert_int_equal(xai_norm_range(small, 11, &o, &lo, &hi, NULL), XAI_OK);
    assert_float_equal(lo, 2.5, 1e-5);
    assert_float_equal(hi, 7.5, 1e-5);
    assert_int_equal(xai_normalize(small, 11, &o, t, NULL), XAI_OK);
    assert_float_equal(t[0], 1, 0);       /* 10 clipped */
    assert_float_equal(t[3], 0, 0);       /* 0 clipped */
    assert_float_equal(t[4], 0.5f, 1e-6); /* 5 */
    assert_float_equal(t[2], 0.9f, 1e-6); /* 7 */
}

/* Signed: r = P(100 - p) of |x|. -50..50: |x| = 0, 1, 1, ..., 50, 50; P(98) sits at sorted
 * index 98, value 49. */
static void test_percentile_signed(void **state)
{
    (void)state;
    float map[103], t[103], lo, hi;
    for (int i = 0; i < 101; i++) map[i] = (float)(i - 50);
    map[101] = NAN; /* ignored */
    map[102] = -INFINITY;
    struct xai_norm o = {XAI_NORM_PERCENTILE, true, 2, 0, 0};
    assert_int_equal(xai_norm_range(map, 103, &o, &lo, &hi, NULL), XAI_OK);
    assert_float_equal(hi, 49, 1e-5);
    assert_float_equal(lo, -49, 1e-5);
    xai_norm_apply(map, 103, lo, hi, true, t);
    assert_float_equal(t[50], 0.5f, 0);                     /* 0 */
    assert_float_equal(t[99], 1, 1e-6);                     /* 49 */
    assert_float_equal(t[100], 1, 0);                       /* 50 clipped */
    assert_float_equal(t[0], 0, 0);                         /* -50 clipped */
    assert_float_equal(t[75], 0.5f + 0.5f * 25 / 49, 1e-6); /* 25 */
    assert_float_equal(t[101], 0.5f, 0);                    /* NaN: the zero point */
    assert_float_equal(t[102], 0.5f, 0);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Selection against a full sort, with many duplicates. */
static void test_percentile_random(void **state)
{
    (void)state;
    enum { N = 10007 };
    float *map = malloc(N * sizeof *map), *sorted = malloc(N * sizeof *sorted), lo, hi;
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        map[i] = (float)((s >> 40) % 1000) / 10.0f;
    }
    memcpy(sorted, map, N * sizeof *map);
    qsort(sorted, N, sizeof *sorted, cmp_float);
    struct xai_norm o = {XAI_NORM_PERCENTILE, false, 3.7f, 0, 0};
    assert_int_equal(xai_norm_range(map, N, &o, &lo, &hi, NULL), XAI_OK);
    double pos_lo = 3.7 / 100 * (N - 1), pos_hi = (100 - 3.7) / 100 * (N - 1);
    int klo = (int)pos_lo, khi = (int)pos_hi;
    double want_lo = sorted[klo] + (pos_lo - klo) * (sorted[klo + 1] - sorted[klo]);
    double want_hi = sorted[khi] + (pos_hi - khi) * (sorted[khi + 1] - sorted[khi]);
    assert_float_equal(lo, want_lo, 1e-4);
    assert_float_equal(hi, want_hi, 1e-4);
    free(map);
    free(sorted);
}

static void test_absolute_and_degenerate(void **state)
{
    (void)state;
    float map[] = {-5, 0, 5, 20}, t[4], lo, hi;
    struct xai_norm o = {XAI_NORM_ABSOLUTE, false, 0, 0, 10};
    assert_int_equal(xai_normalize(map, 4, &o, t, NULL), XAI_OK);
    float want[] = {0, 0, 0.5f, 1};
    for (int i = 0; i < 4; i++) assert_float_equal(t[i], want[i], 1e-6);
    o = (struct xai_norm){XAI_NORM_ABSOLUTE, true, 0, -2, 4};
    assert_int_equal(xai_norm_range(map, 4, &o, &lo, &hi, NULL), XAI_OK);
    assert_float_equal(lo, -4, 0);
    assert_float_equal(hi, 4, 0);
    /* constant and empty maps give the zero point */
    float flat[] = {3, 3, 3};
    o = (struct xai_norm){XAI_NORM_MINMAX, false, 0, 0, 0};
    assert_int_equal(xai_normalize(flat, 3, &o, t, NULL), XAI_OK);
    for (int i = 0; i < 3; i++) assert_float_equal(t[i], 0, 0);
    float nan_only[] = {NAN, INFINITY};
    o.mode = XAI_NORM_PERCENTILE;
    o.signed_map = true;
    assert_int_equal(xai_normalize(nan_only, 2, &o, t, NULL), XAI_OK);
    assert_float_equal(t[0], 0.5f, 0);
    assert_int_equal(xai_norm_range(nan_only, 0, &o, &lo, &hi, NULL), XAI_OK);
}

static void test_norm_rejects(void **state)
{
    (void)state;
    float map[] = {1}, lo, hi;
    struct xai_err err;
    struct xai_norm o = {XAI_NORM_PERCENTILE, false, 50, 0, 0};
    assert_int_equal(xai_norm_range(map, 1, &o, &lo, &hi, &err), XAI_INVALID_ARGUMENT);
    o = (struct xai_norm){XAI_NORM_ABSOLUTE, false, 0, 1, 1};
    assert_int_equal(xai_norm_range(map, 1, &o, &lo, &hi, &err), XAI_INVALID_ARGUMENT);
    o.mode = (enum xai_norm_mode)9;
    assert_int_equal(xai_norm_range(map, 1, &o, &lo, &hi, &err), XAI_INVALID_ARGUMENT);
}

/* ---- colormaps ---- */

static void assert_rgb(const uint8_t *got, int r, int g, int b)
{
    assert_int_equal(got[0], r);
    assert_int_equal(got[1], g);
    assert_int_equal(got[2], b);
}

/* Endpoints as published: viridis #440154..#FDE725, inferno #000004..#FCFFA4, turbo
 * #30123B..#7A0403, jet dark blue..dark red, bwr blue..red. */
static void test_colormap_endpoints(void **state)
{
    (void)state;
    assert_rgb(xai_colormap_lut(XAI_CMAP_VIRIDIS)[0], 0x44, 0x01, 0x54);
    assert_rgb(xai_colormap_lut(XAI_CMAP_VIRIDIS)[255], 0xFD, 0xE7, 0x25);
    assert_rgb(xai_colormap_lut(XAI_CMAP_INFERNO)[0], 0x00, 0x00, 0x04);
    assert_rgb(xai_colormap_lut(XAI_CMAP_INFERNO)[255], 0xFC, 0xFF, 0xA4);
    assert_rgb(xai_colormap_lut(XAI_CMAP_TURBO)[0], 0x30, 0x12, 0x3B);
    assert_rgb(xai_colormap_lut(XAI_CMAP_TURBO)[255], 0x7A, 0x04, 0x03);
    assert_rgb(xai_colormap_lut(XAI_CMAP_JET)[0], 0, 0, 128);
    assert_rgb(xai_colormap_lut(XAI_CMAP_JET)[255], 128, 0, 0);
    assert_rgb(xai_colormap_lut(XAI_CMAP_GRAY)[0], 0, 0, 0);
    assert_rgb(xai_colormap_lut(XAI_CMAP_GRAY)[255], 255, 255, 255);
    assert_rgb(xai_colormap_lut(XAI_CMAP_BWR)[0], 0, 0, 255);
    assert_rgb(xai_colormap_lut(XAI_CMAP_BWR)[255], 255, 0, 0);
    const uint8_t *mid = xai_colormap_lut(XAI_CMAP_BWR)[128];
    assert_true(mid[0] >= 250 && mid[1] >= 250 && mid[2] >= 250); /* white at zero */
    assert_null(xai_colormap_lut(XAI_CMAP_COUNT));
}

static void test_colormap_index(void **state)
{
    (void)state;
    const uint8_t(*gray)[3] = xai_colormap_lut(XAI_CMAP_GRAY);
    uint8_t rgb[3];
    float ts[] = {0, 1, 0.5f, 2, -1, NAN, 1.0f / 256, 0.999f};
    int want[] = {0, 255, 128, 255, 0, 0, 1, 255};
    for (int i = 0; i < 8; i++) {
        xai_colormap_rgb(XAI_CMAP_GRAY, ts[i], rgb);
        assert_memory_equal(rgb, gray[want[i]], 3);
    }
    enum xai_colormap cm;
    struct xai_err err;
    assert_int_equal(xai_colormap_parse("inferno", &cm, &err), XAI_OK);
    assert_int_equal(cm, XAI_CMAP_INFERNO);
    assert_string_equal(xai_colormap_name(XAI_CMAP_TURBO), "turbo");
    assert_int_equal(xai_colormap_parse("rainbow", &cm, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "viridis"));
}

static double linear(int c)
{
    double v = c / 255.0;
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

/* CIELAB lightness L* of an entry (sRGB, D65). */
static double lightness(const uint8_t *rgb)
{
    double y = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    return y > 216.0 / 24389 ? 116 * cbrt(y) - 16 : y * 24389 / 27;
}

/* Lightness rises along viridis and inferno (they are designed to be uniform in lightness): over
 * any 16 entries by at least 2/5 of the mean (observed minimum: 0.50 for inferno, 0.90 for
 * viridis), and between neighbours it never falls by more than 0.1 L*, what 8-bit rounding can
 * do (viridis has two dips of 0.03 at entries 94 and 145). */
static void test_colormap_lightness(void **state)
{
    (void)state;
    enum xai_colormap maps[] = {XAI_CMAP_VIRIDIS, XAI_CMAP_INFERNO, XAI_CMAP_GRAY};
    for (int m = 0; m < 3; m++) {
        const uint8_t(*lut)[3] = xai_colormap_lut(maps[m]);
        double l[256];
        for (int i = 0; i < 256; i++) l[i] = lightness(lut[i]);
        double mean_step = (l[255] - l[0]) / 255;
        assert_true(mean_step > 0.25); /* at least 64 L* from end to end */
        for (int i = 1; i < 256; i++) assert_true(l[i] >= l[i - 1] - 0.1);
        for (int i = 16; i < 256; i++) assert_true(l[i] - l[i - 16] >= 16 * mean_step * 2 / 5);
    }
}

/* ---- PNG decoding for the tests (libpng simplified API) ---- */

struct decoded {
    int width, height;
    uint8_t *px;
};

static struct decoded decode_png(const struct xai_blob *png, png_uint_32 format)
{
    struct decoded d = {0};
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png->data, png->len));
    img.format = format;
    d.width = (int)img.width;
    d.height = (int)img.height;
    d.px = malloc(PNG_IMAGE_SIZE(img));
    assert_true(png_image_finish_read(&img, NULL, d.px, 0, NULL));
    return d;
}

static uint8_t round_byte(double v)
{
    return (uint8_t)floor(v + 0.5);
}

static void test_heatmap_png(void **state)
{
    (void)state;
    enum { W = 5, H = 4 };
    float t[W * H];
    uint8_t mask[W * H];
    for (int i = 0; i < W * H; i++) {
        t[i] = (float)i / (W * H - 1);
        mask[i] = i != 7;
    }
    struct xai_render_opts o;
    xai_render_opts_default(&o);
    o.cmap = XAI_CMAP_VIRIDIS;
    struct xai_blob png = {0};
    assert_int_equal(xai_render_heatmap_png(t, mask, W, H, &o, &png, NULL), XAI_OK);
    assert_memory_equal(png.data, "\x89PNG\r\n\x1a\n", 8);
    struct decoded d = decode_png(&png, PNG_FORMAT_RGBA);
    assert_int_equal(d.width, W);
    assert_int_equal(d.height, H);
    const uint8_t(*lut)[3] = xai_colormap_lut(XAI_CMAP_VIRIDIS);
    for (int i = 0; i < W * H; i++) {
        int idx = t[i] >= 1 ? 255 : (int)(t[i] * 256);
        assert_memory_equal(d.px + i * 4, lut[idx], 3);
        assert_int_equal(d.px[i * 4 + 3], i == 7 ? 0 : round_byte(255.0 * t[i]));
    }
    free(d.px);
    /* signed: alpha follows |2t - 1| */
    o.cmap = XAI_CMAP_BWR;
    o.signed_map = true;
    assert_int_equal(xai_render_heatmap_png(t, NULL, W, H, &o, &png, NULL), XAI_OK);
    d = decode_png(&png, PNG_FORMAT_RGBA);
    for (int i = 0; i < W * H; i++)
        assert_int_equal(d.px[i * 4 + 3], round_byte(255.0 * fabs(2.0 * t[i] - 1.0)));
    free(d.px);
    xai_blob_reset(&png);
}

static struct xai_image make_image(int w, int h, int ch, float max_value, float *data)
{
    struct xai_image img = {0};
    img.width = w;
    img.height = h;
    img.channels = ch;
    img.bit_depth = max_value > 255 ? 16 : 8;
    img.max_value = max_value;
    img.data = data;
    return img;
}

/* 16-bit gray source, uniform opacity; masked pixels show the bare image. */
static void test_overlay_gray16(void **state)
{
    (void)state;
    enum { W = 3, H = 2 };
    float px[W * H] = {0, 1000, 30000, 65535, 40000, 12345};
    float t[W * H] = {0, 0.2f, 0.4f, 0.6f, 0.8f, 1};
    uint8_t mask[W * H] = {1, 1, 0, 1, 1, 1};
    struct xai_image img = make_image(W, H, 1, 65535, px);
    struct xai_render_opts o;
    xai_render_opts_default(&o);
    o.cmap = XAI_CMAP_JET;
    o.opacity = 0.4f;
    struct xai_blob png = {0};
    assert_int_equal(xai_render_overlay_png(&img, t, mask, &o, &png, NULL), XAI_OK);
    struct decoded d = decode_png(&png, PNG_FORMAT_RGB);
    assert_int_equal(d.width, W);
    assert_int_equal(d.height, H);
    const uint8_t(*lut)[3] = xai_colormap_lut(XAI_CMAP_JET);
    for (int i = 0; i < W * H; i++) {
        double base = round_byte(px[i] / 65535.0 * 255.0);
        int idx = t[i] >= 1 ? 255 : (int)(t[i] * 256);
        double a = mask[i] ? 0.4 : 0.0;
        for (int c = 0; c < 3; c++) {
            int want = round_byte((1 - a) * base + a * lut[idx][c]);
            int got = d.px[i * 3 + c];
            assert_true(abs(got - want) <= 1); /* float vs double rounding of .5 cases */
            if (!mask[i]) assert_int_equal(got, (int)base);
        }
    }
    free(d.px);
    xai_blob_reset(&png);
}

/* 8-bit RGB source, opacity weighted by the signed map's alpha: zero values leave the image. */
static void test_overlay_rgb_value_alpha(void **state)
{
    (void)state;
    float px[2 * 3] = {10, 20, 30, 200, 100, 50};
    float t[2] = {0.5f, 1};
    struct xai_image img = make_image(2, 1, 3, 255, px);
    struct xai_render_opts o = {XAI_CMAP_BWR, true, 1.0f, true};
    uint8_t rgb[6];
    assert_int_equal(xai_render_overlay_rgb(&img, t, NULL, &o, rgb, NULL), XAI_OK);
    assert_rgb(rgb, 10, 20, 30);    /* t = 0.5: alpha 0 */
    assert_rgb(rgb + 3, 255, 0, 0); /* t = 1: full red */
    o.opacity = 1.5f;
    struct xai_err err;
    assert_int_equal(xai_render_overlay_rgb(&img, t, NULL, &o, rgb, &err), XAI_INVALID_ARGUMENT);
    o.opacity = 1;
    o.cmap = XAI_CMAP_COUNT;
    assert_int_equal(xai_render_overlay_rgb(&img, t, NULL, &o, rgb, &err), XAI_INVALID_ARGUMENT);
    struct xai_blob png = {0};
    assert_int_equal(xai_render_heatmap_png(t, NULL, 2, 1, &o, &png, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(xai_render_colorbar_png(XAI_CMAP_COUNT, 8, 1, &png, &err),
                     XAI_INVALID_ARGUMENT);
    assert_null(png.data);
}

static void test_colorbar_png(void **state)
{
    (void)state;
    struct xai_blob png = {0};
    assert_int_equal(xai_render_colorbar_png(XAI_CMAP_TURBO, 256, 3, &png, NULL), XAI_OK);
    struct decoded d = decode_png(&png, PNG_FORMAT_RGB);
    assert_int_equal(d.width, 256);
    assert_int_equal(d.height, 3);
    const uint8_t(*lut)[3] = xai_colormap_lut(XAI_CMAP_TURBO);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 256; x++) assert_memory_equal(d.px + (y * 256 + x) * 3, lut[x], 3);
    free(d.px);
    xai_blob_reset(&png);
}

/* A larger random RGBA image round-trips (the output buffer grows many times). */
static void test_png_roundtrip_large(void **state)
{
    (void)state;
    enum { W = 300, H = 200 };
    uint8_t *px = malloc(W * H * 4);
    uint64_t s = 99;
    for (int i = 0; i < W * H * 4; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        px[i] = (uint8_t)(s >> 56);
    }
    struct xai_blob png = {0};
    assert_int_equal(xai_png_encode(px, W, H, 4, &png, NULL), XAI_OK);
    assert_true(png.len > (size_t)W * H * 4); /* random data does not compress */
    struct decoded d = decode_png(&png, PNG_FORMAT_RGBA);
    assert_memory_equal(d.px, px, W * H * 4);
    free(d.px);
    /* gray + alpha too */
    assert_int_equal(xai_png_encode(px, W, H, 2, &png, NULL), XAI_OK);
    d = decode_png(&png, PNG_FORMAT_GA);
    assert_memory_equal(d.px, px, W * H * 2);
    free(d.px);
    free(px);
    xai_blob_reset(&png);
}

/* libpng's own error path (its 1,000,000-pixel width limit) longjmps out cleanly: status and
 * message set, output empty, nothing leaked (checked by the sanitizer build). */
static void test_png_errors(void **state)
{
    (void)state;
    enum { W = 1000001 };
    uint8_t *px = calloc(W, 1);
    struct xai_blob png = {0};
    struct xai_err err;
    assert_int_equal(xai_png_encode(px, 2, 2, 1, &png, NULL), XAI_OK); /* leaves data behind */
    assert_int_equal(xai_png_encode(px, W, 1, 1, &png, &err), XAI_INTERNAL);
    assert_non_null(strstr(err.msg, "png:"));
    assert_null(png.data);
    assert_int_equal(png.len, 0);
    assert_int_equal(xai_png_encode(px, 2, 2, 5, &png, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(xai_png_encode(px, 0, 2, 1, &png, &err), XAI_INVALID_ARGUMENT);
    free(px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minmax),
        cmocka_unit_test(test_percentile_known),
        cmocka_unit_test(test_percentile_signed),
        cmocka_unit_test(test_percentile_random),
        cmocka_unit_test(test_absolute_and_degenerate),
        cmocka_unit_test(test_norm_rejects),
        cmocka_unit_test(test_colormap_endpoints),
        cmocka_unit_test(test_colormap_index),
        cmocka_unit_test(test_colormap_lightness),
        cmocka_unit_test(test_heatmap_png),
        cmocka_unit_test(test_overlay_gray16),
        cmocka_unit_test(test_overlay_rgb_value_alpha),
        cmocka_unit_test(test_colorbar_png),
        cmocka_unit_test(test_png_roundtrip_large),
        cmocka_unit_test(test_png_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
