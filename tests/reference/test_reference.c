/*
 * test_reference.c - compares the engine with PyTorch on the models exported by
 * tools/make_reference.py.
 *
 * usage: test_reference FIXTURE_DIR [SUBSTRING...]
 *
 * Reads FIXTURE_DIR/manifest.json. For every case (optionally only those whose name contains
 * one of the SUBSTRINGs) it loads the ONNX file, runs the forward pass on the recorded batch
 * and compares the logits with PyTorch's by max|a-b| / max|b|; then it seeds the backward
 * pass at the output with a one-hot on the target class for every batch item and compares the
 * gradient at the input with PyTorch's d(sum_b logits[b,t]) / d input by cosine similarity
 * (the relative L2 error is printed too). The same is repeated at batch size 1 on the first
 * item, in the same session, to check the dynamic batch axis.
 *
 * Prints one line per case and a last line "N passed, M failed". Exits 1 when a case failed
 * or none ran, 2 on a bad command line or manifest, else 0.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "session.h"

/* Defaults; the manifest's "tolerances" may tighten or loosen them. */
static double tol_logits = 1e-4; /* max|a-b| / max|b| */
static double tol_cos = 0.9999;  /* cosine similarity of the input gradients */

struct ref_case {
    const char *name, *onnx, *input_name, *output_name;
    const char *input_file, *logits_file, *grad_file;
    struct xai_shape in_shape, out_shape;
    int target;
};

struct figures {
    double logits_rel, grad_cos, grad_l2;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void set_msg(char *msg, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* Reads exactly n little-endian float32 values (the host is assumed little-endian). */
static float *read_floats(const char *dir, const char *file, int64_t n, char *msg, size_t msg_n)
{
    char *path = join_path(dir, file);
    float *buf = path && n > 0 ? malloc((size_t)n * sizeof(float)) : NULL;
    FILE *f = buf ? fopen(path, "rb") : NULL;
    if (!f) {
        set_msg(msg, msg_n, "cannot read %s", path ? path : file);
        free(buf);
        free(path);
        return NULL;
    }
    size_t got = fread(buf, sizeof(float), (size_t)n, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != (size_t)n || extra != EOF) {
        set_msg(msg, msg_n, "%s does not hold %lld float32 values", path, (long long)n);
        free(buf);
        buf = NULL;
    }
    free(path);
    return buf;
}

static int parse_shape(json_t *arr, struct xai_shape *s)
{
    memset(s, 0, sizeof *s);
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > XAI_MAX_DIMS)
        return -1;
    s->ndim = (int)json_array_size(arr);
    for (int i = 0; i < s->ndim; i++) {
        json_t *v = json_array_get(arr, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 1) return -1;
        s->d[i] = json_integer_value(v);
    }
    return 0;
}

static const char *str_field(json_t *obj, const char *key, const char *dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static int parse_case(json_t *obj, struct ref_case *c)
{
    memset(c, 0, sizeof *c);
    c->name = str_field(obj, "name", NULL);
    c->onnx = str_field(obj, "onnx", NULL);
    c->input_name = str_field(obj, "input_name", "input");
    c->output_name = str_field(obj, "output_name", "logits");
    c->input_file = str_field(obj, "input", NULL);
    c->logits_file = str_field(obj, "logits", NULL);
    c->grad_file = str_field(obj, "grad", NULL);
    json_t *t = json_object_get(obj, "target");
    if (!c->name || !c->onnx || !c->input_file || !c->logits_file || !c->grad_file ||
        !json_is_integer(t))
        return -1;
    c->target = (int)json_integer_value(t);
    if (parse_shape(json_object_get(obj, "input_shape"), &c->in_shape) ||
        parse_shape(json_object_get(obj, "logits_shape"), &c->out_shape))
        return -1;
    if (c->out_shape.ndim != 2 || c->out_shape.d[0] != c->in_shape.d[0] || c->target < 0 ||
        c->target >= c->out_shape.d[1])
        return -1;
    return 0;
}

/* max|a-b| / max|b|; NaN in a gives NaN. */
static double rel_max_err(const float *a, const float *b, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > num || isnan(d)) num = d;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return den > 0 ? num / den : num;
}

static void grad_figures(const float *a, const float *b, int64_t n, struct figures *f)
{
    double ab = 0, aa = 0, bb = 0, dd = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        ab += x * y;
        aa += x * x;
        bb += y * y;
        dd += (x - y) * (x - y);
    }
    f->grad_cos = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
    f->grad_l2 = bb > 0 ? sqrt(dd / bb) : sqrt(dd);
}

