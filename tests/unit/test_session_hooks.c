/*
 * test_session_hooks.c - the executor's four hooks for attribution methods, on a small
 * PyTorch export (Conv+BN folded -> Relu -> view(N,-1) -> Add constant):
 *   1. reading an intermediate tensor by name, 2. seeding the backward pass at any tensor,
 *   3. replacing the backward rule of an op kind for one run, 4. stopping at a tensor;
 * and the keep requests that decide which activations and gradients stay readable.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

#define MODEL XAI_SOURCE_DIR "/tests/data/onnx/convbn_dyn_o13.onnx"
#define RELU "/Relu_output_0"

struct fixture {
    xai_model *m;
    xai_session *s;
    float x[24];
    struct xai_tensor in;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct xai_err err = {{0}};
    assert_int_equal(xai_model_load(MODEL, &f->m, &err), XAI_OK);
    assert_int_equal(xai_session_new(f->m, &f->s, &err), XAI_OK);
    f->in.shape = f->m->values[f->m->input].shape;
    f->in.shape.d[0] = 2;
    assert_int_equal(xai_shape_numel(&f->in.shape), 24);
    for (int i = 0; i < 24; i++) f->x[i] = sinf(0.7f * (float)i) * 2.f;
    f->in.data = f->x;
    assert_int_equal(xai_session_keep(f->s, xai_model_find(f->m, RELU), &err), XAI_OK);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    xai_session_free(f->s);
    xai_model_free(f->m);
    free(f);
    return 0;
}

/* Backward from seed values g at the value named `name`; copies the input gradient. */
static void grad_from(struct fixture *f, const char *name, const float *g,
                      const struct xai_backward_opts *o, float *out)
{
    struct xai_err err = {{0}};
    int v = xai_model_find(f->m, name);
    assert_true(v >= 0);
    const struct xai_tensor *val = xai_session_value(f->s, v);
    assert_non_null(val);
    struct xai_tensor seed = {val->shape, (float *)g};
    struct xai_grad_seed gs = {v, &seed};
    assert_int_equal(xai_session_backward(f->s, &gs, 1, o, &err), XAI_OK);
    const struct xai_tensor *gi = xai_session_grad(f->s, f->m->input);
    if (!out) {
        assert_null(gi);
        return;
    }
    assert_non_null(gi);
    memcpy(out, gi->data, sizeof f->x);
}

static void test_read_intermediate(void **state)
{
    struct fixture *f = *state;
    const struct xai_tensor *r = xai_session_tensor(f->s, RELU);
    assert_non_null(r);
    assert_int_equal(r->shape.d[0], 2);
    int positives = 0;
    for (int64_t i = 0; i < xai_shape_numel(&r->shape); i++) {
        assert_true(r->data[i] >= 0.f);
        positives += r->data[i] > 0.f;
    }
    assert_true(positives > 0);
    assert_null(xai_session_tensor(f->s, "no such tensor"));
}

/* y = reshape(relu) + c, so seeding y or the Relu output with the same values must agree. */
static void test_seed_anywhere(void **state)
{
    struct fixture *f = *state;
    float g[32], a[24], b[24];
    for (int i = 0; i < 32; i++) g[i] = (float)(i % 5) - 2.f;
    grad_from(f, f->m->values[f->m->outputs[0]].name, g, NULL, a);
    grad_from(f, RELU, g, NULL, b);
    for (int i = 0; i < 24; i++) assert_float_equal(a[i], b[i], 1e-6f);
    double norm = 0;
    for (int i = 0; i < 24; i++) norm += fabs(a[i]);
    assert_true(norm > 0);
}

static void guided_relu(const struct xai_op_run *r, void *user)
{
    int *calls = user;
    const float *y = r->out[0]->data, *gy = r->gout[0]->data; /* what Relu's own rule reads */
    float *gx = r->gin[0]->data;
    for (int64_t i = 0; i < xai_shape_numel(&r->in[0]->shape); i++)
        gx[i] += y[i] > 0.f && gy[i] > 0.f ? gy[i] : 0.f;
    (*calls)++;
}

