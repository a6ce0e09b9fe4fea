/*
 * test_onnx_errors.c - bad models: each must fail with the right status and a message that
 * names what is wrong, without crashing or leaking (run under -DXAI_SANITIZE=ON too).
 * Covers empty, truncated, random and mutated bytes, graph errors (cycles, missing
 * initializers, duplicate outputs), tensor errors, unsupported ops, attributes, opsets,
 * inputs, shape mismatches and batch-dependent shape arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "onnx_builder.h"
#include "onnx_fakes.h"
#include "session.h"

static const int64_t dyn2[] = {-1, 3};

static uint64_t rng = 1;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

/* Loads the model and checks the status and that the message contains every word given. */
static void expect(struct mb *b, xai_status want, const char *w1, const char *w2)
{
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    mb_free(b);
    xai_model *m = NULL;
    struct xai_err err = {{0}};
    xai_status st = xai_onnx_load(buf, len, &fake_opts, &m, &err);
    free(buf);
    if (st != want || (w1 && !strstr(err.msg, w1)) || (w2 && !strstr(err.msg, w2)))
        fprintf(stderr, "got %s: %s\n", xai_status_code(st), err.msg);
    assert_int_equal(st, want);
    assert_null(m);
    if (w1) assert_non_null(strstr(err.msg, w1));
    if (w2) assert_non_null(strstr(err.msg, w2));
}

static void relu_model(struct mb *b)
{
    mb_init(b, 13);
    mb_input(b, "x", 1, 2, dyn2);
    mb_node(b, "Relu", "x", "y");
    mb_output(b, "y");
}

static void test_empty(void **state)
{
    xai_model *m = NULL;
    struct xai_err err;
    assert_int_equal(xai_model_load_buffer("", 0, &m, &err), XAI_BAD_MODEL);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(xai_model_load_buffer(NULL, 10, &m, &err), XAI_BAD_MODEL);
    assert_int_equal(xai_model_load_buffer("x", 1, &m, NULL), XAI_BAD_MODEL); /* err optional */
}

static void test_truncated(void **state)
{
    struct mb b;
    relu_model(&b);
    size_t len;
    uint8_t *buf = mb_pack(&b, &len);
    mb_free(&b);
    for (size_t cut = 0; cut < len; cut++) {
        xai_model *m = NULL;
        struct xai_err err;
        xai_status st = xai_model_load_buffer(buf, cut, &m, &err);
        assert_int_not_equal(st, XAI_OK);
        assert_null(m);
    }
    free(buf);
}

static void test_random_bytes(void **state)
{
    uint8_t buf[1024];
    for (uint64_t seed = 1; seed <= 200; seed++) {
        rng = seed;
        size_t len = 1 + rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rnd();
        xai_model *m = NULL;
        struct xai_err err;
        assert_int_not_equal(xai_model_load_buffer(buf, len, &m, &err), XAI_OK);
        assert_null(m);
    }
}

/* Valid models with a few bytes changed: any status will do, but no crash and no leak. */
static void test_mutated_bytes(void **state)
{
    struct mb b;
    const int64_t d[] = {3};
    const float w[] = {1, 2, 3};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_init_f(&b, "w", 1, d, w);
    mb_node(&b, "Relu", "x", "r");
    mb_node(&b, "Add", "r,w", "y");
    mb_output(&b, "y");
    size_t len;
    uint8_t *orig = mb_pack(&b, &len), *buf = malloc(len);
    mb_free(&b);
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        rng = seed;
        memcpy(buf, orig, len);
        for (int k = 0; k < 1 + (int)(rnd() % 4); k++) buf[rnd() % len] = (uint8_t)rnd();
        xai_model *m = NULL;
        struct xai_err err;
        if (xai_onnx_load(buf, len, &fake_opts, &m, &err) == XAI_OK) xai_model_free(m);
    }
    free(orig);
    free(buf);
}

