/*
 * test_report.c - the clinicians' report on the demo model: the summary sentence (multiclass,
 * multilabel, a target that is not the prediction, no evidence), percentages that never round
 * to 0 or 100 %, the HTML's content (title, model identity, escaped model.json strings, the
 * disclaimer, the caveats, no URL, no script, the stylesheet whose hash the CSP carries), the
 * JSON's fields, pictures scaled down for large images, and the caveats agreeing with
 * docs/methods.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nettle/sha2.h>

#include "base64.h"
#include "html.h"
#include "report.h"
#include "report_internal.h"

#define DEMO XAI_SOURCE_DIR "/models/chest-demo"
#define IMAGE XAI_SOURCE_DIR "/examples/nodule-2.png"

struct fx {
    struct api_model *m;
    xai_session *s;
    unsigned char *bytes;
    size_t len;
    struct api_input in;
};

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    b[*len] = '\0';
    fclose(f);
    return b;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct xai_err err = {{0}};
    f->bytes = slurp(IMAGE, &f->len);
    assert_int_equal(api_model_load(DEMO, &f->m, &err), XAI_OK);
    assert_int_equal(xai_session_new(f->m->engine, &f->s, &err), XAI_OK);
    assert_int_equal(api_prepare(f->m, f->bytes, f->len, NULL, &f->in, &err), XAI_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    api_input_reset(&f->in);
    xai_session_free(f->s);
    api_model_free(f->m);
    free(f->bytes);
    free(f);
    return 0;
}

static void opts_for(struct api_explain_opts *o, const char *method)
{
    api_explain_opts_default(o);
    o->method = xai_method_find(method);
    assert_non_null(o->method);
    xai_method_defaults(o->method, &o->params);
}

static void make(struct fx *f, const struct api_explain_opts *o, struct api_report *r)
{
    struct api_report_meta meta;
    struct xai_err err = {{0}};
    api_report_meta_init(&meta, "req-42", f->bytes, f->len);
    assert_int_equal(api_report_make(f->m, f->s, &f->in, o, &meta, r, &err), XAI_OK);
}

static char *html_of(const struct api_report *r)
{
    size_t len = 0;
    char *h = api_report_html(r, &len);
    assert_non_null(h);
    assert_int_equal(strlen(h), len);
    return h;
}

static void test_percent(void **state)
{
    static const struct {
        double p;
        const char *text;
    } cases[] = {
        {0.952048, "95\xC2\xA0%"},   {0.5, "50\xC2\xA0%"},     {0.0127, "1\xC2\xA0%"},
        {0.9956, "99.5\xC2\xA0%"},   {0.99, "99.0\xC2\xA0%"},  {0.9991, "> 99.9\xC2\xA0%"},
        {1.0, "> 99.9\xC2\xA0%"},    {0.0049, "0.4\xC2\xA0%"}, {0.001, "0.1\xC2\xA0%"},
        {0.00099, "< 0.1\xC2\xA0%"}, {0.0, "< 0.1\xC2\xA0%"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_report_percent(cases[i].p, buf, sizeof buf);
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_multiclass_report(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    opts_for(&o, API_REPORT_METHOD);
    make(f, &o, &r);
    assert_int_equal(r.n_parts, 2);
    assert_string_equal(r.parts[0].opts.method->name, "guided_gradcam");
    assert_string_equal(r.parts[1].opts.method->name, "gradcam");
    assert_int_equal(r.parts[0].ex.target, 1); /* nodule, the prediction */
    assert_int_equal(r.parts[1].ex.target, 1);
    assert_true(r.parts[0].evidence && r.parts[1].evidence);
    assert_int_equal(r.shown_w, r.width); /* 320 x 320: not scaled */
    assert_memory_equal(r.image_png.data, "\x89PNG", 4);
    assert_memory_equal(r.parts[0].overlay_png.data, "\x89PNG", 4);
    assert_memory_equal(r.parts[1].ex.colorbar_png.data, "\x89PNG", 4);
    assert_int_equal(r.parts[1].ex.colorbar_png.data[19], API_COLORBAR_W & 0xff);
    assert_true(r.parts[1].ex.display_hi > r.parts[1].ex.display_lo);
    assert_float_equal(r.parts[0].ex.display_lo, -r.parts[0].ex.display_hi, 1e-7);

    char *s = api_report_summary(&r);
    assert_string_equal(s, "The model estimates a 95\xC2\xA0% likelihood of nodule. The "
                           "highlighted region is where the evidence for nodule was strongest.");
    free(s);

    char *h = html_of(&r);
    assert_non_null(strstr(h, "<!DOCTYPE html>"));
    assert_non_null(strstr(h, "<title>Explanation report: chest-demo 1.0.0, nodule</title>"));
    assert_non_null(strstr(h, f->m->sha256));
    assert_non_null(strstr(h, "it has NO clinical meaning"));
    assert_non_null(strstr(h, "req-42"));
    assert_non_null(strstr(h, r.meta.image_sha256));
    assert_non_null(strstr(h, r.meta.generated));
    assert_non_null(strstr(h, "The model estimates a 95\xC2\xA0% likelihood of nodule."));
    assert_non_null(strstr(h, api_report_disclaimer));
    assert_non_null(strstr(h, "it is not a diagnosis"));
    for (int i = 0; i < 2; i++) {
        char *caveat = api_html_escape(r.parts[i].opts.method->caveat);
        assert_non_null(strstr(h, caveat));
        free(caveat);
    }
    assert_non_null(strstr(h, "/features/block4/out/Relu_output_0"));
    assert_non_null(strstr(h, "prediction, target of the explanation"));
    assert_non_null(strstr(h, "@media print"));
    assert_null(strstr(h, "Faithfulness")); /* not evaluated */
    /* archivable: nothing fetched, nothing run */
    assert_null(strstr(h, "http://"));
    assert_null(strstr(h, "https://"));
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "<link"));
    assert_null(strstr(h, "src=\"/"));
    free(h);
    api_report_reset(&r);
}

