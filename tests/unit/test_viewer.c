/*
 * test_viewer.c - the embedded viewer: every file of server/viewer/ is served byte for byte at
 * its path, nothing else is, no file refers to another host (no CDN), and the policies allow
 * only the server itself, data: images and the report's own stylesheet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "viewer.h"

#define VIEWER XAI_SOURCE_DIR "/server/viewer/"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    b[*len] = '\0';
    fclose(f);
    return b;
}

static void check_asset(const char *path, const char *file, const char *type)
{
    const char *body, *t;
    size_t len, flen;
    assert_true(srv_viewer_asset(path, &body, &len, &t));
    assert_string_equal(t, type);
    char *want = slurp(file, &flen);
    assert_int_equal(len, flen);
    assert_memory_equal(body, want, len);
    free(want);
}

static void test_assets(void **state)
{
    check_asset("/", VIEWER "index.html", "text/html; charset=utf-8");
    check_asset("/viewer.js", VIEWER "viewer.js", "text/javascript; charset=utf-8");
    check_asset("/viewer.css", VIEWER "viewer.css", "text/css; charset=utf-8");
    const char *body, *t;
    size_t len;
    assert_false(srv_viewer_asset("/index.html", &body, &len, &t));
    assert_false(srv_viewer_asset("/viewer.c", &body, &len, &t));
    assert_false(srv_viewer_asset("/../viewer.js", &body, &len, &t));
    assert_false(srv_viewer_asset("", &body, &len, &t));
}

static void test_no_other_host(void **state)
{
    for (int i = 0; i < srv_viewer_n_assets; i++) {
        const struct srv_asset *a = &srv_viewer_assets[i];
        char *text = malloc(a->len + 1);
        memcpy(text, a->body, a->len);
        text[a->len] = '\0';
        if (strstr(text, "http://") || strstr(text, "https://") || strstr(text, "src=\"//") ||
            strstr(text, "href=\"//"))
            fail_msg("%s refers to another host", a->path);
        free(text);
    }
}

static void test_policies(void **state)
{
    char style[80];
    api_report_style_source(style, sizeof style);
    const char *v = srv_viewer_csp(), *r = srv_report_csp();
    assert_non_null(strstr(v, "default-src 'none'"));
    assert_non_null(strstr(v, "script-src 'self';"));
    assert_non_null(strstr(v, "img-src 'self' data:;"));
    assert_non_null(strstr(v, "connect-src 'self';"));
    assert_non_null(strstr(v, style));
    assert_non_null(strstr(r, "default-src 'none'"));
    assert_non_null(strstr(r, style));
    assert_null(strstr(r, "script-src"));
    assert_null(strstr(v, "unsafe"));
    assert_null(strstr(r, "unsafe"));
    assert_null(strstr(v, "*"));
    assert_null(strstr(r, "*"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_no_other_host),
        cmocka_unit_test(test_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
