/*
 * test_methods_cam.c - the CAM family and the modified-Relu methods beyond their PyTorch
 * references (tests/methods): the guided and deconvnet Relu rules element by element; cam's
 * refusal of models without a global-average-pooling + linear head (with a message that
 * suggests gradcam); grad-CAM's backward pass stopping at the layer; grad-CAM equal to
 * ReLU(CAM) / (h w) on a GAP + linear head; layer errors. Runs on the bundled demo model, and
 * on SqueezeNet 1.1 (conv + GAP head, no linear layer) and MobileNetV2 (no Relu node: the
 * modified-Relu methods refuse) when the reference fixtures exist ($XAI_REFERENCE_DIR or the
 * build's reference-fixtures/; skipped otherwise).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "method.h"
#include "methods/_guided.h"

#define DEMO XAI_SOURCE_DIR "/models/chest-demo/model.onnx"
#define DEMO_LAYER "/features/block4/out/Relu_output_0"

struct fixture {
    xai_model *m;
    xai_session *s;
    float *x;
    struct xai_tensor in;
    struct xai_method_model mm;
    struct xai_param_values pv;
    struct xai_method_req req;
};

static int load(struct fixture *f, const char *path, const char *layer, const char *head)
{
    struct xai_err err = {{0}};
    if (xai_model_load(path, &f->m, &err) || xai_session_new(f->m, &f->s, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return -1;
    }
    f->in.shape = f->m->values[f->m->input].shape;
    f->in.shape.d[0] = 1;
    int64_t n = xai_shape_numel(&f->in.shape);
    f->x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) f->x[i] = sinf(0.05f * (float)i) + cosf(0.0031f * (float)i);
    f->in.data = f->x;
    f->mm = (struct xai_method_model){f->m,
                                      f->m->outputs[0],
                                      xai_model_find(f->m, layer),
                                      head ? xai_model_find(f->m, head) : -1,
                                      -1,
                                      false,
                                      -3.f,
                                      3.f,
                                      -1,
                                      NULL,
                                      0};
    f->req = (struct xai_method_req){&f->mm, f->s, &f->in, 1, f->mm.cam_layer, &f->pv, 1, 8};
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (load(f, DEMO, DEMO_LAYER, "classifier.weight")) return -1;
    f->mm.head_bias = xai_model_find(f->m, "classifier.bias");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    xai_session_free(f->s);
    xai_model_free(f->m);
    free(f->x);
    free(f);
    return 0;
}

/* Runs a method with its default parameters (relu/abs overridable through pv after). */
static xai_status run(struct fixture *f, const char *name, struct xai_method_result *res,
                      struct xai_err *err)
{
    const struct xai_method_def *d = xai_method_find(name);
    assert_non_null(d);
    xai_method_defaults(d, &f->pv);
    return d->run(&f->req, res, err);
}

static void test_relu_rules(void **state)
{
    (void)state;
    float x[6] = {1, 1, -1, -1, 0, 2}, gy[6] = {2, -3, 4, -5, 6, 0}, gx[6];
    struct xai_tensor tx = {{1, {6}}, x}, tg = {{1, {6}}, gy}, tgx = {{1, {6}}, gx};
    const struct xai_tensor *in[1] = {&tx}, *gout[1] = {&tg}, *gin[1] = {&tgx};
    struct xai_op_run r = {NULL, 1, in, 1, in, gout, gin, NULL, 1};
    const float guided[6] = {2, 0, 0, 0, 0, 0}, deconv[6] = {2, 0, 4, 0, 6, 0};
    struct xai_grad_override ov;
    struct xai_backward_opts o;
    xai_relu_rule_opts(XAI_RELU_GUIDED, &ov, &o);
    assert_string_equal(o.overrides[0].op_type, "Relu");
    for (int i = 0; i < 6; i++) gx[i] = 0.5f; /* rules accumulate */
    ov.backward(&r, ov.user);
    for (int i = 0; i < 6; i++) assert_float_equal(gx[i], guided[i] + 0.5f, 0);
    xai_relu_rule_opts(XAI_RELU_DECONV, &ov, &o);
    memset(gx, 0, sizeof gx);
    ov.backward(&r, ov.user);
    for (int i = 0; i < 6; i++) assert_float_equal(gx[i], deconv[i], 0);
}

