/*
 * bench_methods.c - times attribution methods end to end on one ONNX model: for each method
 * spec, REPEATS runs (after one warm-up run) on a fixed pseudo-random input, target class 0,
 * batch cap BATCH. Prints one JSON line per spec with the median and all run times (ms).
 * bench/torch_methods.py times the PyTorch references of tools/xai_ref on the same model, input
 * and parameters, for ratios.
 *
 * usage: bench_methods MODEL.onnx REPEATS BATCH SPEC...
 *   SPEC = method[:name=value,...], enum values by choice name, e.g.
 *          integrated_gradients:steps=16,rule=riemann_trapezoid  smoothgrad:samples=8
 * The input range (for noise and baselines) is [-2.1, 2.6], about ImageNet-normalised [0,1].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_tune.h"
#include "method.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One "name=value" of a spec into v; enum values by choice name. */
static int set_param(const struct xai_method_def *d, char *kv, struct xai_param_values *v)
{
    char *eq = strchr(kv, '=');
    if (!eq) return -1;
    *eq = 0;
    int i = xai_method_param_index(d, kv);
    if (i < 0) return -1;
    const struct xai_param_def *p = &d->params[i];
    double val = strtod(eq + 1, NULL);
    for (int k = 0; p->type == XAI_PARAM_ENUM && p->choices[k]; k++)
        if (!strcmp(p->choices[k], eq + 1)) val = k;
    if (!strcmp(eq + 1, "true")) val = 1;
    if (!strcmp(eq + 1, "false")) val = 0;
    if (xai_method_param_check(d, i, val, NULL)) return -1;
    v->v[i] = val;
    return 0;
}

static const struct xai_method_def *parse_spec(char *spec, struct xai_param_values *v)
{
    char *colon = strchr(spec, ':');
    if (colon) *colon = 0;
    const struct xai_method_def *d = xai_method_find(spec);
    if (!d) return NULL;
    xai_method_defaults(d, v);
    for (char *kv = colon ? strtok(colon + 1, ",") : NULL; kv; kv = strtok(NULL, ","))
        if (set_param(d, kv, v)) return NULL;
    return d;
}

static int bench_one(const struct xai_method_def *d, struct xai_method_req *req, int reps,
                     const char *spec)
{
    double *t = calloc((size_t)reps, sizeof(double));
    struct xai_err err = {{0}};
    for (int i = -1; t && i < reps; i++) {
        struct xai_method_result res = {0};
        double t0 = now_ms();
        xai_status st = d->run(req, &res, &err);
        if (i >= 0) t[i] = now_ms() - t0;
        xai_method_result_reset(&res);
        if (st) {
            fprintf(stderr, "bench_methods: %s: %s\n", spec, err.msg);
            free(t);
            return -1;
        }
    }
    if (!t) return -1;
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    printf("{\"impl\": \"xaid\", \"spec\": \"%s\", \"batch\": %d, \"median_ms\": %.1f, \"ms\": [",
           spec, req->max_batch, med);
    for (int i = 0; i < reps; i++) printf(i ? ", %.1f" : "%.1f", t[i]);
    printf("]}\n");
    fflush(stdout);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    if (argc < 5) {
        fprintf(stderr, "usage: bench_methods MODEL.onnx REPEATS BATCH SPEC...\n");
        return 2;
    }
    int reps = atoi(argv[2]), batch = atoi(argv[3]);
    if (reps < 1 || reps > 100 || batch < 1 || batch > 64) return 2;
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (xai_model_load(argv[1], &m, &err) || xai_session_new(m, &s, &err)) {
        fprintf(stderr, "bench_methods: %s\n", err.msg);
        return 1;
    }
    struct xai_tensor x = {m->values[m->input].shape, NULL};
    x.shape.d[0] = 1;
    int64_t n = xai_shape_numel(&x.shape);
    x.data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x.data[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    struct xai_method_model mm = {m, m->outputs[0], -1, -1, -1, false, -2.1f, 2.6f};
    int rc = 0;
    for (int a = 4; a < argc && !rc; a++) {
        char spec[256];
        snprintf(spec, sizeof spec, "%s", argv[a]);
        struct xai_param_values pv;
        const struct xai_method_def *d = parse_spec(spec, &pv);
        if (!d) {
            fprintf(stderr, "bench_methods: bad spec '%s'\n", argv[a]);
            rc = 2;
            break;
        }
        struct xai_method_req req = {&mm, s, &x, 0, -1, &pv, 1234, batch, NULL, NULL, NULL};
        rc = bench_one(d, &req, reps, argv[a]) ? 1 : 0;
    }
    free(x.data);
    xai_session_free(s);
    xai_model_free(m);
    return rc;
}