/* Guided backprop through Relu equals plain backprop with negative seeds cut, here. */
static void test_override(void **state)
{
    struct fixture *f = *state;
    float g[32], gpos[32], a[24], b[24];
    for (int i = 0; i < 32; i++) {
        g[i] = (float)(i % 5) - 2.f;
        gpos[i] = g[i] > 0.f ? g[i] : 0.f;
    }
    int calls = 0;
    struct xai_grad_override ov = {"Relu", guided_relu, &calls};
    struct xai_backward_opts o = {&ov, 1, NULL, 0};
    grad_from(f, RELU, g, &o, a);
    assert_int_equal(calls, 1);
    grad_from(f, RELU, gpos, NULL, b);
    for (int i = 0; i < 24; i++) assert_float_equal(a[i], b[i], 1e-6f);
    /* the override lasts one run only */
    float c[24];
    grad_from(f, RELU, g, NULL, c);
    assert_int_equal(calls, 1);
    int differ = 0;
    for (int i = 0; i < 24; i++) differ += fabsf(c[i] - a[i]) > 1e-6f;
    assert_true(differ > 0);
}

static void test_stop(void **state)
{
    struct fixture *f = *state;
    float g[32];
    for (int i = 0; i < 32; i++) g[i] = 1.f;
    int stop = xai_model_find(f->m, RELU);
    struct xai_backward_opts o = {NULL, 0, &stop, 1};
    grad_from(f, f->m->values[f->m->outputs[0]].name, g, &o, NULL);
    const struct xai_tensor *gr = xai_session_grad(f->s, stop);
    assert_non_null(gr);
    for (int i = 0; i < 32; i++) assert_float_equal(gr->data[i], 1.f, 0.f);
}

/* Without a keep request an intermediate is not readable (its memory is reused); the input,
 * the outputs and kept values are, and a request lasts until cleared. */
