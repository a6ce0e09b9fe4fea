/*
 * test_methods.c - every attribution method against its PyTorch reference.
 *
 * Reads the manifest written by tools/make_method_fixtures.py: for each case runs the named
 * method through the engine on the same ONNX file, input, target, parameters, seed and
 * segments, and compares the map with PyTorch's: Pearson correlation > 0.999 and relative L2
 * error ||a - b|| / ||b|| < 1e-3 (methods that sample inputs: see SAMPLED_L2); metrics the
 * reference recorded ({name: {value, tol}}, e.g. the convergence delta of integrated
 * gradients) must match within tol. Fails too when a method of the engine's table has no
 * case.
 *
 * usage: test_methods FIXTURE_DIR [substring...]
 */
#include <jansson.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"

#define MAX_MODELS 8

struct loaded {
    char *path;
    xai_model *m;
    xai_session *s;
};

static struct loaded models[MAX_MODELS];
static int n_models;

static struct loaded *get_model(const char *path, struct xai_err *err)
{
    for (int i = 0; i < n_models; i++)
        if (!strcmp(models[i].path, path)) return &models[i];
    if (n_models == MAX_MODELS) return NULL;
    struct loaded *l = &models[n_models];
    if (xai_model_load(path, &l->m, err) || xai_session_new(l->m, &l->s, err)) {
        xai_model_free(l->m);
        return NULL;
    }
    l->path = strdup(path);
    n_models++;
    return l;
}

static float *read_bin(const char *dir, const char *name, int64_t n)
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

static int set_params(const struct xai_method_def *def, json_t *params, struct xai_param_values *v,
                      char *msg, size_t n)
{
    xai_method_defaults(def, v);
    const char *key;
    json_t *val;
    json_object_foreach(params, key, val)
    {
        int i = xai_method_param_index(def, key);
        if (i < 0) return snprintf(msg, n, "no parameter '%s'", key), -1;
        const struct xai_param_def *p = &def->params[i];
        if (p->type == XAI_PARAM_ENUM) {
            int k = 0;
            while (p->choices[k] &&
                   strcmp(p->choices[k], json_string_value(val) ? json_string_value(val) : ""))
                k++;
            if (!p->choices[k]) return snprintf(msg, n, "'%s': no such choice", key), -1;
            v->v[i] = k;
        } else if (json_is_boolean(val)) {
            v->v[i] = json_is_true(val);
        } else {
            v->v[i] = json_number_value(val);
        }
        struct xai_err err = {{0}};
        if (xai_method_param_check(def, i, v->v[i], &err))
            return snprintf(msg, n, "%s", err.msg), -1;
    }
    return 0;
}

static void compare(const float *a, const float *b, int64_t n, double *pearson, double *rel_l2)
{
    double ma = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= (double)n, mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0, d2 = 0, b2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = a[i] - ma, y = b[i] - mb;
        sab += x * y, saa += x * x, sbb += y * y;
        d2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        b2 += (double)b[i] * b[i];
    }
    *pearson = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : (saa == sbb ? 1.0 : 0.0);
    *rel_l2 = b2 > 0 ? sqrt(d2 / b2) : sqrt(d2);
}

/* Methods whose maps average input gradients over many sampled inputs (noise, a path): each
 * sample crosses many ReLU gates near zero, where any change of float32 rounding flips a few
 * and moves the average. With the plain convolutions (XAI_WINOGRAD=0: rounding within 1e-7 of
 * PyTorch's) they are held to the bar of every method. With the engine's default Winograd
 * F(4x4, 3x3) convolutions (rounding 1e-5) the "rounding" run holds them to pearson > 0.9995
 * and rel-L2 < SAMPLED_L2, and metrics to their "tol_rounding" where the reference gives one.
 * Measured on resnet18's integrated gradients: plain convolutions with OpenBLAS's Haswell
 * kernels instead of SkylakeX already give rel-L2 7.3e-3 (pearson 0.99997), Winograd 1.0e-2
 * (0.99995); smoothgrad about 1e-3. A wrong noise scale or path gives 1e-1 and more. */
static bool rounding_mode;
#define SAMPLED_L2 2e-2
static const char *const sampled_methods[] = {"integrated_gradients", "smoothgrad", "smoothgrad_sq",
                                              "vargrad", NULL};

static bool samples_inputs(const char *method)
{
    for (int i = 0; sampled_methods[i]; i++)
        if (strcmp(method, sampled_methods[i]) == 0) return true;
    return false;
}

