/*
 * bench_occlusion.c - occlusion three ways on one ONNX model: plain batched passes
 * (incremental=false), incremental inference (exact), and incremental inference with each
 * given projective field threshold (approximate). Default window geometry (32 px patches at
 * stride 16 on 224 x 224: 169 windows), zero fill, target class 0, the deterministic input of
 * bench_methods. The variants run in interleaved rounds (one warm-up round). One JSON line per
 * variant: median and all times (ms), the fraction of the plain passes' multiply-adds it ran,
 * and its map against the plain one: Pearson correlation, relative L2 error, largest absolute
 * difference over the largest absolute value. Threads: the engine's own (as many as OpenBLAS
 * would use), or with XAI_BLAS_THREADS=1 one engine thread and OpenBLAS's inside each sgemm.
 *
 * usage: bench_occlusion MODEL.onnx REPEATS MAX_BATCH [FIELD_THRESHOLD...]
 *   e.g. bench_occlusion resnet18.onnx 5 16 0.6 0.4
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_threads.h"
#include "blas_tune.h"
#include "method.h"

#define MAX_VARIANTS 10

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

struct variant {
    char name[64];
    struct xai_param_values pv;
    double t[100];
    float *map;
    double fraction;
};

static int run_variant(struct variant *v, struct xai_method_req *req, int round)
{
    const struct xai_method_def *d = xai_method_find("occlusion");
    struct xai_method_result res = {0};
    struct xai_err err = {{0}};
    req->params = &v->pv;
    double t0 = now_ms();
    if (d->run(req, &res, &err)) return fprintf(stderr, "bench_occlusion: %s\n", err.msg), -1;
    if (round >= 0) v->t[round] = now_ms() - t0;
    v->fraction = 1.0;
    for (int i = 0; i < res.n_metrics; i++)
        if (!strcmp(res.metrics[i].name, "macs_fraction")) v->fraction = res.metrics[i].value;
    free(v->map);
    v->map = res.map;
    res.map = NULL;
    xai_method_result_reset(&res);
    return 0;
}

static void report(struct variant *v, const float *ref, int n, int reps)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0, d2 = 0, b2 = 0, dmax = 0, bmax = 0;
    for (int i = 0; i < n; i++) ma += v->map[i], mb += ref[i];
    ma /= n, mb /= n;
    for (int i = 0; i < n; i++) {
        double a = v->map[i], b = ref[i];
        sab += (a - ma) * (b - mb), saa += (a - ma) * (a - ma), sbb += (b - mb) * (b - mb);
        d2 += (a - b) * (a - b), b2 += b * b;
        dmax = fmax(dmax, fabs(a - b)), bmax = fmax(bmax, fabs(b));
    }
    double pearson = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 1.0;
    printf("{\"impl\": \"xaid\", \"variant\": \"%s\", \"ms\": [", v->name);
    for (int i = 0; i < reps; i++) printf(i ? ", %.1f" : "%.1f", v->t[i]);
    qsort(v->t, (size_t)reps, sizeof(double), cmp_double);
    double med = reps % 2 ? v->t[reps / 2] : 0.5 * (v->t[reps / 2 - 1] + v->t[reps / 2]);
    printf("], \"median_ms\": %.1f, \"macs_fraction\": %.4f, \"pearson\": %.6f, \"rel_l2\": %.3g, "
           "\"max_err\": %.3g}\n",
           med, v->fraction, pearson, b2 > 0 ? sqrt(d2 / b2) : sqrt(d2),
           bmax > 0 ? dmax / bmax : dmax);
    fflush(stdout);
}

static int make_variants(int argc, char **argv, struct variant *v)
{
    const struct xai_method_def *d = xai_method_find("occlusion");
    int inc = xai_method_param_index(d, "incremental"),
        fi = xai_method_param_index(d, "field_threshold");
    int n = 0;
    for (int k = -1; k < argc && n < MAX_VARIANTS; k++, n++) {
        xai_method_defaults(d, &v[n].pv);
        if (k < 0) {
            v[n].pv.v[inc] = 0;
            snprintf(v[n].name, sizeof v[n].name, "plain");
            continue;
        }
        double f = k == 0 ? 1.0 : atof(argv[k - 1]);
        if (!(f >= 0.05 && f <= 1)) return -1;
        v[n].pv.v[fi] = f;
        snprintf(v[n].name, sizeof v[n].name, k == 0 ? "incremental" : "incremental:field=%g", f);
    }
    return n;
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_occlusion MODEL.onnx REPEATS MAX_BATCH [FIELD_THRESHOLD...]\n");
        return 2;
    }
    int reps = atoi(argv[2]), max_batch = atoi(argv[3]);
    static struct variant v[MAX_VARIANTS];
    int nv = make_variants(argc - 4 + 1, argv + 4, v);
    if (reps < 1 || reps > 100 || max_batch < 1 || nv < 2)
        return fprintf(stderr, "bench_occlusion: bad arguments\n"), 2;
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (xai_model_load(argv[1], &m, &err) || xai_session_new(m, &s, &err))
        return fprintf(stderr, "bench_occlusion: %s\n", err.msg), 1;
    int threads;
    bool blas_threads;
    if (bench_threads(s, "bench_occlusion", &threads, &blas_threads)) return 1;
    struct xai_tensor x = {m->values[m->input].shape, NULL};
    x.shape.d[0] = 1;
    int64_t n = xai_shape_numel(&x.shape);
    x.data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x.data[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    struct xai_method_model mm = {m, m->outputs[0], -1, -1, -1, false, -3.f, 3.f};
    struct xai_method_req req = {&mm, s, &x, 0, -1, NULL, 1, max_batch, NULL, NULL, NULL};
    printf("{\"model\": \"%s\", \"threads\": %d, \"threading\": \"%s\", \"max_batch\": %d}\n",
           argv[1], threads, blas_threads ? "openblas" : "engine", max_batch);
    int rc = 0;
    for (int r = -1; r < reps && !rc; r++)
        for (int k = 0; k < nv && !rc; k++) rc = run_variant(&v[k], &req, r);
    int hw = (int)(x.shape.d[2] * x.shape.d[3]);
    for (int k = 0; k < nv && !rc; k++) report(&v[k], v[0].map, hw, reps);
    for (int k = 0; k < nv; k++) free(v[k].map);
    free(x.data);
    xai_session_free(s);
    xai_model_free(m);
    return rc ? 1 : 0;
}
