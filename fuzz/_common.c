/* _common.c - the fuzz targets' shared checks and the request-parameter parsers; see _common.h. */
#include "_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "views.h"

#ifndef XAI_SOURCE_DIR
#error "XAI_SOURCE_DIR must name the source tree (fuzz/CMakeLists.txt sets it)"
#endif

_Noreturn void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", what, file, line);
    abort();
}

const struct api_model *fuzz_model(void)
{
    static struct api_model *model;
    if (model) return model;
    const char *dir = getenv("XAI_FUZZ_MODEL");
    struct xai_err err = {{0}};
    if (api_model_load(dir ? dir : XAI_SOURCE_DIR "/models/chest-demo", &model, &err)) {
        fprintf(stderr, "fuzz: cannot load the model: %s\n", err.msg);
        abort();
    }
    return model;
}

void fuzz_check_failure(xai_status st, const struct xai_err *err, const xai_status *allowed, int n)
{
    bool known = false;
    for (int i = 0; i < n; i++) known |= st == allowed[i];
    if (!known) fprintf(stderr, "unexpected status %s: %s\n", xai_status_code(st), err->msg);
    FUZZ_CHECK(known);
    FUZZ_CHECK(err->msg[0] != '\0');
    for (const char *c = err->msg; *c; c++) FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
}

/* ---- request parameters ---- */

static const xai_status parse_errors[] = {XAI_INVALID_ARGUMENT, XAI_NOT_FOUND};
#define N_PARSE_ERRORS ((int)(sizeof parse_errors / sizeof parse_errors[0]))

static void check_table(const struct xai_param_def *t, int n, const struct xai_param_values *v)
{
    for (int i = 0; i < n; i++) FUZZ_CHECK(xai_param_check(&t[i], v->v[i], NULL) == XAI_OK);
}

static void check_explain(const struct api_model *m, const struct api_explain_opts *o)
{
    FUZZ_CHECK(o->method != NULL);
    FUZZ_CHECK(xai_method_find(o->method->name) == o->method);
    check_table(o->method->params, o->method->n_params, &o->params);
    FUZZ_CHECK(o->target >= -1 && o->target < m->n_labels);
    FUZZ_CHECK(o->layer == -1 || api_model_layer(m, o->layer) >= 0);
    FUZZ_CHECK(o->outputs != 0 && (o->outputs & ~0xfu) == 0);
    FUZZ_CHECK(o->render.opacity >= 0 && o->render.opacity <= 1);
    FUZZ_CHECK(o->max_batch >= 1);
}

typedef xai_status (*explain_parser)(const struct api_model *m, const struct api_args *a,
                                     struct api_explain_opts *o, struct xai_err *err);

static void parse_explain(const struct api_model *m, const struct api_args *a, explain_parser p)
{
    struct api_explain_opts o;
    struct xai_err err = {{0}};
    xai_status st = p(m, a, &o, &err);
    if (st == XAI_OK)
        check_explain(m, &o);
    else
        fuzz_check_failure(st, &err, parse_errors, N_PARSE_ERRORS);
}

static xai_status view_set(const struct api_model *m, struct api_view_opts *o,
                           const struct api_arg *g, struct xai_err *err)
{
    return g->text ? api_view_set_text(m, o, g->name, g->text, err)
                   : api_view_set_json(m, o, g->name, g->json, err);
}

static void parse_view(const struct api_model *m, const struct api_args *a, enum api_view_kind k)
{
    struct api_view_opts o;
    struct xai_err err = {{0}};
    xai_status st = XAI_OK;
    api_view_opts_init(&o, k);
    for (int i = 0; !st && i < a->n; i++) st = view_set(m, &o, &a->a[i], &err);
    if (st == XAI_OK) {
        check_table(o.view->params, o.view->n_params, &o.params);
        FUZZ_CHECK(o.target >= -1 && o.target < m->n_labels);
        FUZZ_CHECK(o.n_labels >= 0 && (o.n_labels == 0 || o.labels));
        for (int i = 0; i < o.n_labels; i++)
            FUZZ_CHECK(o.labels[i] >= 0 && o.labels[i] < m->n_labels);
    } else {
        fuzz_check_failure(st, &err, parse_errors, N_PARSE_ERRORS);
    }
    api_view_opts_reset(&o);
}

void fuzz_parse_args(const struct api_model *m, const struct api_args *a)
{
    FUZZ_CHECK(a->n >= 0 && a->n <= API_MAX_ARGS);
    parse_explain(m, a, api_request_parse);
    parse_explain(m, a, api_report_parse);
    struct xai_err err = {{0}};
    xai_status st = api_predict_args_check(a, &err);
    FUZZ_CHECK(st == XAI_OK ? a->n == 0 : a->n > 0);
    if (st) fuzz_check_failure(st, &err, parse_errors, N_PARSE_ERRORS);
    for (int k = API_VIEW_FILTERS; k <= API_VIEW_EMBED; k++) parse_view(m, a, k);
}
