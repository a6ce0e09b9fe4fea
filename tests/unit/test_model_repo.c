/*
 * test_model_repo.c - model.json validation and model repositories.
 *
 * Each case takes the demo model's model.json, changes one field (or removes it), writes it
 * into a temporary model folder next to a link to the demo's model.onnx, loads the folder and
 * checks the status and that the message names the file and the field. Then: missing files,
 * repositories (ordering, hidden and unrelated folders, duplicate names, no models) and what a
 * good load resolves (indices, layers, CAM layer, classifier). Small graphs built in C
 * (onnx_builder.h) cover what the demo cannot: outputs after Softmax, fixed batches, inputs
 * that are not images, graphs without a CAM layer, multilabel models.
 *
 * XAI_TEST_MESSAGES=1 prints every message, to review their wording.
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
#include <sys/stat.h>
#include <unistd.h>

#include "model_repo.h"
#include "onnx_builder.h"

#define DEMO XAI_SOURCE_DIR "/models/chest-demo"
#define CAM "/features/block4/out/Relu_output_0"

static char tmp[512];

static void path_in(char *buf, size_t n, const char *a, const char *b)
{
    snprintf(buf, n, "%s/%s%s%s", tmp, a, b ? "/" : "", b ? b : "");
}

static void make_dir(const char *sub)
{
    char p[1024];
    path_in(p, sizeof p, sub, NULL);
    assert_int_equal(mkdir(p, 0700), 0);
}

static void write_text(const char *sub, const char *name, const char *text)
{
    char p[1024];
    path_in(p, sizeof p, sub, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void link_onnx(const char *sub)
{
    char p[1024];
    path_in(p, sizeof p, sub, "model.onnx");
    assert_int_equal(symlink(DEMO "/model.onnx", p), 0);
}

/* sub/ with the demo's model.onnx and model.json (json written from root). */
static void make_model(const char *sub, json_t *root)
{
    make_dir(sub);
    link_onnx(sub);
    char p[1024];
    path_in(p, sizeof p, sub, "model.json");
    assert_int_equal(json_dump_file(root, p, JSON_INDENT(2)), 0);
}

static json_t *demo_json(void)
{
    json_error_t jerr;
    json_t *j = json_load_file(DEMO "/model.json", 0, &jerr);
    if (!j) fail_msg("cannot read the demo's model.json: %s", jerr.text);
    return j;
}

/* Sets (value text) or removes (NULL) the field at a dotted path of root. */
static void mutate(json_t *root, const char *path, const char *value)
{
    char buf[256], *dot;
    snprintf(buf, sizeof buf, "%s", path);
    json_t *obj = root;
    char *key = buf;
    while ((dot = strchr(key, '.'))) {
        *dot = 0;
        obj = json_object_get(obj, key);
        assert_non_null(obj);
        key = dot + 1;
    }
    if (!value) {
        json_object_del(obj, key);
        return;
    }
    json_error_t jerr;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
    if (!v) fail_msg("bad test value %s: %s", value, jerr.text);
    json_object_set_new(obj, key, v);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "%s/test_model_repo_XXXXXX", XAI_BINARY_DIR);
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* Loads tmp/sub; expects st and, when not OK, a message "<tmp>/sub/model.json: ..." holding
 * want (or "<tmp>/sub..." for non-JSON messages). */
static struct api_model *expect_load(const char *sub, xai_status st, const char *want)
{
    char dir[1024];
    path_in(dir, sizeof dir, sub, NULL);
    struct api_model *m = NULL;
    struct xai_err err = {{0}};
    xai_status got = api_model_load(dir, &m, &err);
    if (got != st || (want && !strstr(err.msg, want)) || (st && strncmp(err.msg, dir, strlen(dir))))
        fail_msg("%s: got %s '%s', want %s '%s'", sub, xai_status_code(got), err.msg,
                 xai_status_code(st), want ? want : "");
    if (getenv("XAI_TEST_MESSAGES")) fprintf(stderr, "%s\n", err.msg);
    if (st) assert_null(m);
    return m;
}