/* The same on real PyTorch exports (shape subgraphs, BatchNorm, Dropout). */
static void test_mutated_fixtures(void **state)
{
    const char *names[] = {"convbn_dyn_o13.onnx", "shuffle_dyn_o9.onnx"};
    int seeds = getenv("XAI_FUZZ_SEEDS") ? atoi(getenv("XAI_FUZZ_SEEDS")) : 1500;
    for (int f = 0; f < 2; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/data/onnx/%s", XAI_SOURCE_DIR, names[f]);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t orig[8192], buf[8192];
        size_t len = fread(orig, 1, sizeof orig, fp);
        fclose(fp);
        for (int seed = 1; seed <= seeds; seed++) {
            rng = (uint64_t)seed * 7919u + (uint64_t)f;
            memcpy(buf, orig, len);
            for (int k = 0; k < 1 + (int)(rnd() % 3); k++) buf[rnd() % len] = (uint8_t)rnd();
            xai_model *m = NULL;
            struct xai_err err;
            if (xai_onnx_load(buf, len, &fake_opts, &m, &err) == XAI_OK) xai_model_free(m);
        }
    }
}

static void test_cycle(void **state)
{
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_node(&b, "Add", "x,b", "a")->name = "first";
    mb_node(&b, "Relu", "a", "b")->name = "second";
    mb_node(&b, "Relu", "b", "y");
    mb_output(&b, "y");
    expect(&b, XAI_BAD_MODEL, "cycle through this node", "node '");
}

static void test_missing_initializer(void **state)
{
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_node(&b, "Add", "x,fc.weight", "y")->name = "fc";
    mb_output(&b, "y");
    expect(&b, XAI_BAD_MODEL, "fc.weight", "missing initializer");
}

static void test_duplicate_output(void **state)
{
    struct mb b;
    relu_model(&b);
    mb_node(&b, "Relu", "x", "y")->name = "again";
    expect(&b, XAI_BAD_MODEL, "again", "'y' is already");
}

static void test_unknown_output(void **state)
{
    struct mb b;
    relu_model(&b);
    mb_output(&b, "nowhere");
    expect(&b, XAI_BAD_MODEL, "nowhere", NULL);
}

static void test_raw_data_length(void **state)
{
    struct mb b;
    const int64_t d[] = {3};
    const float w[2] = {1, 2};
    relu_model(&b);
    mb_add_init(&b, mb_tensor_raw(&b, "w", 1, 1, d, w, sizeof w));
    expect(&b, XAI_BAD_MODEL, "initializer 'w'", "raw_data");
}

static void test_typed_data_count(void **state)
{
    struct mb b;
    const int64_t d[] = {2}, d3[] = {3};
    const float w[2] = {1, 2};
    relu_model(&b);
    Xonnx__TensorProto *t = mb_tensor_f(&b, "w", 1, d, w);
    t->dims = (int64_t *)d3;
    mb_add_init(&b, t);
    expect(&b, XAI_BAD_MODEL, "initializer 'w'", "holds 2 values");
}

static void test_external_data(void **state)
{
    struct mb b;
    const int64_t d[] = {2};
    const float w[2] = {1, 2};
    relu_model(&b);
    Xonnx__TensorProto *t = mb_tensor_f(&b, "w", 1, d, w);
    t->has_data_location = 1;
    t->data_location = 1;
    mb_add_init(&b, t);
    expect(&b, XAI_UNSUPPORTED, "initializer 'w'", "external");
}

static void test_string_tensor(void **state)
{
    struct mb b;
    const int64_t d[] = {1};
    relu_model(&b);
    mb_add_init(&b, mb_tensor(&b, "s", 8, 1, d));
    expect(&b, XAI_UNSUPPORTED, "initializer 's'", "data type 8");
}

static void test_unsupported_op(void **state)
{
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_node(&b, "FooBar", "x", "y")->name = "foo_node";
    mb_output(&b, "y");
    expect(&b, XAI_UNSUPPORTED, "node 'foo_node': op 'FooBar' (opset 13) is not supported", NULL);
}

/* An int64 constant as the data of a runtime op is refused, whether the op would run at load
 * (Relu of a constant) or at run time (Add): the session would hand the op no float data (the
 * load crashed before). */