/* The CSP's style source is the hash of exactly the <style> element's text. */
static void test_style_hash(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    opts_for(&o, "gradcam");
    make(f, &o, &r);
    assert_int_equal(r.n_parts, 1); /* grad-CAM is not repeated beside itself */
    char *h = html_of(&r);
    char *a = strstr(h, "<style>"), *b = strstr(h, "</style>");
    assert_non_null(a);
    assert_non_null(b);
    a += strlen("<style>");
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    char b64[64], want[80], got[80];
    sha256_init(&ctx);
    sha256_update(&ctx, (size_t)(b - a), (const uint8_t *)a);
    sha256_digest(&ctx, sizeof d, d);
    xai_base64_encode(d, sizeof d, b64);
    snprintf(want, sizeof want, "'sha256-%s'", b64);
    api_report_style_source(got, sizeof got);
    assert_string_equal(got, want);
    free(h);
    api_report_reset(&r);
}

static void test_other_target_and_evaluate(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    opts_for(&o, "saliency");
    o.target = 2; /* opacity */
    o.evaluate = true;
    o.evaluate_steps = 4;
    make(f, &o, &r);
    assert_int_equal(r.parts[1].ex.target, 2);
    char *s = api_report_summary(&r);
    assert_non_null(
        strstr(s, "likelihood of opacity. Its most likely class is nodule (95\xC2\xA0%)."));
    free(s);
    char *h = html_of(&r);
    assert_non_null(strstr(h, "Faithfulness"));
    assert_non_null(strstr(h, "<svg"));
    assert_non_null(strstr(h, "none: the method works on the input pixels")); /* saliency */
    assert_non_null(strstr(h, "<code>abs=true</code>"));
    free(h);
    api_report_reset(&r);
}

static void test_multilabel_wording(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    f->m->task = API_TASK_MULTILABEL; /* the same network read as independent sigmoids */
    opts_for(&o, "gradcam");
    make(f, &o, &r);
    char *s = api_report_summary(&r);
    char p[32], want[512];
    api_report_percent(api_report_target_probability(&r), p, sizeof p);
    snprintf(want, sizeof want,
             "The model estimates a %s likelihood that the image shows nodule. It scores each "
             "finding on its own, so the likelihoods of different findings need not add up to "
             "100\xC2\xA0%%. The highlighted region is where the evidence for nodule was "
             "strongest.",
             p);
    assert_string_equal(s, want);
    free(s);
    char *h = html_of(&r);
    assert_non_null(strstr(h, "highest score, target of the explanation"));
    assert_non_null(strstr(h, "multi-label"));
    free(h);
    api_report_reset(&r);
    f->m->task = API_TASK_MULTICLASS;
}

