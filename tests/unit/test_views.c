/*
 * test_views.c - the inspection views through api/ (the code the CLI and the routes share):
 * parameter limits and errors, archives (zip stored and deflated, tar, malformed ones), every
 * view end to end on the demo model, dominant_class's class map on a sample image, and the demo
 * autoencoder's reconstruction map and scores on the sample images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "explain.h"
#include "views.h"

#define EXAMPLES XAI_SOURCE_DIR "/examples"

static struct api_model *demo;
static xai_session *sess;

static int setup(void **state)
{
    (void)state;
    struct xai_err err = {{0}};
    if (api_model_load(XAI_SOURCE_DIR "/models/chest-demo", &demo, &err) ||
        xai_session_new(demo->engine, &sess, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xai_session_free(sess);
    api_model_free(demo);
    return 0;
}

static unsigned char *read_file(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", EXAMPLES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* ---- parameters ---- */

static void expect_set(enum api_view_kind k, const char *name, const char *text, xai_status want,
                       const char *msg)
{
    struct api_view_opts o;
    api_view_opts_init(&o, k);
    struct xai_err err = {{0}};
    xai_status st = api_view_set_text(demo, &o, name, text, &err);
    if (st != want || (msg && !strstr(err.msg, msg)))
        fail_msg("%s=%s: got %s '%s', want %s '%s'", name, text, xai_status_code(st), err.msg,
                 xai_status_code(want), msg ? msg : "");
    api_view_opts_reset(&o);
}

static void test_params(void **state)
{
    (void)state;
    expect_set(API_VIEW_FILTERS, "zoom", "33", XAI_INVALID_ARGUMENT, "from 1 to 32");
    expect_set(API_VIEW_FILTERS, "top_k", "3", XAI_INVALID_ARGUMENT, "unknown parameter 'top_k'");
    expect_set(API_VIEW_FEATURES, "top_k", "0", XAI_INVALID_ARGUMENT, "from 1 to 1024");
    expect_set(API_VIEW_FEATURES, "top_k", "1025", XAI_INVALID_ARGUMENT, "from 1 to 1024");
    expect_set(API_VIEW_FEATURES, "colormap", "rainbow", XAI_INVALID_ARGUMENT, "one of");
    expect_set(API_VIEW_FEATURES, "layer", "", XAI_INVALID_ARGUMENT, "'layer' is empty");
    expect_set(API_VIEW_MAXIMIZE, "steps", "2001", XAI_INVALID_ARGUMENT, "from 1 to 2000");
    expect_set(API_VIEW_MAXIMIZE, "lr", "nan", XAI_INVALID_ARGUMENT, "'lr'");
    expect_set(API_VIEW_MAXIMIZE, "target", "pneumonia", XAI_NOT_FOUND, NULL);
    expect_set(API_VIEW_MAXIMIZE, "target", "nodule", XAI_OK, NULL);
    expect_set(API_VIEW_EMBED, "iterations", "100", XAI_INVALID_ARGUMENT, "from 250 to 5000");
    expect_set(API_VIEW_EMBED, "perplexity", "101", XAI_INVALID_ARGUMENT, "from 1 to 100");
    expect_set(API_VIEW_EMBED, "batch", "257", XAI_INVALID_ARGUMENT, "from 1 to 256");
    expect_set(API_VIEW_EMBED, "labels", "clear,nodule,2", XAI_OK, NULL);
    expect_set(API_VIEW_EMBED, "labels", "clear,tumour", XAI_NOT_FOUND, "entry 1");
    expect_set(API_VIEW_EMBED, "projection", "umap", XAI_INVALID_ARGUMENT, "tsne, pca");
}

/* ---- archives ---- */

struct buf {
    unsigned char b[1 << 16];
    size_t n;
};

static void put(struct buf *z, const void *p, size_t n)
{
    memcpy(z->b + z->n, p, n);
    z->n += n;
}

static void le(struct buf *z, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) z->b[z->n++] = (unsigned char)(v >> (8 * i));
}

