/*
 * test_srv_trace.c - X-Request-ID validation and generation, W3C traceparent parsing (every rule
 * of version 00 and the forward-compatible form of later versions) and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "srv_trace.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"

static void test_request_id(void **state)
{
    static const char *const ok[] = {"a", "abc-123_X.y",
                                     "0123456789012345678901234567890123456789"
                                     "012345678901234567890123"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_true(srv_request_id_valid(ok[i]));
        char out[SRV_REQUEST_ID_MAX + 1];
        srv_request_id(ok[i], out);
        assert_string_equal(out, ok[i]);
    }
    static const char *const bad[] = {"",
                                      "has space",
                                      "semi;colon",
                                      "x/y",
                                      "\xc3\xbc",
                                      "tab\t",
                                      "0123456789012345678901234567890123456789"
                                      "0123456789012345678901234"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(srv_request_id_valid(bad[i]));
        char out[SRV_REQUEST_ID_MAX + 1];
        srv_request_id(bad[i], out);
        assert_int_equal(strlen(out), 32);
        assert_int_equal(strspn(out, "0123456789abcdef"), 32);
    }
    assert_false(srv_request_id_valid(NULL));
    char a[SRV_REQUEST_ID_MAX + 1], b[SRV_REQUEST_ID_MAX + 1];
    srv_request_id(NULL, a);
    srv_request_id(NULL, b);
    assert_string_not_equal(a, b);
}

static void test_traceparent_valid(void **state)
{
    struct srv_trace t;
    assert_true(srv_traceparent_parse("00-" TRACE "-" PARENT "-01", &t));
    assert_string_equal(t.trace_id, TRACE);
    assert_string_equal(t.flags, "01");
    /* a later version may carry more fields after a dash */
    assert_true(srv_traceparent_parse("01-" TRACE "-" PARENT "-00-extra", &t));
    assert_true(srv_traceparent_parse("cc-" TRACE "-" PARENT "-09", &t));
    assert_string_equal(t.flags, "09");
}

static void test_traceparent_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "00-" TRACE "-" PARENT "-0",                         /* short */
        "00-" TRACE "-" PARENT "-01-",                       /* v00 with more */
        "00-" TRACE "-" PARENT "-01x",                       /* v00 longer */
        "01-" TRACE "-" PARENT "-01x",                       /* no dash after */
        "ff-" TRACE "-" PARENT "-01",                        /* version ff */
        "00-00000000000000000000000000000000-" PARENT "-01", /* zero trace */
        "00-" TRACE "-0000000000000000-01",                  /* zero parent */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01", /* upper case */
        "00-" TRACE "-" PARENT "-0g",                        /* not hex */
        "00_" TRACE "-" PARENT "-01",                        /* separator */
        "0-0" TRACE "-" PARENT "-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct srv_trace t;
        if (srv_traceparent_parse(bad[i], &t)) fail_msg("accepted '%s'", bad[i]);
    }
    struct srv_trace t;
    assert_false(srv_traceparent_parse(NULL, &t));
}

static void test_trace_init_and_format(void **state)
{
    struct srv_trace t;
    char tp[56];
    srv_trace_init("00-" TRACE "-" PARENT "-01", &t);
    assert_string_equal(t.trace_id, TRACE);
    assert_string_not_equal(t.span_id, PARENT);
    assert_int_equal(strlen(t.span_id), 16);
    srv_traceparent_format(&t, tp);
    assert_int_equal(strlen(tp), 55);
    assert_memory_equal(tp, "00-" TRACE "-", 36);
    assert_memory_equal(tp + 52, "-01", 3);
    struct srv_trace back;
    assert_true(srv_traceparent_parse(tp, &back));
    srv_trace_init("garbage", &t);
    assert_int_equal(strlen(t.trace_id), 32);
    assert_string_not_equal(t.trace_id, "00000000000000000000000000000000");
    assert_string_equal(t.flags, "00");
    srv_traceparent_format(&t, tp);
    assert_true(srv_traceparent_parse(tp, &back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_traceparent_valid),
        cmocka_unit_test(test_traceparent_invalid),
        cmocka_unit_test(test_trace_init_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
