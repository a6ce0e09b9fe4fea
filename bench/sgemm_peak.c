/* sgemm_peak.c - the machine's measured OpenBLAS sgemm rate (GFLOP/s), median of runs, on
 * square matrices. Prints one JSON line. usage: sgemm_peak [N] [REPEATS] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "blas_tune.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    xai_blas_tune(argv);
    int n = argc > 1 ? atoi(argv[1]) : 1536, reps = argc > 2 ? atoi(argv[2]) : 7;
    if (n < 16 || n > 8192 || reps < 1 || reps > 100) return 2;
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
          *c = malloc(sizeof(float) * (size_t)n * n);
    double *g = calloc((size_t)reps, sizeof(double));
    for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = (float)(i % 13) * 0.01f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
    for (int r = 0; r < reps; r++) {
        double t = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
        g[r] = 2.0 * n * (double)n * n / (now_s() - t) / 1e9;
    }
    qsort(g, (size_t)reps, sizeof *g, cmp);
    printf("{\"n\": %d, \"threads\": %d, \"core\": \"%s\", \"sgemm_gflops\": %.1f}\n", n,
           openblas_get_num_threads(), openblas_get_corename(), g[reps / 2]);
    free(a);
    free(b);
    free(c);
    free(g);
    return 0;
}