/* Without positive evidence the report says so instead of pointing at a region. */
static void test_no_evidence_wording(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    opts_for(&o, "gradcam");
    make(f, &o, &r);
    r.parts[0].evidence = false;
    char *s = api_report_summary(&r);
    assert_non_null(strstr(s, "The methods found no evidence for nodule in this image, so "
                              "nothing is highlighted."));
    assert_null(strstr(s, "highlighted region"));
    free(s);
    char *h = html_of(&r);
    assert_non_null(strstr(h, "This method found no evidence for nodule"));
    free(h);
    api_report_reset(&r);
}

/* Strings from model.json are text, never markup. */
static void test_escaping(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    free(f->m->description);
    f->m->description = strdup("<script>alert(1)</script> see <a href=\"https://x\">x</a>");
    char *label = f->m->labels[1];
    f->m->labels[1] = strdup("nod<b>ule</b> & co");
    opts_for(&o, "gradcam");
    make(f, &o, &r);
    char *h = html_of(&r);
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "<b>"));
    assert_null(strstr(h, "<a ")); /* a URL in a description stays text, never a link */
    assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(h, "nod&lt;b&gt;ule&lt;/b&gt; &amp; co"));
    free(h);
    json_t *j = api_report_json(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "target"), "label")),
                        "nod<b>ule</b> & co"); /* JSON carries the text itself */
    json_decref(j);
    api_report_reset(&r);
    free(f->m->labels[1]);
    f->m->labels[1] = label;
}

static void test_json(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_report r;
    opts_for(&o, API_REPORT_METHOD);
    make(f, &o, &r);
    json_t *j = api_report_json(&r);
    assert_non_null(j);
    json_t *rep = json_object_get(j, "report");
    assert_string_equal(json_string_value(json_object_get(rep, "request_id")), "req-42");
    assert_int_equal(strlen(json_string_value(json_object_get(rep, "generated"))), 20);
    json_t *model = json_object_get(j, "model");
    assert_string_equal(json_string_value(json_object_get(model, "sha256")), f->m->sha256);
    assert_non_null(
        strstr(json_string_value(json_object_get(model, "description")), "NO clinical meaning"));
    assert_string_equal(json_string_value(json_object_get(j, "disclaimer")), api_report_disclaimer);
    assert_non_null(strstr(json_string_value(json_object_get(j, "summary")), "95\xC2\xA0%"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "target"), "index")), 1);
    json_t *img = json_object_get(j, "image");
    assert_int_equal(json_integer_value(json_object_get(img, "width")), 320);
    assert_int_equal(strlen(json_string_value(json_object_get(img, "sha256"))), 64);
    assert_non_null(json_string_value(json_object_get(img, "png")));
    json_t *ex = json_object_get(j, "explanations");
    assert_int_equal(json_array_size(ex), 2);
    json_t *e0 = json_array_get(ex, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "method")), "guided_gradcam");
    assert_string_equal(json_string_value(json_object_get(e0, "title")), "guided grad-CAM");
    assert_string_equal(json_string_value(json_object_get(e0, "caveat")),
                        xai_method_find("guided_gradcam")->caveat);
    assert_non_null(json_string_value(json_object_get(e0, "overlay_png")));
    assert_non_null(json_string_value(json_object_get(e0, "colorbar_png")));
    assert_int_equal(json_array_size(json_object_get(e0, "display_range")), 2);
    assert_true(json_is_true(json_object_get(e0, "evidence")));
    assert_null(json_object_get(e0, "raw")); /* the report carries pictures, not the raw map */
    json_decref(j);
    api_report_reset(&r);
}

