/* srv_body.c - content types, body buffers and the three encodings; see srv_body.h. */
#include "srv_body.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "json_mem.h"

/* ---- Content-Type ---- */

/* Whether the media type of value (before ';', spaces trimmed) is t, case-insensitively. */
static bool media_is(const char *value, const char *t)
{
    size_t n = strcspn(value, ";");
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t')) n--;
    while (n && (*value == ' ' || *value == '\t')) value++, n--;
    return n == strlen(t) && !strncasecmp(value, t, n);
}

xai_status srv_content_type(const char *value, enum srv_encoding *enc,
                            char boundary[SRV_BOUNDARY_MAX + 1], struct xai_err *err)
{
    boundary[0] = '\0';
    if (value && media_is(value, "multipart/form-data")) {
        *enc = SRV_ENC_MULTIPART;
        return srv_multipart_boundary(value, boundary, err);
    }
    if (value && (media_is(value, "image/png") || media_is(value, "image/jpeg"))) {
        *enc = SRV_ENC_RAW;
        return XAI_OK;
    }
    if (value && media_is(value, "application/json")) {
        *enc = SRV_ENC_JSON;
        return XAI_OK;
    }
    if (value && (media_is(value, "application/zip") || media_is(value, "application/x-tar"))) {
        *enc = SRV_ENC_ARCHIVE;
        return XAI_OK;
    }
    return xai_fail(err, XAI_UNSUPPORTED_MEDIA,
                    "Content-Type must be multipart/form-data, image/png, image/jpeg or "
                    "application/json (application/zip or application/x-tar for embed)");
}

/* ---- the body buffer ---- */

xai_status srv_body_append(struct srv_body *b, const void *p, size_t n, struct xai_err *err)
{
    if (n > b->max || b->len > b->max - n) {
        srv_body_reset(b);
        return xai_fail(err, XAI_TOO_LARGE, "the body is over the server's limit of %zu bytes",
                        b->max);
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + n) cap = cap > b->max / 2 ? b->max : cap * 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the body");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return XAI_OK;
}

void srv_body_reset(struct srv_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- the encodings ---- */

/* Whether the brackets of JSON text (outside strings) nest at most max deep. */
static bool depth_within(const unsigned char *p, size_t len, int max)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

xai_status srv_json_object(const void *text, size_t len, const char *what, json_t **out,
                           struct xai_err *err)
{
    json_error_t je;
    bool oom = false;
    *out = NULL;
    if (!depth_within(text, len, SRV_JSON_MAX_DEPTH))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "%s nests arrays and objects more than %d deep; it must be a flat "
                        "object of parameters",
                        what, SRV_JSON_MAX_DEPTH);
    *out = api_json_loadb(text, len, JSON_REJECT_DUPLICATES, &je, &oom);
    if (oom) return xai_fail(err, XAI_NO_MEMORY, "out of memory for %s", what);
    if (!*out)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "%s is not valid JSON (line %d, column %d); it must be an object", what,
                        je.line, je.column);
    if (json_is_object(*out)) return XAI_OK;
    json_decref(*out);
    *out = NULL;
    return xai_fail(err, XAI_INVALID_ARGUMENT, "%s must be a JSON object", what);
}

/* Base64 text of an "image" member: an optional data: URL prefix and whitespace are dropped. */
static xai_status base64_image(const char *s, size_t n, struct srv_input *in, struct xai_err *err)
{
    const char *comma = n > 5 && !strncmp(s, "data:", 5) ? memchr(s, ',', n) : NULL;
    if (comma) n -= (size_t)(comma + 1 - s), s = comma + 1;
    char *clean = malloc(n + 1);
    in->decoded = malloc(xai_base64_decoded_max(n) + 1);
    if (!clean || !in->decoded) {
        free(clean);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the image");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i])) clean[m++] = s[i];
    xai_status st = xai_base64_decode(clean, m, in->decoded, &in->image_len, err);
    free(clean);
    if (st) return xai_fail(err, XAI_INVALID_ARGUMENT, "\"image\" is not base64 (RFC 4648)");
    in->image = in->decoded;
    return XAI_OK;
}

static xai_status parse_json(const unsigned char *body, size_t len, struct srv_input *in,
                             struct xai_err *err)
{
    xai_status st = srv_json_object(body, len, "the body", &in->doc, err);
    if (st) return st;
    json_t *img = json_object_get(in->doc, "image");
    if (!json_is_string(img) || !json_string_length(img))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "the JSON body needs \"image\": the PNG or JPEG file in base64");
    st = base64_image(json_string_value(img), json_string_length(img), in, err);
    if (!st) json_object_del(in->doc, "image"); /* frees the base64 text early */
    return st ? st : api_args_add_object(&in->args, in->doc, NULL, err);
}

