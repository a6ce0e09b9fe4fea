/*
 * html.h - a growable text buffer for writing HTML documents, with escaping.
 *
 * Every string that does not come from xaid's own source (model.json fields, labels, layer
 * names, request ids) goes through api_html_text or api_html_attr, so that a model
 * description containing markup shows as text and cannot add elements, scripts or links. The
 * buffer records the first allocation failure and ignores later writes, so a document is built
 * without checking each call and the failure is seen once at the end (api_html_take).
 */
#ifndef API_HTML_H
#define API_HTML_H

#include <stdbool.h>
#include <stddef.h>

struct api_html {
    char *data; /* NUL-terminated */
    size_t len, cap;
    bool failed; /* an allocation failed: contents are incomplete */
};

/* Markup from xaid's own source, written as is. */
void api_html_raw(struct api_html *b, const char *s);
/* printf-style raw output (numbers, fixed markup); no %s of untrusted text. */
void api_html_printf(struct api_html *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Untrusted text as element content or attribute value: & < > " ' become character
 * references, C0 control characters other than tab, newline and carriage return (and DEL)
 * become U+FFFD, which HTML does not allow as text. Valid UTF-8 is assumed (jansson checks
 * model.json); invalid bytes are passed through unchanged. */
void api_html_text(struct api_html *b, const char *s);
/* A data: URI of bytes as base64 (for src attributes): "data:MIME;base64,...". */
void api_html_data_uri(struct api_html *b, const char *mime, const void *data, size_t len);

/* The document (caller frees) and its length; NULL after an allocation failure. Empties b. */
char *api_html_take(struct api_html *b, size_t *len);
void api_html_reset(struct api_html *b);

/* Escapes s into a new string (caller frees); NULL when out of memory. */
char *api_html_escape(const char *s);

#endif
