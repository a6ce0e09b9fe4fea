/* srv_router.c - route matching; see srv_router.h. */
#include "srv_router.h"

#include <string.h>

#include "viewer.h"

static const struct {
    const char *path; /* exact path, or NULL for the model routes */
    const char *tmpl;
    const char *allow;
} routes[SRV_ROUTE_COUNT] = {
    [SRV_ROUTE_NONE] = {NULL, "unknown", ""},
    [SRV_ROUTE_EXPLAIN] = {NULL, "/v1/models/{model}/explain", "POST, OPTIONS"},
    [SRV_ROUTE_PREDICT] = {NULL, "/v1/models/{model}/predict", "POST, OPTIONS"},
    [SRV_ROUTE_MODELS] = {"/v1/models", "/v1/models", "GET, HEAD, OPTIONS"},
    [SRV_ROUTE_MODEL] = {NULL, "/v1/models/{model}", "GET, HEAD, OPTIONS"},
    [SRV_ROUTE_METHODS] = {"/v1/methods", "/v1/methods", "GET, HEAD, OPTIONS"},
    [SRV_ROUTE_FILTERS] = {NULL, "/v1/models/{model}/filters", "GET, HEAD, OPTIONS"},
    [SRV_ROUTE_FEATURES] = {NULL, "/v1/models/{model}/features", "POST, OPTIONS"},
    [SRV_ROUTE_MAXIMIZE] = {NULL, "/v1/models/{model}/maximize", "POST, OPTIONS"},
    [SRV_ROUTE_EMBED] = {NULL, "/v1/models/{model}/embed", "POST, OPTIONS"},
    [SRV_ROUTE_VIEWS] = {"/v1/views", "/v1/views", "GET, HEAD, OPTIONS"},
    [SRV_ROUTE_HEALTHZ] = {"/healthz", "/healthz", "GET, HEAD"},
    [SRV_ROUTE_READYZ] = {"/readyz", "/readyz", "GET, HEAD"},
    [SRV_ROUTE_METRICS] = {"/metrics", "/metrics", "GET, HEAD"},
    [SRV_ROUTE_REPORT] = {NULL, "/v1/models/{model}/report", "POST, OPTIONS"},
    [SRV_ROUTE_VIEWER] = {NULL, "/{viewer file}", "GET, HEAD"},
};

/* The route of a model path's suffix ("/explain", ...). */
static enum srv_route model_suffix(const char *slash)
{
    static const struct {
        const char *suffix;
        enum srv_route r;
    } s[] = {{"/explain", SRV_ROUTE_EXPLAIN},   {"/predict", SRV_ROUTE_PREDICT},
             {"/filters", SRV_ROUTE_FILTERS},   {"/features", SRV_ROUTE_FEATURES},
             {"/maximize", SRV_ROUTE_MAXIMIZE}, {"/embed", SRV_ROUTE_EMBED},
             {"/report", SRV_ROUTE_REPORT}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (!strcmp(slash, s[i].suffix)) return s[i].r;
    return SRV_ROUTE_NONE;
}

/* /v1/models/{model}[/explain|/predict|/report|/filters|/features|/maximize|/embed] */
static enum srv_route match_model(const char *path, char model[SRV_MODEL_NAME_MAX + 1])
{
    static const char prefix[] = "/v1/models/";
    if (strncmp(path, prefix, sizeof prefix - 1)) return SRV_ROUTE_NONE;
    const char *name = path + sizeof prefix - 1;
    const char *slash = strchr(name, '/');
    size_t n = slash ? (size_t)(slash - name) : strlen(name);
    if (n == 0 || n > SRV_MODEL_NAME_MAX) return SRV_ROUTE_NONE;
    enum srv_route r = !slash ? SRV_ROUTE_MODEL : model_suffix(slash);
    if (r == SRV_ROUTE_NONE) return r;
    memcpy(model, name, n);
    model[n] = '\0';
    return r;
}

enum srv_route srv_route_match(const char *path, char model[SRV_MODEL_NAME_MAX + 1])
{
    model[0] = '\0';
    if (!path) return SRV_ROUTE_NONE;
    for (int r = 0; r < SRV_ROUTE_COUNT; r++)
        if (routes[r].path && !strcmp(routes[r].path, path)) return (enum srv_route)r;
    const char *body, *type;
    size_t len;
    if (srv_viewer_asset(path, &body, &len, &type)) return SRV_ROUTE_VIEWER;
    return match_model(path, model);
}

const char *srv_route_template(enum srv_route r)
{
    return routes[r < SRV_ROUTE_COUNT ? r : SRV_ROUTE_NONE].tmpl;
}

const char *srv_route_allow(enum srv_route r)
{
    return routes[r < SRV_ROUTE_COUNT ? r : SRV_ROUTE_NONE].allow;
}

bool srv_route_allows(enum srv_route r, const char *m)
{
    const char *allow = srv_route_allow(r);
    size_t n = m ? strlen(m) : 0;
    for (const char *p = allow; n && (p = strstr(p, m)); p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

bool srv_route_is_api(enum srv_route r)
{
    return (r >= SRV_ROUTE_EXPLAIN && r <= SRV_ROUTE_VIEWS) || r == SRV_ROUTE_REPORT;
}

bool srv_route_is_view(enum srv_route r)
{
    return r >= SRV_ROUTE_FILTERS && r <= SRV_ROUTE_EMBED;
}

bool srv_route_is_job(enum srv_route r)
{
    return r == SRV_ROUTE_EXPLAIN || r == SRV_ROUTE_PREDICT || r == SRV_ROUTE_REPORT ||
           srv_route_is_view(r);
}

bool srv_route_has_body(enum srv_route r)
{
    return srv_route_is_job(r) && r != SRV_ROUTE_FILTERS;
}

bool srv_route_has_model(enum srv_route r)
{
    return srv_route_is_job(r) || r == SRV_ROUTE_MODEL;
}
