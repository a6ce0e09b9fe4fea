/* viewer.c - the embedded viewer's files and the pages' security policies; see viewer.h. */
#include "viewer.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

bool srv_viewer_asset(const char *path, const char **body, size_t *len, const char **type)
{
    for (int i = 0; i < srv_viewer_n_assets; i++) {
        const struct srv_asset *a = &srv_viewer_assets[i];
        if (strcmp(path, a->path)) continue;
        *body = (const char *)a->body;
        *len = a->len;
        *type = a->type;
        return true;
    }
    return false;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char viewer_csp[512], report_csp[256];

static void make_policies(void)
{
    char style[80];
    api_report_style_source(style, sizeof style);
    snprintf(viewer_csp, sizeof viewer_csp,
             "default-src 'none'; script-src 'self'; style-src 'self' %s; img-src 'self' data:; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
             style);
    snprintf(report_csp, sizeof report_csp,
             "default-src 'none'; style-src %s; img-src data:; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'none'",
             style);
}

const char *srv_viewer_csp(void)
{
    pthread_once(&once, make_policies);
    return viewer_csp;
}

const char *srv_report_csp(void)
{
    pthread_once(&once, make_policies);
    return report_csp;
}
