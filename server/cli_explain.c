/*
 * cli_explain.c - `xaid explain` and `xaid methods`: an attribution method on one image file,
 * through the same api/ code as the server (api/request.h: the same parameter names, values and
 * checks), writing the overlay/heatmap PNGs and the JSON answer the HTTP API gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "json_out.h"
#include "request.h"

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

static int write_file(const char *path, const struct xai_blob *b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "xaid: cannot write %s\n", path);
    return ok ? 0 : 1;
}

/* The subcommand's own flags (cli_args.h). */
enum { OUT, HEATMAP, JSON_FILE };
static const char *const file_flags[] = {"--out", "--heatmap", "--json", NULL};

static int write_outputs(const struct cli_request *a, json_t *j, const struct api_explanation *e)
{
    int rc = 0;
    if (a->files[OUT]) rc |= write_file(a->files[OUT], &e->overlay_png);
    if (a->files[HEATMAP]) rc |= write_file(a->files[HEATMAP], &e->heatmap_png);
    if (!j) {
        fprintf(stderr, "xaid: out of memory\n");
        return 1;
    }
    if (a->files[JSON_FILE]) {
        if (json_dump_file(j, a->files[JSON_FILE], API_JSON_FLAGS | JSON_INDENT(2))) {
            fprintf(stderr, "xaid: cannot write %s\n", a->files[JSON_FILE]);
            rc = 1;
        }
        json_decref(j);
    } else {
        json_t *x = json_object_get(j, "explanation");
        json_object_del(x, "raw");
        json_object_del(x, "overlay_png");
        json_object_del(x, "heatmap_png");
        json_object_del(x, "colorbar_png");
        rc |= cli_print_json(j);
    }
    return rc;
}

static int run(const struct cli_request *a, const struct api_model *m, const unsigned char *bytes,
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
    o.outputs |= (a->files[OUT] ? API_OUT_OVERLAY : 0) | (a->files[HEATMAP] ? API_OUT_HEATMAP : 0);
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
    struct cli_request a;
    struct xai_err err = {{0}};
    int bad = cli_request_parse(argc, argv, file_flags, NULL, &a, &err);
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
