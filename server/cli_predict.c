/*
 * cli_predict.c - `xaid predict --image` and `xaid models`: the api layer's predict pipeline and
 * model repository from the command line, with the HTTP API's JSON answers (api/request.h).
 *
 * The image file's name is never printed: file names of medical images often carry patient
 * names, and these messages end up in logs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "model_repo.h"
#include "predict.h"
#include "request.h"

static void print_table(const struct api_model *m, const struct api_scores *s)
{
    printf("model       %s %s (%s)\nsha256      %s\n", m->name, m->version, api_task_name(m->task),
           m->sha256);
    printf("prediction  %s (index %d, probability %.6f)\n\n", s->top.label, s->top.index,
           s->top.probability);
    printf("%5s  %-24s %12s %12s\n", "index", "label", "probability", "logit");
    for (int i = 0; i < s->n; i++)
        printf("%5d  %-24s %12.6f %12.6f\n", s->scores[i].index, s->scores[i].label,
               s->scores[i].probability, s->scores[i].logit);
}

static int run_image(const struct api_model *m, const unsigned char *bytes, size_t len, bool json)
{
    struct xai_err err = {{0}};
    struct api_scores sc = {0};
    struct api_timing t = {0};
    xai_session *s = NULL;
    double t0 = api_now_ms();
    xai_status st = xai_session_new(m->engine, &s, &err);
    if (!st) st = api_run_predict(m, s, bytes, len, &sc, &t, &err);
    xai_session_free(s);
    if (st) return cli_fail(st, &err);
    int rc = 0;
    if (json) {
        char id[33];
        api_request_id_new(id);
        t.total = api_now_ms() - t0;
        rc = cli_print_json(api_predict_answer(id, m, &sc, &t));
    } else {
        print_table(m, &sc);
    }
    api_scores_reset(&sc);
    return rc;
}

static int predict_usage(void)
{
    fprintf(stderr, "usage: xaid predict --model DIR --image FILE [--json]\n"
                    "       xaid predict --model DIR|FILE.onnx --input FILE.bin --shape N,C,H,W "
                    "[--out OUT.bin]\n");
    return 2;
}

int cli_predict(int argc, char **argv)
{
    const char *model = NULL, *image = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") || !strcmp(argv[i], "--shape"))
            return cli_predict_raw(argc, argv);
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--image") && i + 1 < argc)
            image = argv[++i];
        else
            return predict_usage();
    }
    if (!model || !image) return predict_usage();
    struct xai_err err = {{0}};
    struct api_model *m = NULL;
    xai_status st = api_model_load(model, &m, &err);
    if (st) return cli_fail(st, &err);
    size_t len = 0;
    unsigned char *bytes = cli_read_image(image, xai_image_limits_default().max_bytes, &len);
    int rc = bytes ? run_image(m, bytes, len, json) : 1;
    free(bytes);
    api_model_free(m);
    return rc;
}

/* ---- xaid models ---- */

static void print_model(const struct api_model *m)
{
    const struct xai_preprocess *p = &m->pre;
    printf("%s %s\n  task       %s, %d labels\n  input      %s [%d,%d,%d]\n  sha256     %s\n",
           m->name, m->version, api_task_name(m->task), m->n_labels, m->input_name, p->channels,
           p->height, p->width, m->sha256);
    int l = m->cam_value >= 0 ? api_model_layer(m, m->cam_value) : -1;
    if (l >= 0)
        printf("  cam layer  %s [%lld,%lld,%lld]%s\n", m->cam_layer,
               (long long)m->layers[l].shape.d[1], (long long)m->layers[l].shape.d[2],
               (long long)m->layers[l].shape.d[3], m->cam_layer_guessed ? " (guessed)" : "");
    printf("  folder     %s\n", m->dir);
}

static int list_json(const struct api_repo *r)
{
    json_t *a = json_array();
    for (int i = 0; a && i < r->n_models; i++)
        if (json_array_append_new(a, api_model_info_json(r->models[i]))) {
            json_decref(a);
            a = NULL;
        }
    return cli_print_json(a);
}

int cli_models(int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else {
            fprintf(stderr, "usage: xaid models [DIR] [--json]   (DIR defaults to models)\n");
            return 2;
        }
    }
    struct xai_err err = {{0}};
    struct api_repo *r = NULL;
    xai_status st = api_repo_load(dir ? dir : "models", &r, &err);
    if (st) return cli_fail(st, &err);
    int rc = 0;
    if (json)
        rc = list_json(r);
    else
        for (int i = 0; i < r->n_models; i++) print_model(r->models[i]);
    api_repo_free(r);
    return rc;
}
