/* cli_model.c - `xaid info` and `xaid predict --input` (raw tensors): drive the engine alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "session.h"

/* Loads DIR/model.onnx when path is a folder, else the file itself. */
static xai_model *load(const char *path)
{
    char buf[4096];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(buf, sizeof buf, "%s/model.onnx", path);
        path = buf;
    }
    xai_model *m = NULL;
    struct xai_err err = {{0}};
    xai_status s = xai_model_load(path, &m, &err);
    if (s) {
        fprintf(stderr, "xaid: %s: %s (%s)\n", path, err.msg, xai_status_code(s));
        return NULL;
    }
    return m;
}

int cli_info(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xaid info MODEL.onnx|MODEL_DIR\n");
        return 2;
    }
    xai_model *m = load(argv[1]);
    if (!m) return 1;
    char sh[128];
    const struct xai_value *in = &m->values[m->input];
    printf("model     %s\nsha256    %s\nproducer  %s\nopset     %lld\n", argv[1], m->sha256,
           m->producer ? m->producer : "", (long long)m->opset);
    printf("input     %s %s (batch %s)\n", in->name, xai_shape_str(&in->shape, sh, sizeof sh),
           m->fixed_batch ? "fixed" : "dynamic");
    for (int i = 0; i < m->n_outputs; i++)
        printf("output    %s %s\n", m->values[m->outputs[i]].name,
               xai_shape_str(&m->values[m->outputs[i]].shape, sh, sizeof sh));
    int64_t macs = xai_model_macs(m);
    printf("params    %lld\nflops     %.3f GFLOP per image (%lld multiply-adds)\nnodes     %d\n\n",
           (long long)m->n_params, 2e-9 * (double)macs, (long long)macs, m->n_nodes);
    printf("%-5s %-22s %-40s %s\n", "#", "op", "output", "shape");
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        const struct xai_value *o = &m->values[n->out[0]];
        printf("%-5d %-22s %-40s %s\n", k, n->op->name, o->name,
               xai_shape_str(&o->shape, sh, sizeof sh));
    }
    xai_model_free(m);
    return 0;
}

static int parse_shape(const char *s, struct xai_shape *out)
{
    memset(out, 0, sizeof *out);
    while (*s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v <= 0 || v > (1 << 20) || out->ndim >= XAI_MAX_DIMS) return -1;
        out->d[out->ndim++] = v;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        s = end;
    }
    return out->ndim ? 0 : -1;
}

static float *read_floats(const char *path, int64_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "xaid: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    float *d = malloc(sizeof(float) * (size_t)n);
    size_t got = d ? fread(d, sizeof(float), (size_t)n, f) : 0;
    int extra = fgetc(f);
    fclose(f);
    if (!d || got != (size_t)n || extra != EOF) {
        fprintf(stderr, "xaid: %s must hold exactly %lld float32 values\n", path, (long long)n);
        free(d);
        return NULL;
    }
    return d;
}

static void print_output(const struct xai_tensor *t, const char *name)
{
    int64_t n = xai_shape_numel(&t->shape);
    char sh[128];
    printf("%s %s\n", name, xai_shape_str(&t->shape, sh, sizeof sh));
    for (int64_t i = 0; i < n; i++)
        printf("%.9g%s", t->data[i], (i + 1) % 8 && i + 1 < n ? " " : "\n");
}

static int run_predict(xai_model *m, const struct xai_tensor *x, const char *out_path)
{
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    xai_status st = xai_session_new(m, &s, &err);
    if (!st) st = xai_session_forward(s, x, &err);
    if (st) {
        fprintf(stderr, "xaid: %s (%s)\n", err.msg, xai_status_code(st));
        xai_session_free(s);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < m->n_outputs; i++) {
        const struct xai_tensor *t = xai_session_output(s, i);
        print_output(t, m->values[m->outputs[i]].name);
        if (out_path && i == 0) {
            FILE *f = fopen(out_path, "wb");
            size_t n = (size_t)xai_shape_numel(&t->shape);
            if (!f || fwrite(t->data, sizeof(float), n, f) != n) rc = 1;
            if (f && fclose(f)) rc = 1;
            if (rc) fprintf(stderr, "xaid: cannot write %s\n", out_path);
        }
    }
    xai_session_free(s);
    return rc;
}

int cli_predict_raw(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *shape = NULL, *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "--input"))
            input = argv[i + 1];
        else if (!strcmp(argv[i], "--shape"))
            shape = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else
            model = NULL, i = argc;
    }
    struct xai_shape sh;
    if (!model || !input || !shape || parse_shape(shape, &sh)) {
        fprintf(stderr, "usage: xaid predict --model DIR|FILE --input FILE.bin --shape N,C,H,W "
                        "[--out OUT.bin]\n  FILE.bin holds float32 values, little-endian, NCHW\n");
        return 2;
    }
    xai_model *m = load(model);
    if (!m) return 1;
    struct xai_tensor x = {sh, read_floats(input, xai_shape_numel(&sh))};
    int rc = x.data ? run_predict(m, &x, out) : 1;
    free(x.data);
    xai_model_free(m);
    return rc;
}
