/*
 * test_srv_report.c - the server's part of the report and the viewer: the routes (POST
 * /v1/models/{model}/report is an API job with a model, the viewer's files are open GET
 * routes), the Accept header choosing HTML or JSON, and same-origin requests (the viewer's own
 * POSTs carry an Origin) told apart from cross-origin ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "srv_cors.h"
#include "srv_report.h"
#include "srv_router.h"

static void test_routes(void **state)
{
    char model[SRV_MODEL_NAME_MAX + 1];
    enum srv_route r = srv_route_match("/v1/models/chest-demo/report", model);
    assert_int_equal(r, SRV_ROUTE_REPORT);
    assert_string_equal(model, "chest-demo");
    assert_true(srv_route_is_api(r) && srv_route_is_job(r) && srv_route_has_model(r));
    assert_true(srv_route_allows(r, "POST"));
    assert_false(srv_route_allows(r, "GET"));
    assert_string_equal(srv_route_template(r), "/v1/models/{model}/report");
    assert_int_equal(srv_route_match("/v1/models/chest-demo/reports", model), SRV_ROUTE_NONE);

    static const char *const files[] = {"/", "/viewer.js", "/viewer.css"};
    for (size_t i = 0; i < 3; i++) {
        r = srv_route_match(files[i], model);
        assert_int_equal(r, SRV_ROUTE_VIEWER);
        assert_false(srv_route_is_api(r) || srv_route_is_job(r) || srv_route_has_model(r));
        assert_true(srv_route_allows(r, "GET") && srv_route_allows(r, "HEAD"));
        assert_false(srv_route_allows(r, "POST"));
    }
    assert_int_equal(srv_route_match("/index.html", model), SRV_ROUTE_NONE);
    assert_int_equal(srv_route_match("/viewer.c", model), SRV_ROUTE_NONE);
    assert_int_equal(srv_route_match("//", model), SRV_ROUTE_NONE);
}

static void test_accept(void **state)
{
    static const struct {
        const char *accept;
        bool json;
    } cases[] = {
        {NULL, false},
        {"", false},
        {"*/*", false},
        {"text/html", false},
        {"application/json", true},
        {"Application/JSON", true},
        {"application/json, text/html", false}, /* a tie: the HTML */
        {"text/html;q=0.5, application/json", true},
        {"application/json;q=0.4, text/html;q=0.9", false},
        {"application/*", true},
        {"text/*;q=0.1, application/json;q=0.2", true},
        {"application/json; charset=utf-8 ; q=0.8, */*;q=0.9", false},
        {"image/png", false}, /* neither: the HTML */
        {"application/jsonx", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (srv_report_wants_json(cases[i].accept) != cases[i].json)
            fail_msg("Accept '%s'", cases[i].accept ? cases[i].accept : "(none)");
}

static void test_same_origin(void **state)
{
    assert_true(srv_cors_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_true(srv_cors_same_origin("https://xaid.example.org", "xaid.example.org"));
    assert_true(srv_cors_same_origin("http://Localhost:8080", "localhost:8080"));
    assert_false(srv_cors_same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
    assert_false(srv_cors_same_origin("http://evil.example", "127.0.0.1:8080"));
    assert_false(srv_cors_same_origin("http://127.0.0.1:8080/x", "127.0.0.1:8080"));
    assert_false(srv_cors_same_origin("null", "127.0.0.1:8080"));
    assert_false(srv_cors_same_origin("http://127.0.0.1:8080", NULL));
    assert_false(srv_cors_same_origin("http://", ""));
    assert_false(srv_cors_same_origin(NULL, "127.0.0.1:8080"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_same_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
