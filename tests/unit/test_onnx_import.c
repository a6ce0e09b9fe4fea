/*
 * test_onnx_import.c - the ONNX importer on models built in C (onnx_builder.h): a graph that
 * loads and runs, dropped Identity/Dropout, Constant nodes and folding, the dynamic-batch
 * shape chain (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and its batch flags,
 * BatchNormalization folding, tensor conversion and sha256. Bad models are in
 * test_onnx_errors.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <math.h>

#include "onnx_builder.h"
#include "onnx_fakes.h"
#include "session.h"

static const int64_t dyn2[] = {-1, 3}, fix2[] = {1, 3};

static xai_status load_mb(struct mb *b, const struct xai_onnx_opts *o, xai_model **m,
                          struct xai_err *err)
{
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    xai_status st = xai_onnx_load(buf, len, o, m, err);
    if (st) fprintf(stderr, "load: %s\n", err->msg);
    free(buf);
    mb_free(b);
    return st;
}

/* Runs a forward pass on batch n of inputs x (n * per floats); returns output 0 (copied). */
static float *run(const xai_model *m, const float *x, struct xai_shape in, float *out_buf,
                  struct xai_shape *out_shape)
{
    xai_session *s = NULL;
    struct xai_err err;
    assert_int_equal(xai_session_new(m, &s, &err), XAI_OK);
    struct xai_tensor t = {in, (float *)x};
    xai_status st = xai_session_forward(s, &t, &err);
    if (st) fprintf(stderr, "forward: %s\n", err.msg);
    assert_int_equal(st, XAI_OK);
    const struct xai_tensor *o = xai_session_output(s, 0);
    assert_non_null(o);
    *out_shape = o->shape;
    memcpy(out_buf, o->data, sizeof(float) * (size_t)xai_shape_numel(&o->shape));
    xai_session_free(s);
    return out_buf;
}

static void relu_model(struct mb *b, const int64_t *dims)
{
    mb_init(b, 13);
    mb_input(b, "x", 1, 2, dims);
    mb_node(b, "Relu", "x", "y");
    mb_output(b, "y");
}

static void test_relu_loads_and_runs(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    relu_model(&b, dyn2);
    assert_int_equal(load_mb(&b, NULL, &m, &err), XAI_OK);
    assert_int_equal(m->n_nodes, 1);
    assert_int_equal(m->fixed_batch, 0);
    assert_int_equal(m->opset, 13);
    assert_string_equal(m->producer, "pytorch 1.13.1");
    assert_int_equal(strlen(m->sha256), 64);
    assert_int_equal(m->values[m->input].shape.d[0], 1);
    assert_int_equal(m->values[m->input].batch_dims, 1);
    int y = xai_model_find(m, "y");
    assert_int_equal(m->outputs[0], y);
    assert_true(m->values[y].grad);
    assert_int_equal(m->values[y].batch_dims, 1);
    float x[6] = {-1, 2, -3, 4, 0.5f, -0.5f}, out[6];
    struct xai_shape os;
    run(m, x, (struct xai_shape){2, {2, 3}}, out, &os);
    assert_int_equal(os.d[0], 2);
    for (int i = 0; i < 6; i++) assert_float_equal(out[i], x[i] > 0 ? x[i] : 0, 0);
    xai_model_free(m);
}

static void test_fixed_batch(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    relu_model(&b, fix2);
    assert_int_equal(load_mb(&b, NULL, &m, &err), XAI_OK);
    assert_int_equal(m->fixed_batch, 1);
    assert_int_equal(m->values[m->input].batch_dims, 0);
    xai_model_free(m);
}

