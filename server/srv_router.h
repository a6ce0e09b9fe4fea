/*
 * srv_router.h - the routes of the HTTP API: path matching, the HTTP methods each takes, and
 * which need a bearer token. Pure functions; the handlers live in srv_handlers.c.
 *
 *   POST /v1/models/{model}/explain|predict|report
 *   GET  /v1/models/{model}/filters     POST /v1/models/{model}/features|maximize|embed
 *   GET  /v1/models   /v1/models/{model}   /v1/methods  /v1/views  (with the above: /v1 routes)
 *   GET  /healthz   /readyz   /metrics                     (open: no token, no CORS check)
 *
 * GET routes take HEAD too; /v1 routes take OPTIONS (CORS preflight).
 */
#ifndef SRV_ROUTER_H
#define SRV_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

enum srv_route {
    SRV_ROUTE_NONE, /* no such route: 404 */
    SRV_ROUTE_EXPLAIN,
    SRV_ROUTE_PREDICT,
    SRV_ROUTE_MODELS,
    SRV_ROUTE_MODEL,
    SRV_ROUTE_METHODS,
    SRV_ROUTE_FILTERS, /* the inspection views (api/views.h) */
    SRV_ROUTE_FEATURES,
    SRV_ROUTE_MAXIMIZE,
    SRV_ROUTE_EMBED,
    SRV_ROUTE_VIEWS,
    SRV_ROUTE_HEALTHZ,
    SRV_ROUTE_READYZ,
    SRV_ROUTE_METRICS,
    SRV_ROUTE_REPORT, /* the clinicians' report: HTML or JSON */
    SRV_ROUTE_VIEWER, /* the viewer's files (server/viewer/viewer.h) */
    SRV_ROUTE_COUNT
};

#define SRV_MODEL_NAME_MAX 255

/* The route of a path (without query string). For model routes, model gets the name segment
 * (1-255 bytes, no '/'). */
enum srv_route srv_route_match(const char *path, char model[SRV_MODEL_NAME_MAX + 1]);
/* The route's template for logs and metrics, e.g. "/v1/models/{model}/explain"; "unknown". */
const char *srv_route_template(enum srv_route r);
/* The Allow header: "POST, OPTIONS", "GET, HEAD, OPTIONS" or "GET, HEAD". */
const char *srv_route_allow(enum srv_route r);
bool srv_route_allows(enum srv_route r, const char *http_method);
/* /v1 routes: bearer token (when configured) and CORS origin checks. */
bool srv_route_is_api(enum srv_route r);
/* explain, predict, report and the inspection views but GET /v1/views: a job for the workers. */
bool srv_route_is_job(enum srv_route r);
/* The jobs that read a body (all but filters). */
bool srv_route_has_body(enum srv_route r);
/* The inspection views filters, features, maximize, embed. */
bool srv_route_is_view(enum srv_route r);
/* The jobs, and GET /v1/models/{model}. */
bool srv_route_has_model(enum srv_route r);

#endif
