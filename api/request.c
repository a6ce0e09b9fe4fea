/*
 * request.c - parameters by name, the pipeline of one request and its answer; see request.h.
 *
 * Parsing is two-pass: the method is found first (its own parameters depend on it), then every
 * argument is set in the order given, general names from a table and the rest from the method's
 * table (api/params.c). Arguments are collected before parsing so that a query string or a JSON
 * object may name them in any order.
 */
#include "request.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "json_mem.h"
#include "json_out.h"

double api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *api_arg_shown(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") != n)
        return "(a name with other characters than A-Z a-z 0-9 _ . -)";
    return name;
}

/* ---- collecting arguments ---- */

static xai_status add(struct api_args *a, const char *name, const char *text, const json_t *json,
                      struct xai_err *err)
{
    if (!name || !*name) return xai_fail(err, XAI_INVALID_ARGUMENT, "a parameter has no name");
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->a[i].name, name))
            return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' is given more than once",
                            api_arg_shown(name));
    if (a->n >= API_MAX_ARGS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "too many parameters (at most %d)",
                        API_MAX_ARGS);
    a->a[a->n++] = (struct api_arg){name, text, json};
    return XAI_OK;
}

xai_status api_args_add_text(struct api_args *a, const char *name, const char *text,
                             struct xai_err *err)
{
    return add(a, name, text ? text : "", NULL, err);
}

xai_status api_args_add_json(struct api_args *a, const char *name, const json_t *val,
                             struct xai_err *err)
{
    if (!val) return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' has no value", name);
    return add(a, name, NULL, val, err);
}

xai_status api_args_add_object(struct api_args *a, const json_t *obj, const char *skip,
                               struct xai_err *err)
{
    if (!json_is_object(obj))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "the parameters must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        if (skip && !strcmp(key, skip)) continue;
        xai_status st = api_args_add_json(a, key, val, err);
        if (st) return st;
    }
    return XAI_OK;
}

/* ---- reading one value ---- */

static xai_status arg_string(const struct api_arg *g, const char **out, struct xai_err *err)
{
    *out = g->text ? g->text : json_string_value(g->json);
    if (*out) return XAI_OK;
    return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be a string", g->name);
}

static xai_status arg_number(const struct api_arg *g, double *out, struct xai_err *err)
{
    if (g->json && json_is_number(g->json)) {
        *out = json_number_value(g->json);
        return XAI_OK;
    }
    const char *text = g->text ? g->text : json_string_value(g->json);
    char *end = NULL;
    errno = 0;
    if (text) *out = strtod(text, &end);
    if (text && end != text && !*end && !errno && isfinite(*out)) return XAI_OK;
    return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be a number", g->name);
}

static xai_status arg_bool(const struct api_arg *g, bool *out, struct xai_err *err)
{
    if (g->json && json_is_boolean(g->json)) {
        *out = json_is_true(g->json);
        return XAI_OK;
    }
    const char *t = g->text ? g->text : json_string_value(g->json);
    if (t && (!strcmp(t, "true") || !strcmp(t, "1"))) {
        *out = true;
        return XAI_OK;
    }
    if (t && (!strcmp(t, "false") || !strcmp(t, "0"))) {
        *out = false;
        return XAI_OK;
    }
    return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be true or false", g->name);
}

/* ---- the general parameters ---- */

static xai_status set_target(const struct api_model *m, const struct api_arg *g,
                             struct api_explain_opts *o, struct xai_err *err)
{
    if (g->json && json_is_integer(g->json)) {
        json_int_t v = json_integer_value(g->json);
        if (v >= 0 && v < m->n_labels) {
            o->target = (int)v;
            return XAI_OK;
        }
        return xai_fail(err, XAI_NOT_FOUND, "target must be a class index from 0 to %d or a label",
                        m->n_labels - 1);
    }
    const char *text;
    xai_status st = arg_string(g, &text, err);
    if (st) return xai_fail(err, st, "target must be a class index or a label");
    st = api_target_parse(m, text, &o->target, err);
    return st == XAI_INVALID_ARGUMENT ? XAI_NOT_FOUND : st; /* an unknown class */
}

