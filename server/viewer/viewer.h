/*
 * viewer.h - the viewer page (GET /) and the Content-Security-Policies of what the browser
 * shows: the page's HTML, CSS and JS are built into the binary (tools/embed_files.cmake turns
 * the .html, .css and .js files of server/viewer/ into byte arrays), so the server needs no files
 * and no network at run time.
 */
#ifndef SRV_VIEWER_H
#define SRV_VIEWER_H

#include <stdbool.h>
#include <stddef.h>

struct srv_asset {
    const char *path; /* URL path: "/" for index.html, "/viewer.js" ... */
    const char *type; /* Content-Type */
    const unsigned char *body;
    size_t len;
};

/* The generated table (viewer_assets.c). */
extern const struct srv_asset srv_viewer_assets[];
extern const int srv_viewer_n_assets;

/* The viewer's file at an URL path (exact match, query string excluded by the caller): true
 * and its body, length and Content-Type; false for any other path. */
bool srv_viewer_asset(const char *path, const char **body, size_t *len, const char **type);

/* Content-Security-Policy of the viewer's files: scripts, styles, fetches and images from the
 * server itself, images also as data: URIs, and the report's inline stylesheet (by its hash),
 * because a report opened from the page as a blob: URL inherits the page's policy. */
const char *srv_viewer_csp(void);
/* Content-Security-Policy of a report answer: nothing but its own inline stylesheet and
 * data: images. */
const char *srv_report_csp(void);

#endif
