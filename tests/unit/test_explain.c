/*
 * test_explain.c - the api explanation pipeline on the demo model: the map comes back at the
 * original image's size, the PNGs are PNGs of that size, the JSON has the documented fields,
 * and bad targets, layers and parameters are refused with messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "explain.h"

#define DEMO XAI_SOURCE_DIR "/models/chest-demo"
#define IMAGE XAI_SOURCE_DIR "/examples/nodule-3.png" /* 200 x 150 */

struct fx {
    struct api_model *m;
    xai_session *s;
    struct api_input in;
};

static unsigned char *slurp(const char *path, size_t *len)
{
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

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct xai_err err = {{0}};
    size_t len;
    unsigned char *bytes = slurp(IMAGE, &len);
    assert_int_equal(api_model_load(DEMO, &f->m, &err), XAI_OK);
    assert_int_equal(xai_session_new(f->m->engine, &f->s, &err), XAI_OK);
    assert_int_equal(api_prepare(f->m, bytes, len, NULL, &f->in, &err), XAI_OK);
    free(bytes);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    api_input_reset(&f->in);
    xai_session_free(f->s);
    api_model_free(f->m);
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

static void test_saliency_on_original_grid(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_explanation e;
    struct xai_err err = {{0}};
    opts_for(&o, "saliency");
    o.outputs = API_OUT_OVERLAY | API_OUT_HEATMAP | API_OUT_RAW;
    assert_int_equal(api_explain(f->m, f->s, &f->in, &o, &e, &err), XAI_OK);
    assert_int_equal(e.width, 200);
    assert_int_equal(e.height, 150);
    assert_int_equal(e.target, e.scores.top.index);
    assert_true(e.hi > e.lo);
    for (int i = 0; i < 200 * 150; i++) assert_int_equal(e.mask[i], 1);
    /* PNG signature and IHDR size */
    assert_memory_equal(e.overlay_png.data, "\x89PNG", 4);
    assert_int_equal(e.overlay_png.data[19], 200);
    assert_int_equal(e.overlay_png.data[23], 150);
    assert_memory_equal(e.heatmap_png.data, "\x89PNG", 4);
    json_t *j = api_explanation_json(f->m, &o, &e);
    assert_non_null(json_object_get(j, "raw"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "raw"), "dtype")),
                        "float32");
    assert_true(json_is_true(json_object_get(json_object_get(j, "params"), "abs")));
    assert_int_equal(json_integer_value(json_object_get(j, "width")), 200);
    assert_string_equal(json_string_value(json_object_get(j, "colormap")), "jet");
    json_decref(j);
    api_explanation_reset(&e);
}

static void test_signed_map_colormap(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_explanation e;
    struct xai_err err = {{0}};
    opts_for(&o, "gradient_x_input");
    assert_int_equal(api_explain(f->m, f->s, &f->in, &o, &e, &err), XAI_OK);
    assert_true(e.result.signed_map);
    assert_int_equal(e.cmap, XAI_CMAP_BWR);
    api_explanation_reset(&e);
    o.cmap_auto = false;
    o.render.cmap = XAI_CMAP_VIRIDIS;
    assert_int_equal(api_explain(f->m, f->s, &f->in, &o, &e, &err), XAI_OK);
    assert_int_equal(e.cmap, XAI_CMAP_VIRIDIS);
    api_explanation_reset(&e);
}

static void test_bad_target(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_explanation e;
    struct xai_err err = {{0}};
    opts_for(&o, "saliency");
    o.target = 7;
    assert_int_equal(api_explain(f->m, f->s, &f->in, &o, &e, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "target"));
    assert_null(e.map);
}

static void test_bad_params(void **state)
{
    struct xai_err err = {{0}};
    const struct xai_method_def *m = xai_method_find("saliency");
    struct xai_param_values v;
    xai_method_defaults(m, &v);
    assert_int_equal(api_param_set_text(m, "abs", "maybe", &v, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "true or false"));
    assert_int_equal(api_param_set_text(m, "steps", "5", &v, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "it takes: abs"));
    assert_int_equal(api_param_set_text(m, "abs", "false", &v, &err), XAI_OK);
    assert_true(v.v[0] == 0);
    json_t *jv = json_integer(3);
    assert_int_equal(api_param_set_json(m, "abs", jv, &v, &err), XAI_INVALID_ARGUMENT);
    json_decref(jv);
}

static void test_faithfulness(void **state)
{
    struct fx *f = *state;
    struct api_explain_opts o;
    struct api_explanation e;
    struct xai_err err = {{0}};
    opts_for(&o, "saliency");
    o.evaluate = true;
    o.evaluate_steps = 10;
    o.outputs = API_OUT_RAW;
    assert_int_equal(api_explain(f->m, f->s, &f->in, &o, &e, &err), XAI_OK);
    assert_true(e.evaluated);
    const struct xai_faith *fa = &e.faith;
    assert_int_equal(fa->steps, 10);
    /* endpoints: deletion starts at the image, insertion ends at it; the other ends agree */
    assert_float_equal(fa->deletion[0], e.scores.top.probability, 1e-5);
    assert_float_equal(fa->insertion[10], e.scores.top.probability, 1e-5);
    assert_float_equal(fa->deletion[10], fa->insertion[0], 1e-5);
    double a = 0;
    for (int k = 0; k < 10; k++) a += 0.05 * (fa->deletion[k] + fa->deletion[k + 1]);
    assert_float_equal(fa->deletion_auc, a, 1e-6);
    json_t *j = api_explanation_json(f->m, &o, &e);
    json_t *fj = json_object_get(json_object_get(j, "metrics"), "faithfulness");
    assert_int_equal(json_array_size(json_object_get(fj, "deletion")), 11);
    json_decref(j);
    api_explanation_reset(&e);
    o.evaluate_steps = 1;
    assert_int_equal(api_explain(f->m, f->s, &f->in, &o, &e, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "steps"));
}

static void test_methods_json(void **state)
{
    json_t *a = api_methods_json();
    assert_true(json_array_size(a) >= 1);
    json_t *first = json_array_get(a, 0);
    assert_non_null(json_object_get(first, "parameters"));
    assert_non_null(json_object_get(first, "caveat"));
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_saliency_on_original_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_map_colormap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faithfulness, setup, teardown),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_methods_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
