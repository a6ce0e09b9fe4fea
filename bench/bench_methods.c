/*
 * bench_methods.c - times attribution methods on one ONNX model at batch 1: each method's
 * whole run (passes, weights, upsampling, reduction), beside a plain forward pass and a
 * forward + input-gradient pass as units. Prints one JSON line per row with the median and
 * all run times (ms). The rows run in interleaved rounds (one warm-up round), so a noisy machine
 * slows all alike. Threads: OPENBLAS_NUM_THREADS, handed to the session (bench_threads.h)
 * (XAI_BLAS_THREADS=1: OpenBLAS's threads inside each sgemm instead). Input
 * x[i] = ((i * 7919) % 1000) / 1000 - 0.5, target class 0, input range [-3, 3], batch cap 16,
 * LIME on a grid of 7 x 7 square superpixels. bench/torch_methods.py times the PyTorch
 * reference implementations the same way; bench/run_methods runs both.
 *
 * usage: bench_methods MODEL.onnx LAYER HEAD_WEIGHT HEAD_BIAS SIZE REPEATS METHOD[:p=v,...]...
 *   e.g. bench_methods resnet18.onnx /layer4/layer4.1/relu_1/Relu_output_0 fc.weight fc.bias
 *        224 9 gradcam cam:relu=1 guided_backprop
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_threads.h"
#include "blas_tune.h"
#include "method.h"
#include "methods/_common.h"

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

static void print_row(const char *name, double *t, int n)
{
    printf("{\"impl\": \"xaid\", \"method\": \"%s\", \"ms\": [", name);
    for (int i = 0; i < n; i++) printf(i ? ", %.3f" : "%.3f", t[i]);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("], \"median_ms\": %.3f}\n", n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]));
    fflush(stdout);
}

/* "name:p=v,q=w" -> the method and its parameter values. */
static const struct xai_method_def *parse(char *spec, struct xai_param_values *pv)
{
    char *colon = strchr(spec, ':');
    if (colon) *colon = '\0';
    const struct xai_method_def *d = xai_method_find(spec);
    if (!d) return NULL;
    xai_method_defaults(d, pv);
    for (char *kv = colon ? strtok(colon + 1, ",") : NULL; kv; kv = strtok(NULL, ",")) {
        char *eq = strchr(kv, '=');
        int i = eq ? (*eq = '\0', xai_method_param_index(d, kv)) : -1;
        if (i < 0) return NULL;
        pv->v[i] = atof(eq + 1);
    }
    return d;
}

/* Row r: 0 forward, 1 forward + gradient of the target w.r.t. the input, 2+ the methods. */
struct row {
    char label[128];
    const struct xai_method_def *def;
    struct xai_param_values pv;
    double *t;
};

static int run_row(struct row *r, struct xai_method_req *req, float *g, struct xai_err *err)
{
    if (!r->def && !strcmp(r->label, "forward"))
        return xai_session_forward(req->s, req->input, err) ? -1 : 0;
    if (!r->def) return xai_m_input_grad(req, req->input->data, 1, NULL, g, NULL, err) ? -1 : 0;
    struct xai_method_result res = {0};
    req->params = &r->pv;
    xai_status st = r->def->run(req, &res, err);
    xai_method_result_reset(&res);
    return st ? -1 : 0;
}

/* Rounds of every row in turn (one warm-up round), so that the load of a shared machine
 * spreads over all rows alike. */
static int time_rows(struct row *rows, int n, struct xai_method_req *req, int reps)
{
    struct xai_err err = {{0}};
    float *g = malloc(sizeof(float) * (size_t)xai_shape_numel(&req->input->shape));
    for (int i = -1; i < reps; i++)
        for (int k = 0; k < n; k++) {
            double t0 = now_ms();
            if (run_row(&rows[k], req, g, &err)) {
                fprintf(stderr, "bench_methods: %s: %s\n", rows[k].label, err.msg);
                free(g);
                return -1;
            }
            if (i >= 0) rows[k].t[i] = now_ms() - t0;
        }
    for (int k = 0; k < n; k++) print_row(rows[k].label, rows[k].t, reps);
    free(g);
    return 0;
}

static struct row *make_rows(int argc, char **argv, int reps, int *n_rows)
{
    int n = argc - 7 + 2;
    struct row *rows = calloc((size_t)n, sizeof *rows);
    for (int k = 0; k < n; k++) {
        snprintf(rows[k].label, sizeof rows[k].label, "%s",
                 k == 0   ? "forward"
                 : k == 1 ? "forward+input_grad"
                          : argv[k + 5]);
        rows[k].t = calloc((size_t)reps, sizeof(double));
        if (k >= 2 && !(rows[k].def = parse(argv[k + 5], &rows[k].pv))) {
            fprintf(stderr, "bench_methods: bad method %s\n", rows[k].label);
            *n_rows = -1;
            return rows;
        }
    }
    *n_rows = n;
    return rows;
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    if (argc < 8) {
        fprintf(stderr, "usage: bench_methods MODEL.onnx LAYER HEAD_WEIGHT HEAD_BIAS SIZE REPEATS "
                        "METHOD[:p=v,...]...\n");
        return 2;
    }
    int size = atoi(argv[5]), reps = atoi(argv[6]), n_rows;
    if (size < 8 || size > 2048 || reps < 1 || reps > 1000) return 2;
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (xai_model_load(argv[1], &m, &err) || xai_session_new(m, &s, &err)) {
        fprintf(stderr, "bench_methods: %s\n", err.msg);
        return 1;
    }
    int threads;
    bool blas_threads;
    if (bench_threads(s, "bench_methods", &threads, &blas_threads)) return 1;
    struct xai_tensor x = {m->values[m->input].shape, NULL};
    x.shape.d[0] = 1;
    x.shape.d[2] = x.shape.d[3] = size;
    int64_t n = xai_shape_numel(&x.shape);
    x.data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x.data[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    struct xai_method_model mm = {m,
                                  m->outputs[0],
                                  xai_model_find(m, argv[2]),
                                  xai_model_find(m, argv[3]),
                                  xai_model_find(m, argv[4]),
                                  false,
                                  -3.f,
                                  3.f,
                                  -1,
                                  NULL,
                                  0};
    int32_t *seg = malloc(sizeof(int32_t) * (size_t)(size * size));
    int cell = (size + 6) / 7;
    for (int i = 0; i < size * size; i++) seg[i] = (i / size / cell) * 7 + (i % size) / cell;
    struct xai_method_req req = {&mm, s, &x, 0, mm.cam_layer, NULL, 0, 16, NULL, NULL, seg};
    struct row *rows = make_rows(argc, argv, reps, &n_rows);
    printf("{\"model\": \"%s\", \"size\": %d, \"threads\": %d}\n", argv[1], size, threads);
    int rc = n_rows < 0 ? 2 : time_rows(rows, n_rows, &req, reps);
    for (int k = 0; k < argc - 5; k++) free(rows[k].t);
    free(rows);
    free(x.data);
    free(seg);
    xai_session_free(s);
    xai_model_free(m);
    return rc;
}
