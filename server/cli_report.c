/*
 * cli_report.c - `xaid report`: the clinicians' report (api/report.h) on one image file,
 * written as the same HTML document (or JSON with --json) that
 * POST /v1/models/{model}/report answers, from the same parameters (api/request.h). The
 * image's file name never enters the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "json_mem.h"
#include "json_out.h"
#include "report.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: xaid report --model DIR --image FILE --out REPORT.html [--json]\n"
            "                   [--method M] [--param NAME=VALUE ...] [--target INDEX|LABEL]\n"
            "                   [--layer ONNX_NAME] [--colormap NAME] [--opacity 0..1]\n"
            "                   [--seed N] [--evaluate]\n"
            "  a self-contained report for clinicians: findings, the method's overlay\n"
            "  (default " API_REPORT_METHOD ") beside grad-CAM's, caveats; --json writes the same\n"
            "  content as JSON; --evaluate adds the faithfulness curves. The parameters are\n"
            "  those of `xaid explain` and of the HTTP API (docs/api.md)\n");
    return 2;
}

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "xaid: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static int write_report(const char *path, bool as_json, const struct api_report *r)
{
    size_t len = 0;
    char *text = NULL;
    if (as_json) {
        json_t *j = api_report_json(r);
        text = j ? api_json_dumps(j, API_JSON_FLAGS | JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (text) len = strlen(text);
    } else {
        text = api_report_html(r, &len);
    }
    if (!text) {
        fprintf(stderr, "xaid: out of memory\n");
        return 1;
    }
    int rc = write_text(path, text, len);
    free(text);
    return rc;
}

static int run(const struct cli_request *a, const struct api_model *m, const unsigned char *bytes,
               size_t len)
{
    struct xai_err err = {{0}};
    struct api_explain_opts o;
    struct api_report r = {0};
    struct api_timing t = {0};
    xai_session *s = NULL;
    xai_status st = api_report_parse(m, &a->args, &o, &err);
    if (st) return cli_fail(st, &err);
    if (!(st = xai_session_new(m->engine, &s, &err)))
        st = api_run_report(m, s, bytes, len, &o, NULL, &r, &t, &err);
    int rc = st ? cli_fail(st, &err) : write_report(a->files[0], a->switches[0], &r);
    api_report_reset(&r);
    xai_session_free(s);
    return rc;
}

int cli_report(int argc, char **argv)
{
    static const char *const files[] = {"--out", NULL}, *const switches[] = {"--json", NULL};
    struct cli_request a;
    struct xai_err err = {{0}};
    int bad = cli_request_parse(argc, argv, files, switches, &a, &err);
    if (bad < 0 || (!bad && !a.files[0])) return usage();
    if (bad) return cli_fail(XAI_INVALID_ARGUMENT, &err);
    struct api_model *m = NULL;
    xai_status st = api_model_load(a.model, &m, &err);
    if (st) return cli_fail(st, &err);
    size_t len = 0;
    unsigned char *bytes = cli_read_image(a.image, xai_image_limits_default().max_bytes, &len);
    int rc = bytes ? run(&a, m, bytes, len) : 1;
    free(bytes);
    api_model_free(m);
    return rc;
}
