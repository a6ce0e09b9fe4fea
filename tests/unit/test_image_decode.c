/*
 * test_image_decode.c - the image decoder against the corpus of tools/make_image_corpus.py.
 *
 * The corpus (built by the image_corpus ctest fixture into <build>/image-corpus) holds valid
 * files of every supported kind with the pixels PIL decodes for them, and broken files with
 * the status the decoder must return. On top of that: the caps with small custom limits,
 * the messages, every truncation of a few files and single-byte corruptions (under the
 * sanitizer build these prove the error paths neither leak nor read out of bounds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "image_codec.h"

#define CORPUS XAI_BINARY_DIR "/image-corpus"

struct blob {
    uint8_t *p;
    size_t n;
};

static struct blob read_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s (is the image_corpus fixture built?)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.n = (size_t)n;
    b.p = malloc(b.n ? b.n : 1);
    assert_non_null(b.p);
    assert_int_equal(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

static json_t *manifest(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m) fail_msg("cannot read %s: %s (is the image_corpus fixture built?)", path, jerr.text);
    return m;
}

static const char *jstr(const json_t *e, const char *key)
{
    return json_string_value(json_object_get(e, key));
}

static long long jint(const json_t *e, const char *key)
{
    return json_integer_value(json_object_get(e, key));
}

/* Decodes a private copy of exactly n bytes, so ASan sees any read past the end. */
static xai_status decode_copy(const uint8_t *p, size_t n, const struct xai_image_limits *lim,
                              struct xai_image *img, struct xai_err *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n) memcpy(copy, p, n);
    xai_status st = xai_image_decode(n ? copy : NULL, n, lim, img, err);
    free(copy);
    return st;
}

static bool is_empty(const struct xai_image *img)
{
    return !img->data && img->width == 0 && img->height == 0 && img->channels == 0;
}

/* ----------------------------------------------------------------------- valid corpus */

static bool same_header(const json_t *e, const struct xai_image *img)
{
    int fmt = strcmp(jstr(e, "format"), "png") == 0 ? XAI_IMAGE_PNG : XAI_IMAGE_JPEG;
    return img->width == jint(e, "width") && img->height == jint(e, "height") &&
           img->channels == jint(e, "channels") && img->bit_depth == jint(e, "bit_depth") &&
           img->max_value == (float)jint(e, "max_value") &&
           img->has_alpha == json_is_true(json_object_get(e, "has_alpha")) &&
           (int)img->format == fmt;
}

/* Returns the number of samples that differ (and reports the first). */
static size_t compare_pixels(const char *file, const struct xai_image *img, const struct blob *x)
{
    size_t n = (size_t)img->width * (size_t)img->height * (size_t)img->channels, bad = 0;
    if (x->n != n * sizeof(float)) {
        print_message("%s: expected file holds %zu bytes, image has %zu samples\n", file, x->n, n);
        return n ? n : 1;
    }
    for (size_t i = 0; i < n; i++) {
        float want;
        memcpy(&want, x->p + i * sizeof(float), sizeof want);
        if (img->data[i] == want) continue;
        if (bad++ == 0)
            print_message("%s: sample %zu is %g, expected %g\n", file, i, img->data[i], want);
    }
    return bad;
}

static bool check_valid(const json_t *e)
{
    const char *file = jstr(e, "file");
    struct blob b = read_file(CORPUS "/valid", file),
                x = read_file(CORPUS "/valid", jstr(e, "expected"));
    struct xai_image img;
    struct xai_err err = {{0}};
    xai_status st = decode_copy(b.p, b.n, NULL, &img, &err);
    bool ok = st == XAI_OK;
    if (!ok) print_message("%s: %s: %s\n", file, xai_status_code(st), err.msg);
    if (ok && !same_header(e, &img)) {
        print_message("%s: decoded %dx%dx%d depth %d max %g alpha %d, manifest differs\n", file,
                      img.width, img.height, img.channels, img.bit_depth, img.max_value,
                      img.has_alpha);
        ok = false;
    }
    if (ok) ok = compare_pixels(file, &img, &x) == 0;
    xai_image_reset(&img);
    free(b.p);
    free(x.p);
    return ok;
}