static xai_status set_layer(const struct api_model *m, const struct api_arg *g,
                            struct api_explain_opts *o, struct xai_err *err)
{
    const char *name;
    xai_status st = arg_string(g, &name, err);
    if (st) return st;
    for (int i = 0; i < m->n_layers; i++) {
        if (strcmp(m->layers[i].name, name)) continue;
        o->layer = m->layers[i].value;
        return XAI_OK;
    }
    return xai_fail(err, XAI_NOT_FOUND,
                    "model '%s' has no 4-D layer of that name; the model's info lists its %d "
                    "layers",
                    m->name, m->n_layers);
}

static const char *const output_names[] = {"overlay_png", "heatmap_png", "raw", "colorbar_png"};
static const unsigned output_bits[] = {API_OUT_OVERLAY, API_OUT_HEATMAP, API_OUT_RAW,
                                       API_OUT_COLORBAR};

/* One item of an outputs list (len characters at s, spaces trimmed); empty items are skipped. */
static xai_status output_item(const char *s, size_t len, unsigned *bits, struct xai_err *err)
{
    while (len && *s == ' ') s++, len--;
    while (len && s[len - 1] == ' ') len--;
    if (!len) return XAI_OK;
    for (size_t i = 0; i < sizeof output_names / sizeof output_names[0]; i++) {
        if (strlen(output_names[i]) != len || strncmp(output_names[i], s, len)) continue;
        *bits |= output_bits[i];
        return XAI_OK;
    }
    return xai_fail(err, XAI_INVALID_ARGUMENT,
                    "parameter 'outputs' takes a list of: overlay_png, heatmap_png, raw, "
                    "colorbar_png");
}

static xai_status output_list(const char *s, unsigned *bits, struct xai_err *err)
{
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        xai_status st = output_item(s, len, bits, err);
        if (st || !comma) return st;
        s = comma + 1;
    }
}

static xai_status set_outputs(const struct api_model *m, const struct api_arg *g,
                              struct api_explain_opts *o, struct xai_err *err)
{
    unsigned bits = 0;
    xai_status st = XAI_OK;
    if (g->json && json_is_array(g->json)) {
        size_t i;
        json_t *item;
        json_array_foreach(g->json, i, item)
        {
            const char *s = json_string_value(item);
            st = s ? output_item(s, strlen(s), &bits, err)
                   : xai_fail(err, XAI_INVALID_ARGUMENT,
                              "parameter 'outputs' must be an array of strings");
            if (st) return st;
        }
    } else {
        const char *s;
        if (!(st = arg_string(g, &s, err))) st = output_list(s, &bits, err);
    }
    if (!st && !bits)
        st = xai_fail(err, XAI_INVALID_ARGUMENT,
                      "parameter 'outputs' needs at least one of: overlay_png, heatmap_png, raw");
    if (!st) o->outputs = bits;
    return st;
}

static xai_status set_colormap(const struct api_model *m, const struct api_arg *g,
                               struct api_explain_opts *o, struct xai_err *err)
{
    const char *name;
    xai_status st = arg_string(g, &name, err);
    if (!st && xai_colormap_parse(name, &o->render.cmap, NULL))
        st = xai_fail(err, XAI_INVALID_ARGUMENT,
                      "parameter 'colormap' must be one of: jet, turbo, viridis, inferno, gray, "
                      "bwr");
    if (!st) o->cmap_auto = false;
    return st;
}

static xai_status set_opacity(const struct api_model *m, const struct api_arg *g,
                              struct api_explain_opts *o, struct xai_err *err)
{
    double v = 0;
    xai_status st = arg_number(g, &v, err);
    if (!st && !(v >= 0 && v <= 1))
        st = xai_fail(err, XAI_INVALID_ARGUMENT, "parameter 'opacity' must be from 0 to 1");
    if (!st) o->render.opacity = (float)v;
    return st;
}

