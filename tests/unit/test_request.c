/*
 * test_request.c - request parameters by name (api/request.h), as the server and the CLI take
 * them: text values (query strings, flags) and JSON values, every general parameter and a
 * method's own, and the refusals: unknown or repeated names, bad values, unknown method, layer
 * or class, with the right status and a message naming the parameter; and the answers' shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

#define DEMO XAI_SOURCE_DIR "/models/chest-demo"
#define LAYER "/features/block4/out/Relu_output_0"

static int setup(void **state)
{
    struct api_model *m = NULL;
    struct xai_err err = {{0}};
    assert_int_equal(api_model_load(DEMO, &m, &err), XAI_OK);
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    api_model_free(*state);
    return 0;
}

/* Parses name=value text pairs (a NULL-terminated list). */
static xai_status parse_text(const struct api_model *m, const char *const *kv,
                             struct api_explain_opts *o, struct xai_err *err)
{
    struct api_args a = {0};
    for (int i = 0; kv[i]; i += 2) {
        xai_status st = api_args_add_text(&a, kv[i], kv[i + 1], err);
        if (st) return st;
    }
    return api_request_parse(m, &a, o, err);
}

/* Parses a JSON object given as text. */
static xai_status parse_json(const struct api_model *m, const char *text,
                             struct api_explain_opts *o, struct xai_err *err)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    struct api_args a = {0};
    xai_status st = api_args_add_object(&a, j, "image", err);
    if (!st) st = api_request_parse(m, &a, o, err);
    json_decref(j);
    return st;
}

static void test_defaults(void **state)
{
    struct api_explain_opts o;
    struct xai_err err = {{0}};
    const char *none[] = {NULL};
    assert_int_equal(parse_text(*state, none, &o, &err), XAI_OK);
    assert_string_equal(o.method->name, "gradcam");
    assert_int_equal(o.target, -1);
    assert_int_equal(o.layer, -1);
    assert_int_equal(o.outputs, API_OUT_OVERLAY | API_OUT_RAW);
    assert_true(o.cmap_auto);
    assert_false(o.evaluate);
    assert_int_equal(o.seed, 0);
}

static void test_text_values(void **state)
{
    const struct api_model *m = *state;
    struct api_explain_opts o;
    struct xai_err err = {{0}};
    const char *ok[] = {"steps",    "32",      "method",  "integrated_gradients",
                        "baseline", "blur",    "target",  "opacity",
                        "layer",    LAYER,     "outputs", "heatmap_png, raw",
                        "colormap", "viridis", "opacity", "0.25",
                        "evaluate", "true",    "seed",    "18446744073709551615",
                        NULL};
    assert_int_equal(parse_text(m, ok, &o, &err), XAI_OK);
    assert_string_equal(o.method->name, "integrated_gradients");
    assert_int_equal(o.params.v[xai_method_param_index(o.method, "steps")], 32);
    assert_int_equal(o.params.v[xai_method_param_index(o.method, "baseline")], 2); /* blur */
    assert_int_equal(o.params.v[xai_method_param_index(o.method, "blur_sigma")], 10);
    assert_int_equal(o.target, 2);
    assert_int_equal(o.layer, xai_model_find(m->engine, LAYER));
    assert_int_equal(o.outputs, API_OUT_HEATMAP | API_OUT_RAW);
    assert_false(o.cmap_auto);
    assert_int_equal(o.render.cmap, XAI_CMAP_VIRIDIS);
    assert_float_equal(o.render.opacity, 0.25f, 0);
    assert_true(o.evaluate);
    assert_true(o.seed == UINT64_MAX);
    const char *idx[] = {"target", "1", "outputs", "raw,,overlay_png", NULL};
    assert_int_equal(parse_text(m, idx, &o, &err), XAI_OK);
    assert_int_equal(o.target, 1);
    assert_int_equal(o.outputs, API_OUT_RAW | API_OUT_OVERLAY);
}

