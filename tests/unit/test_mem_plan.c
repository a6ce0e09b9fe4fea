/*
 * test_mem_plan.c - the memory planner (mem_plan.c) and the session's use of it: no two
 * buffers live at the same time share memory; a session keeping only what backward needs
 * computes exactly what a session keeping everything computes (so no activation backward
 * reads was overwritten), over batch changes and repeated backward passes, and what a
 * forward pass returned stays valid through the backward passes. Relus fused into their
 * producers (Conv, BatchNormalization, Add; session.c) give the numbers of the unfused
 * graph (keeping everything fuses nothing), with stops, overrides and kept values that
 * turn the fusion off where they must; and sessions on threads give bit-identical numbers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem_plan.h"
#include "onnx_builder.h"
#include "onnx/onnx_internal.h"
#include "session.h"

static unsigned long long rng = 7;
static int rnd(int n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((rng >> 33) % (unsigned long long)n);
}

/* The largest total size of requests live at one step: no placement can use less. */
static size_t live_peak(const struct xai_mreq *r, int n, int steps)
{
    size_t peak = 0;
    for (int t = 0; t < steps; t++) {
        size_t sum = 0;
        for (int i = 0; i < n; i++)
            if (r[i].t0 <= t && t <= r[i].t1) sum += r[i].size;
        if (sum > peak) peak = sum;
    }
    return peak;
}

static void test_random_plans(void **state)
{
    enum { N = 400, STEPS = 120 };
    struct xai_mreq r[N];
    int work[2 * N];
    for (int round = 0; round < 20; round++) {
        int fixed = round % 2 ? 30 : 0;
        size_t off = 0;
        for (int i = 0; i < N; i++) {
            int a = rnd(STEPS), b = a + rnd(12);
            r[i] = (struct xai_mreq){a, b < STEPS ? b : STEPS - 1, (size_t)(rnd(50) * 16), 0};
            if (i < fixed) { /* fixed ones: live throughout, side by side */
                r[i].t0 = 0;
                r[i].t1 = STEPS - 1;
                r[i].off = off;
                off += r[i].size;
            }
        }
        size_t top = xai_plan_place(r, N, fixed, work);
        assert_true(xai_plan_check(r, N));
        assert_true(top >= live_peak(r, N, STEPS));
        for (int i = 0; i < N; i++) assert_true(r[i].off + r[i].size <= top);
        for (int i = 0, o = 0; i < fixed; o += (int)r[i].size, i++)
            assert_int_equal(r[i].off, (size_t)o);
    }
}

static void test_check_finds_overlap(void **state)
{
    struct xai_mreq r[3] = {{0, 5, 32, 0}, {3, 8, 32, 16}, {6, 9, 32, 0}};
    assert_false(xai_plan_check(r, 3)); /* 0 and 1 overlap at steps 3..5 */
    r[1].off = 32;
    assert_true(xai_plan_check(r, 3)); /* 2 reuses 0's memory after it died */
    int work[6];
    r[2].off = 999;
    assert_int_equal(xai_plan_place(r, 3, 2, work), 64);
    assert_int_equal(r[2].off, 0);
}

/* Marks `output` as the graph's output, packs and loads the model, and frees the builder. */
static xai_model *load_built(struct mb *b, const char *output)
{
    mb_output(b, output);
    size_t len;
    uint8_t *buf = mb_pack(b, &len);
    xai_model *m = NULL;
    struct xai_err err = {{0}};
    assert_int_equal(xai_onnx_load(buf, len, NULL, &m, &err), XAI_OK);
    free(buf);
    mb_free(b);
    return m;
}

/* x[N,2,5,5] -> Conv 3x3 -> Relu -> SiLU (Mul by Sigmoid) -> Conv 1x1 -> + Relu output ->
 * Concat with the SiLU -> MaxPool -> Tanh -> GlobalAveragePool -> Flatten -> Gemm: a value
 * read by backward at every kind of distance. */