static void test_keep(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    int relu = xai_model_find(f->m, RELU), reshape = xai_model_find(f->m, "/Reshape_output_0");
    assert_true(reshape >= 0);
    assert_null(xai_session_value(f->s, reshape));
    assert_non_null(xai_session_value(f->s, relu));
    assert_non_null(xai_session_value(f->s, f->m->input));
    assert_non_null(xai_session_output(f->s, 0));
    xai_session_keep_clear(f->s);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    assert_null(xai_session_value(f->s, relu));
    assert_non_null(xai_session_output(f->s, 0));
    assert_int_equal(xai_session_keep(f->s, reshape, &err), XAI_OK);
    assert_null(xai_session_value(f->s, reshape)); /* applies from the next forward pass */
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    const struct xai_tensor *r = xai_session_value(f->s, reshape);
    assert_non_null(r);
    assert_int_equal(r->shape.d[1], 16);
    assert_true(xai_session_plan_check(f->s));
    assert_int_equal(xai_session_keep(f->s, -1, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(xai_session_keep_op(f->s, "NoSuchOp", &err), XAI_INVALID_ARGUMENT);
}

/* Gradients that survive a backward pass: the input's, the seeds', the stops', kept ones. */
static void test_keep_grads(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    float g[32], a[24], b[24];
    for (int i = 0; i < 32; i++) g[i] = (float)(i % 3) - 1.f;
    int relu = xai_model_find(f->m, RELU), reshape = xai_model_find(f->m, "/Reshape_output_0");
    grad_from(f, f->m->values[f->m->outputs[0]].name, g, NULL, a);
    assert_non_null(xai_session_grad(f->s, f->m->outputs[0]));
    assert_null(xai_session_grad(f->s, reshape));
    assert_true(xai_session_plan_check(f->s));
    assert_int_equal(xai_session_keep(f->s, reshape, &err), XAI_OK);
    grad_from(f, f->m->values[f->m->outputs[0]].name, g, NULL, b);
    const struct xai_tensor *gr = xai_session_grad(f->s, reshape);
    assert_non_null(gr);
    for (int i = 0; i < 32; i++) assert_float_equal(gr->data[i], g[i], 0.f);
    for (int i = 0; i < 24; i++) assert_float_equal(a[i], b[i], 0.f);
    assert_non_null(xai_session_grad(f->s, relu)); /* kept in setup */
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    assert_null(xai_session_grad(f->s, f->m->input)); /* a forward pass ends them */
}

struct seen {
    int calls;
    bool in_data, out_data;
};

static void reshape_probe(const struct xai_op_run *r, void *user)
{
    struct seen *s = user;
    s->calls++;
    s->in_data = r->in[0]->data != NULL;
    s->out_data = r->out[0]->data != NULL;
    assert_int_equal(r->in[0]->shape.d[0], 2);
    const float *gy = r->gout[0]->data;
    for (int64_t i = 0; i < xai_shape_numel(&r->in[0]->shape); i++) r->gin[0]->data[i] += gy[i];
}

/* An override sees the data the built-in rule reads (Reshape: none) plus what keep_op asks. */
static void test_override_sees_kept(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    float g[32], a[24], b[24], c[24];
    for (int i = 0; i < 32; i++) g[i] = (float)(i % 5) - 2.f;
    struct seen seen = {0};
    struct xai_grad_override ov = {"Reshape", reshape_probe, &seen};
    struct xai_backward_opts o = {&ov, 1, NULL, 0};
    const char *y = f->m->values[f->m->outputs[0]].name;
    xai_session_keep_clear(f->s);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    grad_from(f, y, g, &o, a);
    assert_int_equal(seen.calls, 1);
    assert_true(seen.in_data); /* the Relu's output: Relu's own backward reads it */
    assert_false(seen.out_data);
    assert_int_equal(xai_session_keep_op(f->s, "Reshape", &err), XAI_OK);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    grad_from(f, y, g, &o, b);
    assert_true(seen.in_data && seen.out_data);
    assert_non_null(xai_session_tensor(f->s, "/Reshape_output_0"));
    /* keeping everything changes no number */
    assert_int_equal(xai_session_keep_op(f->s, NULL, &err), XAI_OK);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    grad_from(f, y, g, NULL, c);
    assert_non_null(xai_session_grad(f->s, xai_model_find(f->m, RELU)));
    for (int i = 0; i < 24; i++) {
        assert_float_equal(a[i], b[i], 0.f);
        assert_float_equal(a[i], c[i], 0.f);
    }
    assert_true(xai_session_plan_check(f->s));
}

static void test_bad_seed(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    float g[5] = {0};
    struct xai_tensor seed = {{1, {5}}, g};
    struct xai_grad_seed gs = {xai_model_find(f->m, RELU), &seed};
    assert_int_equal(xai_session_backward(f->s, &gs, 1, NULL, &err), XAI_SHAPE_MISMATCH);
    assert_non_null(strstr(err.msg, "shape"));
    gs.value = -1;
    assert_int_equal(xai_session_backward(f->s, &gs, 1, NULL, &err), XAI_INVALID_ARGUMENT);
}

static void test_bad_input_shape(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    struct xai_tensor x = f->in;
    x.shape.d[2] = 5;
    assert_int_equal(xai_session_forward(f->s, &x, &err), XAI_SHAPE_MISMATCH);
    assert_non_null(strstr(err.msg, "expects"));
    assert_null(xai_session_output(f->s, 0));
}

/* A deadline in the past stops forward and backward passes; a later one, or none, does not. */
static void test_deadline(void **state)
{
    struct fixture *f = *state;
    struct xai_err err = {{0}};
    xai_session_set_deadline(f->s, xai_monotonic_s() - 1.0);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_DEADLINE_EXCEEDED);
    assert_non_null(strstr(err.msg, "deadline"));
    assert_null(xai_session_output(f->s, 0));
    xai_session_set_deadline(f->s, xai_monotonic_s() + 60.0);
    assert_int_equal(xai_session_forward(f->s, &f->in, &err), XAI_OK);
    float g[32] = {1.f};
    xai_session_set_deadline(f->s, xai_monotonic_s() - 1.0);
    const struct xai_tensor *y = xai_session_output(f->s, 0);
    struct xai_tensor seed = {y->shape, g};
    struct xai_grad_seed gs = {f->m->outputs[0], &seed};
    assert_int_equal(xai_session_backward(f->s, &gs, 1, NULL, &err), XAI_DEADLINE_EXCEEDED);
    assert_null(xai_session_grad(f->s, f->m->input));
    xai_session_set_deadline(f->s, 0);
    assert_int_equal(xai_session_backward(f->s, &gs, 1, NULL, &err), XAI_OK);
    assert_non_null(xai_session_grad(f->s, f->m->input));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_intermediate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_grads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_sees_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