static void test_backward_through_loaded_model(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    relu_model(&b, dyn2);
    assert_int_equal(load_mb(&b, NULL, &m, &err), XAI_OK);
    xai_session *s;
    assert_int_equal(xai_session_new(m, &s, &err), XAI_OK);
    float x[3] = {-1, 2, 3}, g[3] = {1, 1, 1};
    struct xai_tensor t = {{2, {1, 3}}, x}, gt = {{2, {1, 3}}, g};
    assert_int_equal(xai_session_forward(s, &t, &err), XAI_OK);
    struct xai_grad_seed seed = {m->outputs[0], &gt};
    assert_int_equal(xai_session_backward(s, &seed, 1, NULL, &err), XAI_OK);
    const struct xai_tensor *gx = xai_session_grad(s, m->input);
    assert_non_null(gx);
    assert_float_equal(gx->data[0], 0, 0);
    assert_float_equal(gx->data[1], 1, 0);
    xai_session_free(s);
    xai_model_free(m);
}

static void test_identity_dropout_dropped(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_node(&b, "Identity", "x", "a");
    mb_node(&b, "Relu", "a", "r");
    mb_node(&b, "Dropout", "r", "y,mask");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, NULL, &m, &err), XAI_OK);
    assert_int_equal(m->n_nodes, 1);
    assert_string_equal(m->nodes[0].op->name, "Relu");
    assert_int_equal(m->nodes[0].in[0], m->input);
    assert_string_equal(m->values[m->outputs[0]].name, "r");
    assert_int_equal(xai_model_find(m, "mask"), -1);
    float x[3] = {-1, 2, 3}, out[3];
    struct xai_shape os;
    run(m, x, (struct xai_shape){2, {1, 3}}, out, &os);
    assert_float_equal(out[1], 2, 0);
    xai_model_free(m);
}

static void test_initializer_listed_as_input(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    const int64_t d3[] = {3};
    const float w[] = {1, 2, 3};
    mb_init(&b, 9);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_input(&b, "w", 1, 1, d3);
    mb_init_f(&b, "w", 1, d3, w);
    mb_node(&b, "Add", "x,w", "y");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_string_equal(m->values[m->input].name, "x");
    assert_int_equal(m->n_params, 3);
    assert_false(m->values[xai_model_find(m, "w")].grad);
    xai_model_free(m);
}

/* Constant -> Relu (run once at load) -> Add(x, .): the Relu becomes a constant. */
static void test_constant_and_runtime_fold(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    const int64_t d3[] = {3};
    const float c[] = {-1, 0.5f, 2};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_attr_t(&b, mb_node(&b, "Constant", "", "c"), "value", mb_tensor_f(&b, NULL, 1, d3, c));
    mb_node(&b, "Relu", "c", "rc");
    mb_node(&b, "Add", "x,rc", "y");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(m->n_nodes, 1);
    int rc = xai_model_find(m, "rc");
    assert_true(rc >= 0);
    assert_non_null(m->values[rc].cst);
    assert_float_equal(m->values[rc].cst->f[0], 0, 0);
    assert_float_equal(m->values[rc].cst->f[2], 2, 0);
    assert_int_equal(xai_model_find(m, "c"), -1); /* no longer used: removed */
    float x[6] = {1, 1, 1, 2, 2, 2}, out[6];
    struct xai_shape os;
    run(m, x, (struct xai_shape){2, {2, 3}}, out, &os);
    assert_float_equal(out[4], 2.5f, 1e-6);
    xai_model_free(m);
}

static void test_constant_scalar_forms(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    const float fs[] = {1, 2, 3};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_attr_floats(&b, mb_node(&b, "Constant", "", "c"), "value_floats", 3, fs);
    mb_attr_f(&b, mb_node(&b, "Constant", "", "one"), "value_float", 1.f);
    mb_node(&b, "Add", "c,one", "c1"); /* folded by the importer (float Add of constants) */
    mb_node(&b, "Add", "x,c1", "y");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    const struct xai_const *c1 = m->values[xai_model_find(m, "c1")].cst;
    assert_non_null(c1);
    assert_float_equal(c1->f[2], 4, 0);
    xai_model_free(m);
}