static xai_model *branchy_model(void)
{
    static const int64_t xd[] = {-1, 2, 5, 5}, w1d[] = {4, 2, 3, 3}, w2d[] = {4, 4, 1, 1},
                         gd[] = {3, 8}, k3[] = {3, 3}, p1[] = {1, 1, 1, 1}, k2[] = {2, 2};
    float w1[72], w2[16], wg[24];
    for (int i = 0; i < 72; i++) w1[i] = sinf(0.37f * (float)i);
    for (int i = 0; i < 16; i++) w2[i] = cosf(0.91f * (float)i);
    for (int i = 0; i < 24; i++) wg[i] = sinf(1.3f * (float)i + 0.2f);
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "w1", 4, w1d, w1);
    mb_init_f(&b, "w2", 4, w2d, w2);
    mb_init_f(&b, "wg", 2, gd, wg);
    Xonnx__NodeProto *c = mb_node(&b, "Conv", "x,w1", "c1");
    mb_attr_ints(&b, c, "kernel_shape", 2, k3);
    mb_attr_ints(&b, c, "pads", 4, p1);
    mb_node(&b, "Relu", "c1", "r");
    mb_node(&b, "Sigmoid", "r", "sg");
    mb_node(&b, "Mul", "r,sg", "silu");
    mb_node(&b, "Conv", "silu,w2", "c2");
    mb_node(&b, "Add", "c2,r", "s");
    mb_attr_i(&b, mb_node(&b, "Concat", "s,silu", "cat"), "axis", 1);
    Xonnx__NodeProto *mp = mb_node(&b, "MaxPool", "cat", "mp");
    mb_attr_ints(&b, mp, "kernel_shape", 2, k2);
    mb_attr_ints(&b, mp, "strides", 2, k2);
    mb_node(&b, "Tanh", "mp", "t");
    mb_node(&b, "GlobalAveragePool", "t", "gap");
    mb_node(&b, "Flatten", "gap", "fl");
    mb_attr_i(&b, mb_node(&b, "Gemm", "fl,wg", "y"), "transB", 1);
    return load_built(&b, "y");
}

/* Forward at batch n, then two backward passes (class 0, then class 2); copies the input
 * gradients into g (2 * n * 50 floats). */
static void run(xai_session *s, const xai_model *m, int n, float *g)
{
    struct xai_err err = {{0}};
    float x[4 * 50], seed[4 * 3];
    for (int i = 0; i < n * 50; i++) x[i] = sinf(0.53f * (float)i) * 1.5f;
    struct xai_tensor in = {{4, {n, 2, 5, 5}}, x}, sd = {{2, {n, 3}}, seed};
    assert_int_equal(xai_session_forward(s, &in, &err), XAI_OK);
    const struct xai_tensor *y = xai_session_output(s, 0);
    float *yp = y->data, y0[4 * 3];
    memcpy(y0, yp, sizeof(float) * (size_t)(n * 3));
    for (int pass = 0; pass < 2; pass++) {
        memset(seed, 0, sizeof seed);
        for (int i = 0; i < n; i++) seed[i * 3 + 2 * pass] = 1.f;
        struct xai_grad_seed gs = {m->outputs[0], &sd};
        assert_int_equal(xai_session_backward(s, &gs, 1, NULL, &err), XAI_OK);
        assert_true(xai_session_plan_check(s));
        const struct xai_tensor *gx = xai_session_grad(s, m->input);
        assert_non_null(gx);
        memcpy(g + pass * n * 50, gx->data, sizeof(float) * (size_t)(n * 50));
        /* what the forward pass returned stays where it was, unchanged */
        assert_ptr_equal(xai_session_output(s, 0)->data, yp);
        assert_memory_equal(yp, y0, sizeof(float) * (size_t)(n * 3));
    }
}