static void test_int64_data_input(void **state)
{
    for (int at_load = 0; at_load < 2; at_load++) {
        struct mb b;
        const int64_t d3[] = {3}, v[] = {1, -2, 3};
        mb_init(&b, 13);
        mb_input(&b, "x", 1, 2, dyn2);
        mb_init_i64(&b, "c", 1, d3, v);
        if (at_load) mb_node(&b, "Relu", "c", "rc")->name = "relu_c";
        mb_node(&b, "Add", at_load ? "x,rc" : "c,x", "y")->name = "add";
        mb_output(&b, "y");
        expect(&b, XAI_UNSUPPORTED, at_load ? "'relu_c'" : "'add'", "input 0 is an int64 constant");
    }
}

/* A runtime op without input 0 (none at all, or an empty name: "absent"), with its other inputs
 * constant (run at load) or not, is refused: the op would read no data (the load crashed). */
static void test_missing_data_input(void **state)
{
    const char *ins[] = {"", ",x", ",c"};
    for (int i = 0; i < 3; i++) {
        struct mb b;
        const int64_t d3[] = {3};
        const float v[] = {1, -2, 3};
        mb_init(&b, 13);
        mb_input(&b, "x", 1, 2, dyn2);
        mb_init_f(&b, "c", 1, d3, v);
        mb_node(&b, "Relu", ins[i], "r")->name = "relu";
        mb_node(&b, "Add", "x,r", "y");
        mb_output(&b, "y");
        expect(&b, XAI_BAD_MODEL, "'relu'", "input 0 is missing");
    }
}

/* A runtime op makes one output: a second one that something reads is refused (a broken file
 * gave HardSigmoid two; the session then planned a value no infer had shaped). */
static void test_extra_output_used(void **state)
{
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_node(&b, "Relu", "x", "r,extra")->name = "relu";
    mb_node(&b, "Add", "r,extra", "y");
    mb_output(&b, "y");
    expect(&b, XAI_UNSUPPORTED, "'relu'", "output 1 is used");
}

/* Every real op given only its data input (x [N, 3, 4, 4] or [N, 1]) is refused or runs forward and
 * backward: an op that needs more inputs must say so in init, never read past the ones given
 * (MatMul read a second input's shape that was not there: found by the ONNX fuzz target). The
 * unused initializer c is for the int64 variant below. */
static void every_op(const char *ins, int rank)
{
    static const int64_t d4[] = {-1, 3, 4, 4}, d2[] = {-1, 1}, c2[] = {1, 1}, one = 1;
    const int64_t *dims = rank == 4 ? d4 : d2;
    int n_ops;
    const struct xai_op_def *const *ops = xai_op_all(&n_ops);
    for (int i = 0; i < n_ops; i++) {
        int opset = ops[i]->opset_max < 13 ? ops[i]->opset_max : 13;
        if (opset < ops[i]->opset_min) opset = ops[i]->opset_min;
        struct mb b;
        mb_init(&b, opset);
        mb_input(&b, "x", 1, (size_t)rank, dims);
        mb_init_i64(&b, "c", 2, c2, &one);
        mb_node(&b, ops[i]->name, ins, "y");
        mb_output(&b, "y");
        size_t len;
        uint8_t *buf = mb_pack(&b, &len);
        mb_free(&b);
        xai_model *m = NULL;
        struct xai_err err = {{0}};
        xai_status st = xai_onnx_load(buf, len, NULL, &m, &err);
        free(buf);
        if (st) {
            if (!err.msg[0]) fail_msg("%s: no message", ops[i]->name);
            continue;
        }
        xai_session *s = NULL;
        float x[48] = {0};
        struct xai_tensor in = {m->values[m->input].shape, x};
        assert_int_equal(xai_session_new(m, &s, &err), XAI_OK);
        if (xai_session_forward(s, &in, &err) == XAI_OK) {
            const struct xai_tensor *y = xai_session_output(s, 0);
            float g[4096];
            int64_t n = xai_shape_numel(&y->shape);
            assert_true(n <= 4096);
            for (int64_t k = 0; k < n; k++) g[k] = 1;
            struct xai_tensor gt = {y->shape, g};
            struct xai_grad_seed seed = {m->outputs[0], &gt};
            if (m->values[m->outputs[0]].grad) xai_session_backward(s, &seed, 1, NULL, &err);
        }
        xai_session_free(s);
        xai_model_free(m);
    }
}