/* x.view(x.size(0), -1) as PyTorch exports it with a dynamic batch. */
static void view_chain(struct mb *b, int opset)
{
    const int64_t dims[] = {-1, 2, 3}, one[] = {1}, zero = 0, minus1 = -1;
    mb_init(b, opset);
    mb_input(b, "x", 1, 3, dims);
    mb_node(b, "Shape", "x", "s");
    mb_add_init(b, mb_tensor_i64(b, "i0", 0, NULL, &zero));
    mb_node(b, "Gather", "s,i0", "n");
    if (opset >= 13) {
        mb_init_i64(b, "ax", 1, one, &zero);
        mb_node(b, "Unsqueeze", "n,ax", "n1");
    } else {
        mb_attr_ints(b, mb_node(b, "Unsqueeze", "n", "n1"), "axes", 1, &zero);
    }
    mb_attr_ints(b, mb_node(b, "Constant", "", "m1"), "value_ints", 1, &minus1);
    mb_attr_i(b, mb_node(b, "Concat", "n1,m1", "shp"), "axis", 0);
    mb_node(b, "Reshape", "x,shp", "y");
    mb_output(b, "y");
}

static void check_view_chain(int opset)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    view_chain(&b, opset);
    memset(&fake_reshape_seen, 0, sizeof fake_reshape_seen);
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(fake_reshape_seen.n, 2);
    assert_int_equal(fake_reshape_seen.v[0], 1);
    assert_int_equal(fake_reshape_seen.b[0], 1);
    assert_int_equal(fake_reshape_seen.v[1], -1);
    assert_int_equal(fake_reshape_seen.b[1], 0);
    assert_int_equal(m->n_nodes, 1);
    const struct xai_const *shp = m->values[xai_model_find(m, "shp")].cst;
    assert_non_null(shp);
    assert_int_equal(shp->dtype, XAI_I64);
    assert_int_equal(shp->batch[0], 1);
    int y = m->outputs[0];
    assert_int_equal(m->values[y].shape.d[0], 1);
    assert_int_equal(m->values[y].shape.d[1], 6);
    assert_int_equal(m->values[y].batch_dims, 1);
    assert_int_equal(m->fixed_batch, 0);
    float x[18], out[18];
    for (int i = 0; i < 18; i++) x[i] = (float)i;
    struct xai_shape os;
    run(m, x, (struct xai_shape){3, {3, 2, 3}}, out, &os);
    assert_int_equal(os.ndim, 2);
    assert_int_equal(os.d[0], 3);
    assert_int_equal(os.d[1], 6);
    assert_float_equal(out[17], 17, 0);
    xai_model_free(m);
}

static void test_view_chain_opset13(void **state)
{
    check_view_chain(13);
}

static void test_view_chain_opset11(void **state)
{
    check_view_chain(11);
}

/* ShuffleNet's channel shuffle: view(batch, groups, channels // groups, h, w). */
static void test_shape_arithmetic(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    const int64_t dims[] = {-1, 4, 1, 1}, one[] = {1}, zero = 0, chan = 1, two = 2, ks[] = {2};
    const int64_t four = 4;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 4, dims);
    mb_node(&b, "Shape", "x", "s");
    mb_add_init(&b, mb_tensor_i64(&b, "i0", 0, NULL, &zero));
    mb_add_init(&b, mb_tensor_i64(&b, "i1", 0, NULL, &chan));
    mb_add_init(&b, mb_tensor_i64(&b, "g", 0, NULL, &two));
    mb_init_i64(&b, "ax", 1, one, &zero);
    mb_node(&b, "Gather", "s,i0", "n");
    mb_node(&b, "Gather", "s,i1", "c");
    mb_node(&b, "Div", "c,g", "cg");
    mb_node(&b, "Mul", "n,g", "n2"); /* flagged * plain stays flagged */
    mb_node(&b, "Div", "n2,g", "n3");
    mb_node(&b, "Unsqueeze", "n3,ax", "u0");
    mb_node(&b, "Unsqueeze", "cg,ax", "u2");
    mb_init_i64(&b, "gg", 1, one, ks);
    mb_init_i64(&b, "en", 1, one, &four);
    mb_node(&b, "Slice", "s,gg,en", "hw"); /* dims 2..3: [1, 1] */
    mb_attr_i(&b, mb_node(&b, "Concat", "u0,gg,u2,hw", "shp"), "axis", 0);
    mb_node(&b, "Cast", "shp", "shp64");
    mb_attr_i(&b, b.nodes[b.g.n_node - 1], "to", 7);
    mb_node(&b, "Reshape", "x,shp64", "y");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    const int64_t want[5] = {1, 2, 2, 1, 1};
    assert_int_equal(fake_reshape_seen.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fake_reshape_seen.v[i], want[i]);
        assert_int_equal(fake_reshape_seen.b[i], i == 0);
    }
    xai_model_free(m);
}