static void test_session_matches_keep_all(void **state)
{
    xai_model *m = branchy_model();
    xai_session *lean, *full;
    struct xai_err err = {{0}};
    assert_int_equal(xai_session_new(m, &lean, &err), XAI_OK);
    assert_int_equal(xai_session_new(m, &full, &err), XAI_OK);
    assert_int_equal(xai_session_keep_op(full, NULL, &err), XAI_OK);
    static const int batches[] = {1, 4, 2, 4};
    for (int b = 0; b < 4; b++) {
        int n = batches[b];
        float ga[2 * 4 * 50], gb[2 * 4 * 50];
        run(lean, m, n, ga);
        run(full, m, n, gb);
        double norm = 0;
        for (int i = 0; i < 2 * n * 50; i++) {
            assert_float_equal(ga[i], gb[i], 0.f);
            norm += fabs(ga[i]);
        }
        assert_true(norm > 0);
        assert_true(xai_session_plan_bytes(lean) < xai_session_plan_bytes(full));
        assert_null(xai_session_tensor(lean, "c2"));
        assert_non_null(xai_session_tensor(full, "c2"));
        assert_non_null(xai_session_output(lean, 0));
    }
    xai_session_free(lean);
    xai_session_free(full);
    xai_model_free(m);
}

/* x[N,3,16,16] -> Conv 3x3 (Winograd) -> Relu (r1) -> BatchNorm -> Relu -> Conv 3x3 -> Add r1 ->
 * Relu
 * -> GlobalAveragePool -> Flatten -> Gemm: every kind of fusable producer. */
static xai_model *fusion_model(void)
{
    static const int64_t xd[] = {-1, 3, 16, 16}, w1d[] = {6, 3, 3, 3}, w2d[] = {6, 6, 3, 3},
                         cd[] = {6}, gd[] = {4, 6}, k3[] = {3, 3}, p1[] = {1, 1, 1, 1};
    float w1[162], w2[324], sc[6], bi[6], mu[6], va[6], wg[24];
    for (int i = 0; i < 162; i++) w1[i] = sinf(0.37f * (float)i) * 0.5f;
    for (int i = 0; i < 324; i++) w2[i] = cosf(0.91f * (float)i) * 0.3f;
    for (int i = 0; i < 6; i++) {
        sc[i] = 1.f + 0.1f * (float)i;
        bi[i] = 0.2f * sinf((float)i);
        mu[i] = 0.1f * cosf((float)i);
        va[i] = 0.5f + 0.2f * (float)i;
    }
    for (int i = 0; i < 24; i++) wg[i] = sinf(1.3f * (float)i + 0.2f);
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "w1", 4, w1d, w1);
    mb_init_f(&b, "w2", 4, w2d, w2);
    mb_init_f(&b, "sc", 1, cd, sc);
    mb_init_f(&b, "bi", 1, cd, bi);
    mb_init_f(&b, "mu", 1, cd, mu);
    mb_init_f(&b, "va", 1, cd, va);
    mb_init_f(&b, "wg", 2, gd, wg);
    Xonnx__NodeProto *c = mb_node(&b, "Conv", "x,w1", "c1");
    mb_attr_ints(&b, c, "kernel_shape", 2, k3);
    mb_attr_ints(&b, c, "pads", 4, p1);
    mb_node(&b, "Relu", "c1", "r1");
    mb_node(&b, "BatchNormalization", "r1,sc,bi,mu,va", "bn");
    mb_node(&b, "Relu", "bn", "r2");
    c = mb_node(&b, "Conv", "r2,w2", "c2");
    mb_attr_ints(&b, c, "kernel_shape", 2, k3);
    mb_attr_ints(&b, c, "pads", 4, p1);
    mb_node(&b, "Add", "c2,r1", "s");
    mb_node(&b, "Relu", "s", "r3");
    mb_node(&b, "GlobalAveragePool", "r3", "gap");
    mb_node(&b, "Flatten", "gap", "fl");
    mb_attr_i(&b, mb_node(&b, "Gemm", "fl,wg", "y"), "transB", 1);
    return load_built(&b, "y");
}

