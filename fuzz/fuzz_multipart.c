/*
 * fuzz_multipart.c - request bodies with their Content-Type, as the explain route reads them.
 * The input is the Content-Type value, a newline, then the body. srv_content_type picks the
 * encoding (and a multipart boundary); srv_input_parse splits the body (multipart/form-data:
 * srv_multipart_parse, the `image` part and the `params` JSON part; JSON; raw images), then
 * the parameters go through every parser (fuzz_parse_args). The body is also split as embed
 * does (up to 66 parts) and every part is checked to lie inside the body with a sane name.
 *
 * Seeds (fuzz/corpus/multipart/): multipart bodies with quoted and bare boundaries, preambles,
 * epilogues, transport padding, params parts, filenames, and the other encodings;
 * fuzz/multipart.dict holds the header names, disposition tokens and delimiters.
 */
#include "_common.h"

#include <string.h>

#include "srv_body.h"

#define EMBED_PARTS 66

static const xai_status body_errors[] = {XAI_INVALID_ARGUMENT, XAI_UNSUPPORTED_MEDIA,
                                         XAI_NO_MEMORY};

static bool inside(const void *p, size_t n, const uint8_t *body, size_t len)
{
    const uint8_t *q = p;
    return q >= body && n <= len && (size_t)(q - body) <= len - n;
}

/* Every part within the body, its name a NUL-terminated string of name_len bytes. */
static void split_all(const uint8_t *body, size_t len, const char *boundary)
{
    static struct srv_part parts[EMBED_PARTS];
    struct xai_err err = {{0}};
    int n = -1;
    xai_status st = srv_multipart_parse(body, len, boundary, parts, EMBED_PARTS, &n, &err);
    if (st) {
        fuzz_check_failure(st, &err, body_errors, 1);
        return;
    }
    FUZZ_CHECK(n >= 0 && n <= EMBED_PARTS);
    for (int i = 0; i < n; i++) {
        const struct srv_part *p = &parts[i];
        FUZZ_CHECK(p->name_len >= 1 && p->name_len < sizeof p->name);
        FUZZ_CHECK(p->name[p->name_len] == '\0'); /* a name may hold NUL bytes (%00 escapes) */
        FUZZ_CHECK(inside(p->data, p->len, body, len));
        if (p->type) FUZZ_CHECK(inside(p->type, p->type_len, body, len));
        if (i) FUZZ_CHECK(p->data >= parts[i - 1].data + parts[i - 1].len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl || memchr(data, '\0', (size_t)(nl - data))) return 0;
    char *type = strndup((const char *)data, (size_t)(nl - data));
    FUZZ_CHECK(type != NULL);
    const uint8_t *body = nl + 1;
    size_t len = size - (size_t)(body - data);

    enum srv_encoding enc = SRV_ENC_NONE;
    char boundary[SRV_BOUNDARY_MAX + 1];
    struct xai_err err = {{0}};
    xai_status st = srv_content_type(type, &enc, boundary, &err);
    free(type);
    if (st) {
        fuzz_check_failure(st, &err, body_errors, 2);
        return 0;
    }
    FUZZ_CHECK(strlen(boundary) <= SRV_BOUNDARY_MAX);
    FUZZ_CHECK(enc != SRV_ENC_MULTIPART || boundary[0] != '\0');
    if (enc == SRV_ENC_MULTIPART) split_all(body, len, boundary);

    struct srv_input in;
    st = srv_input_parse(enc, boundary, body, len, &in, &err);
    if (st) {
        fuzz_check_failure(st, &err, body_errors, 3);
        return 0;
    }
    FUZZ_CHECK(in.image_len > 0);
    FUZZ_CHECK(in.image == in.decoded || inside(in.image, in.image_len, body, len));
    fuzz_parse_args(fuzz_model(), &in.args);
    srv_input_reset(&in);
    return 0;
}
