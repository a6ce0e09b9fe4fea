/*
 * test_inspect.c - the inspection views against their references (tools/make_inspect_fixtures.py).
 *
 *   filters   the kernels equal PyTorch's (BatchNorm folded) to 1e-5 relative
 *   features  top-k channel indices equal, means and maps to 1e-4 relative, dead count equal
 *   embed     feature vectors and logits equal to 1e-4 relative
 *   pca       coordinates equal numpy's SVD U S up to each component's sign, to 1e-4 relative;
 *             explained variance to 1e-6
 *   tsne      exact and Barnes-Hut runs reach scikit-learn's trustworthiness within 0.02 and
 *             its k-NN preservation within 0.05 (this file's trustworthiness must first give
 *             scikit-learn's value on scikit-learn's own embedding, to 1e-4)
 *   maximize  under the default parameters the class score never decreases and ends higher;
 *             the same seed gives the same trace bit for bit, another seed another one
 *
 * usage: test_inspect FIXTURE_DIR
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "project.h"

#define TSNE_TRUST_MARGIN 0.02
#define TSNE_KNN_MARGIN 0.05

static int passed, failed;
static const char *dir;

static void report(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(int ok, const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("%s  %-36s %s\n", ok ? "PASS" : "FAIL", name, msg);
    ok ? passed++ : failed++;
}

static float *read_bin(const char *name, int64_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    float *d = f ? malloc(sizeof(float) * (size_t)n) : NULL;
    if (d && fread(d, sizeof(float), (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    if (f) fclose(f);
    return d;
}

/* max |a - b| / max(max |b|, tiny) */
static double rel_err(const float *a, const float *b, int64_t n)
{
    double d = 0, m = 1e-12;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return d / m;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t num(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

/* ---- filters ---- */

static void test_filters(json_t *c)
{
    xai_model *m = NULL;
    struct xai_err err = {{0}};
    struct xai_filters f;
    struct xai_grid g = {0};
    json_t *sh = json_object_get(c, "shape");
    int64_t n = 1;
    for (size_t i = 0; i < json_array_size(sh); i++) n *= json_integer_value(json_array_get(sh, i));
    float *ref = read_bin(str(c, "weights"), n);
    if (!ref || xai_model_load(str(c, "onnx"), &m, &err) ||
        xai_filters_find(m, str(c, "layer"), &f, &err)) {
        report(0, str(c, "name"), "setup: %s", err.msg);
    } else {
        int shape_ok = f.out_ch == json_integer_value(json_array_get(sh, 0)) &&
                       f.in_ch == json_integer_value(json_array_get(sh, 1));
        double e = shape_ok ? rel_err(f.weights, ref, n) : 1;
        xai_status st = xai_filters_grid(&f, 4, &g, &err);
        report(shape_ok && e < 1e-5 && !st && g.channels == (f.in_ch == 3 ? 3 : 1), str(c, "name"),
               "max rel err %.2e, grid %dx%dx%d", e, g.width, g.height, g.channels);
    }
    xai_grid_reset(&g);
    xai_model_free(m);
    free(ref);
}

/* ---- features ---- */

static void test_features(json_t *c, xai_session *s, const struct xai_tensor *x)
{
    const xai_model *m = xai_session_model(s);
    struct xai_err err = {{0}};
    struct xai_features f;
    int k = (int)num(c, "top_k");
    int layer = xai_model_find(m, str(c, "layer"));
    if (xai_features_run(s, x, layer, k, &f, &err)) {
        report(0, str(c, "name"), "run: %s", err.msg);
        return;
    }
    json_t *idx = json_object_get(c, "index"), *mean = json_object_get(c, "mean");
    int same = f.k == k && f.dead == num(c, "dead") && f.channels == num(c, "channels");
    double me = 0;
    for (int i = 0; same && i < k; i++) {
        same &= f.index[i] == json_integer_value(json_array_get(idx, i));
        double want = json_number_value(json_array_get(mean, i));
        me = fmax(me, fabs(f.mean[i] - want) / fmax(fabs(want), 1e-6));
    }
    float *ref = read_bin(str(c, "maps"), (int64_t)k * f.height * f.width);
    double e = ref ? rel_err(f.maps, ref, (int64_t)k * f.height * f.width) : 1;
    report(same && me < 1e-4 && e < 1e-4, str(c, "name"),
           "channels %s, dead %d/%d, mean rel err %.2e, maps rel err %.2e",
           same ? "equal" : "DIFFER", f.dead, f.channels, me, e);
    free(ref);
    xai_features_reset(&f);
}

/* ---- embed ---- */

static void test_embed(json_t *c)
{
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    int n = (int)num(c, "n"), dim = (int)num(c, "dim"), classes = (int)num(c, "classes");
    json_t *is = json_object_get(c, "input_shape");
    struct xai_shape item = {4, {1, 0, 0, 0}};
    for (int i = 0; i < 3; i++) item.d[i + 1] = json_integer_value(json_array_get(is, i));
    int64_t numel = xai_shape_numel(&item);
    float *x = read_bin(str(c, "inputs"), n * numel), *rf = read_bin(str(c, "features"), n * dim);
    float *rl = read_bin(str(c, "logits"), (int64_t)n * classes);
    float *f = malloc(sizeof(float) * (size_t)n * (size_t)dim);
    float *l = malloc(sizeof(float) * (size_t)n * (size_t)classes);
    if (!x || !rf || !rl || !f || !l || xai_model_load(str(c, "onnx"), &m, &err) ||
        xai_session_new(m, &s, &err)) {
        report(0, str(c, "name"), "setup: %s", err.msg);
    } else {
        int layer = xai_model_find(m, str(c, "layer"));
        int def = xai_embed_default_layer(m, m->outputs[0]);
        /* batches of 4 over 6 images: a full and a partial batch */
        xai_status st = xai_embed_features(s, &item, x, n, layer, m->outputs[0], 4, f, l, &err);
        double ef = st ? 1 : rel_err(f, rf, (int64_t)n * dim);
        double el = st ? 1 : rel_err(l, rl, (int64_t)n * classes);
        report(!st && def == layer && ef < 1e-4 && el < 1e-4, str(c, "name"),
               "default layer %s, features rel err %.2e, logits rel err %.2e %s",
               def == layer ? "ok" : "WRONG", ef, el, st ? err.msg : "");
    }
    xai_session_free(s);
    xai_model_free(m);
    free(x), free(rf), free(rl), free(f), free(l);
}

/* ---- pca ---- */

static void test_pca(json_t *c)
{
    int n = (int)num(c, "n"), d = (int)num(c, "d"), k = (int)num(c, "k");
    struct xai_err err = {{0}};
    float *x = read_bin(str(c, "x"), (int64_t)n * d), *ref = read_bin(str(c, "coords"), n * k);
    float *y = malloc(sizeof(float) * (size_t)n * (size_t)k);
    double ex[8];
    if (!x || !ref || !y || xai_pca(x, n, d, k, y, ex, &err)) {
        report(0, str(c, "name"), "run: %s", err.msg);
    } else {
        double e = 0, ee = 0;
        for (int j = 0; j < k; j++) {
            double dot = 0;
            for (int i = 0; i < n; i++) dot += (double)y[i * k + j] * ref[i * k + j];
            double sign = dot < 0 ? -1 : 1, m = 1e-12, dj = 0;
            for (int i = 0; i < n; i++) {
                dj = fmax(dj, fabs(sign * y[i * k + j] - ref[i * k + j]));
                m = fmax(m, fabs(ref[i * k + j]));
            }
            e = fmax(e, dj / m);
            ee = fmax(ee, fabs(ex[j] - json_number_value(
                                           json_array_get(json_object_get(c, "explained"), j))));
        }
        report(e < 1e-4 && ee < 1e-6, str(c, "name"),
               "coordinates rel err %.2e (up to sign), explained variance err %.1e", e, ee);
    }
    free(x), free(ref), free(y);
}

/* ---- t-SNE quality measures (scikit-learn's definitions) ---- */

struct nb {
    double d;
    int j;
};

static int nb_cmp(const void *pa, const void *pb)
{
    const struct nb *a = pa, *b = pb;
    return a->d != b->d ? (a->d < b->d ? -1 : 1) : a->j - b->j;
}

/* Neighbours of every point sorted by distance (self excluded): n x (n - 1) indices. */
static int *ranks(const float *x, int n, int d)
{
    int *r = malloc(sizeof(int) * (size_t)n * (size_t)(n - 1));
    struct nb *all = malloc(sizeof *all * (size_t)n);
    for (int i = 0; r && all && i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (int c = 0; c < d; c++) {
                double t = (double)x[i * d + c] - x[j * d + c];
                s += t * t;
            }
            all[m++] = (struct nb){s, j};
        }
        qsort(all, (size_t)m, sizeof *all, nb_cmp);
        for (int q = 0; q < m; q++) r[(int64_t)i * (n - 1) + q] = all[q].j;
    }
    free(all);
    return r;
}

/* trustworthiness (Venna and Kaski), as sklearn.manifold.trustworthiness; and the mean
 * fraction of each point's k nearest neighbours in x kept among its k nearest in y. */
static void quality(const float *x, int d, const float *y, int n, int k, double *trust, double *knn)
{
    int *rx = ranks(x, n, d), *ry = ranks(y, n, 2);
    int *rank_of = malloc(sizeof(int) * (size_t)n);
    double t = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        for (int q = 0; q < n - 1; q++) rank_of[rx[(int64_t)i * (n - 1) + q]] = q + 1;
        for (int q = 0; q < k; q++) {
            int j = ry[(int64_t)i * (n - 1) + q];
            if (rank_of[j] > k) t += rank_of[j] - k;
            kept += rank_of[j] <= k;
        }
    }
    *trust = 1.0 - t * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0));
    *knn = kept / ((double)n * k);
    free(rx), free(ry), free(rank_of);
}

