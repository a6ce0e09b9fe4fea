/*
 * test_srv_metrics.c - the Prometheus text renderer: HELP/TYPE for every family, counters by
 * route, HTTP method, attribution method and status (unknown HTTP methods folded into OTHER),
 * cumulative histogram buckets with sum and count, gauges, escaped model labels; and every
 * sample line in the exposition syntax.
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "srv_metrics.h"

static char *render(struct srv_metrics *m)
{
    struct srv_gauges g = {3, 2, 4, 12.5, true};
    struct srv_model_label models[] = {{"chest-demo", "1.0.0", "ab12"},
                                       {"odd", "v\"2\"\\x\ny", "cd34"}};
    size_t len = 0;
    char *t = srv_metrics_render(m, &g, models, 2, &len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    return t;
}

static void has(const char *text, const char *line)
{
    if (!strstr(text, line)) fail_msg("missing: %s\n---\n%s", line, text);
}

static void test_counters(void **state)
{
    struct srv_metrics *m = srv_metrics_new();
    srv_metrics_request(m, SRV_ROUTE_EXPLAIN, "POST", "gradcam", 200, 0.02);
    srv_metrics_request(m, SRV_ROUTE_EXPLAIN, "POST", "gradcam", 200, 0.3);
    srv_metrics_request(m, SRV_ROUTE_EXPLAIN, "POST", "lrp", 504, 31);
    srv_metrics_request(m, SRV_ROUTE_EXPLAIN, "POST", NULL, 400, 0.001);
    srv_metrics_request(m, SRV_ROUTE_NONE, "BREW", "not-a-method", 404, 0.001);
    srv_metrics_request(m, SRV_ROUTE_HEALTHZ, "GET", NULL, 200, 0.0001);
    char *t = render(m);
    has(t, "# TYPE xaid_requests_total counter\n");
    has(t, "xaid_requests_total{route=\"/v1/models/{model}/explain\",http_method=\"POST\","
           "method=\"gradcam\",status=\"200\"} 2\n");
    has(t, "xaid_requests_total{route=\"/v1/models/{model}/explain\",http_method=\"POST\","
           "method=\"lrp\",status=\"504\"} 1\n");
    has(t, "xaid_requests_total{route=\"/v1/models/{model}/explain\",http_method=\"POST\","
           "method=\"\",status=\"400\"} 1\n");
    has(t, "xaid_requests_total{route=\"unknown\",http_method=\"OTHER\",method=\"\","
           "status=\"404\"} 1\n");
    has(t, "xaid_requests_total{route=\"/healthz\",http_method=\"GET\",method=\"\","
           "status=\"200\"} 1\n");
    assert_null(strstr(t, "BREW"));
    assert_null(strstr(t, "not-a-method"));
    free(t);
    srv_metrics_free(m);
}

static void test_histogram(void **state)
{
    struct srv_metrics *m = srv_metrics_new();
    srv_metrics_request(m, SRV_ROUTE_PREDICT, "POST", NULL, 200, 0.004);
    srv_metrics_request(m, SRV_ROUTE_PREDICT, "POST", NULL, 200, 0.2);
    srv_metrics_request(m, SRV_ROUTE_PREDICT, "POST", NULL, 200, 100);
    char *t = render(m);
    const char *r = "xaid_request_duration_seconds_bucket{route=\"/v1/models/{model}/predict\",";
    char line[256];
    static const struct {
        const char *le;
        int n;
    } b[] = {{"0.005", 1}, {"0.1", 1}, {"0.25", 2}, {"60", 2}, {"+Inf", 3}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        snprintf(line, sizeof line, "%sle=\"%s\"} %d\n", r, b[i].le, b[i].n);
        has(t, line);
    }
    has(t, "# TYPE xaid_request_duration_seconds histogram\n");
    has(t, "xaid_request_duration_seconds_sum{route=\"/v1/models/{model}/predict\"} 100.204000\n");
    has(t, "xaid_request_duration_seconds_count{route=\"/v1/models/{model}/predict\"} 3\n");
    assert_null(strstr(t, "route=\"/metrics\""));
    free(t);
    srv_metrics_free(m);
}

static void test_gauges_and_models(void **state)
{
    struct srv_metrics *m = srv_metrics_new();
    char *t = render(m);
    has(t, "xaid_queue_depth 3\n");
    has(t, "xaid_jobs_in_flight 2\n");
    has(t, "xaid_workers 4\n");
    has(t, "xaid_worker_busy_seconds_total 12.500000\n");
    has(t, "xaid_ready 1\n");
    has(t, "xaid_model_info{name=\"chest-demo\",version=\"1.0.0\",sha256=\"ab12\"} 1\n");
    has(t, "xaid_model_info{name=\"odd\",version=\"v\\\"2\\\"\\\\x\\ny\",sha256=\"cd34\"} 1\n");
    free(t);
    srv_metrics_free(m);
}

/* Every line is a comment or `name{labels} value`, as Prometheus' parser wants it. */
static void test_syntax(void **state)
{
    struct srv_metrics *m = srv_metrics_new();
    srv_metrics_request(m, SRV_ROUTE_EXPLAIN, "POST", "gradcam", 200, 0.02);
    char *t = render(m);
    regex_t sample, comment;
    assert_int_equal(regcomp(&sample,
                             "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|"
                             "\\\\.)*\",?)*\\})? -?[0-9.e+]+$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regcomp(&comment, "^# (HELP|TYPE) xaid_[a-z_]+ .+$", REG_EXTENDED | REG_NOSUB),
                     0);
    int lines = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), lines++)
        if (regexec(&sample, line, 0, NULL, 0) && regexec(&comment, line, 0, NULL, 0))
            fail_msg("not exposition syntax: %s", line);
    assert_true(lines > 30);
    regfree(&sample);
    regfree(&comment);
    free(t);
    srv_metrics_free(m);
}

static void test_escape(void **state)
{
    char out[32];
    assert_int_equal(srv_metrics_escape("a\"b\\c\nd", out, sizeof out), 10);
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
    srv_metrics_escape("0123456789", out, 6); /* truncated, still terminated */
    assert_true(strlen(out) < 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_gauges_and_models),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