static void test_valid_corpus(void **state)
{
    json_t *m = manifest(CORPUS "/valid");
    json_t *files = json_object_get(m, "files");
    size_t i, failed = 0, png = 0;
    json_t *e;
    json_array_foreach(files, i, e)
    {
        if (!check_valid(e)) failed++;
        png += strcmp(jstr(e, "format"), "png") == 0;
    }
    print_message("%zu valid files (%zu PNG), %zu failed\n", json_array_size(files), png, failed);
    assert_true(png >= 20 && json_array_size(files) - png >= 20);
    assert_int_equal(failed, 0);
    json_decref(m);
}

/* ---------------------------------------------------------------------- broken corpus */

static bool check_broken(const json_t *e)
{
    const char *file = jstr(e, "file"), *want = jstr(e, "status");
    struct blob b = read_file(CORPUS "/broken", file);
    struct xai_image img;
    struct xai_err err = {{0}};
    xai_status st = decode_copy(b.p, b.n, NULL, &img, &err);
    bool ok = strcmp(xai_status_code(st), want) == 0 && is_empty(&img) && err.msg[0];
    if (!ok)
        print_message("%s (%s): got %s, want %s: %s\n", file, jstr(e, "note"), xai_status_code(st),
                      want, err.msg);
    if (strstr(err.msg, "script")) {
        print_message("%s: message echoes the file: %s\n", file, err.msg);
        ok = false;
    }
    xai_image_reset(&img);
    free(b.p);
    return ok;
}

static void test_broken_corpus(void **state)
{
    json_t *m = manifest(CORPUS "/broken");
    json_t *files = json_object_get(m, "files");
    size_t i, failed = 0;
    json_t *e;
    json_array_foreach(files, i, e) failed += !check_broken(e);
    print_message("%zu broken files, %zu failed\n", json_array_size(files), failed);
    assert_true(json_array_size(files) >= 40);
    assert_int_equal(failed, 0);
    json_decref(m);
}

/* ------------------------------------------------------------ truncation, corruption */

static const char *const hostile_sources[] = {
    "png_interlaced_rgb8_33x17.png",
    "png_rgba16.png",
    "png_palette4_trns.png",
    "jpeg_rgb_progressive.jpg",
    "jpeg_exif_6_be.jpg",
    "jpeg_cmyk_adobe.jpg",
    "jpeg_gray_17x5.jpg",
};

/* Every strict prefix of a valid file is refused as BAD_IMAGE (empty: UNSUPPORTED_MEDIA). */
static void test_every_prefix(void **state)
{
    for (size_t f = 0; f < sizeof hostile_sources / sizeof *hostile_sources; f++) {
        struct blob b = read_file(CORPUS "/valid", hostile_sources[f]);
        for (size_t n = 0; n < b.n; n++) {
            struct xai_image img;
            struct xai_err err = {{0}};
            xai_status st = decode_copy(b.p, n, NULL, &img, &err);
            xai_status want = n == 0 ? XAI_UNSUPPORTED_MEDIA : XAI_BAD_IMAGE;
            if (st != want)
                fail_msg("%s cut to %zu bytes: %s (%s)", hostile_sources[f], n, xai_status_code(st),
                         err.msg);
            assert_true(is_empty(&img));
        }
        free(b.p);
    }
}

/* Single corrupted bytes: any status may come back, but never a crash, leak or bad image. */
static void test_corrupted_bytes(void **state)
{
    static const uint8_t masks[] = {0xff, 0x01, 0x80};
    for (size_t f = 0; f < sizeof hostile_sources / sizeof *hostile_sources; f++) {
        struct blob b = read_file(CORPUS "/valid", hostile_sources[f]);
        for (size_t i = 0; i < b.n; i++) {
            for (size_t k = 0; k < sizeof masks; k++) {
                struct xai_image img;
                struct xai_err err = {{0}};
                b.p[i] ^= masks[k];
                xai_status st = decode_copy(b.p, b.n, NULL, &img, &err);
                b.p[i] ^= masks[k];
                if (st == XAI_OK)
                    assert_true(img.data && img.width > 0 && img.height > 0);
                else
                    assert_true(is_empty(&img) && err.msg[0]);
                xai_image_reset(&img);
            }
        }
        free(b.p);
    }
}

/* ---------------------------------------------------------------------------- limits */

static xai_status decode_with(const char *file, struct xai_image_limits lim, struct xai_err *err)
{
    struct blob b = read_file(CORPUS "/valid", file);
    struct xai_image img;
    xai_status st = decode_copy(b.p, b.n, &lim, &img, err);
    xai_image_reset(&img);
    free(b.p);
    return st;
}