struct inputs {
    float *x, *ref, *segf;
    int32_t *seg;
};

static void free_inputs(struct inputs *in)
{
    free(in->x);
    free(in->ref);
    free(in->segf);
    free(in->seg);
}

/* The engine's metrics against the reference's {name: {value, tol}}; appends the comparison
 * to msg. Returns 1 when every expected metric is there and within its tolerance. */
static int check_metrics(const struct xai_method_result *res, json_t *expect, char *msg, size_t n)
{
    int ok = 1;
    const char *key;
    json_t *e;
    json_object_foreach(expect, key, e)
    {
        double want = json_number_value(json_object_get(e, "value"));
        json_t *tr = json_object_get(e, "tol_rounding");
        double tol = json_number_value(rounding_mode && tr ? tr : json_object_get(e, "tol"));
        int i = 0;
        while (i < res->n_metrics && strcmp(res->metrics[i].name, key)) i++;
        size_t len = strlen(msg);
        if (i == res->n_metrics) {
            snprintf(msg + len, n - len, "  %s MISSING", key);
            ok = 0;
            continue;
        }
        int good = fabs(res->metrics[i].value - want) <= tol;
        snprintf(msg + len, n - len, "  %s %.4g (ref %.4g%s)", key, res->metrics[i].value, want,
                 good ? "" : ", OFF");
        ok &= good;
    }
    return ok;
}

/* Class maps (dominant_class): the engine's class must be the reference's wherever the
 * reference strength is clearly positive (elsewhere near-ties may go either way); at least
 * 99.9 % agreement. Appends the agreement to msg. */
static int check_classes(const char *dir, const char *file, const struct xai_method_result *res,
                         const float *strength, int64_t hw, char *msg, size_t n)
{
    float *ref = read_bin(dir, file, hw);
    size_t len = strlen(msg);
    if (!ref || !res->classes) {
        snprintf(msg + len, n - len, "  classes MISSING");
        free(ref);
        return 0;
    }
    float top = 0;
    for (int64_t i = 0; i < hw; i++) top = strength[i] > top ? strength[i] : top;
    int64_t same = 0, counted = 0;
    for (int64_t i = 0; i < hw; i++) {
        if (!(strength[i] > 1e-3f * top)) continue;
        counted++;
        same += res->classes[i] == (int32_t)ref[i];
    }
    free(ref);
    double agree = counted ? (double)same / (double)counted : 0;
    snprintf(msg + len, n - len, "  classes %.4f of %lld", agree, (long long)counted);
    return agree >= 0.999;
}

