/* srv_views.c - the inspection views' routes; see srv_views.h. */
#include "srv_views.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json_mem.h"
#include "srv_server.h"

#define MAX_PARTS (XAI_EMBED_MAX_IMAGES + 2)

void srv_view_reset(struct srv_req *r)
{
    struct srv_view_input *v = &r->vin;
    for (int i = 0; i < v->n_decoded; i++) free(v->decoded[i]);
    free(v->decoded);
    free(v->imgs);
    api_archive_reset(&v->ar);
    json_decref(v->doc);
    memset(v, 0, sizeof *v);
    api_view_opts_reset(&r->view);
}

static xai_status add_image(struct srv_view_input *v, const unsigned char *p, size_t n,
                            struct xai_err *err)
{
    if (v->n >= XAI_EMBED_MAX_IMAGES)
        return xai_fail(err, XAI_TOO_LARGE, "embed takes at most %d images", XAI_EMBED_MAX_IMAGES);
    if (!v->imgs && !(v->imgs = malloc(sizeof *v->imgs * XAI_EMBED_MAX_IMAGES)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    v->imgs[v->n++] = (struct api_image_ref){p, n};
    return XAI_OK;
}

/* ---- embed bodies ---- */

static xai_status embed_multipart(struct srv_req *r, struct api_args *args, struct xai_err *err)
{
    struct srv_part *parts = malloc(sizeof *parts * MAX_PARTS);
    int n = 0;
    if (!parts) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st =
        srv_multipart_parse(r->body.data, r->body.len, r->boundary, parts, MAX_PARTS, &n, err);
    for (int i = 0; !st && i < n; i++) {
        if (srv_part_named(&parts[i], "image"))
            st = add_image(&r->vin, parts[i].data, parts[i].len, err);
        else if (srv_part_named(&parts[i], "params") && !r->vin.doc) {
            st =
                srv_json_object(parts[i].data, parts[i].len, "the 'params' part", &r->vin.doc, err);
            if (!st) st = api_args_add_object(args, r->vin.doc, NULL, err);
        } else
            st = xai_fail(err, XAI_INVALID_ARGUMENT,
                          "multipart: embed takes parts 'image' (repeated) and one 'params'");
    }
    free(parts);
    return st;
}

static xai_status embed_json(struct srv_req *r, struct api_args *args, struct xai_err *err)
{
    struct srv_view_input *v = &r->vin;
    xai_status st = srv_json_object(r->body.data, r->body.len, "the body", &v->doc, err);
    if (st) return st;
    json_t *imgs = json_object_get(v->doc, "images");
    size_t n = json_array_size(imgs);
    if (!json_is_array(imgs))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "the JSON body needs \"images\": a list of PNG or JPEG files in base64");
    if (n > XAI_EMBED_MAX_IMAGES)
        return xai_fail(err, XAI_TOO_LARGE, "embed takes at most %d images", XAI_EMBED_MAX_IMAGES);
    if (!(v->decoded = calloc(n ? n : 1, sizeof *v->decoded)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(imgs, i));
        size_t len = s ? strlen(s) : 0, got = 0;
        unsigned char *d = s ? malloc(xai_base64_decoded_max(len) + 1) : NULL;
        if (!d) return xai_fail(err, XAI_INVALID_ARGUMENT, "\"images\"[%zu] is not a string", i);
        v->decoded[v->n_decoded++] = d;
        if (xai_base64_decode(s, len, d, &got, NULL))
            return xai_fail(err, XAI_INVALID_ARGUMENT, "\"images\"[%zu] is not base64", i);
        if ((st = add_image(v, d, got, err))) return st;
    }
    return api_args_add_object(args, v->doc, "images", err);
}

static xai_status embed_body(struct srv_req *r, struct api_args *args, struct xai_err *err)
{
    size_t max_item = xai_image_limits_default().max_bytes;
    switch (r->enc) {
    case SRV_ENC_MULTIPART:
        return embed_multipart(r, args, err);
    case SRV_ENC_JSON:
        return embed_json(r, args, err);
    case SRV_ENC_ARCHIVE: {
        xai_status st = api_archive_read(r->body.data, r->body.len, XAI_EMBED_MAX_IMAGES, max_item,
                                         &r->vin.ar, err);
        for (int i = 0; !st && i < r->vin.ar.n; i++)
            st = add_image(&r->vin, r->vin.ar.items[i].data, r->vin.ar.items[i].len, err);
        return st;
    }
    default:
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "embed needs 2 to %d images: multipart parts named 'image', a zip or tar "
                        "archive, or JSON {\"images\": [...]}",
                        XAI_EMBED_MAX_IMAGES);
    }
}