static void test_limit_defaults(void **state)
{
    struct xai_image_limits d = xai_image_limits_default();
    assert_int_equal(d.max_bytes, 50u << 20);
    assert_int_equal(d.max_width, 16384);
    assert_int_equal(d.max_height, 16384);
    assert_int_equal(d.max_pixels, 64 << 20);
    struct xai_image_limits zero = {0}, r = xai_image_limits_resolve(&zero);
    assert_memory_equal(&r, &d, sizeof d);
    struct xai_image_limits partial = {.max_width = 5}, r2 = xai_image_limits_resolve(&partial);
    assert_int_equal(r2.max_width, 5);
    assert_int_equal(r2.max_height, 16384);
}

static void test_limit_bytes(void **state)
{
    struct blob b = read_file(CORPUS "/valid", "png_rgb8.png");
    struct xai_err err = {{0}};
    struct xai_image_limits lim = {.max_bytes = b.n - 1};
    assert_int_equal(decode_with("png_rgb8.png", lim, &err), XAI_TOO_LARGE);
    char want[128];
    snprintf(want, sizeof want, "image is %zu bytes; the limit is %zu bytes", b.n, b.n - 1);
    assert_string_equal(err.msg, want);
    lim.max_bytes = b.n;
    assert_int_equal(decode_with("png_rgb8.png", lim, &err), XAI_OK);
    free(b.p);
}

/* 17x5 images: each cap is hit one below the size and passes at the size. */
static void test_limit_dims(void **state)
{
    const char *files[] = {"png_gray8_17x5.png", "jpeg_rgb_17x5.jpg"};
    for (int i = 0; i < 2; i++) {
        struct xai_err err = {{0}};
        struct xai_image_limits w16 = {.max_width = 16}, h4 = {.max_height = 4},
                                p84 = {.max_pixels = 84};
        assert_int_equal(decode_with(files[i], w16, &err), XAI_TOO_LARGE);
        assert_string_equal(err.msg, "image is 17x5 pixels; the limit is 16x16384 and 64 Mpx");
        assert_int_equal(decode_with(files[i], h4, &err), XAI_TOO_LARGE);
        assert_int_equal(decode_with(files[i], p84, &err), XAI_TOO_LARGE);
        assert_string_equal(err.msg,
                            "image is 17x5 pixels; the limit is 16384x16384 and 84 pixels");
        struct xai_image_limits exact = {.max_width = 17, .max_height = 5, .max_pixels = 85};
        assert_int_equal(decode_with(files[i], exact, &err), XAI_OK);
    }
}

/* The caps apply to the displayed size: jpeg_exif_6_* is stored 13x7 and displayed 7x13. */
static void test_limit_after_orientation(void **state)
{
    struct xai_err err = {{0}};
    struct xai_image_limits displayed = {.max_width = 7, .max_height = 13};
    struct xai_image_limits stored = {.max_width = 13, .max_height = 7};
    assert_int_equal(decode_with("jpeg_exif_6_le.jpg", displayed, &err), XAI_OK);
    assert_int_equal(decode_with("jpeg_exif_6_le.jpg", stored, &err), XAI_TOO_LARGE);
    assert_string_equal(err.msg, "image is 7x13 pixels; the limit is 13x7 and 64 Mpx");
}

static void test_bomb_messages(void **state)
{
    struct blob b = read_file(CORPUS "/broken", "png_declared_100000x100000.png");
    struct xai_image img;
    struct xai_err err = {{0}};
    assert_int_equal(decode_copy(b.p, b.n, NULL, &img, &err), XAI_TOO_LARGE);
    assert_string_equal(err.msg,
                        "image is 100000x100000 pixels; the limit is 16384x16384 and 64 Mpx");
    free(b.p);
    b = read_file(CORPUS "/broken", "jpeg_declared_65000x65000.jpg");
    assert_int_equal(decode_copy(b.p, b.n, NULL, &img, &err), XAI_TOO_LARGE);
    assert_string_equal(err.msg,
                        "image is 65000x65000 pixels; the limit is 16384x16384 and 64 Mpx");
    free(b.p);
}

/* ------------------------------------------------------------------- API and messages */