static void test_fold_where_equal_expand(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    const int64_t dims[] = {-1, 6}, d2[] = {2}, tgt[] = {-1, 3}, zero[] = {0, 0}, d1[] = {1};
    const int64_t three = 3, six[] = {2, 3};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dims);
    mb_init_i64(&b, "t", 1, d2, tgt);
    mb_init_i64(&b, "z", 1, d2, zero);
    mb_node(&b, "Equal", "t,z", "eq");   /* [0, 0] */
    mb_node(&b, "Where", "eq,z,t", "w"); /* [-1, 3] */
    mb_init_i64(&b, "e", 1, d1, &three);
    mb_init_i64(&b, "es", 1, d2, six);
    mb_node(&b, "Expand", "e,es", "ex"); /* [[3,3,3],[3,3,3]] */
    mb_init_i64(&b, "c3", 1, d1, &three);
    mb_node(&b, "ConstantOfShape", "c3", "cs"); /* zeros [3] float */
    mb_node(&b, "Shape", "ex", "exs");          /* [2, 3] */
    mb_node(&b, "Reshape", "x,w", "y");
    mb_node(&b, "Add", "y,cs", "y2");
    mb_output(&b, "y2");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(fake_reshape_seen.v[0], -1);
    assert_int_equal(fake_reshape_seen.v[1], 3);
    /* output [2N, 3] still scales with the batch */
    assert_int_equal(m->fixed_batch, 0);
    assert_int_equal(m->values[m->outputs[0]].shape.d[0], 2);
    xai_model_free(m);
}

static void expect_reshape(struct mb *b, int n, const int64_t *v, const uint8_t *flags,
                           int64_t fixed)
{
    xai_model *m = NULL;
    struct xai_err err;
    memset(&fake_reshape_seen, 0, sizeof fake_reshape_seen);
    assert_int_equal(load_mb(b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(fake_reshape_seen.n, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(fake_reshape_seen.v[i], v[i]);
        assert_int_equal(fake_reshape_seen.b[i], flags[i]);
    }
    assert_int_equal(m->fixed_batch, fixed);
    xai_model_free(m);
}

/* Gather(Shape(x), Range(0, 3, 1)) is the shape of x again. */
static void test_fold_range(void **state)
{
    struct mb b;
    const int64_t dims[] = {-1, 3, 4}, zero = 0, three = 3, one = 1;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 3, dims);
    mb_add_init(&b, mb_tensor_i64(&b, "a", 0, NULL, &zero));
    mb_add_init(&b, mb_tensor_i64(&b, "z", 0, NULL, &three));
    mb_add_init(&b, mb_tensor_i64(&b, "d", 0, NULL, &one));
    mb_node(&b, "Shape", "x", "s");
    mb_node(&b, "Range", "a,z,d", "r");
    mb_node(&b, "Gather", "s,r", "g");
    mb_node(&b, "Reshape", "x,g", "y");
    mb_output(&b, "y");
    const int64_t v[] = {1, 3, 4};
    const uint8_t f[] = {1, 0, 0};
    expect_reshape(&b, 3, v, f, 0);
}

/* Shape reversed by a Slice with step -1, squeezed and unsqueezed back (opset 13 inputs). */
static void test_fold_slice_squeeze(void **state)
{
    struct mb b;
    const int64_t dims[] = {-1, 3, 4}, d1[] = {1}, st = -1, en = INT64_MIN, ax = 0, z = 0;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 3, dims);
    mb_init_i64(&b, "st", 1, d1, &st);
    mb_init_i64(&b, "en", 1, d1, &en);
    mb_init_i64(&b, "ax", 1, d1, &ax);
    mb_init_i64(&b, "step", 1, d1, &st);
    mb_init_i64(&b, "z", 1, d1, &z);
    mb_node(&b, "Shape", "x", "s");
    mb_node(&b, "Slice", "s,st,en,ax,step", "rev"); /* [4, 3, N] */
    mb_node(&b, "Unsqueeze", "rev,z", "u");         /* [[4, 3, N]] */
    mb_node(&b, "Squeeze", "u,z", "sq");
    mb_node(&b, "Reshape", "x,sq", "y");
    mb_output(&b, "y");
    const int64_t v[] = {4, 3, 1};
    const uint8_t f[] = {0, 0, 1};
    expect_reshape(&b, 3, v, f, 1); /* y's first dimension does not scale: batch 1 only */
}