static xai_status set_evaluate(const struct api_model *m, const struct api_arg *g,
                               struct api_explain_opts *o, struct xai_err *err)
{
    return arg_bool(g, &o->evaluate, err);
}

static xai_status set_seed(const struct api_model *m, const struct api_arg *g,
                           struct api_explain_opts *o, struct xai_err *err)
{
    if (g->json && json_is_integer(g->json) && json_integer_value(g->json) >= 0) {
        o->seed = (uint64_t)json_integer_value(g->json);
        return XAI_OK;
    }
    const char *t = g->text ? g->text : json_string_value(g->json);
    size_t n = t ? strlen(t) : 0;
    if (n > 0 && n <= 20 && strspn(t, "0123456789") == n) {
        errno = 0;
        unsigned long long v = strtoull(t, NULL, 10);
        if (!errno) {
            o->seed = v;
            return XAI_OK;
        }
    }
    return xai_fail(err, XAI_INVALID_ARGUMENT,
                    "parameter 'seed' must be an integer from 0 to 18446744073709551615");
}

typedef xai_status (*setter)(const struct api_model *m, const struct api_arg *g,
                             struct api_explain_opts *o, struct xai_err *err);

static const struct general {
    const char *name;
    setter set;
} general[] = {
    {"method", NULL},           {"target", set_target},     {"layer", set_layer},
    {"outputs", set_outputs},   {"colormap", set_colormap}, {"opacity", set_opacity},
    {"evaluate", set_evaluate}, {"seed", set_seed},
};
enum { N_GENERAL = sizeof general / sizeof general[0] };

static const struct general *find_general(const char *name)
{
    for (int i = 0; i < N_GENERAL; i++)
        if (!strcmp(general[i].name, name)) return &general[i];
    return NULL;
}

/* ---- parsing a request ---- */

static xai_status unknown(const struct xai_method_def *md, const char *name, struct xai_err *err)
{
    char own[256] = "none";
    size_t off = 0;
    for (int i = 0; i < md->n_params && off < sizeof own; i++)
        off += (size_t)snprintf(own + off, sizeof own - off, "%s%s", i ? ", " : "",
                                md->params[i].name);
    return xai_fail(err, XAI_INVALID_ARGUMENT,
                    "unknown parameter '%s'; allowed: method, target, layer, outputs, colormap, "
                    "opacity, evaluate, seed, and method '%s' takes: %s",
                    api_arg_shown(name), md->name, own);
}

static xai_status set_method(const struct api_args *a, struct api_explain_opts *o,
                             struct xai_err *err)
{
    const char *name = "gradcam";
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->a[i].name, "method")) continue;
        xai_status st = arg_string(&a->a[i], &name, err);
        if (st) return st;
    }
    if (!(o->method = xai_method_find(name)))
        return xai_fail(err, XAI_NOT_FOUND,
                        "no such method; GET /v1/methods (or `xaid methods`) "
                        "lists them");
    xai_method_defaults(o->method, &o->params);
    return XAI_OK;
}

static xai_status set_one(const struct api_model *m, const struct api_arg *g,
                          struct api_explain_opts *o, struct xai_err *err)
{
    const struct general *gen = find_general(g->name);
    if (gen) return gen->set ? gen->set(m, g, o, err) : XAI_OK;
    if (xai_method_param_index(o->method, g->name) < 0) return unknown(o->method, g->name, err);
    if (g->text) return api_param_set_text(o->method, g->name, g->text, &o->params, err);
    return api_param_set_json(o->method, g->name, g->json, &o->params, err);
}

xai_status api_request_parse(const struct api_model *m, const struct api_args *a,
                             struct api_explain_opts *o, struct xai_err *err)
{
    api_explain_opts_default(o);
    xai_status st = set_method(a, o, err);
    for (int i = 0; !st && i < a->n; i++) st = set_one(m, &a->a[i], o, err);
    return st;
}