struct json_case {
    const char *field, *value; /* value NULL: remove the field */
    xai_status st;
    const char *msg;
};

static const struct json_case cases[] = {
    {"name", NULL, XAI_BAD_MODEL, "model.json: field 'name' is required (a string)"},
    {"name", "\"bad name!\"", XAI_BAD_MODEL, "field 'name' must start with a letter or digit"},
    {"name", "\"-x\"", XAI_BAD_MODEL, "field 'name' must start"},
    {"version", "3", XAI_BAD_MODEL, "field 'version' must be a string of 1 to 64 bytes"},
    {"version", "\"\"", XAI_BAD_MODEL, "field 'version' must be a string"},
    {"description", "5", XAI_BAD_MODEL, "field 'description' must be a string"},
    {"description", "\"a\\u0007b\"", XAI_BAD_MODEL, "field 'description' must not contain"},
    {"description", "\"\"", XAI_OK, NULL},
    {"description", "\"two\\nlines\"", XAI_OK, NULL},
    {"labels", NULL, XAI_BAD_MODEL, "field 'labels' is required (a list of class names)"},
    {"labels", "[]", XAI_BAD_MODEL, "field 'labels' must be a list of 1 to 100000 class names"},
    {"labels", "\"clear\"", XAI_BAD_MODEL, "field 'labels' must be a list"},
    {"labels", "[\"a\", 5, \"b\"]", XAI_BAD_MODEL, "field 'labels[1]' must be a class name"},
    {"labels", "[\"a\", \"\", \"b\"]", XAI_BAD_MODEL, "field 'labels[1]' must be a class name"},
    {"labels", "[\"a\", \"b\", \"a\"]", XAI_BAD_MODEL, "field 'labels[2]' repeats labels[0]"},
    {"labels", "[\"0\", \"2\", \"x\"]", XAI_BAD_MODEL,
     "field 'labels[1]' is the number '2' but its class index is 1"},
    {"labels", "[\"0\", \"1\", \"2\"]", XAI_OK, NULL},
    {"labels", "[\"a\", \"b\"]", XAI_BAD_MODEL,
     "field 'labels' has 2 entries but the output 'logits' of model.onnx is [1,3]"},
    {"labels", "[\"a\", \"b\", \"c\", \"d\"]", XAI_BAD_MODEL, "it must be [N, 4]"},
    {"task", NULL, XAI_BAD_MODEL, "field 'task' is required (multiclass, multilabel)"},
    {"task", "\"regression\"", XAI_BAD_MODEL,
     "field 'task' is 'regression'; allowed: multiclass, multilabel"},
    {"task", "1", XAI_BAD_MODEL, "field 'task' must be one of: multiclass, multilabel"},
    {"task", "\"multilabel\"", XAI_BAD_MODEL,
     "field 'output_activation' is 'softmax' but task 'multilabel' needs 'sigmoid'"},
    {"output_activation", "\"sigmoid\"", XAI_BAD_MODEL,
     "field 'output_activation' is 'sigmoid' but task 'multiclass' needs 'softmax'"},
    {"output_activation", "\"relu\"", XAI_BAD_MODEL,
     "field 'output_activation' is 'relu'; allowed: softmax, sigmoid"},
    {"output_activation", NULL, XAI_OK, NULL},
    {"input", NULL, XAI_BAD_MODEL, "field 'input' is required (an object)"},
    {"input", "[1, 128, 128]", XAI_BAD_MODEL, "field 'input' must be an object"},
    {"input.channels", NULL, XAI_BAD_MODEL, "field 'input.channels' is required"},
    {"input.channels", "2", XAI_BAD_MODEL, "field 'input.channels' must be 1 (gray) or 3 (RGB)"},
    {"input.channels", "\"1\"", XAI_BAD_MODEL, "field 'input.channels' must be 1 (gray) or 3"},
    {"input.channels", "1.0", XAI_BAD_MODEL, "field 'input.channels' must be 1 (gray) or 3"},
    {"input.channels", "3", XAI_BAD_MODEL, "field 'normalize.mean' has 1 value but input."},
    {"input.height", "64", XAI_BAD_MODEL,
     "fields 'input.channels', 'input.height' and 'input.width' say [1,64,128] but the input "
     "'input' of model.onnx is [1,1,128,128]"},
    {"input.width", "0", XAI_BAD_MODEL, "field 'input.width' must be an integer from 1 to 8192"},
    {"input.width", "9000", XAI_BAD_MODEL, "field 'input.width' must be an integer from 1 to"},
    {"input.gray", "\"average\"", XAI_BAD_MODEL,
     "field 'input.gray' is 'average'; allowed: "
     "luma, mean"},
    {"input.gray", "\"mean\"", XAI_OK, NULL},
    {"input.name", "\"x\"", XAI_BAD_MODEL,
     "field 'input.name' is 'x' but the input of model.onnx is 'input'"},
    {"input.name", NULL, XAI_OK, NULL},
    {"input.colour", "\"gray\"", XAI_BAD_MODEL,
     "unknown field 'input.colour' (allowed: name, channels, height, width, gray)"},
    {"output.name", "\"probs\"", XAI_BAD_MODEL,
     "field 'output.name': model.onnx has no output named 'probs'"},
    {"output", NULL, XAI_OK, NULL},
    {"output.shape", "[1, 3]", XAI_BAD_MODEL, "unknown field 'output.shape' (allowed: name)"},
    {"resize.mode", "\"crop\"", XAI_BAD_MODEL,
     "field 'resize.mode' is 'crop'; allowed: stretch, letterbox, center_crop"},
    {"resize.fill", "0.5", XAI_BAD_MODEL, "field 'resize.fill' applies to mode 'letterbox' only"},
    {"resize", "{\"mode\": \"letterbox\", \"fill\": 2}", XAI_BAD_MODEL,
     "field 'resize.fill' must be a number from 0 (black) to 1 (white)"},
    {"resize", "{\"mode\": \"letterbox\", \"fill\": \"gray\"}", XAI_BAD_MODEL,
     "field 'resize.fill' must be a number"},
    {"resize", "{\"mode\": \"letterbox\", \"fill\": 0.5}", XAI_OK, NULL},
    {"resize", "{\"mode\": \"center_crop\"}", XAI_OK, NULL},
    {"resize", NULL, XAI_OK, NULL},
    {"resize.antialias", "false", XAI_BAD_MODEL,
     "unknown field 'resize.antialias' (allowed: mode, fill)"},
    {"intensity.scale", "0", XAI_BAD_MODEL, "field 'intensity.scale' must be a positive number"},
    {"intensity.scale", "-1", XAI_BAD_MODEL, "field 'intensity.scale' must be a positive"},
    {"intensity.scale", "1e39", XAI_BAD_MODEL, "field 'intensity.scale' must be a positive"},
    {"intensity.scale", "255", XAI_OK, NULL},
    {"intensity", NULL, XAI_OK, NULL},
    {"normalize", NULL, XAI_BAD_MODEL, "field 'normalize' is required (an object)"},
    {"normalize.mean", NULL, XAI_BAD_MODEL,
     "field 'normalize.mean' is required (a list of 1 or "
     "3 numbers)"},
    {"normalize.mean", "0.5", XAI_BAD_MODEL,
     "field 'normalize.mean' must be a list of 1 or 3 "
     "numbers"},
    {"normalize.mean", "[\"0.5\"]", XAI_BAD_MODEL, "field 'normalize.mean' must be a list"},
    {"normalize.mean", "[-0.5]", XAI_OK, NULL},
    {"normalize.std", "[0.2, 0.3]", XAI_BAD_MODEL,
     "field 'normalize.std' must be a list of 1 or 3 positive numbers"},
    {"normalize.std", "[0]", XAI_BAD_MODEL,
     "field 'normalize.std' must be a list of 1 or 3 "
     "positive numbers"},
    {"normalize.std", "[-0.2]", XAI_BAD_MODEL, "field 'normalize.std' must be a list"},
    {"normalize.std", "[1e-50]", XAI_BAD_MODEL, "field 'normalize.std' must be a list"},
    {"normalize.std", "[0.2, 0.3, 0.4]", XAI_BAD_MODEL,
     "field 'normalize.std' has 3 values but input.channels is 1"},
    {"normalize.sd", "[1]", XAI_BAD_MODEL, "unknown field 'normalize.sd' (allowed: mean, std)"},
    {"cam_layer", "\"nope\"", XAI_BAD_MODEL,
     "field 'cam_layer': model.onnx has no tensor 'nope' (`xaid info` lists the layers)"},
    {"cam_layer", "\"/Flatten_output_0\"", XAI_BAD_MODEL,
     "field 'cam_layer': '/Flatten_output_0' is [1,64]; it must be a layer's 4-D output"},
    {"cam_layer", "\"classifier.weight\"", XAI_BAD_MODEL,
     "field 'cam_layer': 'classifier.weight' is a constant"},
    {"cam_layer", "\"input\"", XAI_BAD_MODEL, "field 'cam_layer': 'input' is [1,1,128,128]"},
    {"cam_layer", "[\"x\"]", XAI_BAD_MODEL, "field 'cam_layer' must be a string"},
    {"cam_layer", "\"/features/block3/out/Relu_output_0\"", XAI_BAD_MODEL,
     "field 'classifier.weight': 'classifier.weight' must be a constant of shape [3,32]"},
    {"classifier.weight", NULL, XAI_BAD_MODEL, "field 'classifier.weight' is required"},
    {"classifier.weight", "\"classifier.bias\"", XAI_BAD_MODEL,
     "field 'classifier.weight': 'classifier.bias' must be a constant of shape [3,64] "
     "(classes x channels of the CAM layer)"},
    {"classifier.weight", "\"" CAM "\"", XAI_BAD_MODEL, "must be a constant of shape [3,64]"},
    {"classifier.bias", "\"classifier.weight\"", XAI_BAD_MODEL,
     "field 'classifier.bias': 'classifier.weight' must be a constant of shape [3]"},
    {"classifier.bias", NULL, XAI_OK, NULL},
    {"classifier.bias", "null", XAI_OK, NULL},
    {"classifier.layout", "\"x\"", XAI_BAD_MODEL,
     "unknown field 'classifier.layout' "
     "(allowed: weight, bias)"},
    {"classifier", "true", XAI_BAD_MODEL, "field 'classifier' must be an object"},
    {"classifier", NULL, XAI_OK, NULL},
    {"reconstruction", "{\"output\": \"logits\"}", XAI_BAD_MODEL,
     "field 'reconstruction.output': 'logits' is [1,3]; it must be an output other than the "
     "scores with the input's shape [1,1,128,128]"},
    {"reconstruction", "{\"output\": \"nope\"}", XAI_BAD_MODEL,
     "field 'reconstruction.output': model.onnx has no output named 'nope'"},
    {"reconstruction", "{}", XAI_BAD_MODEL, "field 'reconstruction.output' is required"},
    {"reconstruction", "\"logits\"", XAI_BAD_MODEL, "field 'reconstruction' must be an object"},
    {"reconstruction", "{\"output\": \"x\", \"space\": 1}", XAI_BAD_MODEL,
     "unknown field 'reconstruction.space' (allowed: output)"},
    {"reconstruction", "null", XAI_OK, NULL},
    {"attention", "{\"outputs\": []}", XAI_BAD_MODEL,
     "field 'attention.outputs' must be a list of 1 to 16 output names"},
    {"attention", "{\"outputs\": \"logits\"}", XAI_BAD_MODEL,
     "field 'attention.outputs' must be a list of 1 to 16"},
    {"attention", "{\"outputs\": [5]}", XAI_BAD_MODEL,
     "field 'attention.outputs' must be a list of ONNX output names"},
    {"attention", "{\"outputs\": [\"a\", \"a\"]}", XAI_BAD_MODEL,
     "field 'attention.outputs' names output 0 twice"},
    {"attention", "{\"outputs\": [\"nope\"]}", XAI_BAD_MODEL,
     "field 'attention.outputs': model.onnx has no output named 'nope'"},
    {"attention", "{\"outputs\": [\"logits\"]}", XAI_BAD_MODEL,
     "'logits' is [1,3]; an attention map must be an output [N, K, h, w] or [N, h, w]"},
    {"attention", "{\"output\": [\"x\"]}", XAI_BAD_MODEL,
     "unknown field 'attention.output' (allowed: outputs)"},
    {"attention", "null", XAI_OK, NULL},
    {"training", "{\"anything\": [1, 2]}", XAI_OK, NULL},
    {"notes", "\"unknown top-level fields are allowed\"", XAI_OK, NULL},
};