static xai_status use_part(const struct srv_part *p, struct srv_input *in, struct xai_err *err)
{
    if (srv_part_named(p, "image")) {
        if (in->image)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: more than one 'image' part");
        in->image = p->data;
        in->image_len = p->len;
        return XAI_OK;
    }
    if (srv_part_named(p, "params")) {
        if (in->doc)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "multipart: more than one 'params' part");
        xai_status st = srv_json_object(p->data, p->len, "the 'params' part", &in->doc, err);
        return st ? st : api_args_add_object(&in->args, in->doc, NULL, err);
    }
    size_t n = strspn(p->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    return xai_fail(err, XAI_INVALID_ARGUMENT,
                    "multipart: unknown part '%s'; the parts are "
                    "'image' and 'params'",
                    n == p->name_len ? p->name : "(unprintable name)");
}

static xai_status parse_multipart(const char *boundary, const unsigned char *body, size_t len,
                                  struct srv_input *in, struct xai_err *err)
{
    struct srv_part parts[SRV_MULTIPART_MAX_PARTS];
    int n = 0;
    xai_status st =
        srv_multipart_parse(body, len, boundary, parts, SRV_MULTIPART_MAX_PARTS, &n, err);
    for (int i = 0; !st && i < n; i++) st = use_part(&parts[i], in, err);
    if (!st && !in->image)
        st = xai_fail(err, XAI_INVALID_ARGUMENT,
                      "multipart: no 'image' part (the PNG or JPEG file)");
    return st;
}

xai_status srv_input_parse(enum srv_encoding enc, const char *boundary, const unsigned char *body,
                           size_t len, struct srv_input *in, struct xai_err *err)
{
    memset(in, 0, sizeof *in);
    xai_status st;
    if (enc == SRV_ENC_JSON) {
        st = parse_json(body, len, in, err);
    } else if (enc == SRV_ENC_MULTIPART) {
        st = parse_multipart(boundary, body, len, in, err);
    } else if (enc == SRV_ENC_ARCHIVE || enc == SRV_ENC_NONE) {
        st = xai_fail(err, enc == SRV_ENC_NONE ? XAI_INVALID_ARGUMENT : XAI_UNSUPPORTED_MEDIA,
                      enc == SRV_ENC_NONE ? "this route needs an image"
                                          : "archives are for the embed route only");
    } else {
        in->image = body;
        in->image_len = len;
        st = XAI_OK;
    }
    if (!st && !in->image_len)
        st = xai_fail(err, XAI_INVALID_ARGUMENT, "the image is empty: send a PNG or JPEG file");
    if (st) srv_input_reset(in);
    return st;
}

void srv_input_reset(struct srv_input *in)
{
    free(in->decoded);
    json_decref(in->doc);
    memset(in, 0, sizeof *in);
}

struct query_ctx {
    struct api_args *args;
    xai_status st;
    struct xai_err *err;
};

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct query_ctx *q = cls;
    q->st = api_args_add_text(q->args, key, value ? value : "", q->err);
    return q->st ? MHD_NO : MHD_YES;
}

xai_status srv_query_args(struct MHD_Connection *conn, struct api_args *args, struct xai_err *err)
{
    struct query_ctx q = {args, XAI_OK, err};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
    return q.st;
}
