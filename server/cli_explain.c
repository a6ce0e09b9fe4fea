/*
 * cli_explain.c - `xaid explain` and `xaid methods`: an attribution method on one image file,
 * through the same api/ code as the server, writing the overlay/heatmap PNGs and the JSON
 * answer the HTTP API gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "explain.h"
#include "json_out.h"

struct explain_args {
    const char *model, *image, *method, *target, *layer, *out, *heatmap, *json;
    const char *colormap, *opacity, *seed;
    const char *params[XAI_MAX_PARAMS * 2];
    int n_params;
    bool evaluate;
};

static int usage(void)
{
    fprintf(stderr,
            "usage: xaid explain --model DIR --image FILE [--method M] [--param NAME=VALUE ...]\n"
            "                    [--target INDEX|LABEL] [--layer ONNX_NAME] [--colormap NAME]\n"
            "                    [--opacity 0..1] [--seed N] [--out OVERLAY.png]\n"
            "                    [--heatmap HEATMAP.png] [--json OUT.json] [--evaluate]\n"
            "  --evaluate adds deletion/insertion curves and their areas (faithfulness)\n"
            "  method defaults to gradcam; `xaid methods` lists every method and parameter\n");
    return 2;
}

static const char **flag_slot(struct explain_args *a, const char *flag)
{
    static const char *const names[] = {"--model",    "--image",   "--method",  "--target",
                                        "--layer",    "--out",     "--heatmap", "--json",
                                        "--colormap", "--opacity", "--seed"};
    const char **slots[] = {&a->model,   &a->image, &a->method,   &a->target,  &a->layer, &a->out,
                            &a->heatmap, &a->json,  &a->colormap, &a->opacity, &a->seed};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(flag, names[i])) return slots[i];
    return NULL;
}

static int parse_args(int argc, char **argv, struct explain_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--evaluate")) {
            a->evaluate = true;
            continue;
        }
        if (i + 1 >= argc) return -1;
        if (!strcmp(argv[i], "--param")) {
            if (a->n_params >= XAI_MAX_PARAMS * 2) return -1;
            a->params[a->n_params++] = argv[++i];
            continue;
        }
        const char **slot = flag_slot(a, argv[i]);
        if (!slot) return -1;
        *slot = argv[++i];
    }
    return a->model && a->image ? 0 : -1;
}

static xai_status set_params(const struct explain_args *a, struct api_explain_opts *o,
                             struct xai_err *err)
{
    xai_method_defaults(o->method, &o->params);
    for (int i = 0; i < a->n_params; i++) {
        char name[64];
        const char *eq = strchr(a->params[i], '=');
        if (!eq || eq == a->params[i] || (size_t)(eq - a->params[i]) >= sizeof name)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "--param takes NAME=VALUE");
        memcpy(name, a->params[i], (size_t)(eq - a->params[i]));
        name[eq - a->params[i]] = '\0';
        xai_status st = api_param_set_text(o->method, name, eq + 1, &o->params, err);
        if (st) return st;
    }
    return XAI_OK;
}

static xai_status set_opts(const struct explain_args *a, const struct api_model *m,
                           struct api_explain_opts *o, struct xai_err *err)
{
    api_explain_opts_default(o);
    const char *name = a->method ? a->method : "gradcam";
    if (!(o->method = xai_method_find(name)))
        return xai_fail(err, XAI_NOT_FOUND, "no such method; `xaid methods` lists them");
    xai_status st = set_params(a, o, err);
    if (!st && a->target) st = api_target_parse(m, a->target, &o->target, err);
    if (!st && a->layer && (o->layer = xai_model_find(m->engine, a->layer)) < 0)
        st = xai_fail(err, XAI_NOT_FOUND, "model '%s' has no tensor of that name", m->name);
    if (!st && a->colormap) st = xai_colormap_parse(a->colormap, &o->render.cmap, err);
    if (a->colormap) o->cmap_auto = false;
    if (!st && a->opacity) {
        char *end;
        o->render.opacity = strtof(a->opacity, &end);
        if (*end || !(o->render.opacity >= 0.f && o->render.opacity <= 1.f))
            st = xai_fail(err, XAI_INVALID_ARGUMENT, "--opacity must be from 0 to 1");
    }
    if (!st && a->seed) o->seed = strtoull(a->seed, NULL, 10);
    o->evaluate = a->evaluate;
    o->outputs = API_OUT_RAW | (a->out ? API_OUT_OVERLAY : 0) | (a->heatmap ? API_OUT_HEATMAP : 0);
    return st;
}

static int write_file(const char *path, const struct xai_blob *b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "xaid: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static json_t *answer_json(const struct api_model *m, const struct api_explain_opts *o,
                           const struct api_explanation *e)
{
    json_t *j = api_prediction_json(m, &e->scores);
    if (!j) return NULL;
    json_object_set_new(j, "target",
                        json_pack("{s:i, s:s}", "index", e->target, "label", m->labels[e->target]));
    json_object_set_new(j, "explanation", api_explanation_json(m, o, e));
    json_object_set_new(j, "timing_ms",
                        json_pack("{s:f, s:f, s:f}", "forward", e->ms_forward, "explain",
                                  e->ms_explain, "encode", e->ms_encode));
    return j;
}

static int write_outputs(const struct explain_args *a, const struct api_model *m,
                         const struct api_explain_opts *o, const struct api_explanation *e)
{
    int rc = 0;
    if (a->out) rc |= write_file(a->out, &e->overlay_png);
    if (a->heatmap) rc |= write_file(a->heatmap, &e->heatmap_png);
    json_t *j = answer_json(m, o, e);
    if (!j) return 1;
    if (a->json) {
        if (json_dump_file(j, a->json, API_JSON_FLAGS | JSON_INDENT(2))) {
            fprintf(stderr, "xaid: cannot write %s\n", a->json);
            rc = 1;
        }
        json_decref(j);
    } else {
        json_object_del(json_object_get(j, "explanation"), "raw");
        json_object_del(json_object_get(j, "explanation"), "overlay_png");
        json_object_del(json_object_get(j, "explanation"), "heatmap_png");
        rc |= cli_print_json(j);
    }
    return rc;
}

static int run(const struct explain_args *a, const struct api_model *m, const unsigned char *bytes,
               size_t len)
{
    struct xai_err err = {{0}};
    struct api_explain_opts o;
    struct api_input in;
    struct api_explanation e = {0};
    xai_session *s = NULL;
    xai_status st = set_opts(a, m, &o, &err);
    if (st) return cli_fail(st, &err);
    if ((st = api_prepare(m, bytes, len, NULL, &in, &err))) return cli_fail(st, &err);
    if (!(st = xai_session_new(m->engine, &s, &err))) st = api_explain(m, s, &in, &o, &e, &err);
    int rc = st ? cli_fail(st, &err) : write_outputs(a, m, &o, &e);
    api_explanation_reset(&e);
    xai_session_free(s);
    api_input_reset(&in);
    return rc;
}

int cli_explain(int argc, char **argv)
{
    struct explain_args a;
    if (parse_args(argc, argv, &a)) return usage();
    struct xai_err err = {{0}};
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