/* A Relu backward override: the ordinary rule, counting its calls. */
static void relu_rule(const struct xai_op_run *r, void *user)
{
    (*(int *)user)++;
    const float *y = r->out[0]->data, *gy = r->gout[0]->data;
    for (int64_t i = 0; i < xai_shape_numel(&r->out[0]->shape); i++)
        r->gin[0]->data[i] += y[i] > 0.f ? gy[i] : 0.f;
}

/* A BatchNormalization backward override equal to the built-in rule for fusion_model's
 * parameters (a = scale / sqrt(var + eps) in double, then float). */
static void bn_rule(const struct xai_op_run *r, void *user)
{
    (*(int *)user)++;
    const struct xai_shape *sh = &r->gout[0]->shape;
    int64_t hw = sh->d[2] * sh->d[3];
    for (int64_t q = 0; q < sh->d[0] * 6; q++) {
        int c = (int)(q % 6);
        float a = (float)((double)(1.f + 0.1f * (float)c) /
                          sqrt((double)(0.5f + 0.2f * (float)c) + (double)1e-5f));
        for (int64_t k = 0; k < hw; k++)
            r->gin[0]->data[q * hw + k] += a * r->gout[0]->data[q * hw + k];
    }
}

/* Logits and the input gradient of logit 1 (opts: stops, overrides) into y and g. */
static void fused_run(xai_session *s, const xai_model *m, int n,
                      const struct xai_backward_opts *opts, float *y, float *g)
{
    struct xai_err err = {{0}};
    float x[2 * 768], seed[2 * 4] = {0};
    for (int i = 0; i < n * 768; i++) x[i] = sinf(0.29f * (float)i) * 1.2f;
    struct xai_tensor in = {{4, {n, 3, 16, 16}}, x}, sd = {{2, {n, 4}}, seed};
    for (int i = 0; i < n; i++) seed[i * 4 + 1] = 1.f;
    assert_int_equal(xai_session_forward(s, &in, &err), XAI_OK);
    memcpy(y, xai_session_output(s, 0)->data, sizeof(float) * (size_t)(n * 4));
    struct xai_grad_seed gs = {m->outputs[0], &sd};
    assert_int_equal(xai_session_backward(s, &gs, 1, opts, &err), XAI_OK);
    assert_true(xai_session_plan_check(s));
    const struct xai_tensor *gx = xai_session_grad(s, m->input);
    if (gx) memcpy(g, gx->data, sizeof(float) * (size_t)(n * 768));
}

static void expect_same(xai_session *a, xai_session *b, const xai_model *m, int n,
                        const struct xai_backward_opts *opts)
{
    float ya[8], yb[8], ga[2 * 768] = {0}, gb[2 * 768] = {0};
    fused_run(a, m, n, opts, ya, ga);
    fused_run(b, m, n, opts, yb, gb);
    assert_memory_equal(ya, yb, sizeof(float) * (size_t)(n * 4));
    assert_memory_equal(ga, gb, sizeof(float) * (size_t)(n * 768));
}

