/*
 * cli_report.c - `xaid report`: the clinicians' report (api/report.h) on one image file,
 * written as the same HTML document (or JSON with --json) that
 * POST /v1/models/{model}/report answers. The image's file name never enters the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "report.h"

struct report_args {
    const char *model, *image, *method, *target, *layer, *out, *colormap, *opacity, *seed;
    const char *params[XAI_MAX_PARAMS];
    int n_params;
    bool evaluate, json;
};

static int usage(void)
{
    fprintf(stderr,
            "usage: xaid report --model DIR --image FILE --out REPORT.html [--json]\n"
            "                   [--method M] [--param NAME=VALUE ...] [--target INDEX|LABEL]\n"
            "                   [--layer ONNX_NAME] [--colormap NAME] [--opacity 0..1]\n"
            "                   [--seed N] [--evaluate]\n"
            "  a self-contained report for clinicians: findings, the method's overlay\n"
            "  (default " API_REPORT_METHOD ") beside grad-CAM's, caveats; --json writes the same\n"
            "  content as JSON; --evaluate adds the faithfulness curves\n");
    return 2;
}

static const char **flag_slot(struct report_args *a, const char *flag)
{
    static const char *const names[] = {"--model", "--image",    "--method",  "--target", "--layer",
                                        "--out",   "--colormap", "--opacity", "--seed"};
    const char **slots[] = {&a->model, &a->image,    &a->method,  &a->target, &a->layer,
                            &a->out,   &a->colormap, &a->opacity, &a->seed};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(flag, names[i])) return slots[i];
    return NULL;
}

static int parse_args(int argc, char **argv, struct report_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--evaluate") || !strcmp(argv[i], "--json")) {
            *(argv[i][2] == 'e' ? &a->evaluate : &a->json) = true;
            continue;
        }
        if (i + 1 >= argc) return -1;
        if (!strcmp(argv[i], "--param")) {
            if (a->n_params >= XAI_MAX_PARAMS) return -1;
            a->params[a->n_params++] = argv[++i];
            continue;
        }
        const char **slot = flag_slot(a, argv[i]);
        if (!slot) return -1;
        *slot = argv[++i];
    }
    return a->model && a->image && a->out ? 0 : -1;
}

static xai_status set_params(const struct report_args *a, struct api_explain_opts *o,
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

static xai_status set_opts(const struct report_args *a, const struct api_model *m,
                           struct api_explain_opts *o, struct xai_err *err)
{
    api_explain_opts_default(o);
    if (!(o->method = xai_method_find(a->method ? a->method : API_REPORT_METHOD)))
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
    return st;
}

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "xaid: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static int write_report(const struct report_args *a, const struct api_report *r)
{
    size_t len = 0;
    char *text = NULL;
    if (a->json) {
        json_t *j = api_report_json(r);
        text = j ? json_dumps(j, API_JSON_FLAGS | JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (text) len = strlen(text);
    } else {
        text = api_report_html(r, &len);
    }
    if (!text) {
        fprintf(stderr, "xaid: out of memory\n");
        return 1;
    }
    int rc = write_text(a->out, text, len);
    free(text);
    return rc;
}

static int run(const struct report_args *a, const struct api_model *m, const unsigned char *bytes,
               size_t len)
{
    struct xai_err err = {{0}};
    struct api_explain_opts o;
    struct api_input in;
    struct api_report r = {0};
    struct api_report_meta meta;
    xai_session *s = NULL;
    xai_status st = set_opts(a, m, &o, &err);
    if (st) return cli_fail(st, &err);
    if ((st = api_prepare(m, bytes, len, NULL, &in, &err))) return cli_fail(st, &err);
    api_report_meta_init(&meta, NULL, bytes, len);
    if (!(st = xai_session_new(m->engine, &s, &err)))
        st = api_report_make(m, s, &in, &o, &meta, &r, &err);
    int rc = st ? cli_fail(st, &err) : write_report(a, &r);
    api_report_reset(&r);
    xai_session_free(s);
    api_input_reset(&in);
    return rc;
}

int cli_report(int argc, char **argv)
{
    struct report_args a;
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
