/*
 * test_html.c - the HTML buffer: escaping of untrusted text (markup characters, control
 * characters, UTF-8 kept), raw and formatted output, data: URIs, long output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html.h"

static void test_escape_markup(void **state)
{
    char *s = api_html_escape("<script>alert(\"x\" & 'y')</script>");
    assert_string_equal(s, "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
    free(s);
    s = api_html_escape("a&amp;b");
    assert_string_equal(s, "a&amp;amp;b"); /* already-escaped text is text too */
    free(s);
    s = api_html_escape("");
    assert_string_equal(s, "");
    free(s);
}

static void test_escape_controls_and_utf8(void **state)
{
    char *s = api_html_escape("a\x01z\x7f\tline\nnext\r");
    assert_string_equal(s, "a\xEF\xBF\xBDz\xEF\xBF\xBD\tline\nnext\r");
    free(s);
    s = api_html_escape("n\xC3\xA9odule \xE2\x80\x94 93\xC2\xA0%"); /* é, em dash, no-break */
    assert_string_equal(s, "n\xC3\xA9odule \xE2\x80\x94 93\xC2\xA0%");
    free(s);
}

static void test_buffer(void **state)
{
    struct api_html b = {0};
    api_html_raw(&b, "<p class=\"x\">");
    api_html_text(&b, "1 < 2");
    api_html_printf(&b, " %d%%</p>", 93);
    size_t len;
    char *d = api_html_take(&b, &len);
    assert_string_equal(d, "<p class=\"x\">1 &lt; 2 93%</p>");
    assert_int_equal(len, strlen(d));
    assert_null(b.data); /* emptied */
    free(d);

    /* long formatted output (over the small stack buffer) and growth past the first block */
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 20; i++) api_html_printf(&b, "[%s]", big);
    d = api_html_take(&b, &len);
    assert_int_equal(len, 20 * 1001);
    assert_int_equal(d[0], '[');
    assert_int_equal(d[len - 1], ']');
    free(d);

    /* an empty buffer gives an empty document, not NULL */
    d = api_html_take(&b, &len);
    assert_non_null(d);
    assert_string_equal(d, "");
    free(d);
}

static void test_data_uri(void **state)
{
    struct api_html b = {0};
    api_html_data_uri(&b, "image/png", "\x89PNG", 4);
    char *d = api_html_take(&b, NULL);
    assert_string_equal(d, "data:image/png;base64,iVBORw==");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_markup),
        cmocka_unit_test(test_escape_controls_and_utf8),
        cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_data_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