static void test_json_values(void **state)
{
    const struct api_model *m = *state;
    struct api_explain_opts o;
    struct xai_err err = {{0}};
    assert_int_equal(parse_json(m,
                                "{\"image\": \"AAAA\", \"method\": \"lime\", \"samples\": 64, "
                                "\"fill\": \"mean\", \"target\": 0, \"outputs\": [\"raw\"], "
                                "\"evaluate\": false, \"opacity\": 1, \"seed\": 7, "
                                "\"alpha\": \"2.5\"}",
                                &o, &err),
                     XAI_OK);
    assert_string_equal(o.method->name, "lime");
    assert_int_equal(o.params.v[xai_method_param_index(o.method, "samples")], 64);
    assert_int_equal(o.params.v[xai_method_param_index(o.method, "fill")], 1);
    assert_float_equal(o.params.v[xai_method_param_index(o.method, "alpha")], 2.5, 0);
    assert_int_equal(o.target, 0);
    assert_int_equal(o.outputs, API_OUT_RAW);
    assert_false(o.evaluate);
    assert_float_equal(o.render.opacity, 1.f, 0);
    assert_int_equal(o.seed, 7);
    assert_int_equal(parse_json(m,
                                "{\"method\": \"cam\", \"relu\": true, \"target\": \"nodule\", "
                                "\"outputs\": \"overlay_png,heatmap_png\", \"evaluate\": \"1\"}",
                                &o, &err),
                     XAI_OK);
    assert_int_equal(o.params.v[0], 1);
    assert_int_equal(o.target, 1);
    assert_int_equal(o.outputs, API_OUT_OVERLAY | API_OUT_HEATMAP);
    assert_true(o.evaluate);
}

struct bad {
    const char *json;
    xai_status status;
    const char *says; /* a part of the message */
};