/* Transpose folded on int64 (as PyTorch's F.pad export reverses its pads): the shape as a
 * column, doubled into [[N, N], [3, 3], [4, 4]], transposed to rows and row 0 taken is the
 * shape again, batch flag included. An unfolded (or untransposed) copy would give [N, N, 3]. */
static void test_fold_transpose(void **state)
{
    struct mb b;
    const int64_t dims[] = {-1, 3, 4}, d1[] = {1}, one = 1, zero = 0;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 3, dims);
    mb_init_i64(&b, "ax1", 1, d1, &one);
    mb_add_init(&b, mb_tensor_i64(&b, "i0", 0, NULL, &zero));
    mb_node(&b, "Shape", "x", "s");
    mb_node(&b, "Unsqueeze", "s,ax1", "col"); /* [3, 1] */
    mb_attr_i(&b, mb_node(&b, "Concat", "col,col", "two"), "axis", 1);
    mb_node(&b, "Transpose", "two", "rows"); /* [2, 3]: perm defaults to reversing the axes */
    mb_node(&b, "Gather", "rows,i0", "g");
    mb_node(&b, "Reshape", "x,g", "y");
    mb_output(&b, "y");
    const int64_t v[] = {1, 3, 4};
    const uint8_t f[] = {1, 0, 0};
    expect_reshape(&b, 3, v, f, 0);
}

/* An extra output nothing reads is dropped (MaxPool's indices; here a broken Relu): the model
 * has no value without a producer, and runs. */
static void test_unused_extra_output_dropped(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_node(&b, "Relu", "x", "y,extra");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(m->nodes[0].n_out, 1);
    assert_int_equal(xai_model_find(m, "extra"), -1);
    float x[6] = {-1, 2, -3, 4, -5, 6}, out[6];
    struct xai_shape os;
    run(m, x, (struct xai_shape){2, {2, 3}}, out, &os);
    assert_float_equal(out[1], 2, 0);
    assert_float_equal(out[2], 0, 0);
    xai_model_free(m);
}

/* Dynamic input, but the graph flattens the whole batch: falls back to batch 1. */
static void test_non_batch_output_falls_back(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    const int64_t d2[] = {2}, tgt[] = {1, -1};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_init_i64(&b, "t", 1, d2, tgt);
    mb_node(&b, "Reshape", "x,t", "y");
    mb_output(&b, "y");
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(m->fixed_batch, 1);
    assert_int_equal(m->values[m->input].batch_dims, 0);
    xai_model_free(m);
}

/* ---- BatchNormalization folding ---- */

