/*
 * test_srv_multipart.c - request bodies (server/srv_multipart.c, srv_body.c): multipart parsing
 * with preambles, padding, quoted names and binary data; every malformed form refused with
 * INVALID_ARGUMENT; Content-Type recognition; and the three encodings turned into image bytes and
 * parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "srv_body.h"

#define U(s) ((const unsigned char *)(s))

static xai_status parse(const char *body, size_t len, const char *boundary, struct srv_part *parts,
                        int *n, struct xai_err *err)
{
    return srv_multipart_parse(U(body), len, boundary, parts, SRV_MULTIPART_MAX_PARTS, n, err);
}

static void test_two_parts(void **state)
{
    static const char body[] = "preamble to ignore\r\n"
                               "--XyZ  \r\n"
                               "Content-Disposition: form-data; name=\"image\"; "
                               "filename=\"a;name=b.png\"\r\n"
                               "content-type: image/png\r\n"
                               "\r\n"
                               "\x89PNG\r\n\x00\x01--XyZ-not-a-delimiter\r\n"
                               "\r\n--XyZ\r\n"
                               "content-disposition: form-data; name=params\r\n"
                               "\r\n"
                               "{\"method\": \"cam\"}"
                               "\r\n--XyZ--\r\nepilogue";
    struct srv_part p[SRV_MULTIPART_MAX_PARTS];
    struct xai_err err = {{0}};
    int n = 0;
    assert_int_equal(parse(body, sizeof body - 1, "XyZ", p, &n, &err), XAI_OK);
    assert_int_equal(n, 2);
    assert_true(srv_part_named(&p[0], "image"));
    assert_true(p[0].has_filename);
    assert_int_equal(p[0].type_len, 9);
    assert_memory_equal(p[0].type, "image/png", 9);
    static const char data[] = "\x89PNG\r\n\x00\x01--XyZ-not-a-delimiter\r\n";
    assert_int_equal(p[0].len, sizeof data - 1);
    assert_memory_equal(p[0].data, data, sizeof data - 1);
    assert_true(srv_part_named(&p[1], "params"));
    assert_false(p[1].has_filename);
    assert_null(p[1].type);
    assert_int_equal(p[1].len, 17);
    assert_false(srv_part_named(&p[1], "param"));
}

static void test_empty_part_and_no_preamble(void **state)
{
    static const char body[] = "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n"
                               "\r\n--b--";
    struct srv_part p[SRV_MULTIPART_MAX_PARTS];
    struct xai_err err = {{0}};
    int n = 0;
    assert_int_equal(parse(body, sizeof body - 1, "b", p, &n, &err), XAI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].len, 0);
}

struct bad {
    const char *body, *says;
};

static void test_malformed(void **state)
{
    static const struct bad cases[] = {
        {"", "no opening boundary"},
        {"garbage without boundary", "no opening boundary"},
        {"--b--", "no parts"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc", "closing boundary"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc\r\n--b",
         "boundary line"},
        {"--bX\r\n\r\n", "boundary line"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\nabc", "headers do not end"},
        {"--b\r\nContent-Type: image/png\r\n\r\nabc\r\n--b--", "no Content-Disposition"},
        {"--b\r\nContent-Disposition: attachment; name=\"image\"\r\n\r\nabc\r\n--b--", "form-data"},
        {"--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nabc\r\n--b--", "name"},
        {"--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nabc\r\n--b--", "name"},
        {"--b\r\nContent-Disposition: form-data; name=\"unterminated\r\n\r\nabc\r\n--b--", "name"},
        {"--b\r\nno colon here\r\n\r\nabc\r\n--b--", "malformed part header"},
        {"--b\r\n\r\nabc\r\n--b--", "no Content-Disposition"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_part p[SRV_MULTIPART_MAX_PARTS];
        struct xai_err err = {{0}};
        int n = 0;
        xai_status st = parse(cases[i].body, strlen(cases[i].body), "b", p, &n, &err);
        if (st != XAI_INVALID_ARGUMENT || !strstr(err.msg, cases[i].says))
            fail_msg("case %zu: %s '%s', expected '%s'", i, xai_status_code(st), err.msg,
                     cases[i].says);
    }
}

static void test_limits(void **state)
{
    /* more parts than allowed */
    char body[4096] = "";
    for (int i = 0; i <= SRV_MULTIPART_MAX_PARTS; i++)
        strcat(body, "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n");
    strcat(body, "--b--");
    struct srv_part p[SRV_MULTIPART_MAX_PARTS];
    struct xai_err err = {{0}};
    int n = 0;
    assert_int_equal(parse(body, strlen(body), "b", p, &n, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "more than"));
    /* a header block over 8 KiB */
    size_t big = 9000;
    char *h = malloc(big + 200);
    strcpy(h, "--b\r\nContent-Disposition: form-data; name=\"image\"\r\nX-Pad: ");
    size_t off = strlen(h);
    memset(h + off, 'a', big);
    strcpy(h + off + big, "\r\n\r\nabc\r\n--b--");
    assert_int_equal(parse(h, strlen(h), "b", p, &n, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "8 KiB"));
    free(h);
}

