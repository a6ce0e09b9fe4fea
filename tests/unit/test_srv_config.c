/*
 * test_srv_config.c - routes (matching, Allow, which need a token) and `xaid serve`'s
 * configuration: defaults, XAID_* variables, flags winning over them, refusals naming the flag,
 * and the CPU count from a cgroup v2 cpu.max.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "srv_config.h"
#include "srv_router.h"

static void test_routes(void **state)
{
    char model[SRV_MODEL_NAME_MAX + 1];
    static const struct {
        const char *path;
        enum srv_route r;
        const char *model;
    } cases[] = {
        {"/v1/models/chest-demo/explain", SRV_ROUTE_EXPLAIN, "chest-demo"},
        {"/v1/models/m/predict", SRV_ROUTE_PREDICT, "m"},
        {"/v1/models/chest-demo", SRV_ROUTE_MODEL, "chest-demo"},
        {"/v1/models", SRV_ROUTE_MODELS, ""},
        {"/v1/methods", SRV_ROUTE_METHODS, ""},
        {"/healthz", SRV_ROUTE_HEALTHZ, ""},
        {"/readyz", SRV_ROUTE_READYZ, ""},
        {"/metrics", SRV_ROUTE_METRICS, ""},
        {"/", SRV_ROUTE_VIEWER, ""},
        {"/v1/models/m/report", SRV_ROUTE_REPORT, "m"},
        {"/v1/models/", SRV_ROUTE_NONE, ""},
        {"/v1/models//explain", SRV_ROUTE_NONE, ""},
        {"/v1/models/m/explain/", SRV_ROUTE_NONE, ""},
        {"/v1/models/m/explainx", SRV_ROUTE_NONE, ""},
        {"/v1/models/m/explain/more", SRV_ROUTE_NONE, ""},
        {"/v1/model", SRV_ROUTE_NONE, ""},
        {"/v1/models/", SRV_ROUTE_NONE, ""},
        {"/healthz/", SRV_ROUTE_NONE, ""},
        {"/v2/models", SRV_ROUTE_NONE, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum srv_route r = srv_route_match(cases[i].path, model);
        if (r != cases[i].r || strcmp(model, cases[i].model))
            fail_msg("%s: route %d model '%s'", cases[i].path, r, model);
    }
    char longpath[400] = "/v1/models/";
    memset(longpath + strlen(longpath), 'm', 256);
    assert_int_equal(srv_route_match(longpath, model), SRV_ROUTE_NONE);
    assert_string_equal(srv_route_template(SRV_ROUTE_EXPLAIN), "/v1/models/{model}/explain");
    assert_string_equal(srv_route_template(SRV_ROUTE_NONE), "unknown");
}

static void test_methods(void **state)
{
    assert_true(srv_route_allows(SRV_ROUTE_EXPLAIN, "POST"));
    assert_true(srv_route_allows(SRV_ROUTE_EXPLAIN, "OPTIONS"));
    assert_false(srv_route_allows(SRV_ROUTE_EXPLAIN, "GET"));
    assert_false(srv_route_allows(SRV_ROUTE_EXPLAIN, "POS"));
    assert_false(srv_route_allows(SRV_ROUTE_EXPLAIN, "ST"));
    assert_true(srv_route_allows(SRV_ROUTE_MODELS, "HEAD"));
    assert_false(srv_route_allows(SRV_ROUTE_HEALTHZ, "OPTIONS"));
    assert_false(srv_route_allows(SRV_ROUTE_NONE, "GET"));
    assert_false(srv_route_allows(SRV_ROUTE_MODELS, ""));
    assert_false(srv_route_allows(SRV_ROUTE_MODELS, NULL));
    assert_string_equal(srv_route_allow(SRV_ROUTE_PREDICT), "POST, OPTIONS");
    assert_true(srv_route_is_api(SRV_ROUTE_METHODS));
    assert_false(srv_route_is_api(SRV_ROUTE_METRICS));
    assert_true(srv_route_is_job(SRV_ROUTE_PREDICT));
    assert_false(srv_route_is_job(SRV_ROUTE_MODEL));
    assert_true(srv_route_has_model(SRV_ROUTE_MODEL));
}

static void clear_env(void)
{
    static const char *const vars[] = {"XAID_LISTEN",
                                       "XAID_PORT",
                                       "XAID_MODELS",
                                       "XAID_WORKERS",
                                       "XAID_QUEUE",
                                       "XAID_MAX_BODY",
                                       "XAID_DEADLINE_MS",
                                       "XAID_READ_TIMEOUT",
                                       "XAID_CORS_ORIGINS",
                                       "XAID_TOKENS_FILE",
                                       "XAID_LOG_LEVEL",
                                       "XAID_MAX_CONNECTIONS",
                                       "XAID_MAX_CONNECTIONS_PER_IP",
                                       "XAID_MAX_HEADER_BYTES",
                                       "XAID_TLS_CERT",
                                       "XAID_TLS_KEY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
}

static xai_status load(int argc, char **argv, struct srv_config *c, struct xai_err *err)
{
    int help = 0;
    return srv_config_load(argc, argv, c, &help, err);
}

static void test_defaults_env_flags(void **state)
{
    struct srv_config c;
    struct xai_err err = {{0}};
    char *none[] = {"serve", NULL};
    clear_env();
    assert_int_equal(load(1, none, &c, &err), XAI_OK);
    assert_string_equal(c.listen, "0.0.0.0");
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.models, "models");
    assert_int_equal(c.workers, srv_cpus_available());
    assert_int_equal(c.queue, 4 * c.workers);
    assert_int_equal(c.max_body, 33554432);
    assert_int_equal(c.deadline_ms, 30000);
    assert_int_equal(c.read_timeout, 30);
    assert_null(c.cors_origins);
    assert_null(c.tokens);
    assert_int_equal(c.log_level, SRV_LOG_INFO);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.max_per_ip, 0);
    assert_int_equal(c.max_header, 32768);
    assert_null(c.tls_cert);
    assert_null(c.tls_key);

    setenv("XAID_PORT", "9000", 1);
    setenv("XAID_WORKERS", "3", 1);
    setenv("XAID_LOG_LEVEL", "warn", 1);
    setenv("XAID_TOKENS_FILE", "/etc/xaid/tokens", 1);
    char *flags[] = {"serve", "--port", "0", "--queue", "0", "--max-body", "2048", NULL};
    assert_int_equal(load(7, flags, &c, &err), XAI_OK);
    assert_int_equal(c.port, 0);    /* the flag wins */
    assert_int_equal(c.workers, 3); /* from the environment */
    assert_int_equal(c.queue, 0);
    assert_int_equal(c.max_body, 2048);
    assert_int_equal(c.log_level, SRV_LOG_WARN);
    assert_string_equal(c.tokens, "/etc/xaid/tokens");

    clear_env();
    setenv("XAID_MAX_CONNECTIONS_PER_IP", "16", 1);
    setenv("XAID_TLS_CERT", "/etc/xaid/cert.pem", 1);
    setenv("XAID_TLS_KEY", "/etc/xaid/key.pem", 1);
    char *more[] = {"serve", "--max-connections", "64", "--max-header-bytes", "16384", NULL};
    assert_int_equal(load(5, more, &c, &err), XAI_OK);
    assert_int_equal(c.max_connections, 64);
    assert_int_equal(c.max_per_ip, 16);
    assert_int_equal(c.max_header, 16384);
    assert_string_equal(c.tls_cert, "/etc/xaid/cert.pem");
    assert_string_equal(c.tls_key, "/etc/xaid/key.pem");
    clear_env();
}

