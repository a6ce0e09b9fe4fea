/*
 * bench_nodes.c - times the nodes of one op type of a model one by one, outside the executor:
 * each node runs forward and backward REPEATS times on its own buffers (random inputs), and
 * the minimum time of each is printed, so a loaded machine disturbs the figures less than it
 * does whole-model medians. For A/B work on an op's kernels. Threads: XAI_THREADS (default 1),
 * the engine's own pool with OpenBLAS at one thread; or XAI_THREADS unset and
 * OPENBLAS_NUM_THREADS, OpenBLAS's threads inside each sgemm. XAI_CPUTIME=1: CPU time instead
 * of wall time (with one thread, steadier on a loaded machine). XAI_FLUSH_MB=N: N MB of other data
 * touched before each timing, so that the node starts with cold caches as in a whole pass.
 *
 * usage: bench_nodes MODEL.onnx BATCH REPEATS [OP_TYPE (default Conv) [NODE_NAME_PART]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "blas_tune.h"
#include "model.h"
#include "par.h"

/* Wall time, or with XAI_CPUTIME set the process's CPU time: with one thread, a figure that a
 * loaded machine disturbs less (time spent descheduled does not count). */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(getenv("XAI_CPUTIME") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static float *rand_buf(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = (float)((i * 7919 + 13) % 1000) / 1000.f - 0.5f;
    return p;
}

/* XAI_FLUSH_MB=N: N MB read and written between timings, so that each starts with the
 * weights out of cache as in a whole pass (where the other layers' weights pass through). */
static float *flush_buf;
static volatile float flush_sink;
static void flush_caches(int64_t mb)
{
    int64_t n = mb << 18;
    if (!flush_buf && !(flush_buf = calloc((size_t)n, sizeof(float)))) return;
    float acc = 0;
    for (int64_t i = 0; i < n; i += 16) acc += flush_buf[i]++;
    flush_sink = acc;
}

int main(int argc, char **argv)
{
    int64_t flush = getenv("XAI_FLUSH_MB") ? atoll(getenv("XAI_FLUSH_MB")) : 0;
    xai_blas_tune(argv);
    if (argc < 4) {
        fprintf(stderr, "usage: bench_nodes MODEL.onnx BATCH REPEATS [OP_TYPE]\n");
        return 2;
    }
    int64_t batch = atoll(argv[2]);
    int reps = atoi(argv[3]);
    const char *want = argc > 4 ? argv[4] : "Conv", *part = argc > 5 ? argv[5] : "";
    int threads = getenv("XAI_THREADS") ? atoi(getenv("XAI_THREADS")) : 1;
    if (getenv("XAI_THREADS")) openblas_set_num_threads(1);
    xai_par *par = xai_par_new(threads);
    xai_model *m = NULL;
    struct xai_err err = {{0}};
    if (xai_model_load(argv[1], &m, &err)) {
        fprintf(stderr, "bench_nodes: %s\n", err.msg);
        return 1;
    }
    struct xai_shape *shapes = calloc((size_t)m->n_values, sizeof *shapes);
    if (xai_model_infer(m, batch, shapes, &err)) {
        fprintf(stderr, "bench_nodes: %s\n", err.msg);
        return 1;
    }
    double tot_f = 0, tot_b = 0, tot_macs = 0;
    printf("%-28s %-22s %-22s %9s %9s %7s\n", "node", "input", "output", "fwd ms", "bwd ms",
           "GFLOP/s");
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        if (strcmp(n->op->name, want) != 0 || !strstr(n->name, part)) continue;
        struct xai_tensor tin[XAI_MAX_NODE_INPUTS], tout[XAI_MAX_NODE_OUTPUTS];
        struct xai_tensor tgin[XAI_MAX_NODE_INPUTS], tgout[XAI_MAX_NODE_OUTPUTS];
        const struct xai_tensor *pin[XAI_MAX_NODE_INPUTS], *pout[XAI_MAX_NODE_OUTPUTS];
        const struct xai_tensor *pgin[XAI_MAX_NODE_INPUTS], *pgout[XAI_MAX_NODE_OUTPUTS];
        struct xai_shape ins[XAI_MAX_NODE_INPUTS], outs[XAI_MAX_NODE_OUTPUTS];
        for (int i = 0; i < n->n_in; i++) {
            int v = n->in[i];
            pin[i] = pgin[i] = NULL;
            if (v < 0) continue;
            ins[i] = shapes[v];
            const struct xai_const *c = m->values[v].cst;
            if (c && c->dtype != XAI_F32) continue;
            tin[i] =
                (struct xai_tensor){shapes[v], c ? c->f : rand_buf(xai_shape_numel(&shapes[v]))};
            pin[i] = &tin[i];
            if (!c && (n->op->grad_mask >> i & 1u)) {
                tgin[i] = (struct xai_tensor){shapes[v], rand_buf(xai_shape_numel(&shapes[v]))};
                pgin[i] = &tgin[i];
            }
        }
        for (int i = 0; i < n->n_out; i++) {
            outs[i] = shapes[n->out[i]];
            int64_t cnt = xai_shape_numel(&outs[i]);
            tout[i] = (struct xai_tensor){outs[i], rand_buf(cnt)};
            tgout[i] = (struct xai_tensor){outs[i], rand_buf(cnt)};
            pout[i] = &tout[i];
            pgout[i] = &tgout[i];
        }
        size_t sc = n->op->scratch ? n->op->scratch(n->params, ins, n->n_in, outs) : 0;
        float *scratch = rand_buf((int64_t)sc * (threads > 1 ? threads : 1));
        struct xai_op_run r = {n->params, n->n_in, pin,   n->n_out, pout, pgout,
                               pgin,      scratch, batch, par,      sc};
        double bf = 1e30, bb = 1e30;
        for (int i = 0; i < reps; i++) {
            if (flush) flush_caches(flush);
            double t0 = now_ms();
            n->op->forward(&r);
            double tf = now_ms() - t0;
            if (flush) flush_caches(flush);
            double t1 = now_ms();
            n->op->backward(&r);
            double tb = now_ms() - t1;
            if (tf < bf) bf = tf;
            if (tb < bb) bb = tb;
        }
        double macs = n->op->macs ? (double)n->op->macs(n->params, ins, n->n_in, outs) : 0;
        char a[64], b[64];
        printf("%-28.28s %-22s %-22s %9.3f %9.3f %7.1f\n", n->name, xai_shape_str(&ins[0], a, 64),
               xai_shape_str(&outs[0], b, 64), bf, bb, macs ? 2e-6 * macs / bf : 0);
        tot_f += bf;
        tot_b += bb;
        tot_macs += macs;
        for (int i = 0; i < n->n_in; i++) {
            if (pin[i] && !m->values[n->in[i]].cst) free(tin[i].data);
            if (pgin[i]) free(tgin[i].data);
        }
        for (int i = 0; i < n->n_out; i++) {
            free(tout[i].data);
            free(tgout[i].data);
        }
        free(scratch);
    }
    printf("total %s: forward %.3f ms, backward %.3f ms", want, tot_f, tot_b);
    if (tot_macs) printf(", forward %.1f GFLOP/s", 2e-6 * tot_macs / tot_f);
    printf("\n");
    free(shapes);
    xai_par_free(par);
    xai_model_free(m);
    return 0;
}
