/* method.c - the table of attribution methods (generated from core/methods/ file names) and
 * the parameter helpers every caller uses. */
#include "method.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define X(name) extern const struct xai_method_def xai_method_##name;
#include "methods_list.h"
#undef X

static const struct xai_method_def *const all_methods[] = {
#define X(name) &xai_method_##name,
#include "methods_list.h"
#undef X
    NULL};

const struct xai_method_def *xai_method_find(const char *name)
{
    for (size_t i = 0; name && all_methods[i]; i++)
        if (strcmp(all_methods[i]->name, name) == 0) return all_methods[i];
    return NULL;
}

const struct xai_method_def *const *xai_method_all(int *n)
{
    *n = (int)(sizeof all_methods / sizeof all_methods[0]) - 1;
    return all_methods;
}

int xai_method_param_index(const struct xai_method_def *m, const char *name)
{
    for (int i = 0; name && i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) return i;
    return -1;
}

void xai_method_defaults(const struct xai_method_def *m, struct xai_param_values *v)
{
    memset(v, 0, sizeof *v);
    for (int i = 0; i < m->n_params && i < XAI_MAX_PARAMS; i++) v->v[i] = m->params[i].def;
}

static int n_choices(const char *const *c)
{
    int n = 0;
    while (c && c[n]) n++;
    return n;
}

xai_status xai_param_check(const struct xai_param_def *p, double value, struct xai_err *err)
{
    if (!isfinite(value))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be a finite number",
                        p->name);
    switch (p->type) {
    case XAI_PARAM_BOOL:
        if (value != 0 && value != 1)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be true or false",
                            p->name);
        return XAI_OK;
    case XAI_PARAM_ENUM:
        if (value != floor(value) || value < 0 || value >= n_choices(p->choices))
            return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' has no such choice",
                            p->name);
        return XAI_OK;
    case XAI_PARAM_INT:
        if (value != floor(value) || value < p->min || value > p->max)
            return xai_fail(err, XAI_INVALID_ARGUMENT,
                            "parameter '%s' must be an integer from %g to %g", p->name, p->min,
                            p->max);
        return XAI_OK;
    case XAI_PARAM_FLOAT:
        if (value < p->min || value > p->max)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter '%s' must be from %g to %g",
                            p->name, p->min, p->max);
        return XAI_OK;
    }
    return xai_fail(err, XAI_INTERNAL, "parameter '%s' has an unknown type", p->name);
}

xai_status xai_method_param_check(const struct xai_method_def *m, int idx, double value,
                                  struct xai_err *err)
{
    if (idx < 0 || idx >= m->n_params)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "method '%s' has no such parameter", m->name);
    return xai_param_check(&m->params[idx], value, err);
}

void xai_method_result_reset(struct xai_method_result *r)
{
    free(r->map);
    free(r->classes);
    memset(r, 0, sizeof *r);
}

void xai_method_metric(struct xai_method_result *r, const char *name, double value)
{
    if (r->n_metrics >= XAI_MAX_METRICS) return;
    r->metrics[r->n_metrics].name = name;
    r->metrics[r->n_metrics].value = value;
    r->n_metrics++;
}
