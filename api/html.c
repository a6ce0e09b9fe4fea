/* html.c - HTML text buffer and escaping; see html.h. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

/* Room for n more bytes plus the NUL. */
static bool reserve(struct api_html *b, size_t n)
{
    if (b->failed) return false;
    if (b->len + n + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    b->data[b->len] = '\0';
    return true;
}

static void append(struct api_html *b, const char *s, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void api_html_raw(struct api_html *b, const char *s)
{
    append(b, s, strlen(s));
}

void api_html_printf(struct api_html *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The replacement of one byte, or NULL to keep it. */
static const char *escape_of(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    case '\t':
    case '\n':
    case '\r':
        return NULL;
    default:
        return c < 0x20 || c == 0x7f ? "\xEF\xBF\xBD" : NULL;
    }
}

void api_html_text(struct api_html *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = escape_of((unsigned char)*s);
        if (!rep) continue;
        append(b, run, (size_t)(s - run));
        api_html_raw(b, rep);
        run = s + 1;
    }
    append(b, run, (size_t)(s - run));
}

void api_html_data_uri(struct api_html *b, const char *mime, const void *data, size_t len)
{
    api_html_raw(b, "data:");
    api_html_raw(b, mime);
    api_html_raw(b, ";base64,");
    size_t n = xai_base64_encoded_len(len);
    if (!reserve(b, n)) return;
    xai_base64_encode(data, len, b->data + b->len);
    b->len += n;
}

char *api_html_take(struct api_html *b, size_t *len)
{
    if (!b->failed && !b->data) reserve(b, 0);
    if (b->failed) {
        api_html_reset(b);
        return NULL;
    }
    char *d = b->data;
    if (len) *len = b->len;
    memset(b, 0, sizeof *b);
    return d;
}

void api_html_reset(struct api_html *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *api_html_escape(const char *s)
{
    struct api_html b = {0};
    api_html_text(&b, s);
    return api_html_take(&b, NULL);
}