/* A zip of members (name, data), stored or deflated. */
static void make_zip(struct buf *z, const char *const *names, const char *const *data, int n,
                     bool deflate_them)
{
    uint32_t offs[8], clens[8];
    unsigned char comp[8][512];
    z->n = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(data[i]);
        uLongf cl = len;
        if (deflate_them) {
            z_stream s = {0};
            deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            s.next_in = (unsigned char *)data[i];
            s.avail_in = (uInt)len;
            s.next_out = comp[i];
            s.avail_out = sizeof comp[i];
            deflate(&s, Z_FINISH);
            cl = s.total_out;
            deflateEnd(&s);
        } else {
            memcpy(comp[i], data[i], len);
        }
        offs[i] = (uint32_t)z->n;
        clens[i] = (uint32_t)cl;
        le(z, 0x04034b50, 4), le(z, 20, 2), le(z, 0, 2), le(z, deflate_them ? 8 : 0, 2);
        le(z, 0, 4), le(z, 0, 4), le(z, (uint32_t)cl, 4), le(z, (uint32_t)len, 4);
        le(z, (uint32_t)strlen(names[i]), 2), le(z, 0, 2);
        put(z, names[i], strlen(names[i]));
        put(z, comp[i], cl);
    }
    uint32_t cd = (uint32_t)z->n;
    for (int i = 0; i < n; i++) {
        le(z, 0x02014b50, 4), le(z, 20, 2), le(z, 20, 2), le(z, 0, 2);
        le(z, deflate_them ? 8 : 0, 2), le(z, 0, 4), le(z, 0, 4), le(z, clens[i], 4);
        le(z, (uint32_t)strlen(data[i]), 4), le(z, (uint32_t)strlen(names[i]), 2);
        le(z, 0, 2), le(z, 0, 2), le(z, 0, 2), le(z, 0, 2), le(z, 0, 4), le(z, offs[i], 4);
        put(z, names[i], strlen(names[i]));
    }
    uint32_t cds = (uint32_t)z->n - cd;
    le(z, 0x06054b50, 4), le(z, 0, 2), le(z, 0, 2), le(z, (uint32_t)n, 2), le(z, (uint32_t)n, 2);
    le(z, cds, 4), le(z, cd, 4), le(z, 0, 2);
}

static void make_tar(struct buf *t, const char *const *names, const char *const *data, int n)
{
    memset(t->b, 0, sizeof t->b);
    t->n = 0;
    for (int i = 0; i < n; i++) {
        unsigned char *h = t->b + t->n;
        snprintf((char *)h, 100, "%s", names[i]);
        snprintf((char *)h + 124, 12, "%011o", (unsigned)strlen(data[i]));
        h[156] = '0';
        memcpy(h + 257, "ustar", 6);
        t->n += 512;
        memcpy(t->b + t->n, data[i], strlen(data[i]));
        t->n += (strlen(data[i]) + 511) / 512 * 512;
    }
    t->n += 1024;
}

static void expect_members(const struct buf *b, int max, xai_status want, int n, const char *first)
{
    struct api_archive a;
    struct xai_err err = {{0}};
    assert_true(api_archive_detect(b->b, b->n));
    xai_status st = api_archive_read(b->b, b->n, max, 1000, &a, &err);
    if (st != want) fail_msg("got %s '%s'", xai_status_code(st), err.msg);
    if (!st) {
        assert_int_equal(a.n, n);
        assert_int_equal(a.items[0].len, strlen(first));
        assert_memory_equal(a.items[0].data, first, strlen(first));
    }
    api_archive_reset(&a);
}