static void test_relu_fusion(void **state)
{
    xai_model *m = fusion_model();
    xai_session *lean, *full, *par;
    struct xai_err err = {{0}};
    assert_int_equal(xai_session_new(m, &lean, &err), XAI_OK);
    assert_int_equal(xai_session_new(m, &full, &err), XAI_OK);
    assert_int_equal(xai_session_new(m, &par, &err), XAI_OK);
    assert_int_equal(xai_session_keep_op(full, NULL, &err), XAI_OK);
    assert_int_equal(xai_session_set_threads(par, 3, &err), XAI_OK);
    assert_int_equal(xai_session_threads(par), 3);
    for (int n = 1; n <= 2; n++) {
        expect_same(lean, full, m, n, NULL);
        expect_same(lean, par, m, n, NULL);
        /* the fused inputs take no memory */
        assert_true(xai_session_plan_bytes(lean) < xai_session_plan_bytes(full));
        assert_int_equal(xai_session_fused_relus(lean), 3);
        assert_int_equal(xai_session_fused_relus(full), 0);
        assert_null(xai_session_tensor(lean, "c1"));
        /* an override of Relu's rule runs for every Relu, fused or not */
        int calls = 0;
        struct xai_grad_override ov = {"Relu", relu_rule, &calls};
        struct xai_backward_opts o = {&ov, 1, NULL, 0};
        expect_same(lean, full, m, n, &o);
        assert_int_equal(calls, 6);
        /* an override of a producer that masks the Relu's gradient itself (relu_grad): the
         * session masks it for the override instead */
        int bn_calls = 0;
        struct xai_grad_override bo = {"BatchNormalization", bn_rule, &bn_calls};
        struct xai_backward_opts bno = {&bo, 1, NULL, 0};
        expect_same(lean, full, m, n, &bno);
        assert_int_equal(bn_calls, 2);
        /* a stop at a fused input: its gradient stays readable */
        int stop = xai_model_find(m, "bn");
        struct xai_backward_opts so = {NULL, 0, &stop, 1};
        float y[8], g[2 * 768];
        fused_run(lean, m, n, &so, y, g);
        const struct xai_tensor *gl = xai_session_grad(lean, stop);
        assert_non_null(gl);
        float keep[2 * 6 * 256];
        memcpy(keep, gl->data, sizeof(float) * (size_t)(n * 6 * 256));
        fused_run(full, m, n, &so, y, g);
        assert_memory_equal(keep, xai_session_grad(full, stop)->data,
                            sizeof(float) * (size_t)(n * 6 * 256));
    }
    /* keeping a fused input unfuses it, and changes no number */
    assert_int_equal(xai_session_keep(lean, xai_model_find(m, "s"), &err), XAI_OK);
    expect_same(lean, full, m, 2, NULL);
    assert_non_null(xai_session_tensor(lean, "s"));
    assert_int_equal(xai_session_fused_relus(lean), 2);
    xai_session_free(lean);
    xai_session_free(full);
    xai_session_free(par);
    xai_model_free(m);
}

/* A dense block: x[N,4,9,9] -> Conv 3x3 (a) -> Concat(x, a) -> BatchNorm -> Relu -> Conv 1x1
 * (b) -> Concat(x, a, b) -> BatchNorm -> Relu -> GlobalAveragePool -> Flatten -> Gemm. */