static void test_every_op_with_one_input(void **state)
{
    every_op("x", 4);
    every_op("x", 2);
}

/* ...and with int64 constants as its other inputs (Gemm read a NULL B: the fuzz target). */
static void test_every_op_with_int64_inputs(void **state)
{
    every_op("x,c,c", 4);
    every_op("x,c,c", 2);
}

static void test_foreign_domain(void **state)
{
    struct mb b;
    relu_model(&b);
    b.nodes[0]->domain = "com.microsoft";
    expect(&b, XAI_UNSUPPORTED, "com.microsoft", "Relu");
}

static void test_unsupported_attribute(void **state)
{
    struct mb b;
    relu_model(&b);
    b.nodes[0]->name = "act";
    mb_attr_f(&b, b.nodes[0], "alpha", 0.1f);
    expect(&b, XAI_UNSUPPORTED, "'act'", "attribute 'alpha'");
}

static void test_graph_attribute(void **state)
{
    struct mb b;
    relu_model(&b);
    Xonnx__AttributeProto *a = mb_attr(&b, b.nodes[0], "then_branch", 5);
    Xonnx__GraphProto *g = mb_alloc(&b, sizeof *g);
    xonnx__graph_proto__init(g);
    a->g = g;
    expect(&b, XAI_UNSUPPORTED, "then_branch", "subgraph");
}

/* Subgraphs nested far deeper than any real model: refused before protobuf-c recurses. */
static void test_deep_nesting(void **state)
{
    struct mb b;
    relu_model(&b);
    Xonnx__GraphProto *g = &b.g;
    for (int depth = 0; depth < 40; depth++) {
        Xonnx__NodeProto *n = mb_alloc(&b, sizeof *n);
        xonnx__node_proto__init(n);
        n->op_type = "If";
        n->attribute = mb_alloc(&b, sizeof(void *));
        n->n_attribute = 1;
        Xonnx__AttributeProto *a = n->attribute[0] = mb_alloc(&b, sizeof *a);
        xonnx__attribute_proto__init(a);
        a->name = "then_branch";
        Xonnx__GraphProto *sub = a->g = mb_alloc(&b, sizeof *sub);
        xonnx__graph_proto__init(sub);
        Xonnx__NodeProto **list = mb_alloc(&b, sizeof(void *) * (g->n_node + 1));
        if (g->n_node) memcpy(list, g->node, sizeof(void *) * g->n_node);
        list[g->n_node++] = n;
        g->node = list;
        g = sub;
    }
    expect(&b, XAI_UNSUPPORTED, "nest", NULL);
}

static void test_two_float_inputs(void **state)
{
    struct mb b;
    relu_model(&b);
    mb_input(&b, "x2", 1, 2, dyn2);
    expect(&b, XAI_UNSUPPORTED, "several float inputs", "x2");
}

static void test_int_input(void **state)
{
    struct mb b;
    relu_model(&b);
    mb_input(&b, "ids", 7, 2, dyn2);
    expect(&b, XAI_UNSUPPORTED, "'ids'", "float");
}

static void test_no_input(void **state)
{
    struct mb b;
    const int64_t d[] = {3};
    const float w[3] = {1, 2, 3};
    mb_init(&b, 13);
    mb_init_f(&b, "w", 1, d, w);
    mb_node(&b, "Relu", "w", "y");
    mb_output(&b, "y");
    expect(&b, XAI_BAD_MODEL, "no float input", NULL);
}

static void test_unknown_dims(void **state)
{
    struct mb b;
    const int64_t d[] = {-1, 3, -1, -1};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 4, d);
    mb_node(&b, "Relu", "x", "y");
    mb_output(&b, "y");
    expect(&b, XAI_UNSUPPORTED, "graph input 'x': dimension 2", "height");
}

static void test_input_without_shape(void **state)
{
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 0, NULL);
    mb_node(&b, "Relu", "x", "y");
    mb_output(&b, "y");
    expect(&b, XAI_UNSUPPORTED, "'x' has no shape", NULL);
}