static void test_tsne(json_t *c)
{
    int n = (int)num(c, "n"), d = (int)num(c, "d"), k = (int)num(c, "k");
    float *x = read_bin(str(c, "x"), (int64_t)n * d), *sk = read_bin(str(c, "sk_y"), 2 * n);
    float *y = malloc(sizeof(float) * 2 * (size_t)n);
    struct xai_err err = {{0}};
    struct xai_tsne_opts o;
    xai_tsne_opts_default(&o);
    o.perplexity = json_number_value(json_object_get(c, "perplexity"));
    o.iterations = (int)num(c, "iterations");
    o.method = !strcmp(str(c, "method"), "exact") ? XAI_TSNE_EXACT : XAI_TSNE_BARNES_HUT;
    struct xai_tsne_info info;
    if (!x || !sk || !y || xai_tsne(x, n, d, &o, y, &info, &err)) {
        report(0, str(c, "name"), "run: %s", err.msg);
    } else {
        double st, sknn, t, knn;
        quality(x, d, sk, n, k, &st, &sknn);
        quality(x, d, y, n, k, &t, &knn);
        double want_t = json_number_value(json_object_get(c, "sk_trust"));
        double want_k = json_number_value(json_object_get(c, "sk_knn"));
        int metric_ok = fabs(st - want_t) < 1e-4 && fabs(sknn - want_k) < 1e-4;
        report(metric_ok && t >= want_t - TSNE_TRUST_MARGIN && knn >= want_k - TSNE_KNN_MARGIN,
               str(c, "name"),
               "trustworthiness %.4f (scikit-learn %.4f), %d-NN preservation %.4f (%.4f)%s", t,
               want_t, k, knn, want_k, metric_ok ? "" : ", METRIC differs from scikit-learn");
    }
    free(x), free(sk), free(y);
}

