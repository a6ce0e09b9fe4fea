/* params.c - method parameters from text and JSON; see params.h. */
#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_mem.h"

static xai_status unknown(const struct xai_method_def *m, struct xai_err *err)
{
    char names[256] = "";
    size_t off = 0;
    for (int i = 0; i < m->n_params && off < sizeof names; i++)
        off += (size_t)snprintf(names + off, sizeof names - off, "%s%s", i ? ", " : "",
                                m->params[i].name);
    return xai_fail(err, XAI_INVALID_ARGUMENT, "method '%s' has no such parameter; it takes: %s",
                    m->name, m->n_params ? names : "none");
}

static xai_status bad_choice(const struct xai_param_def *p, struct xai_err *err)
{
    char names[256] = "";
    size_t off = 0;
    for (int i = 0; p->choices[i] && off < sizeof names; i++)
        off +=
            (size_t)snprintf(names + off, sizeof names - off, "%s%s", i ? ", " : "", p->choices[i]);
    return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be one of: %s", p->name, names);
}

static int choice_index(const struct xai_param_def *p, const char *text)
{
    for (int i = 0; p->choices && p->choices[i]; i++)
        if (!strcmp(p->choices[i], text)) return i;
    return -1;
}

static xai_status parse_text(const struct xai_param_def *p, const char *text, double *out,
                             struct xai_err *err)
{
    if (p->type == XAI_PARAM_ENUM) {
        int k = choice_index(p, text);
        if (k < 0) return bad_choice(p, err);
        *out = k;
        return XAI_OK;
    }
    if (p->type == XAI_PARAM_BOOL) {
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            *out = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            *out = 0;
        else
            return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be true or false",
                            p->name);
        return XAI_OK;
    }
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(d))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be a number", p->name);
    *out = d;
    return XAI_OK;
}

xai_status api_param_set_text(const struct xai_method_def *m, const char *name, const char *text,
                              struct xai_param_values *v, struct xai_err *err)
{
    int i = xai_method_param_index(m, name);
    if (i < 0) return unknown(m, err);
    double d;
    xai_status st = parse_text(&m->params[i], text, &d, err);
    if (!st) st = xai_method_param_check(m, i, d, err);
    if (!st) v->v[i] = d;
    return st;
}

xai_status api_param_def_set_text(const struct xai_param_def *p, const char *text, double *out,
                                  struct xai_err *err)
{
    double d;
    xai_status st = parse_text(p, text, &d, err);
    if (!st) st = xai_param_check(p, d, err);
    if (!st) *out = d;
    return st;
}

xai_status api_param_def_set_json(const struct xai_param_def *p, const json_t *val, double *out,
                                  struct xai_err *err)
{
    double d;
    if (json_is_string(val)) {
        xai_status st = parse_text(p, json_string_value(val), &d, err);
        if (st) return st;
    } else if (json_is_boolean(val) && p->type == XAI_PARAM_BOOL) {
        d = json_is_true(val);
    } else if (json_is_number(val) && p->type != XAI_PARAM_ENUM && p->type != XAI_PARAM_BOOL) {
        d = json_number_value(val);
    } else {
        return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' has the wrong JSON type",
                        p->name);
    }
    xai_status st = xai_param_check(p, d, err);
    if (!st) *out = d;
    return st;
}

xai_status api_param_set_json(const struct xai_method_def *m, const char *name, const json_t *val,
                              struct xai_param_values *v, struct xai_err *err)
{
    int i = xai_method_param_index(m, name);
    if (i < 0) return unknown(m, err);
    return api_param_def_set_json(&m->params[i], val, &v->v[i], err);
}

static json_t *value_json(const struct xai_param_def *p, double v)
{
    switch (p->type) {
    case XAI_PARAM_BOOL:
        return json_boolean(v != 0);
    case XAI_PARAM_ENUM:
        return json_string(p->choices[(int)v]);
    case XAI_PARAM_INT:
        return json_integer((json_int_t)v);
    case XAI_PARAM_FLOAT:
        return json_real(v);
    }
    return json_null();
}

json_t *api_param_values_json(const struct xai_param_def *t, int n,
                              const struct xai_param_values *v)
{
    unsigned long mark = api_json_mark(); /* members are set unchecked; failures counted */
    json_t *o = json_object();
    for (int i = 0; o && i < n; i++) json_object_set_new(o, t[i].name, value_json(&t[i], v->v[i]));
    return api_json_checked(o, mark);
}

json_t *api_params_json(const struct xai_method_def *m, const struct xai_param_values *v)
{
    return api_param_values_json(m->params, m->n_params, v);
}

static const char *type_name(enum xai_param_type t)
{
    static const char *const names[] = {"integer", "number", "boolean", "string"};
    return names[t];
}

static json_t *param_def_json(const struct xai_param_def *p)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "name", p->name, "type", type_name(p->type),
                          "default", value_json(p, p->def), "description", p->help ? p->help : "");
    if (!o) return NULL;
    if (p->type == XAI_PARAM_INT || p->type == XAI_PARAM_FLOAT) {
        json_object_set_new(o, "minimum", value_json(p, p->min));
        json_object_set_new(o, "maximum", value_json(p, p->max));
    }
    if (p->type == XAI_PARAM_ENUM) {
        json_t *c = json_array();
        for (int i = 0; p->choices[i]; i++) json_array_append_new(c, json_string(p->choices[i]));
        json_object_set_new(o, "enum", c);
    }
    return o;
}

json_t *api_param_defs_json(const struct xai_param_def *t, int n)
{
    unsigned long mark = api_json_mark();
    json_t *ps = json_array();
    for (int i = 0; ps && i < n; i++) json_array_append_new(ps, param_def_json(&t[i]));
    return api_json_checked(ps, mark);
}

json_t *api_methods_json(void)
{
    int n;
    const struct xai_method_def *const *all = xai_method_all(&n);
    unsigned long mark = api_json_mark();
    json_t *arr = json_array();
    for (int k = 0; arr && k < n; k++) {
        const struct xai_method_def *m = all[k];
        json_t *ps = json_array();
        for (int i = 0; i < m->n_params; i++)
            json_array_append_new(ps, param_def_json(&m->params[i]));
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:o}", "name", m->name,
                           "summary", m->summary, "caveat", m->caveat, "signed", m->signed_map,
                           "uses_layer", (m->needs & XAI_NEEDS_LAYER) != 0, "needs_gap_head",
                           (m->needs & XAI_NEEDS_GAP_HEAD) != 0, "needs_reconstruction",
                           (m->needs & XAI_NEEDS_RECONSTRUCTION) != 0, "needs_attention",
                           (m->needs & XAI_NEEDS_ATTENTION) != 0, "parameters", ps));
    }
    return api_json_checked(arr, mark);
}
