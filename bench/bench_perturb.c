/*
 * bench_perturb.c - times one attribution method of xaid's engine on one ONNX model with its
 * default parameters (or NAME=VALUE overrides), on a deterministic input of the model's size.
 * Prints one JSON line with the median and all run times (ms). The PyTorch side of the
 * comparison is bench/torch_perturb.py.
 *
 * usage: bench_perturb MODEL.onnx METHOD REPEATS MAX_BATCH [NAME=VALUE ...]
 */
#include <cblas.h>
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

static int set_params(const struct xai_method_def *def, int argc, char **argv,
                      struct xai_param_values *pv)
{
    xai_method_defaults(def, pv);
    for (int i = 0; i < argc; i++) {
        char name[64];
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq - argv[i] >= (long)sizeof name) return -1;
        memcpy(name, argv[i], (size_t)(eq - argv[i]));
        name[eq - argv[i]] = 0;
        int k = xai_method_param_index(def, name);
        if (k < 0) return -1;
        pv->v[k] = atof(eq + 1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    if (argc < 5) {
        fprintf(stderr, "usage: bench_perturb MODEL.onnx METHOD REPEATS MAX_BATCH [NAME=VALUE]\n");
        return 2;
    }
    const struct xai_method_def *def = xai_method_find(argv[2]);
    int reps = atoi(argv[3]), max_batch = atoi(argv[4]);
    struct xai_param_values pv;
    if (!def || reps < 1 || reps > 100 || max_batch < 1 || set_params(def, argc - 5, argv + 5, &pv))
        return fprintf(stderr, "bench_perturb: bad arguments\n"), 2;
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (xai_model_load(argv[1], &m, &err) || xai_session_new(m, &s, &err))
        return fprintf(stderr, "bench_perturb: %s\n", err.msg), 1;
    struct xai_tensor x = {m->values[m->input].shape, NULL};
    x.shape.d[0] = 1;
    int64_t n = xai_shape_numel(&x.shape);
    x.data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x.data[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    struct xai_method_model mm = {m, m->outputs[0], -1, -1, -1, false, -3.f, 3.f, -1, NULL, 0};
    struct xai_method_req req = {&mm, s, &x, 0, -1, &pv, 1, max_batch, NULL, NULL, NULL};
    double *t = calloc((size_t)reps, sizeof(double));
    for (int i = 0; i < reps; i++) {
        struct xai_method_result res = {0};
        double t0 = now_ms();
        if (def->run(&req, &res, &err)) return fprintf(stderr, "bench_perturb: %s\n", err.msg), 1;
        t[i] = now_ms() - t0;
        xai_method_result_reset(&res);
    }
    printf("{\"impl\": \"xaid\", \"method\": \"%s\", \"threads\": %d, \"max_batch\": %d, \"ms\": [",
           def->name, openblas_get_num_threads(), max_batch);
    for (int i = 0; i < reps; i++) printf(i ? ", %.1f" : "%.1f", t[i]);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("], \"median_ms\": %.1f}\n",
           reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]));
    free(t);
    free(x.data);
    xai_session_free(s);
    xai_model_free(m);
    return 0;
}
