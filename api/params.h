/*
 * params.h - method parameters from text (query strings, CLI flags, JSON values), validated
 * against the method's table in core/method.h. One place for every parameter rule.
 */
#ifndef API_PARAMS_H
#define API_PARAMS_H

#include <jansson.h>

#include "method.h"

/* Sets parameter `name` of method m from text ("25", "0.15", "true", "gausslegendre").
 * INVALID_ARGUMENT naming the parameter and what is allowed; never echoes the value. */
xai_status api_param_set_text(const struct xai_method_def *m, const char *name, const char *text,
                              struct xai_param_values *v, struct xai_err *err);
/* The same from a JSON value (number, boolean or string). */
xai_status api_param_set_json(const struct xai_method_def *m, const char *name, const json_t *val,
                              struct xai_param_values *v, struct xai_err *err);
/* {"name": value, ...} with every parameter of m, defaults included. */
json_t *api_params_json(const struct xai_method_def *m, const struct xai_param_values *v);
/* One parameter of a table (the inspection views' tables, api/inspect.h) from text or JSON:
 * *out gets the validated value. */
xai_status api_param_def_set_text(const struct xai_param_def *p, const char *text, double *out,
                                  struct xai_err *err);
xai_status api_param_def_set_json(const struct xai_param_def *p, const json_t *val, double *out,
                                  struct xai_err *err);
/* {"name": value, ...} of a table's n parameters; the table's definitions as JSON. NULL when out
 * of memory, here and below. */
json_t *api_param_values_json(const struct xai_param_def *t, int n,
                              const struct xai_param_values *v);
json_t *api_param_defs_json(const struct xai_param_def *t, int n);
/* The method table as JSON (for /v1/methods and `xaid methods`). */
json_t *api_methods_json(void);

#endif