static void test_json_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sub[32];
        snprintf(sub, sizeof sub, "case%02zu", i);
        json_t *root = demo_json();
        mutate(root, cases[i].field, cases[i].value);
        make_model(sub, root);
        json_decref(root);
        api_model_free(expect_load(sub, cases[i].st, cases[i].msg));
    }
}

static void test_json_text(void **state)
{
    (void)state;
    static const struct {
        const char *sub, *text, *msg;
    } bad[] = {
        {"text-array", "[1, 2]", "model.json: must hold a JSON object"},
        {"text-syntax", "{\"name\": \"x\",\n \"version\" 1}", "model.json: not valid JSON (line 2"},
        {"text-dup", "{\"name\": \"a\", \"name\": \"b\"}", "duplicate"},
        {"text-empty", "", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_dir(bad[i].sub);
        link_onnx(bad[i].sub);
        write_text(bad[i].sub, "model.json", bad[i].text);
        expect_load(bad[i].sub, XAI_BAD_MODEL, bad[i].msg);
    }
}

static void test_missing_files(void **state)
{
    (void)state;
    make_dir("only-onnx");
    link_onnx("only-onnx");
    expect_load("only-onnx", XAI_NOT_FOUND, "only-onnx: no model.json (a model folder holds");
    make_dir("only-json");
    write_text("only-json", "model.json", "{}");
    expect_load("only-json", XAI_NOT_FOUND, "only-json: no model.onnx");
    expect_load("does-not-exist", XAI_NOT_FOUND, "does-not-exist: not a model folder");
    make_dir("bad-onnx");
    write_text("bad-onnx", "model.onnx", "not a protobuf");
    json_t *root = demo_json();
    char p[1024];
    path_in(p, sizeof p, "bad-onnx", "model.json");
    assert_int_equal(json_dump_file(root, p, 0), 0);
    json_decref(root);
    expect_load("bad-onnx", XAI_BAD_MODEL, "bad-onnx/model.onnx: ");
}

static void test_demo_resolved(void **state)
{
    (void)state;
    struct api_model *m = NULL;
    struct xai_err err = {{0}};
    assert_int_equal(api_model_load(DEMO, &m, &err), XAI_OK);
    assert_string_equal(m->name, "chest-demo");
    assert_string_equal(m->version, "1.0.0");
    assert_int_equal(m->n_labels, 3);
    assert_string_equal(m->labels[1], "nodule");
    assert_int_equal(m->task, API_TASK_MULTICLASS);
    assert_int_equal(m->pre.channels, 1);
    assert_int_equal(m->pre.height, 128);
    assert_int_equal(m->pre.width, 128);
    assert_int_equal(m->pre.resize, XAI_RESIZE_STRETCH);
    assert_int_equal(m->pre.gray, XAI_GRAY_LUMA601);
    assert_float_equal(m->pre.scale, 1.0f, 0);
    assert_float_equal(m->pre.mean[0], 0.4471f, 0);
    assert_float_equal(m->pre.std[0], 0.264f, 0);
    assert_int_equal(m->input, m->engine->input);
    assert_string_equal(m->input_name, "input");
    assert_string_equal(m->output_name, "logits");
    assert_int_equal(m->output, m->engine->outputs[0]);
    assert_string_equal(m->cam_layer, CAM);
    assert_false(m->cam_layer_guessed);
    assert_int_equal(m->cam_value, xai_model_find(m->engine, CAM));
    assert_true(m->classifier.present);
    assert_int_equal(m->classifier.weight, xai_model_find(m->engine, "classifier.weight"));
    assert_int_equal(m->classifier.bias, xai_model_find(m->engine, "classifier.bias"));
    assert_string_equal(m->sha256, m->engine->sha256);
    assert_int_equal(strlen(m->sha256), 64);
    /* 19 activations of the feature extractor (xaid info) and the pooled [1,64,1,1]. */
    assert_int_equal(m->n_layers, 20);
    int cam = api_model_layer(m, m->cam_value);
    assert_true(cam >= 0);
    assert_string_equal(m->layers[cam].name, CAM);
    assert_int_equal(m->layers[cam].shape.d[1], 64);
    assert_int_equal(m->layers[cam].shape.d[2], 16);
    assert_string_equal(m->layers[0].name, "/features/block1/conv/Conv_output_0");
    assert_int_equal(m->layers[0].shape.d[2], 128);
    api_model_free(m);
}

/* Without cam_layer (and classifier) the CAM layer is the last 4-D layer with H*W > 1. */
static void test_cam_guess(void **state)
{
    (void)state;
    json_t *root = demo_json();
    mutate(root, "cam_layer", NULL);
    mutate(root, "classifier", NULL);
    make_model("guess", root);
    json_decref(root);
    struct api_model *m = expect_load("guess", XAI_OK, NULL);
    assert_string_equal(m->cam_layer, CAM);
    assert_true(m->cam_layer_guessed);
    assert_false(m->classifier.present);
    assert_int_equal(m->classifier.weight, -1);
    assert_int_equal(m->classifier.bias, -1);
    api_model_free(m);
}

/* ---- graphs the demo does not cover, built with onnx_builder.h ---- */

enum tiny_kind { TINY_LOGITS, TINY_SOFTMAX, TINY_FLAT };

/* x [batch,1,8,8] -> Conv(4) -> Relu -> GlobalAveragePool -> Flatten -> Gemm "logits" [N,2]
 * (-> Softmax "probs" for TINY_SOFTMAX); TINY_FLAT: x [batch,64] -> Gemm "logits". */
static void write_tiny_onnx(const char *sub, enum tiny_kind kind, int64_t batch)
{
    struct mb b;
    mb_init(&b, 13);
    int64_t img[4] = {batch, 1, 8, 8}, flat[2] = {batch, 64}, dw[4] = {4, 1, 3, 3};
    int64_t dg[2] = {2, kind == TINY_FLAT ? 64 : 4}, db[1] = {2}, pads[4] = {1, 1, 1, 1};
    float w[36], g[128] = {0}, bias[2] = {0.5f, -0.5f};
    for (int i = 0; i < 36; i++) w[i] = (float)(i % 7) * 0.1f - 0.3f;
    for (int i = 0; i < 128; i++) g[i] = (float)(i % 5) * 0.2f - 0.4f;
    mb_init_f(&b, "fc.weight", 2, dg, g);
    mb_init_f(&b, "fc.bias", 1, db, bias);
    const char *feat = "x";
    if (kind == TINY_FLAT) {
        mb_input(&b, "x", 1, 2, flat);
    } else {
        mb_input(&b, "x", 1, 4, img);
        mb_init_f(&b, "conv.weight", 4, dw, w);
        mb_attr_ints(&b, mb_node(&b, "Conv", "x,conv.weight", "conv"), "pads", 4, pads);
        mb_node(&b, "Relu", "conv", "relu");
        mb_node(&b, "GlobalAveragePool", "relu", "gap");
        mb_node(&b, "Flatten", "gap", "flat");
        feat = "flat";
    }
    char ins[64];
    snprintf(ins, sizeof ins, "%s,fc.weight,fc.bias", feat);
    mb_attr_i(&b, mb_node(&b, "Gemm", ins, "logits"), "transB", 1);
    if (kind == TINY_SOFTMAX) mb_node(&b, "Softmax", "logits", "probs");
    mb_output(&b, kind == TINY_SOFTMAX ? "probs" : "logits");
    size_t len;
    uint8_t *bytes = mb_pack(&b, &len);
    char p[1024];
    path_in(p, sizeof p, sub, "model.onnx");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    mb_free(&b);
}

static const char tiny_json[] =
    "{\"name\": \"tiny\", \"version\": \"1\", \"labels\": [\"a\", \"b\"], \"task\": \"%s\",\n"
    " \"input\": {\"channels\": 1, \"height\": 8, \"width\": 8},\n"
    " \"normalize\": {\"mean\": [0], \"std\": [1]}%s}\n";

static void make_tiny(const char *sub, enum tiny_kind kind, int64_t batch, const char *task,
                      const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text, tiny_json, task, extra);
    make_dir(sub);
    write_tiny_onnx(sub, kind, batch);
    write_text(sub, "model.json", text);
}

