/*
 * test_onnx_pytorch.c - the importer on real PyTorch 1.13 exports (tests/data/onnx, made by
 * tools/make_onnx_fixtures.py): shape subgraphs around x.view(x.size(0), -1) and
 * x.view(b, 2, c // 2, h, w), BatchNormalization kept by the exporter, Dropout, opsets 9 to
 * 17, dynamic and fixed batch, a ViT-style class token expanded to the batch. The models run with
 * the fake ops of onnx_fakes.h and must match PyTorch's outputs at batch 3, and at batch 1 when the
 * batch is dynamic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <math.h>

#include "onnx_fakes.h"
#include "session.h"

static void *slurp(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/data/onnx/%s", XAI_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Runs batch `batch` of x (the first samples of the fixture) and compares with y. */
static void check_run(const xai_model *m, const float *x, const float *y, struct xai_shape in,
                      int64_t out_per_sample, int64_t batch)
{
    xai_session *s;
    struct xai_err err;
    assert_int_equal(xai_session_new(m, &s, &err), XAI_OK);
    in.d[0] = batch;
    struct xai_tensor t = {in, (float *)x};
    xai_status st = xai_session_forward(s, &t, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, XAI_OK);
    const struct xai_tensor *o = xai_session_output(s, 0);
    assert_int_equal(o->shape.d[0], batch);
    assert_int_equal(xai_shape_numel(&o->shape), batch * out_per_sample);
    for (int64_t i = 0; i < batch * out_per_sample; i++) assert_float_equal(o->data[i], y[i], 1e-5);
    xai_session_free(s);
}

static void check_fixture(const char *model, const char *prefix, struct xai_shape in,
                          int64_t out_per_sample, int64_t fixed, int n_nodes)
{
    char xn[64], yn[64];
    snprintf(xn, sizeof xn, "%s_x.bin", prefix);
    snprintf(yn, sizeof yn, "%s_y.bin", prefix);
    size_t len, lx, ly;
    void *buf = slurp(model, &len);
    float *x = slurp(xn, &lx), *y = slurp(yn, &ly);
    xai_model *m = NULL;
    struct xai_err err;
    xai_status st = xai_onnx_load(buf, len, &fake_opts, &m, &err);
    if (st) fprintf(stderr, "%s: %s\n", model, err.msg);
    assert_int_equal(st, XAI_OK);
    assert_int_equal(m->fixed_batch, fixed);
    assert_int_equal(m->n_nodes, n_nodes);
    assert_non_null(strstr(m->producer, "pytorch "));
    for (int k = 0; k < m->n_nodes; k++) {
        assert_string_not_equal(m->nodes[k].op->name, "BatchNormalization");
        assert_string_not_equal(m->nodes[k].op->name, "Dropout");
    }
    check_run(m, x, y, in, out_per_sample, 3);
    if (!fixed) check_run(m, x, y, in, out_per_sample, 1);
    xai_model_free(m);
    free(buf);
    free(x);
    free(y);
}

static const struct xai_shape convbn_in = {4, {3, 3, 2, 2}}, shuffle_in = {4, {3, 4, 2, 2}};

static void test_convbn_dynamic_opset9(void **state)
{
    check_fixture("convbn_dyn_o9.onnx", "convbn", convbn_in, 16, 0, 4);
}

static void test_convbn_dynamic_opset13(void **state)
{
    check_fixture("convbn_dyn_o13.onnx", "convbn", convbn_in, 16, 0, 4);
}

static void test_convbn_dynamic_opset17(void **state)
{
    check_fixture("convbn_dyn_o17.onnx", "convbn", convbn_in, 16, 0, 4);
}

static void test_convbn_fixed_opset11(void **state)
{
    check_fixture("convbn_fixed_o11.onnx", "convbn", convbn_in, 16, 3, 4);
}

static void test_shuffle_opset9(void **state)
{
    check_fixture("shuffle_dyn_o9.onnx", "shuffle", shuffle_in, 16, 0, 4);
}

static void test_shuffle_opset13(void **state)
{
    check_fixture("shuffle_dyn_o13.onnx", "shuffle", shuffle_in, 16, 0, 4);
}

/* Expand(token, Where(Equal(shape, -1), ones, shape)) with shape = [batch, -1, -1]. */
static void test_class_token(void **state)
{
    check_fixture("cls_dyn_o13.onnx", "cls", (struct xai_shape){3, {3, 1, 4}}, 4, 0, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convbn_dynamic_opset9),
        cmocka_unit_test(test_convbn_dynamic_opset13),
        cmocka_unit_test(test_convbn_dynamic_opset17),
        cmocka_unit_test(test_convbn_fixed_opset11),
        cmocka_unit_test(test_class_token),
        cmocka_unit_test(test_shuffle_opset9),
        cmocka_unit_test(test_shuffle_opset13),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