static void test_boundary_and_content_type(void **state)
{
    char b[SRV_BOUNDARY_MAX + 1];
    struct xai_err err = {{0}};
    enum srv_encoding enc;
    assert_int_equal(srv_content_type("multipart/form-data; boundary=abc", &enc, b, &err), XAI_OK);
    assert_int_equal(enc, SRV_ENC_MULTIPART);
    assert_string_equal(b, "abc");
    assert_int_equal(
        srv_content_type("Multipart/Form-Data; charset=x; BOUNDARY=\"a b;c\"", &enc, b, &err),
        XAI_OK);
    assert_string_equal(b, "a b;c");
    assert_int_equal(srv_content_type("multipart/form-data", &enc, b, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(srv_content_type("multipart/form-data; boundary=", &enc, b, &err),
                     XAI_INVALID_ARGUMENT);
    char longb[120] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    assert_int_equal(srv_content_type(longb, &enc, b, &err), XAI_INVALID_ARGUMENT);
    assert_int_equal(srv_content_type("image/png", &enc, b, &err), XAI_OK);
    assert_int_equal(enc, SRV_ENC_RAW);
    assert_int_equal(srv_content_type(" IMAGE/JPEG ; q=1", &enc, b, &err), XAI_OK);
    assert_int_equal(enc, SRV_ENC_RAW);
    assert_int_equal(srv_content_type("application/json; charset=utf-8", &enc, b, &err), XAI_OK);
    assert_int_equal(enc, SRV_ENC_JSON);
    static const char *const refused[] = {"text/plain",        "image/gif",
                                          "application/jsonx", "application/x-www-form-urlencoded",
                                          "image/png2",        ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(srv_content_type(refused[i], &enc, b, &err), XAI_UNSUPPORTED_MEDIA);
    assert_int_equal(srv_content_type(NULL, &enc, b, &err), XAI_UNSUPPORTED_MEDIA);
}

static void test_encodings(void **state)
{
    struct srv_input in;
    struct xai_err err = {{0}};
    /* raw */
    assert_int_equal(srv_input_parse(SRV_ENC_RAW, "", U("\x89PNG"), 4, &in, &err), XAI_OK);
    assert_int_equal(in.image_len, 4);
    assert_int_equal(in.args.n, 0);
    srv_input_reset(&in);
    assert_int_equal(srv_input_parse(SRV_ENC_RAW, "", U(""), 0, &in, &err), XAI_INVALID_ARGUMENT);
    /* JSON, with a data: URL and line breaks in the base64 */
    static const char js[] =
        "{\"method\": \"cam\", \"image\": \"data:image/png;base64,aGVs\\nbG8=\","
        " \"relu\": true}";
    assert_int_equal(srv_input_parse(SRV_ENC_JSON, "", U(js), strlen(js), &in, &err), XAI_OK);
    assert_int_equal(in.image_len, 5);
    assert_memory_equal(in.image, "hello", 5);
    assert_int_equal(in.args.n, 2);
    assert_string_equal(in.args.a[0].name, "method");
    assert_string_equal(in.args.a[1].name, "relu");
    srv_input_reset(&in);
    static const struct bad bad_json[] = {
        {"{\"image\": \"aGVsbG8=\", ", "not valid JSON"},
        {"[1, 2]", "must be a JSON object"},
        {"{\"image\": 12}", "needs \"image\""},
        {"{\"method\": \"cam\"}", "needs \"image\""},
        {"{\"image\": \"\"}", "needs \"image\""},
        {"{\"image\": \"%%%%\"}", "not base64"},
        {"{\"image\": \"    \"}", "empty"},
        {"{\"image\": \"aGVsbG8=\", \"a\": 1, \"a\": 2}", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        xai_status st = srv_input_parse(SRV_ENC_JSON, "", U(bad_json[i].body),
                                        strlen(bad_json[i].body), &in, &err);
        if (st != XAI_INVALID_ARGUMENT || !strstr(err.msg, bad_json[i].says))
            fail_msg("json %zu: %s '%s'", i, xai_status_code(st), err.msg);
    }
}

static void test_multipart_encoding(void **state)
{
    struct srv_input in;
    struct xai_err err = {{0}};
    static const char ok[] = "--b\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n"
                             "{\"target\": 1, \"seed\": \"3\"}\r\n"
                             "--b\r\nContent-Disposition: form-data; name=\"image\"; "
                             "filename=\"p.png\"\r\n\r\nIMG\r\n--b--\r\n";
    assert_int_equal(srv_input_parse(SRV_ENC_MULTIPART, "b", U(ok), strlen(ok), &in, &err), XAI_OK);
    assert_int_equal(in.image_len, 3);
    assert_memory_equal(in.image, "IMG", 3);
    assert_int_equal(in.args.n, 2);
    srv_input_reset(&in);
    static const struct bad bad[] = {
        {"--b\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{}\r\n--b--",
         "no 'image' part"},
        {"--b\r\nContent-Disposition: form-data; name=\"picture\"\r\n\r\nIMG\r\n--b--",
         "unknown part 'picture'"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nA\r\n"
         "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nB\r\n--b--",
         "more than one 'image'"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nA\r\n"
         "--b\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{method: x}\r\n--b--",
         "'params' part is not valid JSON"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nA\r\n"
         "--b\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n\"x\"\r\n--b--",
         "must be"},
        {"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\r\n--b--", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xai_status st =
            srv_input_parse(SRV_ENC_MULTIPART, "b", U(bad[i].body), strlen(bad[i].body), &in, &err);
        if (st != XAI_INVALID_ARGUMENT || !strstr(err.msg, bad[i].says))
            fail_msg("multipart %zu: %s '%s'", i, xai_status_code(st), err.msg);
    }
}

static void test_body_cap(void **state)
{
    struct srv_body b = {.max = 100000};
    struct xai_err err = {{0}};
    char chunk[30000];
    memset(chunk, 7, sizeof chunk);
    for (int i = 0; i < 3; i++) assert_int_equal(srv_body_append(&b, chunk, sizeof chunk, &err), 0);
    assert_int_equal(b.len, 90000);
    assert_int_equal(b.data[89999], 7);
    assert_int_equal(srv_body_append(&b, chunk, 10000, &err), XAI_OK); /* exactly max */
    assert_int_equal(srv_body_append(&b, chunk, 1, &err), XAI_TOO_LARGE);
    assert_null(b.data);
    assert_non_null(strstr(err.msg, "100000"));
    srv_body_reset(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_parts),
        cmocka_unit_test(test_empty_part_and_no_preamble),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_boundary_and_content_type),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_multipart_encoding),
        cmocka_unit_test(test_body_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