static void test_shape_mismatch_in_infer(void **state)
{
    struct mb b;
    const int64_t d[] = {4};
    const float w[4] = {1, 2, 3, 4};
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 2, dyn2);
    mb_init_f(&b, "w", 1, d, w);
    mb_node(&b, "Add", "x,w", "y")->name = "bias_add";
    mb_output(&b, "y");
    expect(&b, XAI_SHAPE_MISMATCH, "node 'bias_add' (Add)", "[1,3], [4]");
}

static void test_concat_rank_mismatch(void **state)
{
    struct mb b;
    const int64_t d1[] = {2}, d2[] = {1, 2}, v[] = {1, 2};
    relu_model(&b);
    mb_init_i64(&b, "a", 1, d1, v);
    mb_init_i64(&b, "c", 2, d2, v);
    mb_attr_i(&b, mb_node(&b, "Concat", "a,c", "cat"), "axis", 0);
    mb_node(&b, "Reshape", "y,cat", "z");
    mb_output(&b, "z");
    expect(&b, XAI_SHAPE_MISMATCH, "(Concat)", "input 1 has shape [1,2]");
}

static void test_batch_plus_constant(void **state)
{
    struct mb b;
    const int64_t zero = 0, one = 1, d1[] = {1};
    relu_model(&b);
    mb_node(&b, "Shape", "x", "s");
    mb_add_init(&b, mb_tensor_i64(&b, "i0", 0, NULL, &zero));
    mb_add_init(&b, mb_tensor_i64(&b, "k", 0, NULL, &one));
    mb_init_i64(&b, "ax", 1, d1, &zero);
    mb_node(&b, "Gather", "s,i0", "n");
    mb_node(&b, "Add", "n,k", "n1")->name = "plus_one";
    mb_node(&b, "Unsqueeze", "n1,ax", "u");
    mb_node(&b, "Reshape", "x,u", "z");
    mb_output(&b, "z");
    expect(&b, XAI_UNSUPPORTED, "plus_one", "batch size");
}

static void test_batch_times_huge(void **state)
{
    struct mb b;
    const int64_t zero = 0, big = (int64_t)1 << 40, d1[] = {1};
    relu_model(&b);
    mb_node(&b, "Shape", "x", "s");
    mb_add_init(&b, mb_tensor_i64(&b, "i0", 0, NULL, &zero));
    mb_add_init(&b, mb_tensor_i64(&b, "k", 0, NULL, &big));
    mb_init_i64(&b, "ax", 1, d1, &zero);
    mb_node(&b, "Gather", "s,i0", "n");
    mb_node(&b, "Mul", "n,k", "n1")->name = "times";
    mb_node(&b, "Unsqueeze", "n1,ax", "u");
    mb_node(&b, "Reshape", "x,u", "z");
    mb_output(&b, "z");
    expect(&b, XAI_UNSUPPORTED, "times", "too large");
}

static void test_folded_constant_too_large(void **state)
{
    struct mb b;
    const int64_t d2[] = {2}, huge[] = {1 << 20, 1 << 20};
    relu_model(&b);
    mb_init_i64(&b, "shape", 1, d2, huge);
    mb_node(&b, "ConstantOfShape", "shape", "zeros")->name = "zeros";
    mb_node(&b, "Add", "y,zeros", "z");
    mb_output(&b, "z");
    expect(&b, XAI_TOO_LARGE, "zeros", "too large");
}

/* A few bytes of ConstantOfShape may not make more elements than the file has bytes (at least
 * 4M): 8M elements are refused before they are allocated. */
static void test_folded_constants_over_budget(void **state)
{
    struct mb b;
    const int64_t d1[] = {1}, big[] = {1 << 23};
    relu_model(&b);
    mb_init_i64(&b, "shape", 1, d1, big);
    mb_node(&b, "ConstantOfShape", "shape", "zeros")->name = "zeros";
    mb_node(&b, "Add", "y,zeros", "z");
    mb_output(&b, "z");
    expect(&b, XAI_TOO_LARGE, "zeros", "budget for computed constants");
}