static void test_refusals(void **state)
{
    static const struct bad cases[] = {
        {"{\"bogus\": 1}", XAI_INVALID_ARGUMENT, "unknown parameter 'bogus'"},
        {"{\"steps\": 10}", XAI_INVALID_ARGUMENT, "method 'gradcam' takes: none"},
        {"{\"method\": \"saliency\", \"relu\": true}", XAI_INVALID_ARGUMENT, "'relu'"},
        {"{\"bad name!\": 1}", XAI_INVALID_ARGUMENT, "other characters"},
        {"{\"method\": \"nope\"}", XAI_NOT_FOUND, "no such method"},
        {"{\"method\": 3}", XAI_INVALID_ARGUMENT, "'method' must be a string"},
        {"{\"target\": 3}", XAI_NOT_FOUND, "from 0 to 2"},
        {"{\"target\": -1}", XAI_NOT_FOUND, "from 0 to 2"},
        {"{\"target\": \"tumour\"}", XAI_NOT_FOUND, "'nodule'"},
        {"{\"target\": true}", XAI_INVALID_ARGUMENT, "target"},
        {"{\"layer\": \"input\"}", XAI_NOT_FOUND, "no 4-D layer"},
        {"{\"outputs\": \"overlay\"}", XAI_INVALID_ARGUMENT, "overlay_png, heatmap_png, raw"},
        {"{\"outputs\": [1]}", XAI_INVALID_ARGUMENT, "array of strings"},
        {"{\"outputs\": \"\"}", XAI_INVALID_ARGUMENT, "at least one"},
        {"{\"outputs\": []}", XAI_INVALID_ARGUMENT, "at least one"},
        {"{\"colormap\": \"rainbow\"}", XAI_INVALID_ARGUMENT, "'colormap' must be one of"},
        {"{\"opacity\": 1.5}", XAI_INVALID_ARGUMENT, "'opacity' must be from 0 to 1"},
        {"{\"opacity\": \"half\"}", XAI_INVALID_ARGUMENT, "'opacity' must be a number"},
        {"{\"evaluate\": \"yes\"}", XAI_INVALID_ARGUMENT, "'evaluate' must be true or false"},
        {"{\"seed\": -1}", XAI_INVALID_ARGUMENT, "'seed' must be an integer"},
        {"{\"seed\": 1.5}", XAI_INVALID_ARGUMENT, "'seed' must be an integer"},
        {"{\"seed\": \"1e3\"}", XAI_INVALID_ARGUMENT, "'seed' must be an integer"},
        {"{\"seed\": \"99999999999999999999\"}", XAI_INVALID_ARGUMENT, "'seed'"},
        {"{\"method\": \"integrated_gradients\", \"steps\": 1}", XAI_INVALID_ARGUMENT, "steps"},
        {"{\"method\": \"integrated_gradients\", \"steps\": 2.5}", XAI_INVALID_ARGUMENT, "steps"},
        {"{\"method\": \"integrated_gradients\", \"rule\": \"simpson\"}", XAI_INVALID_ARGUMENT,
         "gausslegendre"},
        {"{\"method\": \"lime\", \"fill\": 1}", XAI_INVALID_ARGUMENT, "fill"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct api_explain_opts o;
        struct xai_err err = {{0}};
        xai_status st = parse_json(*state, cases[i].json, &o, &err);
        if (st != cases[i].status || !strstr(err.msg, cases[i].says))
            fail_msg("%s: got %s '%s', expected %s '%s'", cases[i].json, xai_status_code(st),
                     err.msg, xai_status_code(cases[i].status), cases[i].says);
    }
}

static void test_text_refusals(void **state)
{
    struct api_explain_opts o;
    struct xai_err err = {{0}};
    const char *twice[] = {"seed", "1", "seed", "2", NULL};
    assert_int_equal(parse_text(*state, twice, &o, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "'seed' is given more than once"));
    const char *noname[] = {"", "1", NULL};
    assert_int_equal(parse_text(*state, noname, &o, &err), XAI_INVALID_ARGUMENT);
    const char *number[] = {"opacity", "0.5x", NULL};
    assert_int_equal(parse_text(*state, number, &o, &err), XAI_INVALID_ARGUMENT);
    const char *nan[] = {"opacity", "nan", NULL};
    assert_int_equal(parse_text(*state, nan, &o, &err), XAI_INVALID_ARGUMENT);
    const char *bool_[] = {"method", "cam", "relu", "maybe", NULL};
    assert_int_equal(parse_text(*state, bool_, &o, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "relu"));
    struct api_args a = {0};
    for (int i = 0; i < API_MAX_ARGS; i++) {
        char *name = malloc(8);
        snprintf(name, 8, "p%d", i);
        assert_int_equal(api_args_add_text(&a, name, "1", &err), XAI_OK);
    }
    assert_int_equal(api_args_add_text(&a, "more", "1", &err), XAI_INVALID_ARGUMENT);
    for (int i = 0; i < a.n; i++) free((char *)a.a[i].name);
    json_t *arr = json_array();
    assert_int_equal(api_args_add_object(&a, arr, NULL, &err), XAI_INVALID_ARGUMENT);
    json_decref(arr);
}

static void test_predict_args(void **state)
{
    struct api_args a = {0};
    struct xai_err err = {{0}};
    assert_int_equal(api_predict_args_check(&a, &err), XAI_OK);
    assert_int_equal(api_args_add_text(&a, "method", "cam", &err), XAI_OK);
    assert_int_equal(api_predict_args_check(&a, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "'method'"));
}

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

static void assert_keys(const json_t *j, const char *const *keys)
{
    const char *key;
    json_t *val;
    int i = 0;
    json_object_foreach((json_t *)j, key, val)
    {
        assert_non_null(keys[i]);
        assert_string_equal(key, keys[i++]);
    }
    assert_null(keys[i]);
}

/* The answers: members in the documented order, the timings the pipeline filled. */
static void test_answers(void **state)
{
    const struct api_model *m = *state;
    struct xai_err err = {{0}};
    size_t len;
    unsigned char *png = slurp(XAI_SOURCE_DIR "/examples/nodule-3.png", &len);
    xai_session *s = NULL;
    assert_int_equal(xai_session_new(m->engine, &s, &err), XAI_OK);
    struct api_explain_opts o;
    const char *kv[] = {"outputs", "raw", NULL};
    assert_int_equal(parse_text(m, kv, &o, &err), XAI_OK);
    struct api_explanation e;
    struct api_timing t = {.queue = 1, .total = 9};
    assert_int_equal(api_run_explain(m, s, png, len, &o, &e, &t, &err), XAI_OK);
    assert_true(t.decode > 0 && t.forward > 0 && t.explain > 0);
    json_t *j = api_explain_answer("abc", m, &o, &e, &t);
    static const char *const keys[] = {"request_id", "model",       "scores",    "prediction",
                                       "target",     "explanation", "timing_ms", NULL};
    assert_keys(j, keys);
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), "abc");
    static const char *const tk[] = {"queue",  "decode", "forward", "explain",
                                     "encode", "total",  NULL};
    assert_keys(json_object_get(j, "timing_ms"), tk);
    json_t *x = json_object_get(j, "explanation");
    assert_non_null(json_object_get(x, "raw"));
    assert_null(json_object_get(x, "overlay_png"));
    json_decref(j);
    api_explanation_reset(&e);

    struct api_scores sc;
    assert_int_equal(api_run_predict(m, s, png, len, &sc, &t, &err), XAI_OK);
    j = api_predict_answer("def", m, &sc, &t);
    static const char *const pk[] = {"request_id", "model",     "scores",
                                     "prediction", "timing_ms", NULL};
    assert_keys(j, pk);
    json_decref(j);
    api_scores_reset(&sc);
    assert_int_equal(api_run_predict(m, s, png, 20, &sc, &t, &err), XAI_BAD_IMAGE);
    assert_int_equal(api_run_predict(m, s, "GIF89a-not-an-image", 19, &sc, &t, &err),
                     XAI_UNSUPPORTED_MEDIA);
    xai_session_free(s);
    free(png);
}

static void test_request_id(void **state)
{
    char a[33], b[33];
    api_request_id_new(a);
    api_request_id_new(b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_text_values),
        cmocka_unit_test(test_json_values),   cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_text_refusals), cmocka_unit_test(test_predict_args),
        cmocka_unit_test(test_answers),       cmocka_unit_test(test_request_id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