static void test_bn_fold_math(void **state)
{
    struct xai_err err;
    /* Conv: W [2,1,1,2], two output channels */
    float w[4] = {1, 2, 3, 4}, bias[2] = {0.5f, -1};
    const float sc[2] = {2, 3}, be[2] = {0.1f, 0.2f}, mu[2] = {1, 2}, var[2] = {3, 8};
    struct xai_shape ws = {4, {2, 1, 1, 2}};
    assert_int_equal(xai_bn_fold_weights(w, &ws, false, 1, bias, sc, be, mu, var, 1.f, &err),
                     XAI_OK);
    assert_float_equal(w[0], 1.f, 1e-6); /* s0 = 2/sqrt(4) = 1 */
    assert_float_equal(w[3], 4.f, 1e-6); /* s1 = 3/sqrt(9) = 1 */
    assert_float_equal(bias[0], -0.4f, 1e-6);
    assert_float_equal(bias[1], -2.8f, 1e-6);
    /* ConvTranspose, 4 input channels, group 2, 1 output channel per group: W [4,1,1,1] */
    float wt[4] = {1, 1, 1, 1}, bt[2] = {0, 0};
    const float sc2[2] = {1, 2}, z[2] = {0, 0}, v1[2] = {1, 1};
    struct xai_shape wts = {4, {4, 1, 1, 1}};
    assert_int_equal(xai_bn_fold_weights(wt, &wts, true, 2, bt, sc2, z, z, v1, 0.f, &err), XAI_OK);
    assert_float_equal(wt[0], 1, 1e-6);
    assert_float_equal(wt[1], 1, 1e-6);
    assert_float_equal(wt[2], 2, 1e-6);
    assert_float_equal(wt[3], 2, 1e-6);
    float bad[2] = {-1, -1};
    assert_int_equal(xai_bn_fold_weights(wt, &wts, true, 2, bt, sc2, z, z, bad, 0.f, &err),
                     XAI_BAD_MODEL);
}

static const float conv_w[6] = {1, -1, 0.5f, 2, 0, 1}; /* [3,2,1,1] */
static const float bn_p[4][3] = {{1, 2, 0.5f}, {0, 0.1f, -0.2f}, {0.3f, -1, 2}, {1, 4, 0.25f}};

static void conv_bn_model(struct mb *b, bool conv_bias, bool share_w)
{
    const int64_t xd[] = {-1, 2, 1, 2}, wd[] = {3, 2, 1, 1}, d3[] = {3};
    const float cb[3] = {0.1f, 0.2f, 0.3f};
    mb_init(b, 13);
    mb_input(b, "x", 1, 4, xd);
    mb_init_f(b, "W", 4, wd, conv_w);
    if (conv_bias) mb_init_f(b, "B", 1, d3, cb);
    const char *names[4] = {"gamma", "beta", "mean", "var"};
    for (int i = 0; i < 4; i++) mb_init_f(b, names[i], 1, d3, bn_p[i]);
    mb_node(b, "Conv", conv_bias ? "x,W,B" : "x,W", "c");
    Xonnx__NodeProto *bn = mb_node(b, "BatchNormalization", "c,gamma,beta,mean,var", "y");
    mb_attr_f(b, bn, "epsilon", 1e-3f);
    mb_attr_f(b, bn, "momentum", 0.9f);
    mb_output(b, "y");
    if (share_w) {
        mb_node(b, "Conv", "x,W", "y2");
        mb_output(b, "y2");
    }
}

/* conv + bn by hand for input x [1,2,1,2] */
static void conv_bn_ref(const float *x, bool conv_bias, float *y)
{
    const float cb[3] = {0.1f, 0.2f, 0.3f};
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 2; k++) {
            float c = (conv_bias ? cb[m] : 0) + conv_w[m * 2] * x[k] + conv_w[m * 2 + 1] * x[2 + k];
            y[m * 2 + k] = (c - bn_p[2][m]) / sqrtf(bn_p[3][m] + 1e-3f) * bn_p[0][m] + bn_p[1][m];
        }
}