/* Pictures of a large image are scaled to API_REPORT_MAX_SIDE on the longer side. */
static void test_large_image_scaled(void **state)
{
    struct fx *f = *state;
    int w = 1500, h = 900;
    uint8_t *px = malloc((size_t)w * h);
    for (int i = 0; i < w * h; i++) px[i] = (uint8_t)((i % w) * 255 / w);
    struct xai_blob png = {0};
    struct xai_err err = {{0}};
    assert_int_equal(xai_png_encode(px, w, h, 1, &png, &err), XAI_OK);
    free(px);
    struct api_input in;
    assert_int_equal(api_prepare(f->m, png.data, png.len, NULL, &in, &err), XAI_OK);
    struct api_explain_opts o;
    struct api_report r;
    struct api_report_meta meta;
    opts_for(&o, "gradcam");
    api_report_meta_init(&meta, NULL, NULL, 0);
    assert_int_equal(api_report_make(f->m, f->s, &in, &o, &meta, &r, &err), XAI_OK);
    assert_int_equal(r.width, 1500);
    assert_int_equal(r.shown_w, 1024);
    assert_int_equal(r.shown_h, 614);
    assert_int_equal(r.parts[0].overlay_png.data[18] << 8 | r.parts[0].overlay_png.data[19], 1024);
    char *html = html_of(&r);
    assert_non_null(strstr(html, "shown scaled down"));
    assert_non_null(strstr(html, "Image sha256</dt><dd class=\"mono\">not recorded"));
    assert_non_null(strstr(html, "Request id</dt><dd class=\"mono\">none"));
    free(html);
    api_report_reset(&r);
    api_input_reset(&in);
    xai_blob_reset(&png);
}

/* Every method's one-line caveat is the one docs/methods.md prints. */
static void test_caveats_match_docs(void **state)
{
    size_t len;
    char *doc = (char *)slurp(XAI_SOURCE_DIR "/docs/methods.md", &len);
    int n;
    const struct xai_method_def *const *all = xai_method_all(&n);
    for (int i = 0; i < n; i++) {
        char want[1024];
        snprintf(want, sizeof want, "Caveat: %s\n", all[i]->caveat);
        if (!strstr(doc, want)) fail_msg("docs/methods.md lacks the caveat of %s", all[i]->name);
        assert_string_not_equal(api_report_method_title(all[i]), "");
    }
    free(doc);
}

/* The report takes explain's parameters; its default method is guided grad-CAM. */
static void test_parse_and_run(void **state)
{
    struct fx *f = *state;
    struct api_args a = {0};
    struct api_explain_opts o;
    struct xai_err err = {{0}};
    assert_int_equal(api_report_parse(f->m, &a, &o, &err), XAI_OK);
    assert_string_equal(o.method->name, "guided_gradcam");
    assert_int_equal(api_args_add_text(&a, "method", "saliency", &err), XAI_OK);
    assert_int_equal(api_args_add_text(&a, "target", "clear", &err), XAI_OK);
    assert_int_equal(api_report_parse(f->m, &a, &o, &err), XAI_OK);
    assert_string_equal(o.method->name, "saliency");
    assert_int_equal(o.target, 0);
    struct api_args bad = {0};
    assert_int_equal(api_args_add_text(&bad, "steps", "5", &err), XAI_OK);
    assert_int_equal(api_report_parse(f->m, &bad, &o, &err), XAI_INVALID_ARGUMENT);

    struct api_report r;
    struct api_timing t = {0};
    assert_int_equal(api_report_parse(f->m, &a, &o, &err), XAI_OK);
    assert_int_equal(api_run_report(f->m, f->s, f->bytes, f->len, &o, "id-1", &r, &t, &err),
                     XAI_OK);
    assert_int_equal(r.parts[0].ex.target, 0);
    assert_string_equal(r.meta.request_id, "id-1");
    assert_true(t.explain > 0 && t.decode > 0);
    api_report_reset(&r);
    assert_int_equal(api_run_report(f->m, f->s, "GIF89a", 6, &o, "id-2", &r, &t, &err),
                     XAI_UNSUPPORTED_MEDIA);
    assert_int_equal(r.n_parts, 0);
}

static void test_meta(void **state)
{
    struct api_report_meta m;
    api_report_meta_init(&m, "abc", "", 0);
    assert_string_equal(m.request_id, "abc");
    /* sha256 of the empty string */
    assert_string_equal(m.image_sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(strlen(m.generated), 20);
    assert_int_equal(m.generated[10], 'T');
    assert_int_equal(m.generated[19], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_caveats_match_docs),
        cmocka_unit_test_setup_teardown(test_multiclass_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_style_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_target_and_evaluate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multilabel_wording, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_evidence_wording, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_image_scaled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_and_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
