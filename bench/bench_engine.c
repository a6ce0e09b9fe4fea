/*
 * bench_engine.c - times xaid's engine on one ONNX model: forward, and forward + gradient of
 * one logit with respect to the input, at a given batch size. Prints one JSON line with the
 * median and all run times (ms) and the process's peak resident memory. Driven by bench/run.
 *
 * Threads: OPENBLAS_NUM_THREADS (bench/run sets it to the thread count it gives PyTorch) is
 * handed to the session (xai_session_set_threads), which splits the ops' work itself, and
 * OpenBLAS runs single-threaded inside it; XAI_BLAS_THREADS=1 instead leaves the session at
 * one thread and OpenBLAS at OPENBLAS_NUM_THREADS (threads inside each sgemm only), the way
 * xaid ran before it had its own threads.
 *
 * usage: bench_engine MODEL.onnx BATCH REPEATS
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_threads.h"
#include "blas_tune.h"
#include "session.h"

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int run_once(xai_session *s, const struct xai_tensor *x, bool grad, struct xai_err *err)
{
    if (xai_session_forward(s, x, err)) return -1;
    if (!grad) return 0;
    const xai_model *m = xai_session_model(s);
    const struct xai_tensor *out = xai_session_output(s, 0);
    static float seedbuf[1 << 16];
    int64_t n = xai_shape_numel(&out->shape), classes = out->shape.d[out->shape.ndim - 1];
    if (n > (1 << 16)) return -1;
    memset(seedbuf, 0, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i += classes) seedbuf[i] = 1.f;
    struct xai_tensor g = {out->shape, seedbuf};
    struct xai_grad_seed seed = {m->outputs[0], &g};
    return xai_session_backward(s, &seed, 1, NULL, err) ? -1 : 0;
}

static void print_times(const char *key, double *t, int n)
{
    printf("\"%s_ms\": [", key);
    for (int i = 0; i < n; i++) printf(i ? ", %.3f" : "%.3f", t[i]);
    printf("], \"%s_median_ms\": %.3f, ", key, median(t, n));
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    if (argc != 4) {
        fprintf(stderr, "usage: bench_engine MODEL.onnx BATCH REPEATS\n");
        return 2;
    }
    int batch = atoi(argv[2]), reps = atoi(argv[3]);
    if (batch < 1 || reps < 1 || reps > 1000) return 2;
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (xai_model_load(argv[1], &m, &err) || xai_session_new(m, &s, &err)) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    int threads;
    bool blas_threads;
    if (bench_threads(s, "bench_engine", &threads, &blas_threads)) return 1;
    struct xai_tensor x = {m->values[m->input].shape, NULL};
    x.shape.d[0] = batch;
    int64_t n = xai_shape_numel(&x.shape);
    x.data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x.data[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    double *tf = calloc((size_t)reps, sizeof(double)), *tb = calloc((size_t)reps, sizeof(double));
    for (int warm = 0; warm < 2; warm++)
        if (run_once(s, &x, true, &err)) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 1;
        }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        run_once(s, &x, false, &err);
        double t1 = now_ms();
        run_once(s, &x, true, &err);
        tf[i] = t1 - t0;
        tb[i] = now_ms() - t1;
    }
    if (getenv("XAI_PROFILE")) {
        xai_session_profile(s, true);
        for (int i = 0; i < reps; i++) run_once(s, &x, true, &err);
        fprintf(stderr, "per-op totals over %d forward+gradient runs:\n", reps);
        xai_session_profile_report(s, stderr);
        /* XAI_PROFILE=nodes: then each node's time in each of reps runs, for per-node minima */
        for (int i = 0; !strcmp(getenv("XAI_PROFILE"), "nodes") && i < reps; i++) {
            xai_session_profile(s, true);
            run_once(s, &x, true, &err);
            xai_session_profile_nodes(s, stderr);
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"xaid\", \"batch\": %d, \"threads\": %d, \"threading\": \"%s\", ", batch,
           threads, blas_threads ? "openblas" : "engine");
    print_times("forward", tf, reps);
    print_times("forward_grad", tb, reps);
    printf("\"gflop\": %.4f, \"peak_rss_mb\": %.1f}\n", 2e-9 * (double)xai_model_macs(m) * batch,
           ru.ru_maxrss / 1024.0);
    free(tf);
    free(tb);
    free(x.data);
    xai_session_free(s);
    xai_model_free(m);
    return 0;
}