static void check_conv_bn(bool conv_bias, bool share)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    conv_bn_model(&b, conv_bias, share);
    assert_int_equal(load_mb(&b, &fake_opts, &m, &err), XAI_OK);
    assert_int_equal(m->n_nodes, share ? 2 : 1);
    int k = share ? 1 : 0; /* the folded conv waits for its BN: built last */
    assert_string_equal(m->nodes[k].op->name, "Conv");
    assert_int_equal(m->nodes[k].n_in, 3);
    assert_int_equal(fake_conv_seen_inputs, 3);
    assert_string_equal(m->values[m->nodes[k].out[0]].name, "y");
    assert_int_equal(xai_model_find(m, "c"), -1);
    assert_int_equal(xai_model_find(m, "gamma"), -1);
    assert_int_equal(m->n_params, share ? 6 + 6 + 3 : 6 + 3);
    const float x[4] = {0.5f, -1, 2, 0.25f};
    float out[6], ref[6];
    struct xai_shape os;
    run(m, x, (struct xai_shape){4, {1, 2, 1, 2}}, out, &os);
    conv_bn_ref(x, conv_bias, ref);
    for (int i = 0; i < 6; i++) assert_float_equal(out[i], ref[i], 1e-5);
    if (share) { /* the second conv still sees the original weights */
        int w = m->nodes[0].in[1];
        assert_string_equal(m->values[w].name, "W");
        assert_float_equal(m->values[w].cst->f[1], conv_w[1], 0);
    }
    xai_model_free(m);
}

static void test_bn_folded_into_conv(void **state)
{
    check_conv_bn(true, false);
}

static void test_bn_folded_creates_bias(void **state)
{
    check_conv_bn(false, false);
}

static void test_bn_fold_copies_shared_weight(void **state)
{
    check_conv_bn(true, true);
}

/* With the real Conv op (added by another branch), through the public loader. */
static void test_bn_fold_real_conv(void **state)
{
    if (!xai_op_find("Conv", 13)) {
        skip();
        return;
    }
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    conv_bn_model(&b, true, false);
    size_t len;
    uint8_t *buf = mb_pack(&b, &len);
    xai_status st = xai_model_load_buffer(buf, len, &m, &err);
    free(buf);
    mb_free(&b);
    assert_int_equal(st, XAI_OK);
    assert_int_equal(m->n_nodes, 1);
    const float x[4] = {0.5f, -1, 2, 0.25f};
    float out[6], ref[6];
    struct xai_shape os;
    run(m, x, (struct xai_shape){4, {1, 2, 1, 2}}, out, &os);
    conv_bn_ref(x, true, ref);
    for (int i = 0; i < 6; i++) assert_float_equal(out[i], ref[i], 1e-4);
    xai_model_free(m);
}

/* BN after a Conv whose output is also used elsewhere: not folded, BN stays a runtime op. */
static void test_bn_not_folded_when_shared(void **state)
{
    struct mb b;
    xai_model *m = NULL;
    struct xai_err err;
    conv_bn_model(&b, true, false);
    mb_output(&b, "c");
    size_t len;
    uint8_t *buf = mb_pack(&b, &len);
    xai_status st = xai_onnx_load(buf, len, &fake_opts, &m, &err);
    free(buf);
    mb_free(&b);
    if (!xai_op_find("BatchNormalization", 13)) {
        assert_int_equal(st, XAI_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "BatchNormalization"));
        return;
    }
    assert_int_equal(st, XAI_OK);
    assert_int_equal(m->n_nodes, 2);
    xai_model_free(m);
}

/* ---- tensors and sha256 ---- */