/* ---- maximize ---- */

static xai_status maximize(xai_session *s, const struct xai_method_model *mm,
                           const struct xai_tensor *shape, const struct xai_maximize_opts *o,
                           struct xai_maximize_result *r, struct xai_err *err)
{
    struct xai_method_req req = {mm, s, shape, 1, -1, NULL, o->seed, 1, NULL, NULL, NULL};
    return xai_maximize_run(&req, o, r, err);
}

static int same_trace(const struct xai_maximize_result *a, const struct xai_maximize_result *b)
{
    return a->steps == b->steps &&
           !memcmp(a->score, b->score, sizeof(float) * (size_t)(a->steps + 1));
}

static void test_maximize(json_t *demo, xai_session *s)
{
    const xai_model *m = xai_session_model(s);
    struct xai_method_model mm = {m,
                                  m->outputs[0],
                                  -1,
                                  -1,
                                  -1,
                                  false,
                                  (float)json_number_value(json_object_get(demo, "input_lo")),
                                  (float)json_number_value(json_object_get(demo, "input_hi")),
                                  -1,
                                  NULL,
                                  0};
    struct xai_tensor shape = {m->values[m->input].shape, NULL};
    struct xai_maximize_opts o;
    xai_maximize_opts_default(&o);
    struct xai_maximize_result a = {0}, b = {0}, c = {0};
    struct xai_err err = {{0}};
    if (maximize(s, &mm, &shape, &o, &a, &err)) {
        report(0, "maximize_monotonic", "run: %s", err.msg);
        return;
    }
    int drops = 0;
    for (int i = 1; i <= a.steps; i++) drops += a.score[i] < a.score[i - 1];
    report(!drops && a.score[a.steps] > a.score[0], "maximize_monotonic",
           "score %.4g -> %.4g over %d steps, %d decreases", a.score[0], a.score[a.steps], a.steps,
           drops);
    o.seed = 7;
    o.jitter = 3;
    o.blur_sigma = 0.5;
    xai_maximize_result_reset(&a);
    int ok = !maximize(s, &mm, &shape, &o, &a, &err) && !maximize(s, &mm, &shape, &o, &b, &err);
    o.seed = 8;
    ok = ok && !maximize(s, &mm, &shape, &o, &c, &err);
    report(ok && same_trace(&a, &b) && !same_trace(&a, &c), "maximize_seeded",
           "seed 7 twice: %s; seed 8: %s", ok && same_trace(&a, &b) ? "identical" : "DIFFERENT",
           ok && !same_trace(&a, &c) ? "different" : "SAME");
    xai_maximize_result_reset(&a);
    xai_maximize_result_reset(&b);
    xai_maximize_result_reset(&c);
}