static void test_unsupported_messages(void **state)
{
    struct xai_image img;
    struct xai_err err = {{0}};
    const char text[] = "hello <script>alert(1)</script>";
    assert_int_equal(xai_image_decode(text, sizeof text - 1, NULL, &img, &err),
                     XAI_UNSUPPORTED_MEDIA);
    assert_non_null(strstr(err.msg, "PNG and JPEG"));
    assert_null(strstr(err.msg, "script"));
    struct blob gif = read_file(CORPUS "/broken", "other.gif");
    assert_int_equal(decode_copy(gif.p, gif.n, NULL, &img, &err), XAI_UNSUPPORTED_MEDIA);
    assert_string_equal(err.msg, "GIF images are not supported; supported formats are PNG and "
                                 "JPEG");
    free(gif.p);
    assert_int_equal(xai_image_decode("", 0, NULL, &img, &err), XAI_UNSUPPORTED_MEDIA);
    assert_string_equal(err.msg, "the image is empty; supported formats are PNG and JPEG");
}

static void test_invalid_arguments(void **state)
{
    struct xai_image img;
    struct xai_err err = {{0}};
    assert_int_equal(xai_image_decode("x", 1, NULL, NULL, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(xai_image_decode(NULL, 4, NULL, &img, &err), XAI_INVALID_ARGUMENT);
    assert_true(is_empty(&img));
    assert_int_equal(xai_image_decode(NULL, 0, NULL, &img, NULL), XAI_UNSUPPORTED_MEDIA);
    xai_image_reset(&img);
    xai_image_reset(&img);
    xai_image_reset(NULL);
}

/* Library messages lose anything but plain characters. */
static void test_lib_msg_filter(void **state)
{
    char out[16];
    xai_image_lib_msg(out, sizeof out, "a<b>\"c\x01\xff d: e");
    assert_string_equal(out, "abc d: e");
    xai_image_lib_msg(out, 4, "abcdef");
    assert_string_equal(out, "abc");
}

/* --------------------------------------------------------------------- EXIF parser */

static void put16(uint8_t *t, size_t off, unsigned v, bool le)
{
    t[off + !le] = (uint8_t)v;
    t[off + le] = (uint8_t)(v >> 8);
}

/* "Exif\0\0" + TIFF header + IFD0 with Make (ASCII) and Orientation (one SHORT). */
static size_t exif_payload(uint8_t *p, bool le, unsigned ifd, unsigned orientation)
{
    memcpy(p, "Exif\0\0", 6);
    uint8_t *t = p + 6;
    memset(t, 0, 64);
    memcpy(t, le ? "II" : "MM", 2);
    put16(t, 2, 42, le);
    put16(t, le ? 4 : 6, ifd, le); /* 32-bit offset, low half */
    put16(t, ifd, 2, le);          /* entry count */
    put16(t, ifd + 2, 0x010f, le); /* Make, ASCII */
    put16(t, ifd + 4, 2, le);
    put16(t, ifd + 14, 0x0112, le); /* Orientation, SHORT, count 1 */
    put16(t, ifd + 16, 3, le);
    put16(t, ifd + (le ? 18 : 20), 1, le);
    put16(t, ifd + 22, orientation, le);
    return 6 + ifd + 2 + 24 + 4;
}

static void test_exif_parser(void **state)
{
    uint8_t p[128];
    for (int le = 0; le < 2; le++) {
        for (int o = 1; o <= 8; o++) {
            size_t n = exif_payload(p, le, 8, o);
            assert_int_equal(xai_exif_orientation(p, n), o);
        }
        size_t n = exif_payload(p, le, 20, 5);
        assert_int_equal(xai_exif_orientation(p, n), 5);
        /* Every cut before the end of the orientation entry means "none", read in bounds. */
        for (size_t cut = 0; cut < n - 4; cut++) {
            uint8_t *c = malloc(cut ? cut : 1);
            memcpy(c, p, cut);
            assert_int_equal(xai_exif_orientation(c, cut), 0);
            free(c);
        }
    }
    assert_int_equal(xai_exif_orientation(NULL, 0), 0);
    assert_int_equal(xai_exif_orientation((const uint8_t *)"XMP\0\0\0MM", 9), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_corpus),      cmocka_unit_test(test_broken_corpus),
        cmocka_unit_test(test_every_prefix),      cmocka_unit_test(test_corrupted_bytes),
        cmocka_unit_test(test_limit_defaults),    cmocka_unit_test(test_limit_bytes),
        cmocka_unit_test(test_limit_dims),        cmocka_unit_test(test_limit_after_orientation),
        cmocka_unit_test(test_bomb_messages),     cmocka_unit_test(test_unsupported_messages),
        cmocka_unit_test(test_invalid_arguments), cmocka_unit_test(test_lib_msg_filter),
        cmocka_unit_test(test_exif_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