static void test_batch_dependent_constant_of_shape(void **state)
{
    struct mb b;
    relu_model(&b);
    mb_node(&b, "Shape", "x", "s");
    mb_node(&b, "ConstantOfShape", "s", "zeros");
    mb_node(&b, "Add", "y,zeros", "z");
    mb_output(&b, "z");
    expect(&b, XAI_UNSUPPORTED, "ConstantOfShape", "batch size");
}

static void test_opset(void **state)
{
    struct mb b;
    relu_model(&b);
    b.op.version = 3;
    expect(&b, XAI_UNSUPPORTED, "opset 3", NULL);
    relu_model(&b);
    b.op.version = 19;
    expect(&b, XAI_UNSUPPORTED, "opset 19", NULL);
    relu_model(&b);
    b.op.domain = "ai.onnx.ml";
    expect(&b, XAI_BAD_MODEL, "no opset", NULL);
}

static void test_no_graph(void **state)
{
    struct mb b;
    relu_model(&b);
    b.m.graph = NULL;
    expect(&b, XAI_BAD_MODEL, "no graph", NULL);
}

static void test_dropout_mask_used(void **state)
{
    struct mb b;
    relu_model(&b);
    mb_node(&b, "Dropout", "y", "d,mask")->name = "drop";
    mb_output(&b, "mask");
    expect(&b, XAI_UNSUPPORTED, "drop", "mask");
}

static void test_bn_training_mode(void **state)
{
    struct mb b;
    const int64_t xd[] = {-1, 1, 1, 1}, wd[] = {1, 1, 1, 1}, d1[] = {1};
    const float one = 1;
    mb_init(&b, 15);
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "W", 4, wd, &one);
    mb_init_f(&b, "s", 1, d1, &one);
    mb_node(&b, "Conv", "x,W", "c");
    Xonnx__NodeProto *bn = mb_node(&b, "BatchNormalization", "c,s,s,s,s", "y");
    bn->name = "bn1";
    mb_attr_i(&b, bn, "training_mode", 1);
    mb_output(&b, "y");
    expect(&b, XAI_UNSUPPORTED, "bn1", "training_mode");
}

static void test_constant_without_value(void **state)
{
    struct mb b;
    relu_model(&b);
    Xonnx__NodeProto *n = mb_node(&b, "Constant", "", "c");
    n->name = "k";
    mb_attr_i(&b, n, "value_strings", 1);
    mb_node(&b, "Add", "y,c", "z");
    mb_output(&b, "z");
    expect(&b, XAI_UNSUPPORTED, "'k'", "value_strings");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_mutated_bytes),
        cmocka_unit_test(test_mutated_fixtures),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_missing_initializer),
        cmocka_unit_test(test_duplicate_output),
        cmocka_unit_test(test_unknown_output),
        cmocka_unit_test(test_raw_data_length),
        cmocka_unit_test(test_typed_data_count),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_string_tensor),
        cmocka_unit_test(test_unsupported_op),
        cmocka_unit_test(test_foreign_domain),
        cmocka_unit_test(test_unsupported_attribute),
        cmocka_unit_test(test_graph_attribute),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_two_float_inputs),
        cmocka_unit_test(test_int_input),
        cmocka_unit_test(test_no_input),
        cmocka_unit_test(test_unknown_dims),
        cmocka_unit_test(test_input_without_shape),
        cmocka_unit_test(test_shape_mismatch_in_infer),
        cmocka_unit_test(test_concat_rank_mismatch),
        cmocka_unit_test(test_batch_plus_constant),
        cmocka_unit_test(test_batch_times_huge),
        cmocka_unit_test(test_folded_constant_too_large),
        cmocka_unit_test(test_folded_constants_over_budget),
        cmocka_unit_test(test_batch_dependent_constant_of_shape),
        cmocka_unit_test(test_opset),
        cmocka_unit_test(test_no_graph),
        cmocka_unit_test(test_dropout_mask_used),
        cmocka_unit_test(test_bn_training_mode),
        cmocka_unit_test(test_constant_without_value),
        cmocka_unit_test(test_int64_data_input),
        cmocka_unit_test(test_missing_data_input),
        cmocka_unit_test(test_extra_output_used),
        cmocka_unit_test(test_every_op_with_one_input),
        cmocka_unit_test(test_every_op_with_int64_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