xai_status api_predict_args_check(const struct api_args *a, struct xai_err *err)
{
    if (a->n == 0) return XAI_OK;
    return xai_fail(err, XAI_INVALID_ARGUMENT,
                    "unknown parameter '%s'; predict takes no parameters (explain does)",
                    api_arg_shown(a->a[0].name));
}

/* ---- running ---- */

xai_status api_run_explain(const struct api_model *m, xai_session *s, const void *bytes, size_t len,
                           const struct api_explain_opts *o, struct api_explanation *e,
                           struct api_timing *t, struct xai_err *err)
{
    struct api_input in;
    double t0 = api_now_ms();
    memset(e, 0, sizeof *e);
    xai_status st = api_prepare(m, bytes, len, NULL, &in, err);
    t->decode = api_now_ms() - t0;
    if (st) return st;
    st = api_explain(m, s, &in, o, e, err);
    api_input_reset(&in);
    t->forward = e->ms_forward;
    t->explain = e->ms_explain;
    t->encode = e->ms_encode;
    return st;
}

xai_status api_run_predict(const struct api_model *m, xai_session *s, const void *bytes, size_t len,
                           struct api_scores *sc, struct api_timing *t, struct xai_err *err)
{
    struct api_input in;
    double t0 = api_now_ms();
    memset(sc, 0, sizeof *sc);
    xai_status st = api_prepare(m, bytes, len, NULL, &in, err);
    double t1 = api_now_ms();
    t->decode = t1 - t0;
    if (st) return st;
    st = api_predict(m, s, &in, sc, err);
    api_input_reset(&in);
    t->forward = api_now_ms() - t1;
    return st;
}

/* ---- answers ---- */

static json_t *timing_json(const struct api_timing *t)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "queue", t->queue, "decode", t->decode,
                     "forward", t->forward, "explain", t->explain, "encode", t->encode, "total",
                     t->total);
}

/* {"request_id", then the prediction's members}; NULL when out of memory (a member that could not
 * be copied counts as a failure for api_json_checked). */
static json_t *answer_head(const char *request_id, const struct api_model *m,
                           const struct api_scores *sc)
{
    json_t *p = api_prediction_json(m, sc);
    json_t *j = p ? json_pack("{s:s}", "request_id", request_id) : NULL;
    const char *key;
    json_t *val;
    if (j) json_object_foreach(p, key, val) json_object_set(j, key, val);
    json_decref(p);
    return j;
}

json_t *api_explain_answer(const char *request_id, const struct api_model *m,
                           const struct api_explain_opts *o, const struct api_explanation *e,
                           const struct api_timing *t)
{
    unsigned long mark = api_json_mark();
    json_t *j = answer_head(request_id, m, &e->scores);
    if (!j) return NULL;
    if (json_object_set_new(
            j, "target",
            json_pack("{s:i, s:s}", "index", e->target, "label", m->labels[e->target])) ||
        json_object_set_new(j, "explanation", api_explanation_json(m, o, e)) ||
        json_object_set_new(j, "timing_ms", timing_json(t))) {
        json_decref(j);
        return NULL;
    }
    return api_json_checked(j, mark);
}

json_t *api_predict_answer(const char *request_id, const struct api_model *m,
                           const struct api_scores *sc, const struct api_timing *t)
{
    unsigned long mark = api_json_mark();
    json_t *j = answer_head(request_id, m, sc);
    if (j && json_object_set_new(j, "timing_ms", timing_json(t))) {
        json_decref(j);
        return NULL;
    }
    return api_json_checked(j, mark);
}

void api_request_id_new(char out[33])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0) got += (size_t)n;
        if (n < 0 && errno != EINTR) break;
    }
    if (got < sizeof b) { /* no entropy source: time and address, unique enough for an id */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)out;
        for (size_t i = got; i < sizeof b; i++) b[i] = (unsigned char)(x >> (8 * (i % 8)));
    }
    for (size_t i = 0; i < sizeof b; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}