static void test_graph_checks(void **state)
{
    (void)state;
    make_tiny("t-softmax", TINY_SOFTMAX, -1, "multiclass", "");
    expect_load("t-softmax", XAI_BAD_MODEL,
                "t-softmax/model.onnx: the output 'probs' is computed by Softmax; export the "
                "logits before it");
    make_tiny("t-fixed", TINY_LOGITS, 2, "multiclass", "");
    expect_load("t-fixed", XAI_BAD_MODEL,
                "t-fixed/model.onnx: the input's batch size is fixed "
                "to 2; export it with a dynamic batch dimension");
    make_tiny("t-flat", TINY_FLAT, -1, "multiclass", "");
    expect_load("t-flat", XAI_BAD_MODEL,
                "t-flat/model.onnx: the input 'x' has shape [1,64]; "
                "xaid needs an image input [N, C, H, W]");
    make_tiny("t-one", TINY_LOGITS, 1, "multiclass", "");
    api_model_free(expect_load("t-one", XAI_OK, NULL)); /* a fixed batch of 1 is fine */
}

static void test_tiny_models(void **state)
{
    (void)state;
    make_tiny("t-multilabel", TINY_LOGITS, -1, "multilabel",
              ", \"classifier\": {\"weight\": \"fc.weight\", \"bias\": \"fc.bias\"}");
    struct api_model *m = expect_load("t-multilabel", XAI_OK, NULL);
    assert_int_equal(m->task, API_TASK_MULTILABEL);
    assert_string_equal(m->input_name, "x");
    assert_string_equal(m->output_name, "logits");
    assert_string_equal(m->cam_layer, "relu"); /* guessed: the last 4-D layer with H*W > 1 */
    assert_true(m->cam_layer_guessed);
    assert_int_equal(m->n_layers, 3); /* conv, relu, gap */
    assert_true(m->classifier.present);
    api_model_free(m);

    make_tiny("t-gap", TINY_LOGITS, -1, "multiclass", ", \"cam_layer\": \"gap\"");
    m = expect_load("t-gap", XAI_OK, NULL); /* 4-D, so allowed, even at 1x1 */
    assert_string_equal(m->cam_layer, "gap");
    assert_false(m->cam_layer_guessed);
    api_model_free(m);

    make_tiny("t-nobias", TINY_LOGITS, -1, "multiclass",
              ", \"classifier\": {\"weight\": \"fc.weight\", \"bias\": \"conv.weight\"}");
    expect_load("t-nobias", XAI_BAD_MODEL,
                "field 'classifier.bias': 'conv.weight' must be a "
                "constant of shape [2]");
}

