/*
 * cli_inspect.c - `xaid filters|features|maximize|embed|views`: the inspection views from the
 * command line, through the same api/ code as the HTTP routes (api/views.h).
 *
 *   xaid filters  --model DIR [--layer NAME] [--NAME VALUE ...] [--out GRID.png] [--json F]
 *   xaid features --model DIR --image FILE [--layer NAME] [...] [--out GRID.png] [--json F]
 *   xaid maximize --model DIR [--target T] [...] [--out IMAGE.png] [--json F]
 *   xaid embed    --model DIR [--labels L1,L2,...] [...] [--out PLOT.png] [--json F] FILE...
 *
 * Every other `--NAME VALUE` is a parameter of the view (`xaid views` lists them). embed takes
 * image files or one zip/tar archive of images. Without --json the answer is printed without
 * its base64 fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cli.h"
#include "json_out.h"
#include "views.h"

#define MAX_FILES XAI_EMBED_MAX_IMAGES

struct inspect_args {
    const char *model, *image, *out, *json;
    const char *names[API_MAX_VIEW_ARGS], *values[API_MAX_VIEW_ARGS];
    int n;
    const char *files[MAX_FILES];
    int n_files;
};

static int usage(const char *view)
{
    fprintf(stderr,
            "usage: xaid %s --model DIR%s [--NAME VALUE ...] [--out FILE.png] [--json OUT.json]%s\n"
            "  `xaid views` lists every view's parameters\n",
            view, !strcmp(view, "features") ? " --image FILE" : "",
            !strcmp(view, "embed") ? " IMAGE...|ARCHIVE" : "");
    return 2;
}

static int parse(int argc, char **argv, struct inspect_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2)) {
            if (a->n_files >= MAX_FILES) return -1;
            a->files[a->n_files++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) return -1;
        const char *name = argv[i] + 2, *val = argv[++i];
        if (!strcmp(name, "model"))
            a->model = val;
        else if (!strcmp(name, "image"))
            a->image = val;
        else if (!strcmp(name, "out"))
            a->out = val;
        else if (!strcmp(name, "json"))
            a->json = val;
        else if (a->n < API_MAX_VIEW_ARGS) {
            a->names[a->n] = name;
            a->values[a->n++] = val;
        } else
            return -1;
    }
    return a->model ? 0 : -1;
}

static xai_status set_all(const struct api_model *m, const struct inspect_args *a,
                          struct api_view_opts *o, struct xai_err *err)
{
    for (int i = 0; i < a->n; i++) {
        xai_status st = api_view_set_text(m, o, a->names[i], a->values[i], err);
        if (st) return st;
    }
    return XAI_OK;
}

static int write_png(const char *path, const json_t *b64)
{
    const char *s = json_string_value(b64);
    if (!s) return 0;
    size_t len = strlen(s), n;
    unsigned char *buf = malloc(len);
    int ok = buf && xai_base64_decode(s, len, buf, &n, NULL) == XAI_OK;
    FILE *f = ok ? fopen(path, "wb") : NULL;
    ok = f && fwrite(buf, 1, n, f) == n;
    if (f && fclose(f)) ok = 0;
    free(buf);
    if (!ok) fprintf(stderr, "xaid: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static void strip(json_t *j)
{
    static const char *const big[] = {"grid_png", "image_png", "scatter_png", "raw",
                                      "weights",  "mapped",    "features"};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) json_object_del(j, big[i]);
    json_t *pts = json_object_get(j, "points");
    if (json_array_size(pts) > 10) {
        json_t *head = json_array();
        for (size_t i = 0; i < 10; i++) json_array_append(head, json_array_get(pts, i));
        json_object_set_new(j, "points", head);
        json_object_set_new(j, "points_shown", json_integer(10));
    }
    json_t *trace = json_object_get(j, "trace");
    if (trace) {
        json_object_del(trace, "score");
        json_object_del(trace, "objective");
    }
}

static int finish(const struct inspect_args *a, json_t *j, const char *png_field)
{
    int rc = a->out ? write_png(a->out, json_object_get(j, png_field)) : 0;
    if (a->json) {
        if (json_dump_file(j, a->json, API_JSON_FLAGS | JSON_INDENT(2))) {
            fprintf(stderr, "xaid: cannot write %s\n", a->json);
            rc = 1;
        }
        json_decref(j);
        return rc;
    }
    strip(j);
    return rc | cli_print_json(j);
}

/* Loads the model and the options; runs fn. */
static int run_view(int argc, char **argv, enum api_view_kind kind,
                    xai_status (*fn)(const struct inspect_args *, const struct api_model *,
                                     const struct api_view_opts *, json_t **, struct xai_err *),
                    const char *png_field)
{
    struct inspect_args a;
    const char *name = api_view_def(kind)->name;
    if (parse(argc, argv, &a)) return usage(name);
    struct xai_err err = {{0}};
    struct api_model *m = NULL;
    struct api_view_opts o;
    api_view_opts_init(&o, kind);
    json_t *j = NULL;
    xai_status st = api_model_load(a.model, &m, &err);
    if (!st) st = set_all(m, &a, &o, &err);
    if (!st) st = fn(&a, m, &o, &j, &err);
    int rc = st ? cli_fail(st, &err) : finish(&a, j, png_field);
    api_view_opts_reset(&o);
    api_model_free(m);
    return rc;
}

