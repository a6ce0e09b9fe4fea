/*
 * gradient_fixtures.h - models and inputs for the unit tests of the gradient methods:
 *   - a linear model built in memory: x [N,3,4,4] -> Flatten -> Gemm (W [3,48], transB=1) + b,
 *     whose input gradient is the constant W[target] (every quadrature rule and every noise
 *     statistic has a closed form on it);
 *   - the bundled demo model with an example image preprocessed as its model.json says.
 * A method runs through run_method with its defaults overridden by (name, value) pairs.
 */
#ifndef XAI_TEST_GRADIENT_FIXTURES_H
#define XAI_TEST_GRADIENT_FIXTURES_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "method.h"
#include "onnx_builder.h"

#define LIN_C 3
#define LIN_HW 16
#define LIN_N (LIN_C * LIN_HW)
#define LIN_CLASSES 3

struct gf_model {
    xai_model *m;
    xai_session *s;
    struct xai_method_model mm;
    float *x; /* one input item */
    struct xai_tensor in;
};

static inline float lin_weight(int cls, int i)
{
    return sinf(0.37f * (float)(cls * LIN_N + i) + 0.5f);
}

static inline void gf_free(struct gf_model *g)
{
    xai_session_free(g->s);
    xai_model_free(g->m);
    free(g->x);
}

static inline int gf_linear(struct gf_model *g)
{
    struct mb b;
    static const int64_t in_dims[] = {-1, LIN_C, 4, 4}, w_dims[] = {LIN_CLASSES, LIN_N},
                         b_dims[] = {LIN_CLASSES};
    float w[LIN_CLASSES * LIN_N], bias[LIN_CLASSES] = {0.25f, -0.5f, 1.f};
    for (int c = 0; c < LIN_CLASSES; c++)
        for (int i = 0; i < LIN_N; i++) w[c * LIN_N + i] = lin_weight(c, i);
    mb_init(&b, 13);
    mb_input(&b, "x", 1, 4, in_dims);
    mb_attr_i(&b, mb_node(&b, "Flatten", "x", "f"), "axis", 1);
    mb_init_f(&b, "W", 2, w_dims, w);
    mb_init_f(&b, "B", 1, b_dims, bias);
    mb_attr_i(&b, mb_node(&b, "Gemm", "f,W,B", "y"), "transB", 1);
    mb_output(&b, "y");
    size_t len;
    uint8_t *buf = mb_pack(&b, &len);
    struct xai_err err = {{0}};
    xai_status st = xai_model_load_buffer(buf, len, &g->m, &err);
    free(buf);
    mb_free(&b);
    if (!st) st = xai_session_new(g->m, &g->s, &err);
    if (st) return fprintf(stderr, "linear model: %s\n", err.msg), -1;
    g->x = malloc(sizeof(float) * LIN_N);
    for (int i = 0; i < LIN_N; i++) g->x[i] = cosf(0.9f * (float)i) * 1.5f;
    g->in = (struct xai_tensor){{4, {1, LIN_C, 4, 4}}, g->x};
    g->mm = (struct xai_method_model){g->m, g->m->outputs[0], -1, -1, -1, false, -2.f, 2.f};
    return 0;
}

#define DEMO_MEAN 0.4471f
#define DEMO_STD 0.264f

static inline int gf_demo(struct gf_model *g, const char *example)
{
    char path[1024];
    struct xai_err err = {{0}};
    if (xai_model_load(XAI_SOURCE_DIR "/models/chest-demo/model.onnx", &g->m, &err) ||
        xai_session_new(g->m, &g->s, &err))
        return fprintf(stderr, "demo model: %s\n", err.msg), -1;
    snprintf(path, sizeof path, "%s/examples/%s", XAI_SOURCE_DIR, example);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    struct xai_image img;
    xai_status st = xai_image_decode(buf, got, NULL, &img, &err);
    free(buf);
    if (st) return fprintf(stderr, "%s: %s\n", example, err.msg), -1;
    struct xai_preprocess p;
    xai_preprocess_default(&p);
    p.channels = 1;
    p.width = p.height = 128;
    p.mean[0] = DEMO_MEAN;
    p.std[0] = DEMO_STD;
    g->x = malloc(sizeof(float) * 128 * 128);
    st = xai_preprocess_run(&p, &img, g->x, NULL, &err);
    xai_image_reset(&img);
    if (st) return fprintf(stderr, "%s: %s\n", example, err.msg), -1;
    g->in = (struct xai_tensor){{4, {1, 1, 128, 128}}, g->x};
    g->mm = (struct xai_method_model){g->m,
                                      g->m->outputs[0],
                                      -1,
                                      -1,
                                      -1,
                                      false,
                                      -DEMO_MEAN / DEMO_STD,
                                      (1.f - DEMO_MEAN) / DEMO_STD};
    return 0;
}

struct gf_param {
    const char *name;
    double value;
};

/* Runs method `name` on g's input with the defaults overridden by params (enum values by
 * choice index); every override must pass the method's parameter check. */
static inline xai_status run_method(struct gf_model *g, const char *name, int target,
                                    const struct gf_param *params, int n_params, uint64_t seed,
                                    int max_batch, struct xai_method_result *out,
                                    struct xai_err *err)
{
    const struct xai_method_def *d = xai_method_find(name);
    if (!d) return xai_fail(err, XAI_NOT_FOUND, "no method %s", name);
    struct xai_param_values pv;
    xai_method_defaults(d, &pv);
    for (int i = 0; i < n_params; i++) {
        int k = xai_method_param_index(d, params[i].name);
        xai_status st = xai_method_param_check(d, k, params[i].value, err);
        if (st) return st;
        pv.v[k] = params[i].value;
    }
    struct xai_method_req req = {&g->mm, g->s,      &g->in, target, -1,  &pv,
                                 seed,   max_batch, NULL,   NULL,   NULL};
    return d->run(&req, out, err);
}

/* A metric of a result by name (NAN when absent). */
static inline double metric(const struct xai_method_result *r, const char *name)
{
    for (int i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metrics[i].name, name)) return r->metrics[i].value;
    return NAN;
}

#endif