static struct api_repo *expect_repo(const char *sub, xai_status st, const char *want)
{
    char dir[1024];
    path_in(dir, sizeof dir, sub, NULL);
    struct api_repo *r = NULL;
    struct xai_err err = {{0}};
    xai_status got = api_repo_load(dir, &r, &err);
    if (got != st || (want && !strstr(err.msg, want)))
        fail_msg("%s: got %s '%s', want %s '%s'", sub, xai_status_code(got), err.msg,
                 xai_status_code(st), want ? want : "");
    if (getenv("XAI_TEST_MESSAGES")) fprintf(stderr, "%s\n", err.msg);
    if (st) assert_null(r);
    return r;
}

/* repo/<folder> holding the demo with the given name. */
static void repo_model(const char *folder, const char *name)
{
    json_t *root = demo_json();
    json_object_set_new(root, "name", json_string(name));
    make_model(folder, root);
    json_decref(root);
}

static void test_repo(void **state)
{
    (void)state;
    make_dir("repo");
    repo_model("repo/zeta", "b-model");
    repo_model("repo/alpha", "a-model");
    make_dir("repo/.hidden");
    make_dir("repo/notes");
    write_text("repo/notes", "README.md", "not a model\n");
    write_text("repo", "README.md", "a file, not a folder\n");
    struct api_repo *r = expect_repo("repo", XAI_OK, NULL);
    assert_int_equal(r->n_models, 2);
    assert_string_equal(r->models[0]->name, "a-model"); /* folder order: alpha, zeta */
    assert_string_equal(r->models[1]->name, "b-model");
    assert_ptr_equal(api_repo_find(r, "b-model"), r->models[1]);
    assert_null(api_repo_find(r, "chest-demo"));
    assert_null(api_repo_find(r, NULL));
    api_repo_free(r);

    make_dir("empty");
    expect_repo("empty", XAI_NOT_FOUND, "empty: no models (a repository holds one folder per");
    expect_repo("missing", XAI_NOT_FOUND, "missing: cannot open the model repository");
    expect_repo("repo/alpha", XAI_INVALID_ARGUMENT, "is a model folder");
}