static xai_model *dense_model(void)
{
    static const int64_t xd[] = {-1, 4, 9, 9}, w1d[] = {3, 4, 3, 3}, w2d[] = {2, 7, 1, 1},
                         c7[] = {7}, c9[] = {9}, gd[] = {3, 9}, k3[] = {3, 3}, p1[] = {1, 1, 1, 1};
    float w1[108], w2[14], s7[7], b7[7], m7[7], v7[7], s9[9], b9[9], m9[9], v9[9], wg[27];
    for (int i = 0; i < 108; i++) w1[i] = sinf(0.53f * (float)i) * 0.4f;
    for (int i = 0; i < 14; i++) w2[i] = cosf(0.71f * (float)i) * 0.6f;
    for (int i = 0; i < 9; i++) {
        float *s_ = i < 7 ? s7 : NULL;
        if (s_) {
            s7[i] = 1.f + 0.05f * (float)i, b7[i] = 0.1f * sinf((float)i);
            m7[i] = 0.05f * cosf((float)i), v7[i] = 0.6f + 0.1f * (float)i;
        }
        s9[i] = 0.9f + 0.03f * (float)i, b9[i] = 0.1f * cosf(2.f * (float)i);
        m9[i] = 0.04f * sinf((float)i), v9[i] = 0.7f + 0.05f * (float)i;
    }
    for (int i = 0; i < 27; i++) wg[i] = sinf(0.9f * (float)i + 0.3f);
    struct mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 4, xd);
    mb_init_f(&b, "w1", 4, w1d, w1);
    mb_init_f(&b, "w2", 4, w2d, w2);
    mb_init_f(&b, "s7", 1, c7, s7);
    mb_init_f(&b, "b7", 1, c7, b7);
    mb_init_f(&b, "m7", 1, c7, m7);
    mb_init_f(&b, "v7", 1, c7, v7);
    mb_init_f(&b, "s9", 1, c9, s9);
    mb_init_f(&b, "b9", 1, c9, b9);
    mb_init_f(&b, "m9", 1, c9, m9);
    mb_init_f(&b, "v9", 1, c9, v9);
    mb_init_f(&b, "wg", 2, gd, wg);
    Xonnx__NodeProto *c = mb_node(&b, "Conv", "x,w1", "a");
    mb_attr_ints(&b, c, "kernel_shape", 2, k3);
    mb_attr_ints(&b, c, "pads", 4, p1);
    mb_attr_i(&b, mb_node(&b, "Concat", "x,a", "cat1"), "axis", 1);
    mb_node(&b, "BatchNormalization", "cat1,s7,b7,m7,v7", "n1");
    mb_node(&b, "Relu", "n1", "r1");
    mb_node(&b, "Conv", "r1,w2", "bb");
    mb_attr_i(&b, mb_node(&b, "Concat", "x,a,bb", "cat2"), "axis", 1);
    mb_node(&b, "BatchNormalization", "cat2,s9,b9,m9,v9", "n2");
    mb_node(&b, "Relu", "n2", "r2");
    mb_node(&b, "GlobalAveragePool", "r2", "gap");
    mb_node(&b, "Flatten", "gap", "fl");
    mb_attr_i(&b, mb_node(&b, "Gemm", "fl,wg", "y"), "transB", 1);
    return load_built(&b, "y");
}

/* Concat's rule along axis 1, as an override (counting its calls). */
static void concat_rule(const struct xai_op_run *r, void *user)
{
    (*(int *)user)++;
    const struct xai_shape *o = &r->gout[0]->shape;
    int64_t hw = o->d[2] * o->d[3], off = 0;
    for (int i = 0; i < r->n_in; i++) {
        int64_t ci = r->in[i]->shape.d[1];
        for (int64_t n = 0; r->gin[i] && n < o->d[0]; n++)
            for (int64_t k = 0; k < ci * hw; k++)
                r->gin[i]->data[n * ci * hw + k] += r->gout[0]->data[(n * o->d[1] + off) * hw + k];
        off += ci;
    }
}

/* Logits and the input gradient of logit 2 of dense_model into y and g. */
static void dense_run(xai_session *s, const xai_model *m, int n,
                      const struct xai_backward_opts *opts, float *y, float *g)
{
    struct xai_err err = {{0}};
    float x[2 * 324], seed[2 * 3] = {0};
    for (int i = 0; i < n * 324; i++) x[i] = cosf(0.37f * (float)i) * 1.1f;
    struct xai_tensor in = {{4, {n, 4, 9, 9}}, x}, sd = {{2, {n, 3}}, seed};
    for (int i = 0; i < n; i++) seed[i * 3 + 2] = 1.f;
    assert_int_equal(xai_session_forward(s, &in, &err), XAI_OK);
    memcpy(y, xai_session_output(s, 0)->data, sizeof(float) * (size_t)(n * 3));
    struct xai_grad_seed gs = {m->outputs[0], &sd};
    assert_int_equal(xai_session_backward(s, &gs, 1, opts, &err), XAI_OK);
    assert_true(xai_session_plan_check(s));
    memcpy(g, xai_session_grad(s, m->input)->data, sizeof(float) * (size_t)(n * 324));
}

static void dense_same(xai_session *a, xai_session *b, const xai_model *m, int n,
                       const struct xai_backward_opts *opts)
{
    float ya[6], yb[6], ga[2 * 324], gb[2 * 324];
    dense_run(a, m, n, opts, ya, ga);
    dense_run(b, m, n, opts, yb, gb);
    assert_memory_equal(ya, yb, sizeof(float) * (size_t)(n * 3));
    assert_memory_equal(ga, gb, sizeof(float) * (size_t)(n * 324));
}