static void test_refusals(void **state)
{
    static const struct {
        const char *flag, *value, *says;
    } cases[] = {
        {"--port", "65536", "--port (XAID_PORT) must be an integer from 0 to 65535"},
        {"--port", "80x", "--port"},
        {"--port", "", "--port"},
        {"--workers", "0", "--workers"},
        {"--queue", "-1", "--queue"},
        {"--max-body", "100", "--max-body"},
        {"--deadline-ms", "1.5", "--deadline-ms"},
        {"--read-timeout", "+5", "--read-timeout"},
        {"--log-level", "verbose", "debug, info, warn or error"},
        {"--listen", "localhost", "IPv4"},
        {"--listen", "::1", "IPv4"},
        {"--max-connections", "2", "--max-connections (XAID_MAX_CONNECTIONS)"},
        {"--max-connections-per-ip", "-1", "--max-connections-per-ip"},
        {"--max-header-bytes", "4096", "--max-header-bytes"},
        {"--tls-cert", "cert.pem", "--tls-cert (XAID_TLS_CERT) and --tls-key"},
        {"--tls-key", "key.pem", "go together"},
    };
    clear_env();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_config c;
        struct xai_err err = {{0}};
        char *argv[] = {"serve", (char *)cases[i].flag, (char *)cases[i].value, NULL};
        xai_status st = load(3, argv, &c, &err);
        if (st != XAI_INVALID_ARGUMENT || !strstr(err.msg, cases[i].says))
            fail_msg("%s %s: %s '%s'", cases[i].flag, cases[i].value, xai_status_code(st), err.msg);
    }
    struct srv_config c;
    struct xai_err err = {{0}};
    char *unknown[] = {"serve", "--bogus", "1", NULL};
    assert_int_equal(load(3, unknown, &c, &err), XAI_NOT_FOUND);
    char *novalue[] = {"serve", "--port", NULL};
    assert_int_equal(load(2, novalue, &c, &err), XAI_INVALID_ARGUMENT);
    setenv("XAID_WORKERS", "many", 1);
    char *none[] = {"serve", NULL};
    assert_int_equal(load(1, none, &c, &err), XAI_INVALID_ARGUMENT);
    assert_non_null(strstr(err.msg, "XAID_WORKERS"));
    clear_env();
    int help = 0;
    char *h[] = {"serve", "--help", NULL};
    assert_int_equal(srv_config_load(2, h, &c, &help, &err), XAI_OK);
    assert_int_equal(help, 1);
}

static void test_cpu_max(void **state)
{
    assert_int_equal(srv_cpu_max_parse("max 100000\n"), 0);
    assert_int_equal(srv_cpu_max_parse("100000 100000\n"), 1);
    assert_int_equal(srv_cpu_max_parse("150000 100000"), 2);
    assert_int_equal(srv_cpu_max_parse("50000 100000"), 1);
    assert_int_equal(srv_cpu_max_parse("400000 100000"), 4);
    assert_int_equal(srv_cpu_max_parse(""), 0);
    assert_int_equal(srv_cpu_max_parse("garbage"), 0);
    assert_int_equal(srv_cpu_max_parse("100 0"), 0);
    assert_int_equal(srv_cpu_max_parse("-5 100000"), 0);
    assert_true(srv_cpus_available() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_defaults_env_flags),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cpu_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
