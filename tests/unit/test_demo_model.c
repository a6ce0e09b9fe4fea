/*
 * test_demo_model.c - the predict pipeline end to end on the demo model, against PyTorch.
 *
 * Every sample image of examples/ goes through the service's path (api_prepare: decode +
 * preprocess; api_predict: engine + softmax) and must give PyTorch's prediction and
 * probabilities (examples/expected.json, computed by tools/make_demo_model.py with the same
 * preprocessing in torch) within PROB_TOL. Also: the ranking and its JSON shape, target
 * parsing, probabilities at extreme logits, and the errors of bad images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "model_repo.h"
#include "predict.h"

#define EXAMPLES XAI_SOURCE_DIR "/examples"
/* Probabilities: expected.json rounds to 1e-6; measured differences are below 5e-7. */
#define PROB_TOL 1e-4
/* Logits (|logit| < 9): measured differences are below 3e-6. */
#define LOGIT_TOL 1e-4

static struct api_repo *repo;
static const struct api_model *demo;

static int setup(void **state)
{
    (void)state;
    struct xai_err err = {{0}};
    if (api_repo_load(XAI_SOURCE_DIR "/models", &repo, &err)) {
        fprintf(stderr, "cannot load the model repository: %s\n", err.msg);
        return -1;
    }
    demo = api_repo_find(repo, "chest-demo");
    return demo ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    api_repo_free(repo);
    return 0;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* The prediction of one example file (out filled; input released). */
static void predict_file(const char *name, xai_session *s, struct api_input *in,
                         struct api_scores *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", EXAMPLES, name);
    size_t len;
    unsigned char *bytes = read_file(path, &len);
    struct xai_err err = {{0}};
    xai_status st = api_prepare(demo, bytes, len, NULL, in, &err);
    free(bytes);
    if (st) fail_msg("%s: prepare: %s", name, err.msg);
    if ((st = api_predict(demo, s, in, out, &err))) fail_msg("%s: predict: %s", name, err.msg);
}

static void check_ranking(const struct api_scores *sc)
{
    double sum = 0;
    for (int i = 0; i < sc->n; i++) {
        sum += sc->scores[i].probability;
        if (i) assert_true(sc->scores[i - 1].probability >= sc->scores[i].probability);
        assert_string_equal(sc->scores[i].label, demo->labels[sc->scores[i].index]);
    }
    assert_float_equal(sum, 1.0, 1e-5);
    assert_int_equal(sc->top.index, sc->scores[0].index);
}

/* Max |probability - expected| over the classes; checks predicted label and logits too. */
static double compare(const char *name, json_t *e, const struct api_scores *sc)
{
    json_t *probs = json_object_get(e, "probabilities"), *logits = json_object_get(e, "logits");
    assert_string_equal(sc->top.label, json_string_value(json_object_get(e, "predicted")));
    double worst = 0;
    for (int k = 0; k < demo->n_labels; k++) {
        const struct api_score *s = api_scores_find(sc, k);
        assert_non_null(s);
        double want = json_number_value(json_object_get(probs, demo->labels[k]));
        double want_logit = json_number_value(json_array_get(logits, (size_t)k));
        worst = fmax(worst, fabs(s->probability - want));
        if (fabs(s->logit - want_logit) > LOGIT_TOL)
            fail_msg("%s: logit %d is %.7f, PyTorch %.7f", name, k, s->logit, want_logit);
    }
    if (worst > PROB_TOL) fail_msg("%s: probabilities differ from PyTorch by %g", name, worst);
    return worst;
}

static void test_matches_pytorch(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *expected = json_load_file(EXAMPLES "/expected.json", 0, &jerr);
    if (!expected) fail_msg("expected.json: %s", jerr.text);
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    assert_int_equal(xai_session_new(demo->engine, &s, &err), XAI_OK);
    const char *name;
    json_t *e;
    int n = 0;
    json_object_foreach(expected, name, e)
    {
        struct api_input in;
        struct api_scores sc;
        predict_file(name, s, &in, &sc);
        assert_int_equal(in.image.width, json_integer_value(json_object_get(e, "width")));
        assert_int_equal(in.geo.src_height, json_integer_value(json_object_get(e, "height")));
        assert_int_equal(in.tensor.shape.ndim, 4);
        assert_int_equal(in.tensor.shape.d[2], 128);
        check_ranking(&sc);
        double worst = compare(name, e, &sc);
        printf("%-14s predicted %-8s max |p - PyTorch| %.1e\n", name, sc.top.label, worst);
        api_scores_reset(&sc);
        api_input_reset(&in);
        n++;
    }
    assert_int_equal(n, 10);
    xai_session_free(s);
    json_decref(expected);
}

/* The JSON shape the CLI prints and the HTTP API returns. */
static void test_prediction_json(void **state)
{
    (void)state;
    xai_session *s = NULL;
    assert_int_equal(xai_session_new(demo->engine, &s, NULL), XAI_OK);
    struct api_input in;
    struct api_scores sc;
    predict_file("nodule-4.jpg", s, &in, &sc);
    json_t *j = api_prediction_json(demo, &sc);
    assert_non_null(j);
    json_t *model = json_object_get(j, "model");
    assert_string_equal(json_string_value(json_object_get(model, "name")), "chest-demo");
    assert_string_equal(json_string_value(json_object_get(model, "version")), "1.0.0");
    assert_string_equal(json_string_value(json_object_get(model, "sha256")), demo->sha256);
    json_t *scores = json_object_get(j, "scores");
    assert_int_equal(json_array_size(scores), 3);
    json_t *first = json_array_get(scores, 0), *pred = json_object_get(j, "prediction");
    assert_int_equal(json_integer_value(json_object_get(first, "index")), 1);
    assert_string_equal(json_string_value(json_object_get(first, "label")), "nodule");
    assert_true(json_is_real(json_object_get(first, "probability")));
    assert_true(json_is_real(json_object_get(first, "logit")));
    assert_true(json_equal(first, pred));
    char *text = json_dumps(j, API_JSON_FLAGS);
    assert_non_null(strstr(text, "\"probability\": 0.9978518"));
    free(text);
    json_decref(j);
    api_scores_reset(&sc);
    api_input_reset(&in);
    xai_session_free(s);
}

static void expect_target(const char *text, xai_status st, int want)
{
    int index = -7;
    struct xai_err err = {{0}};
    xai_status got = api_target_parse(demo, text, &index, &err);
    if (got != st)
        fail_msg("target '%s': got %s (%s)", text ? text : "NULL", xai_status_code(got), err.msg);
    if (!st) {
        assert_int_equal(index, want);
        return;
    }
    assert_int_equal(index, -7);
    assert_string_equal(err.msg, "target must be a class index from 0 to 2 or a label of model "
                                 "'chest-demo' (3 labels: 'clear', 'nodule', 'opacity')");
}

static void test_targets(void **state)
{
    (void)state;
    expect_target("0", XAI_OK, 0);
    expect_target("2", XAI_OK, 2);
    expect_target("nodule", XAI_OK, 1);
    expect_target("opacity", XAI_OK, 2);
    expect_target("3", XAI_INVALID_ARGUMENT, 0);
    expect_target("-1", XAI_INVALID_ARGUMENT, 0);
    expect_target("1x", XAI_INVALID_ARGUMENT, 0);
    expect_target(" 1", XAI_INVALID_ARGUMENT, 0);
    expect_target("99999999999999999999", XAI_INVALID_ARGUMENT, 0);
    expect_target("Nodule", XAI_INVALID_ARGUMENT, 0);
    expect_target("nodule ", XAI_INVALID_ARGUMENT, 0);
    expect_target("", XAI_INVALID_ARGUMENT, 0);
    expect_target(NULL, XAI_INVALID_ARGUMENT, 0);
    expect_target("patient-name-123", XAI_INVALID_ARGUMENT, 0); /* never echoed */
}

/* A long label list is cut, not overflowed. */
static void test_target_many_labels(void **state)
{
    (void)state;
    enum { N = 200 };
    char *labels[N], buf[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "finding-%03d", i);
        labels[i] = buf[i];
    }
    struct api_model m = {.name = "many", .n_labels = N, .labels = labels};
    int index = -1;
    struct xai_err err = {{0}};
    assert_int_equal(api_target_parse(&m, "finding-150", &index, &err), XAI_OK);
    assert_int_equal(index, 150);
    assert_int_equal(api_target_parse(&m, "x", &index, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "0 to 199"));
    assert_non_null(strstr(err.msg, "(200 labels: 'finding-000', "));
    assert_non_null(strstr(err.msg, ", ...)"));
}

