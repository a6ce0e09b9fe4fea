/*
 * test_srv_cors.c - the CORS allow-list: parsing (spaces, empty items, "*" and malformed origins
 * refused) and byte-exact matching (no prefix, suffix, case or wildcard matches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "srv_cors.h"

static void test_match(void **state)
{
    struct srv_cors c;
    struct xai_err err = {{0}};
    assert_int_equal(srv_cors_parse(" https://viewer.example.org , http://localhost:3000,,"
                                    "http://[::1]:8080",
                                    &c, &err),
                     XAI_OK);
    assert_int_equal(c.n, 3);
    assert_true(srv_cors_allowed(&c, "https://viewer.example.org"));
    assert_true(srv_cors_allowed(&c, "http://localhost:3000"));
    assert_true(srv_cors_allowed(&c, "http://[::1]:8080"));
    static const char *const refused[] = {"https://evil.example.com",
                                          "https://viewer.example.org.evil.com",
                                          "https://viewer.example.org:443",
                                          "http://viewer.example.org",
                                          "HTTPS://VIEWER.EXAMPLE.ORG",
                                          "https://viewer.example.or",
                                          "null",
                                          "*",
                                          "",
                                          "http://localhost:30000"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (srv_cors_allowed(&c, refused[i])) fail_msg("allowed '%s'", refused[i]);
    assert_false(srv_cors_allowed(&c, NULL));
    srv_cors_reset(&c);
    assert_int_equal(c.n, 0);
}

static void test_empty(void **state)
{
    struct srv_cors c;
    struct xai_err err = {{0}};
    assert_int_equal(srv_cors_parse(NULL, &c, &err), XAI_OK);
    assert_int_equal(c.n, 0);
    assert_false(srv_cors_allowed(&c, "https://viewer.example.org"));
    assert_int_equal(srv_cors_parse(" , ", &c, &err), XAI_OK);
    assert_int_equal(c.n, 0);
}

static void test_refused_lists(void **state)
{
    static const char *const bad[] = {"*",
                                      "https://a.org,*",
                                      "viewer.example.org",
                                      "ftp://a.org",
                                      "https://",
                                      "https://a.org/",
                                      "https://a.org/path",
                                      "https://A.org",
                                      "https://a.org:",
                                      "https://a.org:123456",
                                      "https://a.org:80x",
                                      "https://[::1",
                                      "https://a org"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct srv_cors c;
        struct xai_err err = {{0}};
        if (srv_cors_parse(bad[i], &c, &err) != XAI_INVALID_ARGUMENT)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(c.n, 0);
    }
    struct srv_cors c;
    struct xai_err err = {{0}};
    assert_int_equal(srv_cors_parse("*", &c, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "never"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_refused_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
