/*
 * cli_explain.c - `xaid explain` and `xaid methods`: an attribution method on one image file,
 * through the same api/ code as the server (api/request.h: the same parameter names, values and
 * checks), writing the overlay/heatmap PNGs and the JSON answer the HTTP API gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "request.h"

struct explain_args {
    const char *model, *image, *out, *heatmap, *json;
    char names[API_MAX_ARGS][64]; /* of --param NAME=VALUE */
    struct api_args args;         /* request parameters, as the server takes them */
};

static int usage(void)
{
    fprintf(stderr,
            "usage: xaid explain --model DIR --image FILE [--method M] [--param NAME=VALUE ...]\n"
            "                    [--target INDEX|LABEL] [--layer ONNX_NAME] [--colormap NAME]\n"
            "                    [--opacity 0..1] [--seed N] [--outputs LIST] [--evaluate]\n"
            "                    [--out OVERLAY.png] [--heatmap HEATMAP.png] [--json OUT.json]\n"
            "  the request parameters are the HTTP API's (docs/api.md); --param NAME=VALUE sets\n"
            "  any of them, e.g. a method's own (`xaid methods` lists every method and parameter)\n"
            "  --evaluate adds deletion/insertion curves and their areas (faithfulness)\n"
            "  --json writes the answer the server gives; without it a summary goes to stdout\n");
    return 2;
}

static const char **file_slot(struct explain_args *a, const char *flag)
{
    static const char *const names[] = {"--model", "--image", "--out", "--heatmap", "--json"};
    const char **slots[] = {&a->model, &a->image, &a->out, &a->heatmap, &a->json};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(flag, names[i])) return slots[i];
    return NULL;
}

/* --param NAME=VALUE: the name is copied (the value stays in argv). */
static int add_param(struct explain_args *a, const char *kv, struct xai_err *err)
{
    const char *eq = strchr(kv, '=');
    size_t n = eq ? (size_t)(eq - kv) : 0;
    if (!n || n >= sizeof a->names[0] || a->args.n >= API_MAX_ARGS) {
        xai_fail(err, XAI_INVALID_ARGUMENT, "--param takes NAME=VALUE");
        return -1;
    }
    char *name = a->names[a->args.n];
    memcpy(name, kv, n);
    name[n] = '\0';
    return api_args_add_text(&a->args, name, eq + 1, err) ? -1 : 0;
}

/* Flags --NAME VALUE for the request parameters with a name of their own. */
static const char *request_flag(const char *flag)
{
    static const char *const names[] = {"method",  "target", "layer",  "colormap",
                                        "opacity", "seed",   "outputs"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp(flag, "--", 2) && !strcmp(flag + 2, names[i])) return names[i];
    return NULL;
}

/* -1: usage; 1: a bad parameter (message in err); 0: ok. */
static int parse_args(int argc, char **argv, struct explain_args *a, struct xai_err *err)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *name = request_flag(argv[i]);
        const char **slot = file_slot(a, argv[i]);
        if (!strcmp(argv[i], "--evaluate")) {
            if (api_args_add_text(&a->args, "evaluate", "true", err)) return 1;
        } else if (i + 1 >= argc || (!name && !slot && strcmp(argv[i], "--param"))) {
            return -1;
        } else if (slot) {
            *slot = argv[++i];
        } else if (name) {
            if (api_args_add_text(&a->args, name, argv[++i], err)) return 1;
        } else if (add_param(a, argv[++i], err)) {
            return 1;
        }
    }
    return a->model && a->image ? 0 : -1;
}

static int write_file(const char *path, const struct xai_blob *b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "xaid: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static int write_outputs(const struct explain_args *a, json_t *j, const struct api_explanation *e)
{
    int rc = 0;
    if (a->out) rc |= write_file(a->out, &e->overlay_png);
    if (a->heatmap) rc |= write_file(a->heatmap, &e->heatmap_png);
    if (!j) {
        fprintf(stderr, "xaid: out of memory\n");
        return 1;
    }
    if (a->json) {
        if (json_dump_file(j, a->json, API_JSON_FLAGS | JSON_INDENT(2))) {
            fprintf(stderr, "xaid: cannot write %s\n", a->json);
            rc = 1;
        }
        json_decref(j);
    } else {
        json_t *x = json_object_get(j, "explanation");
        json_object_del(x, "raw");
        json_object_del(x, "overlay_png");
        json_object_del(x, "heatmap_png");
        rc |= cli_print_json(j);
    }
    return rc;
}

static int run(const struct explain_args *a, const struct api_model *m, const unsigned char *bytes,
               size_t len)
{
    struct xai_err err = {{0}};
    struct api_explain_opts o;
    struct api_explanation e = {0};
    struct api_timing t = {0};
    xai_session *s = NULL;
    double t0 = api_now_ms();
    xai_status st = api_request_parse(m, &a->args, &o, &err);
    if (st) return cli_fail(st, &err);
    o.outputs |= (a->out ? API_OUT_OVERLAY : 0) | (a->heatmap ? API_OUT_HEATMAP : 0);
    if (!(st = xai_session_new(m->engine, &s, &err)))
        st = api_run_explain(m, s, bytes, len, &o, &e, &t, &err);
    int rc;
    if (st) {
        rc = cli_fail(st, &err);
    } else {
        char id[33];
        api_request_id_new(id);
        t.total = api_now_ms() - t0;
        rc = write_outputs(a, api_explain_answer(id, m, &o, &e, &t), &e);
    }
    api_explanation_reset(&e);
    xai_session_free(s);
    return rc;
}

int cli_explain(int argc, char **argv)
{
    struct explain_args a;
    struct xai_err err = {{0}};
    int bad = parse_args(argc, argv, &a, &err);
    if (bad < 0) return usage();
    if (bad) return cli_fail(XAI_INVALID_ARGUMENT, &err);
    struct api_model *m = NULL;
    xai_status st = api_model_load(a.model, &m, &err);
    if (st) return cli_fail(st, &err);
    size_t len = 0;
    unsigned char *bytes = cli_read_image(a.image, xai_image_limits_default().max_bytes, &len);
    int rc = bytes ? run(&a, m, bytes, len) : 1;
    free(bytes);
    api_model_free(m);
    return rc;
}

static void print_method(const struct xai_method_def *m)
{
    printf("%s%s\n  %s\n  caveat: %s\n", m->name,
           m->needs & XAI_NEEDS_LAYER ? " (uses a layer)" : "", m->summary, m->caveat);
    for (int i = 0; i < m->n_params; i++) {
        const struct xai_param_def *p = &m->params[i];
        printf("    %-16s ", p->name);
        if (p->type == XAI_PARAM_ENUM) {
            for (int k = 0; p->choices[k]; k++) printf("%s%s", k ? "|" : "", p->choices[k]);
            printf(" [%s]", p->choices[(int)p->def]);
        } else if (p->type == XAI_PARAM_BOOL) {
            printf("true|false [%s]", p->def != 0 ? "true" : "false");
        } else {
            printf("%g..%g [%g]", p->min, p->max, p->def);
        }
        printf("  %s\n", p->help ? p->help : "");
    }
}

int cli_methods(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--json")) return cli_print_json(api_methods_json());
    if (argc != 1) {
        fprintf(stderr, "usage: xaid methods [--json]\n");
        return 2;
    }
    int n;
    const struct xai_method_def *const *all = xai_method_all(&n);
    for (int i = 0; i < n; i++) print_method(all[i]);
    return 0;
}