static void test_probabilities(void **state)
{
    (void)state;
    float logits[3] = {1000.f, -1000.f, 999.f}, p[3];
    api_probabilities(API_TASK_MULTICLASS, logits, 3, p);
    assert_float_equal(p[0], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    assert_float_equal(p[1], 0.0, 0);
    assert_float_equal(p[2], 1.0 / (1.0 + exp(1.0)), 1e-6);
    api_probabilities(API_TASK_MULTILABEL, logits, 3, p);
    assert_float_equal(p[0], 1.0, 0);
    assert_float_equal(p[1], 0.0, 0);
    float mid[2] = {0.f, 2.f};
    api_probabilities(API_TASK_MULTILABEL, mid, 2, mid); /* in place */
    assert_float_equal(mid[0], 0.5, 1e-7);
    assert_float_equal(mid[1], 1.0 / (1.0 + exp(-2.0)), 1e-7);
}

/* Multilabel ranking, ties by index, non-finite logits refused. */
static void test_scores_compute(void **state)
{
    (void)state;
    char *labels[3] = {"a", "b", "c"};
    struct api_model m = {
        .name = "ml", .n_labels = 3, .labels = labels, .task = API_TASK_MULTILABEL};
    float logits[3] = {-1.f, 2.f, -1.f};
    struct api_scores sc;
    struct xai_err err = {{0}};
    assert_int_equal(api_scores_compute(&m, logits, &sc, &err), XAI_OK);
    assert_int_equal(sc.n, 3);
    assert_int_equal(sc.scores[0].index, 1);
    assert_int_equal(sc.scores[1].index, 0);
    assert_int_equal(sc.scores[2].index, 2);
    assert_string_equal(sc.top.label, "b");
    assert_float_equal(sc.scores[1].probability, 1.0 / (1.0 + exp(1.0)), 1e-7);
    assert_null(api_scores_find(&sc, 3));
    api_scores_reset(&sc);
    logits[2] = NAN;
    assert_int_equal(api_scores_compute(&m, logits, &sc, &err), XAI_BAD_MODEL);
    assert_null(sc.scores);
    assert_non_null(strstr(err.msg, "non-finite"));
}

static void expect_prepare(const void *bytes, size_t len, const struct xai_image_limits *lim,
                           xai_status st)
{
    struct api_input in;
    struct xai_err err = {{0}};
    assert_int_equal(api_prepare(demo, bytes, len, lim, &in, &err), st);
    assert_null(in.data);
    assert_null(in.image.data);
    assert_true(strlen(err.msg) > 0);
}

static void test_bad_images(void **state)
{
    (void)state;
    static const char garbage[] = "GIF89a this is not a PNG or JPEG";
    expect_prepare(garbage, sizeof garbage, NULL, XAI_UNSUPPORTED_MEDIA);
    expect_prepare(garbage, 0, NULL, XAI_UNSUPPORTED_MEDIA);
    size_t len;
    unsigned char *png = read_file(EXAMPLES "/clear-1.png", &len);
    expect_prepare(png, len / 2, NULL, XAI_BAD_IMAGE);
    struct xai_image_limits small = {.max_width = 100};
    expect_prepare(png, len, &small, XAI_TOO_LARGE);
    free(png);
}

/* A session of another engine is refused, not run. */
static void test_wrong_session(void **state)
{
    (void)state;
    struct api_model *other = NULL;
    struct xai_err err = {{0}};
    assert_int_equal(api_model_load(XAI_SOURCE_DIR "/models/chest-demo", &other, &err), XAI_OK);
    xai_session *s = NULL;
    assert_int_equal(xai_session_new(other->engine, &s, &err), XAI_OK);
    size_t len;
    unsigned char *png = read_file(EXAMPLES "/clear-1.png", &len);
    struct api_input in;
    struct api_scores sc;
    assert_int_equal(api_prepare(demo, png, len, NULL, &in, &err), XAI_OK);
    assert_int_equal(api_predict(demo, s, &in, &sc, &err), XAI_INTERNAL);
    assert_null(sc.scores);
    api_input_reset(&in);
    free(png);
    xai_session_free(s);
    api_model_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_pytorch), cmocka_unit_test(test_prediction_json),
        cmocka_unit_test(test_targets),         cmocka_unit_test(test_target_many_labels),
        cmocka_unit_test(test_probabilities),   cmocka_unit_test(test_scores_compute),
        cmocka_unit_test(test_bad_images),      cmocka_unit_test(test_wrong_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