static bool figures_ok(const struct figures *f)
{
    /* Written so that NaN fails. */
    return f->logits_rel < tol_logits && f->grad_cos > tol_cos;
}

/* Appends which check of batch `label` failed to buf. */
static void why_failed(char *buf, size_t n, const char *label, const struct figures *f)
{
    size_t len = strlen(buf);
    if (!(f->logits_rel < tol_logits))
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, " %s logits >= %g;", label,
                                tol_logits);
    if (!(f->grad_cos > tol_cos) && len < n)
        snprintf(buf + len, n - len, " %s grad cos <= %g;", label, tol_cos);
}

/*
 * One forward + backward at batch size `batch` (<= the recorded batch): the first `batch`
 * items of the recorded input, logits and gradient. Returns 0 and fills f, or -1 with msg.
 */
static int run_batch(xai_session *s, const xai_model *m, const struct ref_case *c, int64_t batch,
                     const float *input, const float *logits, const float *grad, struct figures *f,
                     char *msg, size_t msg_n)
{
    struct xai_err err = {{0}};
    struct xai_tensor in = {c->in_shape, (float *)input};
    in.shape.d[0] = batch;
    int64_t in_n = xai_shape_numel(&in.shape), classes = c->out_shape.d[1];
    char a[96], b[96];

    xai_status st = xai_session_forward(s, &in, &err);
    if (st) {
        set_msg(msg, msg_n, "forward at batch %lld: %s: %s", (long long)batch, xai_status_code(st),
                err.msg);
        return -1;
    }
    int out_v = xai_model_find(m, c->output_name);
    if (out_v < 0 && m->n_outputs > 0) out_v = m->outputs[0];
    const struct xai_tensor *out = xai_session_value(s, out_v);
    struct xai_shape want = c->out_shape;
    want.d[0] = batch;
    if (!out) {
        set_msg(msg, msg_n, "batch %lld: no value for output '%s'", (long long)batch,
                c->output_name);
        return -1;
    }
    if (!xai_shape_eq(&out->shape, &want)) {
        set_msg(msg, msg_n, "batch %lld: output '%s' has shape %s, PyTorch gives %s",
                (long long)batch, c->output_name, xai_shape_str(&out->shape, a, sizeof a),
                xai_shape_str(&want, b, sizeof b));
        return -1;
    }
    f->logits_rel = rel_max_err(out->data, logits, batch * classes);

    float *onehot = calloc((size_t)(batch * classes), sizeof(float));
    if (!onehot) {
        set_msg(msg, msg_n, "out of memory");
        return -1;
    }
    for (int64_t i = 0; i < batch; i++) onehot[i * classes + c->target] = 1.0f;
    struct xai_tensor seed_t = {want, onehot};
    struct xai_grad_seed seed = {out_v, &seed_t};
    st = xai_session_backward(s, &seed, 1, NULL, &err);
    free(onehot);
    if (st) {
        set_msg(msg, msg_n, "backward at batch %lld: %s: %s", (long long)batch, xai_status_code(st),
                err.msg);
        return -1;
    }
    const struct xai_tensor *g = xai_session_grad(s, m->input);
    if (!g || !g->data) {
        set_msg(msg, msg_n, "batch %lld: no gradient reached the input", (long long)batch);
        return -1;
    }
    if (!xai_shape_eq(&g->shape, &in.shape)) {
        set_msg(msg, msg_n, "batch %lld: input gradient has shape %s, the input %s",
                (long long)batch, xai_shape_str(&g->shape, a, sizeof a),
                xai_shape_str(&in.shape, b, sizeof b));
        return -1;
    }
    grad_figures(g->data, grad, in_n, f);
    return 0;
}

enum outcome { PASSED, FAILED };

static void print_figures(const char *label, const struct figures *f)
{
    printf("  %s logits %.1e grad cos 1-%.1e l2 %.1e", label, f->logits_rel, 1.0 - f->grad_cos,
           f->grad_l2);
}

static enum outcome run_case(const char *dir, const struct ref_case *c)
{
    char msg[768] = "";
    enum outcome res = FAILED;
    float *input = NULL, *logits = NULL, *grad = NULL;
    xai_model *m = NULL;
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    struct figures f2 = {0, 0, 0}, f1 = {0, 0, 0};
    double t0 = now(), t_load = 0, t_run = 0;
    int64_t in_n = xai_shape_numel(&c->in_shape), out_n = xai_shape_numel(&c->out_shape);
    int64_t batch = c->in_shape.d[0];