/* ---- arguments ---- */

static xai_status set_args(struct srv_req *r, const struct api_args *a, struct xai_err *err)
{
    const struct api_model *m = r->srv->repo->models[r->model];
    for (int i = 0; i < a->n; i++) {
        const struct api_arg *g = &a->a[i];
        xai_status st = g->text ? api_view_set_text(m, &r->view, g->name, g->text, err)
                                : api_view_set_json(m, &r->view, g->name, g->json, err);
        if (st) return st;
    }
    return XAI_OK;
}

static enum api_view_kind kind_of(enum srv_route route)
{
    return route == SRV_ROUTE_FILTERS    ? API_VIEW_FILTERS
           : route == SRV_ROUTE_FEATURES ? API_VIEW_FEATURES
           : route == SRV_ROUTE_MAXIMIZE ? API_VIEW_MAXIMIZE
                                         : API_VIEW_EMBED;
}

static xai_status body_args(struct srv_req *r, struct api_args *args, struct xai_err *err)
{
    switch (r->route) {
    case SRV_ROUTE_FEATURES: {
        xai_status st =
            srv_input_parse(r->enc, r->boundary, r->body.data, r->body.len, &r->input, err);
        if (!st) *args = r->input.args;
        return st;
    }
    case SRV_ROUTE_MAXIMIZE:
        if (r->enc == SRV_ENC_NONE && !r->body.len) return XAI_OK;
        if (r->enc != SRV_ENC_JSON)
            return xai_fail(err, XAI_UNSUPPORTED_MEDIA,
                            "maximize takes no body (arguments in the query) or a JSON object");
        if (srv_json_object(r->body.data, r->body.len, "the body", &r->vin.doc, err))
            return XAI_INVALID_ARGUMENT;
        return api_args_add_object(args, r->vin.doc, NULL, err);
    case SRV_ROUTE_EMBED:
        return embed_body(r, args, err);
    default:
        return XAI_OK;
    }
}

xai_status srv_view_prepare(struct srv_req *r, struct xai_err *err)
{
    api_view_opts_init(&r->view, kind_of(r->route));
    struct api_args args = {0};
    xai_status st = body_args(r, &args, err);
    if (st) return st;
    if ((st = srv_query_args(r->conn, &args, err))) return st;
    r->vin_args = args;
    return set_args(r, &r->vin_args, err);
}

/* ---- the job ---- */

static json_t *run(struct srv_req *r, xai_session *s, xai_status *st, struct xai_err *err)
{
    const struct api_model *m = r->srv->repo->models[r->model];
    json_t *j = NULL;
    double t0 = api_now_ms();
    if (r->route == SRV_ROUTE_FILTERS) {
        *st = api_filters_run(m, &r->view, &j, err);
    } else if (r->route == SRV_ROUTE_MAXIMIZE) {
        *st = api_maximize_run(m, s, &r->view, &j, err);
    } else if (r->route == SRV_ROUTE_EMBED) {
        *st = api_embed_run(m, s, r->vin.imgs, r->vin.n, NULL, &r->view, &j, err);
    } else {
        struct api_input in;
        *st = api_prepare(m, r->input.image, r->input.image_len, NULL, &in, err);
        r->timing.decode = api_now_ms() - t0;
        if (!*st) *st = api_features_run(m, s, &in, &r->view, &j, err);
        api_input_reset(&in);
    }
    r->timing.explain = api_now_ms() - t0 - r->timing.decode;
    return j;
}

json_t *srv_view_run(struct srv_req *r, xai_session *s, xai_status *st, struct xai_err *err)
{
    unsigned long mark = api_json_mark(); /* the views set members unchecked */
    json_t *j = run(r, s, st, err);
    r->timing.total = (xai_monotonic_s() - r->t_start) * 1e3;
    if (*st || !j) return j;
    json_object_set_new(j, "request_id", json_string(r->request_id));
    json_object_set_new(j, "timing_ms",
                        json_pack("{s:f, s:f, s:f, s:f}", "queue", r->timing.queue, "decode",
                                  r->timing.decode, "inspect", r->timing.explain, "total",
                                  r->timing.total));
    return api_json_checked(j, mark); /* NULL: answered as out of memory */
}