static void assert_refused(struct fixture *f, const char *why)
{
    struct xai_err err = {{0}};
    struct xai_method_result res = {0};
    assert_int_equal(run(f, "cam", &res, &err), XAI_UNSUPPORTED);
    assert_null(res.map);
    assert_non_null(strstr(err.msg, "gradcam"));
    assert_non_null(strstr(err.msg, why));
}

static void test_cam_refusals(void **state)
{
    struct fixture *f = *state;
    int head = f->mm.head_weight, layer = f->mm.cam_layer;
    f->mm.head_weight = -1; /* the model repository declares no GAP + linear head */
    assert_refused(f, "declares none");
    f->mm.head_weight = head;
    f->req.layer = xai_model_find(f->m, "/features/block4/conv1/relu/Relu_output_0");
    assert_refused(f, "does not feed a GlobalAveragePool");
    f->req.layer = layer;
    f->mm.head_weight = xai_model_find(f->m, "classifier.bias"); /* not the Gemm's weight */
    assert_refused(f, "does not reach a linear layer");
    f->mm.head_weight = head;
    f->mm.output = xai_model_find(f->m, "/Flatten_output_0"); /* not the Gemm's output */
    assert_refused(f, "does not produce the logits");
    f->mm.output = f->m->outputs[0];
    /* the head's bias comes from the graph, whatever the repository declares */
    struct xai_err err = {{0}};
    struct xai_method_result res = {0};
    f->mm.head_bias = -1;
    assert_int_equal(run(f, "cam", &res, &err), XAI_OK);
    xai_method_result_reset(&res);
}

/* On a GAP + linear head dS/dA_k = w_k / (h w) everywhere, so grad-CAM = CAM(relu) / (h w). */
static void test_gradcam_equals_cam(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    struct xai_method_result cam = {0}, camr = {0}, gc = {0};
    assert_int_equal(run(f, "cam", &cam, &err), XAI_OK);
    assert_true(cam.signed_map);
    f->pv.v[0] = 1; /* relu = true */
    assert_int_equal(xai_method_find("cam")->run(&f->req, &camr, &err), XAI_OK);
    assert_false(camr.signed_map);
    assert_int_equal(run(f, "gradcam", &gc, &err), XAI_OK);
    assert_false(gc.signed_map);
    assert_int_equal(cam.height * cam.width, 128 * 128);
    double hw = 16.0 * 16.0, maxv = 0;
    int negatives = 0;
    for (int i = 0; i < 128 * 128; i++) maxv = fmax(maxv, cam.map[i]);
    assert_true(maxv > 0);
    for (int i = 0; i < 128 * 128; i++) {
        negatives += cam.map[i] < 0;
        assert_true(camr.map[i] >= 0 && camr.map[i] >= cam.map[i]);
        assert_true(fabs(gc.map[i] - camr.map[i] / hw) < 1e-5 * maxv / hw);
    }
    assert_true(negatives > 0); /* the test input has evidence against the class somewhere */
    xai_method_result_reset(&cam);
    xai_method_result_reset(&camr);
    xai_method_result_reset(&gc);
}

/* grad-CAM's backward pass reaches the layer and nothing below it. */
static void test_gradcam_stops_at_layer(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    struct xai_method_result res = {0};
    assert_int_equal(run(f, "gradcam", &res, &err), XAI_OK);
    assert_non_null(xai_session_grad(f->s, f->req.layer));
    assert_null(xai_session_grad(f->s, xai_model_find(f->m, "/features/block4/Add_output_0")));
    assert_null(xai_session_grad(f->s, f->m->input));
    xai_method_result_reset(&res);
    /* guided backprop, by contrast, reaches the input */
    assert_int_equal(run(f, "guided_backprop", &res, &err), XAI_OK);
    assert_non_null(xai_session_grad(f->s, f->m->input));
    xai_method_result_reset(&res);
}