static void demo_tests(json_t *man)
{
    json_t *demo = json_object_get(man, "demo");
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    struct xai_tensor x = {{4, {1, 1, 128, 128}}, read_bin(str(demo, "input"), 128 * 128)};
    if (!x.data || xai_model_load(str(demo, "onnx"), &m, &err) || xai_session_new(m, &s, &err)) {
        report(0, "demo", "setup: %s", err.msg);
    } else {
        json_t *c;
        size_t i;
        json_array_foreach(json_object_get(man, "features"), i, c) test_features(c, s, &x);
        xai_session_keep_clear(s);
        test_maximize(demo, s);
    }
    xai_session_free(s);
    xai_model_free(m);
    free(x.data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_inspect FIXTURE_DIR\n");
        return 2;
    }
    dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *man = json_load_file(path, 0, &jerr);
    if (!man) {
        fprintf(stderr, "test_inspect: cannot read %s: %s\n", path, jerr.text);
        return 2;
    }
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(man, "filters"), i, c) test_filters(c);
    demo_tests(man);
    json_array_foreach(json_object_get(man, "embed"), i, c) test_embed(c);
    json_array_foreach(json_object_get(man, "pca"), i, c) test_pca(c);
    json_array_foreach(json_object_get(man, "tsne"), i, c) test_tsne(c);
    json_decref(man);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}
