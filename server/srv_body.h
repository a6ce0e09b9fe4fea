/*
 * srv_body.h - request bodies: the Content-Type, the capped buffer the body is read into, and
 * the three encodings turned into image bytes and named parameters (api/request.h).
 *
 *   multipart/form-data   part `image` (the file) + optional part `params` (a JSON object)
 *   image/png, image/jpeg the body is the image; parameters come from the query string
 *   application/json      {"image": "<base64>", ...parameters}
 *
 * Runs on the HTTP threads once the whole body is in memory: nothing here decodes pixels (the
 * workers do). Messages never quote the body.
 */
#ifndef SRV_BODY_H
#define SRV_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"
#include "srv_multipart.h"

/* JSON bodies and params parts may nest objects and arrays this deep (parameters need 2). */
#define SRV_JSON_MAX_DEPTH 32

/* A JSON object from text: INVALID_ARGUMENT naming `what` when it is nested deeper than
 * SRV_JSON_MAX_DEPTH (checked before parsing), malformed (line and column), or not an object. */
xai_status srv_json_object(const void *text, size_t len, const char *what, json_t **out,
                           struct xai_err *err);

/* SRV_ENC_ARCHIVE: application/zip or application/x-tar, a batch of images for `embed` (the
 * other routes refuse it); SRV_ENC_NONE: no body (maximize, with parameters in the query). */
enum srv_encoding { SRV_ENC_NONE, SRV_ENC_MULTIPART, SRV_ENC_RAW, SRV_ENC_JSON, SRV_ENC_ARCHIVE };

/* The encoding of a Content-Type value (NULL when absent), media type case-insensitive; for
 * multipart, its boundary. UNSUPPORTED_MEDIA for any other type, INVALID_ARGUMENT for multipart
 * without a usable boundary. */
xai_status srv_content_type(const char *value, enum srv_encoding *enc,
                            char boundary[SRV_BOUNDARY_MAX + 1], struct xai_err *err);

/* A body read in pieces, at most max bytes. */
struct srv_body {
    unsigned char *data;
    size_t len, cap, max;
};

/* Appends n bytes. TOO_LARGE past max (the buffer is then freed), NO_MEMORY. */
xai_status srv_body_append(struct srv_body *b, const void *p, size_t n, struct xai_err *err);
void srv_body_reset(struct srv_body *b);

/* A decoded body: the image bytes (pointing into the body or into decoded) and the parameters
 * (pointing into doc or the body). Release with srv_input_reset. */
struct srv_input {
    const unsigned char *image;
    size_t image_len;
    unsigned char *decoded; /* the base64-decoded image of a JSON body */
    json_t *doc;            /* the JSON body or params part */
    struct api_args args;
};

/* Splits body (which must outlive in) by its encoding. INVALID_ARGUMENT for malformed JSON or
 * multipart, a missing or empty image, bad base64, parameters that are not a JSON object, an
 * unknown part; NO_MEMORY. */
/* The query string's arguments of a libmicrohttpd connection appended to args as text (the
 * first one refused stops the walk and its status is returned). */
struct MHD_Connection;
xai_status srv_query_args(struct MHD_Connection *conn, struct api_args *args, struct xai_err *err);

xai_status srv_input_parse(enum srv_encoding enc, const char *boundary, const unsigned char *body,
                           size_t len, struct srv_input *in, struct xai_err *err);
void srv_input_reset(struct srv_input *in);

#endif