static void test_archives(void **state)
{
    (void)state;
    static struct buf b;
    const char *names[] = {"imgs/a.png", "imgs/.hidden", "__MACOSX/x", "imgs/", "b.jpg"};
    const char *data[] = {"first member, repeated repeated repeated", "h", "m", "", "second"};
    make_zip(&b, names, data, 5, false);
    expect_members(&b, 10, XAI_OK, 2, data[0]);
    expect_members(&b, 1, XAI_TOO_LARGE, 0, NULL);
    make_zip(&b, names, data, 5, true);
    expect_members(&b, 10, XAI_OK, 2, data[0]);
    make_tar(&b, names, data, 5);
    expect_members(&b, 10, XAI_OK, 3, data[0]); /* tar: the folder "imgs/" is a file here */

    struct api_archive a;
    struct xai_err err = {{0}};
    make_zip(&b, names, data, 1, true);
    b.b[b.n - 22 + 10] = 9; /* count past the central directory */
    assert_int_equal(api_archive_read(b.b, b.n, 10, 1000, &a, &err), XAI_BAD_IMAGE);
    make_zip(&b, names, data, 1, false);
    assert_int_equal(api_archive_read(b.b, b.n - 30, 10, 1000, &a, &err), XAI_BAD_IMAGE);
    assert_int_equal(api_archive_read(b.b, b.n, 10, 5, &a, &err), XAI_TOO_LARGE);
    make_tar(&b, names, data, 1);
    assert_int_equal(api_archive_read(b.b, 530, 10, 1000, &a, &err), XAI_BAD_IMAGE);
    assert_int_equal(api_archive_read("not an archive", 14, 10, 1000, &a, &err),
                     XAI_UNSUPPORTED_MEDIA);
    /* read and detect agree: "PK" alone is no zip, even with a valid central directory */
    make_zip(&b, names, data, 1, false);
    b.b[2] = b.b[3] = 0;
    assert_false(api_archive_detect(b.b, b.n));
    assert_int_equal(api_archive_read(b.b, b.n, 10, 1000, &a, &err), XAI_UNSUPPORTED_MEDIA);
}

/* ---- the views end to end ---- */

static json_t *run_filters(void)
{
    struct api_view_opts o;
    api_view_opts_init(&o, API_VIEW_FILTERS);
    struct xai_err err = {{0}};
    json_t *j = NULL;
    assert_int_equal(api_view_set_text(demo, &o, "raw", "true", &err), XAI_OK);
    if (api_filters_run(demo, &o, &j, &err)) fail_msg("%s", err.msg);
    return j;
}

static void test_filters_features(void **state)
{
    (void)state;
    json_t *j = run_filters();
    assert_non_null(json_object_get(j, "grid_png"));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "shape"), 0)), 16);
    assert_non_null(json_object_get(j, "weights"));
    json_decref(j);

    size_t len;
    unsigned char *bytes = read_file("nodule-3.png", &len);
    struct api_input in;
    struct xai_err err = {{0}};
    assert_int_equal(api_prepare(demo, bytes, len, NULL, &in, &err), XAI_OK);
    struct api_view_opts o;
    api_view_opts_init(&o, API_VIEW_FEATURES);
    api_view_set_text(demo, &o, "top_k", "4", &err);
    api_view_set_text(demo, &o, "map_back", "true", &err);
    api_view_set_text(demo, &o, "layer", "/features/block2/relu/Relu_output_0", &err);
    if (api_features_run(demo, sess, &in, &o, &j, &err)) fail_msg("%s", err.msg);
    json_t *shape = json_object_get(json_object_get(j, "mapped"), "shape");
    assert_int_equal(json_integer_value(json_array_get(shape, 0)), 4);
    assert_int_equal(json_integer_value(json_array_get(shape, 1)), 150); /* 200 x 150 image */
    assert_int_equal(json_integer_value(json_array_get(shape, 2)), 200);
    assert_int_equal(json_array_size(json_object_get(j, "channels")), 4);
    json_decref(j);
    api_view_set_text(demo, &o, "layer", "/Flatten_output_0", &err);
    assert_int_equal(api_features_run(demo, sess, &in, &o, &j, &err), XAI_INVALID_ARGUMENT);
    api_view_set_text(demo, &o, "layer", "nope", &err);
    assert_int_equal(api_features_run(demo, sess, &in, &o, &j, &err), XAI_NOT_FOUND);
    api_input_reset(&in);
    free(bytes);
}

