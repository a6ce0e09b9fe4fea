/*
 * fuzz_params.c - JSON request bodies: `{"image": "<base64>", ...parameters}` through
 * srv_input_parse (JSON syntax with duplicate keys refused, the image's base64 with an optional
 * data: URL prefix, the parameters collected by api_args_add_object), then every parameter
 * parser with JSON values (fuzz_parse_args: explain, report, predict, the inspection views),
 * where each method's own parameters are validated against its table (api/params.c,
 * xai_param_check). A body the explain route refuses (no image) still reaches the parsers as
 * maximize's body does: a JSON object of arguments.
 *
 * Seeds (fuzz/corpus/params/): bodies for every method with its parameters at, inside and past
 * their bounds; fuzz/params.dict holds JSON tokens, parameter and method names, enum choices.
 */
#include "_common.h"

#include <string.h>

#include "srv_body.h"

static const xai_status body_errors[] = {XAI_INVALID_ARGUMENT, XAI_NO_MEMORY};

/* The body as maximize reads it: any JSON object, its members the arguments. */
static void as_object(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    struct api_args args = {0};
    struct xai_err err = {{0}};
    if (json_is_object(doc)) {
        xai_status st = api_args_add_object(&args, doc, NULL, &err);
        if (st)
            fuzz_check_failure(st, &err, body_errors, 1);
        else
            fuzz_parse_args(fuzz_model(), &args);
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_input in;
    struct xai_err err = {{0}};
    xai_status st = srv_input_parse(SRV_ENC_JSON, NULL, data, size, &in, &err);
    if (st) {
        fuzz_check_failure(st, &err, body_errors, 2);
        FUZZ_CHECK(!in.image && !in.decoded && !in.doc && in.args.n == 0);
        as_object(data, size);
        return 0;
    }
    FUZZ_CHECK(in.image == in.decoded && in.image_len > 0);
    FUZZ_CHECK(json_is_object(in.doc) && !json_object_get(in.doc, "image"));
    fuzz_parse_args(fuzz_model(), &in.args);
    srv_input_reset(&in);
    return 0;
}