/* A Concat along channels fused into the BatchNorm reading it: the numbers of the unfused
 * graph, with and without overrides of Concat's or BatchNorm's rule, on threads too. */
static void test_concat_fusion(void **state)
{
    xai_model *m = dense_model();
    xai_session *lean, *full, *par;
    struct xai_err err = {{0}};
    assert_int_equal(xai_session_new(m, &lean, &err), XAI_OK);
    assert_int_equal(xai_session_new(m, &full, &err), XAI_OK);
    assert_int_equal(xai_session_new(m, &par, &err), XAI_OK);
    assert_int_equal(xai_session_keep_op(full, NULL, &err), XAI_OK);
    assert_int_equal(xai_session_set_threads(par, 2, &err), XAI_OK);
    for (int n = 1; n <= 2; n++) {
        dense_same(lean, full, m, n, NULL);
        dense_same(lean, par, m, n, NULL);
        assert_int_equal(xai_session_fused_concats(lean), 2);
        assert_int_equal(xai_session_fused_concats(full), 0);
        assert_null(xai_session_tensor(lean, "cat2"));
        /* an override of Concat's rule: the Concat runs its own backward again */
        int calls = 0;
        struct xai_grad_override ov = {"Concat", concat_rule, &calls};
        struct xai_backward_opts o = {&ov, 1, NULL, 0};
        dense_same(lean, full, m, n, &o);
        assert_int_equal(calls, 4);
        /* a stop at a fused Concat's output: its gradient stays readable */
        int stop = xai_model_find(m, "cat1");
        struct xai_backward_opts so = {NULL, 0, &stop, 1};
        float y[6], gx[2 * 324], g[2 * 7 * 81];
        dense_run(lean, m, n, &so, y, gx);
        const struct xai_tensor *gl = xai_session_grad(lean, stop);
        assert_non_null(gl);
        memcpy(g, gl->data, sizeof(float) * (size_t)(n * 7 * 81));
        dense_run(full, m, n, &so, y, gx);
        assert_memory_equal(g, xai_session_grad(full, stop)->data,
                            sizeof(float) * (size_t)(n * 7 * 81));
    }
    /* keeping a Concat's output unfuses it */
    assert_int_equal(xai_session_keep(lean, xai_model_find(m, "cat2"), &err), XAI_OK);
    dense_same(lean, full, m, 2, NULL);
    assert_int_equal(xai_session_fused_concats(lean), 1);
    xai_session_free(lean);
    xai_session_free(full);
    xai_session_free(par);
    xai_model_free(m);
}

/* The branchy model on a session with threads: bit-identical to one thread. */
static void test_threads_match(void **state)
{
    xai_model *m = branchy_model();
    xai_session *one, *two;
    struct xai_err err = {{0}};
    assert_int_equal(xai_session_new(m, &one, &err), XAI_OK);
    assert_int_equal(xai_session_new(m, &two, &err), XAI_OK);
    assert_int_equal(xai_session_set_threads(two, 2, &err), XAI_OK);
    assert_int_equal(xai_session_set_threads(two, 0, &err), XAI_INVALID_ARGUMENT);
    for (int n = 1; n <= 4; n += 3) {
        float ga[2 * 4 * 50], gb[2 * 4 * 50];
        run(one, m, n, ga);
        run(two, m, n, gb);
        assert_memory_equal(ga, gb, sizeof(float) * (size_t)(2 * n * 50));
    }
    xai_session_free(one);
    xai_session_free(two);
    xai_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_plans),
        cmocka_unit_test(test_check_finds_overlap),
        cmocka_unit_test(test_session_matches_keep_all),
        cmocka_unit_test(test_relu_fusion),
        cmocka_unit_test(test_concat_fusion),
        cmocka_unit_test(test_threads_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