static void test_repo_errors(void **state)
{
    (void)state;
    make_dir("dups");
    repo_model("dups/one", "same");
    repo_model("dups/two", "same");
    expect_repo("dups", XAI_BAD_MODEL,
                "dups/two/model.json: field 'name': 'same' is already the "
                "name of the model in ");

    make_dir("onebad");
    repo_model("onebad/good", "good");
    json_t *root = demo_json();
    mutate(root, "normalize.std", "[0]");
    make_model("onebad/bad", root);
    json_decref(root);
    expect_repo("onebad", XAI_BAD_MODEL, "onebad/bad/model.json: field 'normalize.std'");

    make_dir("incomplete");
    repo_model("incomplete/good", "good");
    make_dir("incomplete/half");
    link_onnx("incomplete/half");
    expect_repo("incomplete", XAI_NOT_FOUND, "incomplete/half: no model.json");
}

/* The inspection demo models declare their reconstruction and attention outputs. */
static void test_inspect_models(void **state)
{
    (void)state;
    struct api_model *ae = NULL, *att = NULL;
    struct xai_err err = {{0}};
    if (api_model_load(XAI_SOURCE_DIR "/models/chest-ae", &ae, &err)) fail_msg("%s", err.msg);
    assert_true(ae->recon_value >= 0);
    assert_string_equal(ae->engine->values[ae->recon_value].name, "reconstruction");
    assert_int_equal(ae->n_attention, 0);
    if (api_model_load(XAI_SOURCE_DIR "/models/chest-attention", &att, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(att->recon_value, -1);
    assert_int_equal(att->n_attention, 1);
    assert_string_equal(att->engine->values[att->attention_values[0]].name, "attention");
    api_model_free(ae);
    api_model_free(att);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields),   cmocka_unit_test(test_json_text),
        cmocka_unit_test(test_missing_files), cmocka_unit_test(test_demo_resolved),
        cmocka_unit_test(test_cam_guess),     cmocka_unit_test(test_repo),
        cmocka_unit_test(test_repo_errors),   cmocka_unit_test(test_graph_checks),
        cmocka_unit_test(test_tiny_models),   cmocka_unit_test(test_inspect_models),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