static void test_maximize(void **state)
{
    (void)state;
    struct api_view_opts o;
    api_view_opts_init(&o, API_VIEW_MAXIMIZE);
    struct xai_err err = {{0}};
    json_t *j = NULL;
    api_view_set_text(demo, &o, "steps", "20", &err);
    api_view_set_text(demo, &o, "target", "opacity", &err);
    if (api_maximize_run(demo, sess, &o, &j, &err)) fail_msg("%s", err.msg);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "trace"), "score")), 21);
    assert_true(json_is_true(json_object_get(j, "monotonic")));
    assert_true(json_real_value(json_object_get(j, "score_end")) >
                json_real_value(json_object_get(j, "score_start")));
    json_decref(j);
}

static void test_embed(void **state)
{
    (void)state;
    const char *files[] = {"clear-1.png", "nodule-2.png", "opacity-1.png",
                           "clear-2.jpg", "nodule-3.png", "opacity-3.png"};
    struct api_image_ref refs[6];
    unsigned char *bufs[6];
    for (int i = 0; i < 6; i++) {
        bufs[i] = read_file(files[i], &refs[i].len);
        refs[i].data = bufs[i];
    }
    struct api_view_opts o;
    api_view_opts_init(&o, API_VIEW_EMBED);
    struct xai_err err = {{0}};
    json_t *j = NULL;
    api_view_set_text(demo, &o, "labels", "0,1,2,0,1,2", &err);
    api_view_set_text(demo, &o, "batch", "4", &err);
    if (api_embed_run(demo, sess, refs, 6, NULL, &o, &j, &err)) fail_msg("%s", err.msg);
    assert_int_equal(json_array_size(json_object_get(j, "points")), 6);
    assert_non_null(json_object_get(j, "knn_agreement"));
    assert_true(json_real_value(json_object_get(json_object_get(j, "tsne"), "perplexity")) <=
                5.0 / 3);
    json_decref(j);
    api_view_set_text(demo, &o, "projection", "pca", &err);
    if (api_embed_run(demo, sess, refs, 6, NULL, &o, &j, &err)) fail_msg("%s", err.msg);
    assert_non_null(json_object_get(j, "explained_variance"));
    json_decref(j);
    assert_int_equal(api_embed_run(demo, sess, refs, 5, NULL, &o, &j, &err),
                     XAI_INVALID_ARGUMENT); /* 6 labels for 5 images */
    api_view_opts_reset(&o);
    assert_int_equal(api_embed_run(demo, sess, refs, 1, NULL, &o, &j, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(api_embed_run(demo, sess, refs, XAI_EMBED_MAX_IMAGES + 1, NULL, &o, &j, &err),
                     XAI_TOO_LARGE);
    refs[3].len = 100; /* a truncated image */
    assert_int_equal(api_embed_run(demo, sess, refs, 6, NULL, &o, &j, &err), XAI_BAD_IMAGE);
    assert_non_null(strstr(err.msg, "image 3"));
    for (int i = 0; i < 6; i++) free(bufs[i]);
}

/* A sample image of examples/ (NAME.ext, its lesion mask NAME_mask.png) explained by a method
 * with its defaults on model m. */
struct sample {
    struct api_input in, mask;
    struct api_explanation e;
};

static void sample_explain(struct api_model *m, xai_session *s, const char *image,
                           const char *method, struct sample *x)
{
    char mask_name[64];
    snprintf(mask_name, sizeof mask_name, "%.*s_mask.png", (int)(strchr(image, '.') - image),
             image);
    size_t len, mlen;
    unsigned char *bytes = read_file(image, &len), *mbytes = read_file(mask_name, &mlen);
    struct xai_err err = {{0}};
    assert_int_equal(api_prepare(m, bytes, len, NULL, &x->in, &err), XAI_OK);
    assert_int_equal(api_prepare(m, mbytes, mlen, NULL, &x->mask, &err), XAI_OK);
    free(bytes);
    free(mbytes);
    struct api_explain_opts o;
    api_explain_opts_default(&o);
    o.method = xai_method_find(method);
    xai_method_defaults(o.method, &o.params);
    if (api_explain(m, s, &x->in, &o, &x->e, &err)) fail_msg("%s: %s", image, err.msg);
}

static void sample_reset(struct sample *x)
{
    api_explanation_reset(&x->e);
    api_input_reset(&x->in);
    api_input_reset(&x->mask);
}

/* The dominant-class map labels most of the lesion with the lesion's class. */
static void test_dominant_class(void **state)
{
    (void)state;
    struct sample x;
    sample_explain(demo, sess, "nodule-2.png", "dominant_class", &x);
    assert_non_null(x.e.classes);
    size_t n = (size_t)x.e.width * (size_t)x.e.height, lesion = 0, hit = 0;
    for (size_t i = 0; i < n; i++) {
        if (x.mask.image.data[i] < 128) continue;
        lesion++;
        hit += x.e.classes[i] == 1;
    }
    assert_true(lesion > 0 && hit * 2 > lesion);
    sample_reset(&x);
}

/* One sample image through the demo autoencoder's reconstruction map (default parameters):
 * whether the map's maximum lies in the lesion mask, and the peak_error metric. */
static bool ae_points(struct api_model *ae, xai_session *s, const char *image, double *peak)
{
    struct sample x;
    sample_explain(ae, s, image, "reconstruction", &x);
    size_t n = (size_t)x.e.width * (size_t)x.e.height, best = 0;
    for (size_t i = 1; i < n; i++)
        if (x.e.map[i] > x.e.map[best]) best = i;
    bool hit = x.mask.image.data[best] >= 128;
    *peak = -1;
    for (int i = 0; i < x.e.result.n_metrics; i++)
        if (!strcmp(x.e.result.metrics[i].name, "peak_error")) *peak = x.e.result.metrics[i].value;
    assert_true(*peak > 0);
    sample_reset(&x);
    return hit;
}

/* The demo autoencoder's default reconstruction map points at the lesion of the sample images
 * as often as the CAM family does on the demo classifier (5 of 7: nodule-1's faint nodule and
 * opacity-1's opacity, which fills the top of a lung and is reconstructed as a smaller lung, are
 * missed; docs/inspection.md), and its peak error puts 6 of the 7 lesion images above every
 * clear one (not nodule-1). */
static void test_reconstruction(void **state)
{
    (void)state;
    static const char *const lesions[] = {"nodule-1.png", "nodule-2.png",  "nodule-3.png",
                                          "nodule-4.jpg", "opacity-1.png", "opacity-2.jpg",
                                          "opacity-3.png"};
    static const char *const clear[] = {"clear-1.png", "clear-2.jpg", "clear-3.png"};
    struct api_model *ae = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (api_model_load(XAI_SOURCE_DIR "/models/chest-ae", &ae, &err) ||
        xai_session_new(ae->engine, &s, &err))
        fail_msg("%s", err.msg);
    int hits = 0, above = 0;
    double peaks[7], highest_clear = 0, peak;
    for (int i = 0; i < 7; i++) hits += ae_points(ae, s, lesions[i], &peaks[i]);
    for (int i = 0; i < 3; i++) {
        ae_points(ae, s, clear[i], &peak);
        if (peak > highest_clear) highest_clear = peak;
    }
    for (int i = 0; i < 7; i++) above += peaks[i] > highest_clear;
    if (hits < 5) fail_msg("the map points at the lesion in %d of 7 sample images", hits);
    if (above < 6) fail_msg("peak_error: %d of 7 lesion images above every clear one", above);
    xai_session_free(s);
    api_model_free(ae);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_archives),
        cmocka_unit_test(test_filters_features),
        cmocka_unit_test(test_maximize),
        cmocka_unit_test(test_embed),
        cmocka_unit_test(test_dominant_class),
        cmocka_unit_test(test_reconstruction),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