static void test_tensor_types(void **state)
{
    struct mb b;
    struct xai_err err;
    struct xai_const *c;
    const int64_t d2[] = {2};
    mb_init(&b, 13);
    const int32_t i32[2] = {-7, 9};
    assert_int_equal(xai_onnx_tensor(mb_tensor_raw(&b, "a", 6, 1, d2, i32, 8), "a", &c, &err), 0);
    assert_int_equal(c->dtype, XAI_I64);
    assert_int_equal(c->i64[0], -7);
    xai_const_free(c);
    const double dv[2] = {1.5, -2.25};
    assert_int_equal(xai_onnx_tensor(mb_tensor_raw(&b, "d", 11, 1, d2, dv, 16), "d", &c, &err), 0);
    assert_int_equal(c->dtype, XAI_F32);
    assert_float_equal(c->f[1], -2.25f, 0);
    xai_const_free(c);
    const uint8_t bo[2] = {0, 3};
    assert_int_equal(xai_onnx_tensor(mb_tensor_raw(&b, "b", 9, 1, d2, bo, 2), "b", &c, &err), 0);
    assert_int_equal(c->i64[1], 1);
    xai_const_free(c);
    const uint8_t u8[2] = {200, 1};
    assert_int_equal(xai_onnx_tensor(mb_tensor_raw(&b, "u", 2, 1, d2, u8, 2), "u", &c, &err), 0);
    assert_int_equal(c->i64[0], 200);
    xai_const_free(c);
    const uint8_t h[4] = {0x00, 0x3c, 0x00, 0xc0}; /* float16 1.0, -2.0 */
    assert_int_equal(xai_onnx_tensor(mb_tensor_raw(&b, "h", 10, 1, d2, h, 4), "h", &c, &err), 0);
    assert_float_equal(c->f[0], 1.f, 0);
    assert_float_equal(c->f[1], -2.f, 0);
    xai_const_free(c);
    const float f[2] = {0.25f, 8};
    assert_int_equal(xai_onnx_tensor(mb_tensor_raw(&b, "f", 1, 1, d2, f, 8), "f", &c, &err), 0);
    assert_float_equal(c->f[1], 8, 0);
    xai_const_free(c);
    mb_free(&b);
}

static void test_sha256(void **state)
{
    char hex[65];
    xai_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    xai_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_load_from_file(void **state)
{
    struct mb b;
    relu_model(&b, dyn2);
    size_t len;
    uint8_t *buf = mb_pack(&b, &len);
    mb_free(&b);
    char path[] = "/tmp/xai_onnx_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
    xai_model *m = NULL;
    struct xai_err err;
    assert_int_equal(xai_model_load(path, &m, &err), XAI_OK);
    char hex[65];
    xai_sha256_hex(buf, len, hex);
    assert_string_equal(m->sha256, hex);
    xai_model_free(m);
    remove(path);
    free(buf);
    assert_int_equal(xai_model_load(path, &m, &err), XAI_NOT_FOUND);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(xai_model_load("/tmp", &m, &err), XAI_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_loads_and_runs),
        cmocka_unit_test(test_fixed_batch),
        cmocka_unit_test(test_backward_through_loaded_model),
        cmocka_unit_test(test_identity_dropout_dropped),
        cmocka_unit_test(test_initializer_listed_as_input),
        cmocka_unit_test(test_constant_and_runtime_fold),
        cmocka_unit_test(test_constant_scalar_forms),
        cmocka_unit_test(test_view_chain_opset13),
        cmocka_unit_test(test_view_chain_opset11),
        cmocka_unit_test(test_shape_arithmetic),
        cmocka_unit_test(test_fold_where_equal_expand),
        cmocka_unit_test(test_fold_range),
        cmocka_unit_test(test_fold_slice_squeeze),
        cmocka_unit_test(test_fold_transpose),
        cmocka_unit_test(test_unused_extra_output_dropped),
        cmocka_unit_test(test_non_batch_output_falls_back),
        cmocka_unit_test(test_bn_fold_math),
        cmocka_unit_test(test_bn_folded_into_conv),
        cmocka_unit_test(test_bn_folded_creates_bias),
        cmocka_unit_test(test_bn_fold_copies_shared_weight),
        cmocka_unit_test(test_bn_fold_real_conv),
        cmocka_unit_test(test_bn_not_folded_when_shared),
        cmocka_unit_test(test_tensor_types),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_load_from_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