static int run_case(const char *dir, json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *mname = json_string_value(json_object_get(c, "method"));
    char msg[600] = "";
    struct xai_err err = {{0}};
    const struct xai_method_def *def = xai_method_find(mname);
    struct loaded *l = def ? get_model(json_string_value(json_object_get(c, "onnx")), &err) : NULL;
    struct xai_param_values pv;
    struct inputs in = {0};
    struct xai_method_result res = {0};
    int ok = 0;
    if (!def) {
        snprintf(msg, sizeof msg, "the engine has no method '%s'", mname);
        goto done;
    }
    if (!l) {
        snprintf(msg, sizeof msg, "load: %s", err.msg);
        goto done;
    }
    if (set_params(def, json_object_get(c, "params"), &pv, msg, sizeof msg)) goto done;
    json_t *sh = json_object_get(c, "input_shape");
    struct xai_tensor x = {{4, {1, 0, 0, 0}}, NULL};
    for (int i = 1; i < 4; i++) x.shape.d[i] = json_integer_value(json_array_get(sh, i));
    int64_t hw = x.shape.d[2] * x.shape.d[3];
    in.x = read_bin(dir, json_string_value(json_object_get(c, "input")), xai_shape_numel(&x.shape));
    in.ref = read_bin(dir, json_string_value(json_object_get(c, "map")), hw);
    in.segf = read_bin(dir, json_string_value(json_object_get(c, "segments")), hw);
    in.seg = malloc(sizeof(int32_t) * (size_t)hw);
    if (!in.x || !in.ref || !in.segf || !in.seg) {
        snprintf(msg, sizeof msg, "cannot read the case's files");
        goto done;
    }
    for (int64_t i = 0; i < hw; i++) in.seg[i] = (int32_t)in.segf[i];
    x.data = in.x;
    const xai_model *m = l->m;
    int attention[8], n_att = 0;
    json_t *att = json_object_get(c, "attention");
    for (size_t i = 0; i < json_array_size(att) && n_att < 8; i++)
        attention[n_att++] = xai_model_find(m, json_string_value(json_array_get(att, i)));
    const char *oname = json_string_value(json_object_get(c, "output"));
    struct xai_method_model mm = {
        m,
        oname ? xai_model_find(m, oname) : m->outputs[0],
        xai_model_find(m, json_string_value(json_object_get(c, "layer"))),
        xai_model_find(m, json_string_value(json_object_get(c, "head_weight"))),
        xai_model_find(m, json_string_value(json_object_get(c, "head_bias"))),
        false,
        (float)json_number_value(json_object_get(c, "input_lo")),
        (float)json_number_value(json_object_get(c, "input_hi")),
        xai_model_find(m, json_string_value(json_object_get(c, "reconstruction"))),
        attention,
        n_att};
    struct xai_method_req req = {&mm,
                                 l->s,
                                 &x,
                                 (int)json_integer_value(json_object_get(c, "target")),
                                 mm.cam_layer,
                                 &pv,
                                 (uint64_t)json_integer_value(json_object_get(c, "seed")),
                                 (int)json_integer_value(json_object_get(c, "max_batch")),
                                 NULL,
                                 NULL,
                                 in.seg};
    xai_status st = def->run(&req, &res, &err);
    if (st) {
        snprintf(msg, sizeof msg, "run: %s: %s", xai_status_code(st), err.msg);
        goto done;
    }
    if ((int64_t)res.height * res.width != hw) {
        snprintf(msg, sizeof msg, "map is %dx%d", res.width, res.height);
        goto done;
    }
    double r, e;
    compare(res.map, in.ref, hw, &r, &e);
    ok = rounding_mode && samples_inputs(mname) ? r > 0.9995 && e < SAMPLED_L2
                                                : r > 0.999 && e < 1e-3;
    snprintf(msg, sizeof msg, "pearson %.6f  rel-L2 %.2e", r, e);
    const char *cls = json_string_value(json_object_get(c, "classes"));
    if (cls) ok &= check_classes(dir, cls, &res, in.ref, hw, msg, sizeof msg);
    json_t *expect = json_object_get(c, "metrics");
    if (json_object_size(expect)) {
        ok &= check_metrics(&res, expect, msg, sizeof msg);
        goto done;
    }
    for (int i = 0; i < res.n_metrics; i++) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "  %s %.4g", res.metrics[i].name,
                 res.metrics[i].value);
    }
done:
    printf("%s  %-42s %s\n", ok ? "PASS" : "FAIL", name, msg);
    xai_method_result_reset(&res);
    free_inputs(&in);
    return ok;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 3) return 1;
    for (int i = 2; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

/* Every method of the engine's table must have at least one reference case. */
static int check_coverage(json_t *cases)
{
    int n, missing = 0;
    const struct xai_method_def *const *all = xai_method_all(&n);
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (size_t i = 0; i < json_array_size(cases); i++)
            found |=
                !strcmp(all[k]->name,
                        json_string_value(json_object_get(json_array_get(cases, i), "method")));
        if (!found) printf("FAIL  method %s has no PyTorch reference case\n", all[k]->name);
        missing += !found;
    }
    return missing;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_methods FIXTURE_DIR [substring...]\n");
        return 2;
    }
    const char *wino = getenv("XAI_WINOGRAD");
    rounding_mode = !(wino && !strcmp(wino, "0")); /* the engine's default: Winograd on */
    printf("conv rounding: %s\n", rounding_mode ? "Winograd (default)" : "plain (XAI_WINOGRAD=0)");
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", argv[1]);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *cases = json_object_get(root, "cases");
    if (!json_is_array(cases)) {
        fprintf(stderr, "test_methods: cannot read %s: %s\n", path, jerr.text);
        return 2;
    }
    int passed = 0, failed = argc < 3 ? check_coverage(cases) : 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        if (!selected(json_string_value(json_object_get(c, "name")), argc, argv)) continue;
        if (run_case(argv[1], c))
            passed++;
        else
            failed++;
    }
    for (int i = 0; i < n_models; i++) {
        xai_session_free(models[i].s);
        xai_model_free(models[i].m);
        free(models[i].path);
    }
    json_decref(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}