    if (!(input = read_floats(dir, c->input_file, in_n, msg, sizeof msg)) ||
        !(logits = read_floats(dir, c->logits_file, out_n, msg, sizeof msg)) ||
        !(grad = read_floats(dir, c->grad_file, in_n, msg, sizeof msg)))
        goto done;

    char *path = join_path(dir, c->onnx);
    xai_status st = path ? xai_model_load(path, &m, &err) : XAI_NO_MEMORY;
    free(path);
    t_load = now() - t0;
    if (st) {
        set_msg(msg, sizeof msg, "load %s: %s: %s", c->onnx, xai_status_code(st), err.msg);
        goto done;
    }
    if (m->fixed_batch) {
        set_msg(msg, sizeof msg, "exported with a dynamic batch axis, loaded as fixed batch %lld",
                (long long)m->fixed_batch);
        goto done;
    }
    if (xai_model_find(m, c->input_name) != m->input) {
        set_msg(msg, sizeof msg, "the model's input is not '%s'", c->input_name);
        goto done;
    }
    if ((st = xai_session_new(m, &s, &err))) {
        set_msg(msg, sizeof msg, "session: %s: %s", xai_status_code(st), err.msg);
        goto done;
    }
    double t1 = now();
    /* The recorded batch, then batch 1 in the same session (buffers sized for the larger). */
    if (run_batch(s, m, c, batch, input, logits, grad, &f2, msg, sizeof msg) ||
        run_batch(s, m, c, 1, input, logits, grad, &f1, msg, sizeof msg))
        goto done;
    t_run = now() - t1;
    res = figures_ok(&f2) && figures_ok(&f1) ? PASSED : FAILED;

done:
    if (msg[0]) {
        printf("FAIL  %-28s %s\n", c->name, msg);
    } else {
        printf("%s  %-28s", res == PASSED ? "PASS" : "FAIL", c->name);
        char label[32];
        snprintf(label, sizeof label, "b%lld:", (long long)batch);
        print_figures(label, &f2);
        print_figures("| b1:", &f1);
        printf("  | load %.2fs run %.2fs", t_load, t_run);
        if (res == FAILED) {
            char why[160] = "";
            why_failed(why, sizeof why, label, &f2);
            why_failed(why, sizeof why, "b1:", &f1);
            printf("  FAILED:%s", why);
        }
        printf("\n");
    }
    fflush(stdout);
    xai_session_free(s);
    xai_model_free(m);
    free(input);
    free(logits);
    free(grad);
    return res;
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc <= 2) return true;
    for (int i = 2; i < argc; i++)
        if (strstr(name, argv[i])) return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [SUBSTRING...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char *mpath = join_path(dir, "manifest.json");
    json_error_t jerr;
    json_t *root = mpath ? json_load_file(mpath, 0, &jerr) : NULL;
    if (!root) {
        fprintf(stderr, "test_reference: cannot read %s: %s (run tools/make_reference.py %s)\n",
                mpath ? mpath : dir, mpath ? jerr.text : "out of memory", dir);
        free(mpath);
        return 2;
    }
    free(mpath);
    json_t *tol = json_object_get(root, "tolerances");
    json_t *tl = json_object_get(tol, "logits_rel_max"), *tc = json_object_get(tol, "grad_cos_min");
    if (json_is_number(tl)) tol_logits = json_number_value(tl);
    if (json_is_number(tc)) tol_cos = json_number_value(tc);
    json_t *cases = json_object_get(root, "cases");
    if (!json_is_array(cases) || json_array_size(cases) == 0) {
        fprintf(stderr, "test_reference: %s/manifest.json lists no cases\n", dir);
        json_decref(root);
        return 2;
    }
    printf("reference tests from %s: logits max|a-b|/max|b| < %g, input gradient cosine > %g\n",
           dir, tol_logits, tol_cos);

    int passed = 0, failed = 0;
    double t0 = now();
    for (size_t i = 0; i < json_array_size(cases); i++) {
        struct ref_case c;
        if (parse_case(json_array_get(cases, i), &c)) {
            printf("FAIL  case %zu of the manifest is malformed\n", i);
            failed++;
            continue;
        }
        if (!selected(c.name, argc, argv)) continue;
        switch (run_case(dir, &c)) {
        case PASSED:
            passed++;
            break;
        case FAILED:
            failed++;
            break;
        }
    }
    json_decref(root);
    printf("total %.1fs\n", now() - t0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}
