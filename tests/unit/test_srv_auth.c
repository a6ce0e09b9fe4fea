/*
 * test_srv_auth.c - the tokens file (comments, blank lines, CRLF, every refusal naming only the
 * line) and the Authorization check: missing or malformed is 401, an unknown token 403, a known
 * one gives its ID; the scheme is case-insensitive and a token's prefix or extension never passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "srv_auth.h"

#define TOK_A "tok-A-9f8e7d6c5b4a"
#define TOK_B "tok-B-0123456789ab"

static struct srv_tokens load(const char *text)
{
    struct srv_tokens t;
    struct xai_err err = {{0}};
    xai_status st = srv_tokens_parse(text, strlen(text), &t, &err);
    if (st) fail_msg("%s", err.msg);
    return t;
}

static void test_parse(void **state)
{
    struct srv_tokens t = load("# id token\n\nalice " TOK_A "\r\n  bob\t" TOK_B "  \n#x y z\n");
    assert_int_equal(t.n, 2);
    assert_string_equal(t.t[0].id, "alice");
    assert_string_equal(t.t[1].id, "bob");
    srv_tokens_reset(&t);
    assert_int_equal(t.n, 0);
    t = load("carol abcdefghijklmnop+/==");
    assert_int_equal(t.n, 1);
    srv_tokens_reset(&t);
}

static void test_parse_refusals(void **state)
{
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"", "no token"},
        {"# only a comment\n\n", "no token"},
        {"alice\n", "line 1: expected ID TOKEN"},
        {"alice " TOK_A "\nbob " TOK_B " extra\n", "line 2: expected"},
        {"alice short\n", "line 1: a token needs at least 16"},
        {"alice tok-with-a-bad-char!\n", "line 1: a token"},
        {"alice =abcdefghijklmnopq\n", "line 1: a token"},
        {"alice " TOK_A "\nalice " TOK_B "\n", "line 2: repeated ID"},
        {"alice " TOK_A "\nbob " TOK_A "\n", "line 2: the same token"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct srv_tokens t;
        struct xai_err err = {{0}};
        xai_status st = srv_tokens_parse(cases[i].text, strlen(cases[i].text), &t, &err);
        if (st != XAI_INVALID_ARGUMENT || !strstr(err.msg, cases[i].says))
            fail_msg("case %zu: %s '%s'", i, xai_status_code(st), err.msg);
        assert_null(strstr(err.msg, "tok-")); /* a token never reaches a message */
        assert_int_equal(t.n, 0);
    }
    char id[100];
    memset(id, 'i', 65);
    strcpy(id + 65, " " TOK_A);
    struct srv_tokens t;
    struct xai_err err = {{0}};
    assert_int_equal(srv_tokens_parse(id, strlen(id), &t, &err), XAI_INVALID_ARGUMENT);
    static const char nul[] = "alice " TOK_A "\0\n";
    assert_int_equal(srv_tokens_parse(nul, sizeof nul - 1, &t, &err), XAI_INVALID_ARGUMENT);
}

static void test_check(void **state)
{
    struct srv_tokens t = load("alice " TOK_A "\nbob " TOK_B "\n");
    const char *id;
    assert_int_equal(srv_auth_check(&t, "Bearer " TOK_A, &id), SRV_AUTH_OK);
    assert_string_equal(id, "alice");
    assert_int_equal(srv_auth_check(&t, "bearer  " TOK_B " ", &id), SRV_AUTH_OK);
    assert_string_equal(id, "bob");
    static const char *const missing[] = {NULL,           "",
                                          "Bearer",       "Bearer ",
                                          "bearer",       TOK_A,
                                          "Token " TOK_A, "Basic YWxpY2U6cHc=",
                                          "Bearer a b",   "BearerX " TOK_A};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        assert_int_equal(srv_auth_check(&t, missing[i], &id), SRV_AUTH_MISSING);
        assert_null(id);
    }
    static const char *const refused[] = {"Bearer tok-A-9f8e7d6c5b4b", "Bearer " TOK_A "x",
                                          "Bearer tok-A-9f8e7d6c5b4", "Bearer alice"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(srv_auth_check(&t, refused[i], &id), SRV_AUTH_REFUSED);
        assert_null(id);
    }
    srv_tokens_reset(&t);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/xaid-test-tokens-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "alice %s\n", TOK_A);
    fclose(f);
    struct srv_tokens t;
    struct xai_err err = {{0}};
    assert_int_equal(srv_tokens_load(path, &t, &err), XAI_OK);
    assert_int_equal(t.n, 1);
    srv_tokens_reset(&t);
    remove(path);
    assert_int_equal(srv_tokens_load(path, &t, &err), XAI_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