static xai_status do_filters(const struct inspect_args *a, const struct api_model *m,
                             const struct api_view_opts *o, json_t **j, struct xai_err *err)
{
    if (a->image || a->n_files)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "filters takes no image");
    return api_filters_run(m, o, j, err);
}

static xai_status with_session(const struct api_model *m, xai_session **s, struct xai_err *err)
{
    return xai_session_new(m->engine, s, err);
}

static xai_status do_features(const struct inspect_args *a, const struct api_model *m,
                              const struct api_view_opts *o, json_t **j, struct xai_err *err)
{
    if (!a->image) return xai_fail(err, XAI_INVALID_ARGUMENT, "features needs --image FILE");
    size_t len = 0;
    unsigned char *bytes = cli_read_image(a->image, xai_image_limits_default().max_bytes, &len);
    if (!bytes) return xai_fail(err, XAI_IO, "cannot read the image");
    struct api_input in;
    xai_session *s = NULL;
    xai_status st = api_prepare(m, bytes, len, NULL, &in, err);
    free(bytes);
    if (st) return st;
    if (!(st = with_session(m, &s, err))) st = api_features_run(m, s, &in, o, j, err);
    xai_session_free(s);
    api_input_reset(&in);
    return st;
}

static xai_status do_maximize(const struct inspect_args *a, const struct api_model *m,
                              const struct api_view_opts *o, json_t **j, struct xai_err *err)
{
    xai_session *s = NULL;
    xai_status st = with_session(m, &s, err);
    if (!st) st = api_maximize_run(m, s, o, j, err);
    xai_session_free(s);
    return st;
}

struct files {
    unsigned char **data;
    struct api_image_ref *refs;
    int n;
    struct api_archive ar;
};

static void files_reset(struct files *f)
{
    for (int i = 0; i < f->n; i++) free(f->data[i]);
    free(f->data);
    free(f->refs);
    api_archive_reset(&f->ar);
}

static xai_status read_files(const struct inspect_args *a, struct files *f, struct xai_err *err)
{
    size_t max = xai_image_limits_default().max_bytes;
    f->data = calloc((size_t)a->n_files + 1, sizeof *f->data);
    f->refs = calloc((size_t)a->n_files + 1, sizeof *f->refs);
    if (!f->data || !f->refs) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (int i = 0; i < a->n_files; i++) {
        size_t len = 0;
        size_t cap = a->n_files == 1 ? API_ARCHIVE_MAX_TOTAL : max;
        if (!(f->data[i] = cli_read_image(a->files[i], cap, &len)))
            return xai_fail(err, XAI_IO, "cannot read image %d", i);
        f->refs[f->n++] = (struct api_image_ref){f->data[i], len};
    }
    if (f->n == 1 && api_archive_detect(f->refs[0].data, f->refs[0].len))
        return api_archive_read(f->refs[0].data, f->refs[0].len, XAI_EMBED_MAX_IMAGES, max, &f->ar,
                                err);
    return XAI_OK;
}

static xai_status do_embed(const struct inspect_args *a, const struct api_model *m,
                           const struct api_view_opts *o, json_t **j, struct xai_err *err)
{
    struct files f = {0};
    xai_session *s = NULL;
    xai_status st = read_files(a, &f, err);
    if (!st) st = with_session(m, &s, err);
    if (!st && f.ar.n)
        st = api_embed_run(m, s, f.ar.items, f.ar.n, NULL, o, j, err);
    else if (!st)
        st = api_embed_run(m, s, f.refs, f.n, NULL, o, j, err);
    xai_session_free(s);
    files_reset(&f);
    return st;
}

int cli_filters(int argc, char **argv)
{
    return run_view(argc, argv, API_VIEW_FILTERS, do_filters, "grid_png");
}

int cli_features(int argc, char **argv)
{
    return run_view(argc, argv, API_VIEW_FEATURES, do_features, "grid_png");
}

int cli_maximize(int argc, char **argv)
{
    return run_view(argc, argv, API_VIEW_MAXIMIZE, do_maximize, "image_png");
}

int cli_embed(int argc, char **argv)
{
    return run_view(argc, argv, API_VIEW_EMBED, do_embed, "scatter_png");
}

int cli_views(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--json")) return cli_print_json(api_views_json());
    if (argc != 1) {
        fprintf(stderr, "usage: xaid views [--json]\n");
        return 2;
    }
    for (int k = API_VIEW_FILTERS; k <= API_VIEW_EMBED; k++) {
        const struct api_view_def *v = api_view_def((enum api_view_kind)k);
        printf("%s\n  %s\n  arguments:", v->name, v->summary);
        for (int i = 0; v->named[i]; i++) printf(" %s", v->named[i]);
        printf("\n");
        for (int i = 0; i < v->n_params; i++) {
            const struct xai_param_def *p = &v->params[i];
            printf("    %-12s ", p->name);
            if (p->type == XAI_PARAM_ENUM) {
                for (int c = 0; p->choices[c]; c++) printf("%s%s", c ? "|" : "", p->choices[c]);
                printf(" [%s]", p->choices[(int)p->def]);
            } else if (p->type == XAI_PARAM_BOOL) {
                printf("true|false [%s]", p->def != 0 ? "true" : "false");
            } else {
                printf("%g..%g [%g]", p->min, p->max, p->def);
            }
            printf("  %s\n", p->help);
        }
    }
    return 0;
}
