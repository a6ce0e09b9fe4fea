/*
 * srv_views.h - the inspection views' routes (api/views.h): their bodies and arguments, parsed
 * on the HTTP thread, and the job a worker runs.
 *
 *   GET  /v1/models/{model}/filters    arguments in the query string
 *   POST /v1/models/{model}/features   one image, the three encodings of explain
 *   POST /v1/models/{model}/maximize   no body (query) or a JSON object of arguments
 *   POST /v1/models/{model}/embed      2 to 2000 images: multipart parts named `image` (and an
 *                                      optional `params` part), a zip or tar archive
 *                                      (application/zip, application/x-tar; arguments in the
 *                                      query), or JSON {"images": [base64, ...], ...arguments}
 */
#ifndef SRV_VIEWS_H
#define SRV_VIEWS_H

#include <jansson.h>

#include "request.h"
#include "views.h"

struct srv_req;

/* The images and arguments of a view request (pointing into the body, the archive's inflated
 * members or decoded base64). */
struct srv_view_input {
    struct api_image_ref *imgs;
    int n;
    unsigned char **decoded;
    int n_decoded;
    struct api_archive ar;
    json_t *doc;
};

/* Parses r's body and query string into r->view (options) and r->vin / r->input (images).
 * INVALID_ARGUMENT, UNSUPPORTED_MEDIA, TOO_LARGE (over 2000 images), NOT_FOUND (a class). */
xai_status srv_view_prepare(struct srv_req *r, struct xai_err *err);
/* Runs the view on the worker's session: the answer with request_id and timing_ms, or NULL
 * with *st and err set. */
json_t *srv_view_run(struct srv_req *r, xai_session *s, xai_status *st, struct xai_err *err);
void srv_view_reset(struct srv_req *r);

#endif