static void test_layer_errors(void **state)
{
    struct fixture *f = *state;
    const char *methods[] = {"gradcam", "gradcam_pp", "guided_gradcam", "cam"};
    int layer = f->req.layer;
    for (int i = 0; i < 4; i++) {
        struct xai_err err = {{0}};
        struct xai_method_result res = {0};
        f->req.layer = -1;
        assert_int_equal(run(f, methods[i], &res, &err), XAI_UNSUPPORTED);
        f->req.layer = xai_model_find(f->m, "/Flatten_output_0");
        assert_int_equal(run(f, methods[i], &res, &err), XAI_INVALID_ARGUMENT);
        assert_non_null(strstr(err.msg, "4-D"));
        f->req.layer = xai_model_find(f->m, "classifier.weight");
        assert_int_equal(run(f, methods[i], &res, &err), XAI_INVALID_ARGUMENT);
        assert_non_null(strstr(err.msg, "does not depend on the input"));
        assert_null(res.map);
    }
    f->req.layer = layer;
}

/* guided grad-CAM = [0,1]-scaled grad-CAM times the guided backprop map. */
static void test_guided_gradcam_product(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    struct xai_method_result gc = {0}, gb = {0}, ggc = {0};
    assert_int_equal(run(f, "gradcam", &gc, &err), XAI_OK);
    assert_int_equal(run(f, "guided_backprop", &gb, &err), XAI_OK);
    assert_int_equal(run(f, "guided_gradcam", &ggc, &err), XAI_OK);
    float lo = gc.map[0], hi = gc.map[0];
    for (int i = 0; i < 128 * 128; i++) lo = fminf(lo, gc.map[i]), hi = fmaxf(hi, gc.map[i]);
    assert_true(hi > lo);
    for (int i = 0; i < 128 * 128; i++) {
        float want = (gc.map[i] - lo) / (hi - lo) * gb.map[i];
        assert_true(fabsf(ggc.map[i] - want) <= 1e-5f * (fabsf(gb.map[i]) + 1e-6f));
    }
    xai_method_result_reset(&gc);
    xai_method_result_reset(&gb);
    xai_method_result_reset(&ggc);
}

/* path of a reference fixture; -1 when it does not exist. */
static int reference_file(char *path, size_t n, const char *name)
{
    const char *dir = getenv("XAI_REFERENCE_DIR");
    snprintf(path, n, "%s/%s", dir ? dir : XAI_BINARY_DIR "/reference-fixtures", name);
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    fclose(fp);
    return 0;
}

/* SqueezeNet's head is conv 1x1 -> Relu -> GAP -> Flatten: no linear layer, so no cam. */
static void test_squeezenet(void **state)
{
    (void)state;
    char path[1024];
    if (reference_file(path, sizeof path, "squeezenet1_1_op13.onnx")) skip();
    struct fixture f = {0};
    assert_int_equal(load(&f, path, "/classifier/classifier.2/Relu_output_0", NULL), 0);
    assert_refused(&f, "declares none");
    f.mm.head_weight = xai_model_find(f.m, "classifier.1.weight");
    assert_true(f.mm.head_weight >= 0);
    assert_refused(&f, "does not reach a linear layer");
    f.req.layer = xai_model_find(f.m, "/features/features.12/Concat_output_0");
    struct xai_err err = {{0}};
    struct xai_method_result res = {0};
    assert_int_equal(run(&f, "gradcam", &res, &err), XAI_OK);
    assert_null(xai_session_grad(f.s, f.m->input));
    xai_method_result_reset(&res);
    xai_session_free(f.s);
    xai_model_free(f.m);
    free(f.x);
}

/* MobileNetV2 has no Relu node (ReLU6 exports as Clip): the modified-Relu methods refuse. */
static void test_no_relu(void **state)
{
    (void)state;
    char path[1024];
    if (reference_file(path, sizeof path, "mobilenet_v2_op13.onnx")) skip();
    struct fixture f = {0};
    assert_int_equal(load(&f, path, "/features/features.18/features.18.2/Clip_output_0", NULL), 0);
    const char *methods[] = {"guided_backprop", "deconvnet", "guided_gradcam"};
    for (int i = 0; i < 3; i++) {
        struct xai_err err = {{0}};
        struct xai_method_result res = {0};
        assert_int_equal(run(&f, methods[i], &res, &err), XAI_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "use saliency"));
        assert_null(res.map);
    }
    xai_session_free(f.s);
    xai_model_free(f.m);
    free(f.x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_rules),
        cmocka_unit_test_setup_teardown(test_cam_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradcam_equals_cam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradcam_stops_at_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guided_gradcam_product, setup, teardown),
        cmocka_unit_test(test_squeezenet),
        cmocka_unit_test(test_no_relu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
