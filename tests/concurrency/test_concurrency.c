/*
 * test_concurrency.c - one model shared by many threads gives bit-identical results.
 *
 * Loads each ONNX file named on the command line, computes the outputs and the input gradient
 * of several inputs on one thread, at batch 1 and batch 2, then loads it again and runs
 * THREADS threads at once on that fresh copy, each with its own session, over the same inputs
 * in different orders and both batch sizes, and compares every result byte for byte. The
 * fresh copy makes the threads race to build the weights a model derives on first use
 * (conv.c: F(2x2, 3x3) weights from batch 2, packed weights at batch 1). Odd-numbered threads
 * give their session a pool of SESSION_THREADS threads (xai_session_set_threads), so the ops'
 * own parallel loops run concurrently with the other sessions too. Run under ThreadSanitizer
 * by tools/test.
 *
 * usage: test_concurrency MODEL.onnx [MODEL.onnx ...]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define N_INPUTS 4
#define THREADS 4
#define ROUNDS 3
#define SESSION_THREADS 2

struct result {
    float *out, *grad;
    int64_t n_out, n_grad;
};

struct shared {
    const xai_model *m;
    float *inputs[N_INPUTS], *pairs[N_INPUTS]; /* pairs[k]: inputs k and k + 1, batch 2 */
    int64_t n_in;                              /* floats of one input */
    struct result want[2][N_INPUTS];           /* batch 1, batch 2 */
};

struct worker {
    struct shared *sh;
    int id;
    int mismatches;
    char error[512];
};

/* Forward on input k (batch 1) or pair k (batch 2), then the gradient of one output element
 * w.r.t. the input. */
static int compute(xai_session *s, const struct shared *sh, int k, int batch, struct result *r,
                   struct xai_err *err)
{
    struct xai_tensor x = {sh->m->values[sh->m->input].shape,
                           batch == 1 ? sh->inputs[k] : sh->pairs[k]};
    x.shape.d[0] = batch;
    if (xai_session_forward(s, &x, err)) return -1;
    const struct xai_tensor *o = xai_session_output(s, 0);
    r->n_out = xai_shape_numel(&o->shape);
    r->out = malloc(sizeof(float) * (size_t)r->n_out);
    float *seed = calloc((size_t)r->n_out, sizeof(float));
    if (!r->out || !seed) return -1;
    memcpy(r->out, o->data, sizeof(float) * (size_t)r->n_out);
    seed[k % r->n_out] = 1.f;
    struct xai_tensor g = {o->shape, seed};
    struct xai_grad_seed gs = {sh->m->outputs[0], &g};
    int rc = xai_session_backward(s, &gs, 1, NULL, err) ? -1 : 0;
    free(seed);
    if (rc) return rc;
    const struct xai_tensor *gi = xai_session_grad(s, sh->m->input);
    r->n_grad = sh->n_in * batch;
    r->grad = malloc(sizeof(float) * (size_t)r->n_grad);
    if (!gi || !r->grad) return -1;
    memcpy(r->grad, gi->data, sizeof(float) * (size_t)r->n_grad);
    return 0;
}

static void free_result(struct result *r)
{
    free(r->out);
    free(r->grad);
    memset(r, 0, sizeof *r);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    if (xai_session_new(w->sh->m, &s, &err) ||
        xai_session_set_threads(s, w->id % 2 ? SESSION_THREADS : 1, &err)) {
        snprintf(w->error, sizeof w->error, "%s", err.msg);
        xai_session_free(s);
        return NULL;
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int j = 0; j < 2 * N_INPUTS; j++) {
            int k = (j + w->id + round) % N_INPUTS, batch = (j + w->id) % 2 + 1;
            struct result r = {0};
            if (compute(s, w->sh, k, batch, &r, &err)) {
                snprintf(w->error, sizeof w->error, "%s", err.msg);
                free_result(&r);
                xai_session_free(s);
                return NULL;
            }
            const struct result *want = &w->sh->want[batch - 1][k];
            if (memcmp(r.out, want->out, sizeof(float) * (size_t)r.n_out) ||
                memcmp(r.grad, want->grad, sizeof(float) * (size_t)r.n_grad))
                w->mismatches++;
            free_result(&r);
        }
    }
    xai_session_free(s);
    return NULL;
}

static int check_model(const char *path)
{
    struct shared sh = {0};
    xai_model *m = NULL, *fresh = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    int failed = 0;
    if (xai_model_load(path, &m, &err) || xai_session_new(m, &s, &err)) {
        printf("FAIL %s: %s\n", path, err.msg);
        xai_model_free(m);
        return 1;
    }
    sh.m = m;
    struct xai_shape in = m->values[m->input].shape;
    in.d[0] = 1;
    sh.n_in = xai_shape_numel(&in);
    unsigned long long st = 7;
    for (int k = 0; k < N_INPUTS; k++) {
        sh.inputs[k] = malloc(sizeof(float) * (size_t)sh.n_in);
        for (int64_t i = 0; i < sh.n_in; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            sh.inputs[k][i] = (float)((st >> 40) % 2000) / 1000.f - 1.f;
        }
    }
    for (int k = 0; k < N_INPUTS; k++) {
        sh.pairs[k] = malloc(sizeof(float) * (size_t)(2 * sh.n_in));
        memcpy(sh.pairs[k], sh.inputs[k], sizeof(float) * (size_t)sh.n_in);
        memcpy(sh.pairs[k] + sh.n_in, sh.inputs[(k + 1) % N_INPUTS],
               sizeof(float) * (size_t)sh.n_in);
        for (int b = 1; b <= 2; b++)
            if (compute(s, &sh, k, b, &sh.want[b - 1][k], &err)) {
                printf("FAIL %s: %s\n", path, err.msg);
                failed = 1;
            }
    }
    xai_session_free(s);
    if (!failed && xai_model_load(path, &fresh, &err)) {
        printf("FAIL %s: %s\n", path, err.msg);
        failed = 1;
    }
    sh.m = fresh;
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; !failed && i < THREADS; i++) {
        w[i] = (struct worker){&sh, i, 0, ""};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; !failed && i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (w[i].error[0] || w[i].mismatches) {
            printf("FAIL %s: thread %d: %d mismatches %s\n", path, i, w[i].mismatches, w[i].error);
            failed = 1;
        }
    }
    if (!failed)
        printf("ok   %s: %d threads (half with %d-thread sessions) x %d runs bit-identical to "
               "one thread\n",
               path, THREADS, SESSION_THREADS, ROUNDS * 2 * N_INPUTS);
    for (int k = 0; k < N_INPUTS; k++) {
        free(sh.inputs[k]);
        free(sh.pairs[k]);
        free_result(&sh.want[0][k]);
        free_result(&sh.want[1][k]);
    }
    xai_model_free(fresh);
    xai_model_free(m);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0, passed = 0;
    for (int i = 1; i < argc; i++) {
        if (check_model(argv[i]))
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed || argc < 2 ? 1 : 0;
}
