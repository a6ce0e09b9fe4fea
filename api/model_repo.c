/*
 * model_repo.c - loading model folders and repositories (contract in model_repo.h).
 *
 * One model = one folder with model.onnx and model.json. Loading reads model.json first (cheap,
 * and most mistakes are there), then the ONNX file, then checks one against the other
 * (model_graph.c). A repository lists its subfolders in name order, so the order of models
 * (and of any error) does not depend on the file system; every folder holding either file
 * must be a complete, valid model.
 */
#include "model_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_LEN 4096

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/name into buf; INVALID_ARGUMENT when it does not fit. */
static xai_status join_path(char *buf, const char *dir, const char *name, struct xai_err *err)
{
    int n = snprintf(buf, PATH_LEN, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_LEN)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "model path longer than %d bytes", PATH_LEN);
    return XAI_OK;
}

const char *api_task_name(enum api_task t)
{
    return t == API_TASK_MULTILABEL ? "multilabel" : "multiclass";
}

void api_model_free(struct api_model *m)
{
    if (!m) return;
    for (int i = 0; m->labels && i < m->n_labels; i++) free(m->labels[i]);
    free(m->labels);
    free(m->name);
    free(m->version);
    free(m->description);
    free(m->dir);
    free(m->input_name);
    free(m->output_name);
    free(m->cam_layer);
    free(m->classifier.weight_name);
    free(m->classifier.bias_name);
    free(m->recon_name);
    for (int i = 0; m->attention_names && i < m->n_attention; i++) free(m->attention_names[i]);
    free(m->attention_names);
    free(m->attention_values);
    free(m->layers);
    xai_model_free(m->engine);
    free(m);
}

static xai_status load_engine(struct api_model *m, const char *onnx_path, struct xai_err *err)
{
    struct xai_err e = {{0}};
    xai_status st = xai_model_load(onnx_path, &m->engine, &e);
    if (st) return xai_fail(err, st, "%s: %s", onnx_path, e.msg);
    return XAI_OK;
}

static xai_status load_model(const char *dir, struct api_model *m, struct xai_err *err)
{
    char jp[PATH_LEN], op[PATH_LEN];
    xai_status st;
    if ((st = join_path(jp, dir, "model.json", err)) ||
        (st = join_path(op, dir, "model.onnx", err)))
        return st;
    if (!is_dir(dir)) return xai_fail(err, XAI_NOT_FOUND, "%s: not a model folder", dir);
    bool has_json = is_file(jp), has_onnx = is_file(op);
    if (!has_json || !has_onnx)
        return xai_fail(err, XAI_NOT_FOUND,
                        "%s: no %s (a model folder holds model.onnx and "
                        "model.json)",
                        dir, has_json ? "model.onnx" : "model.json");
    if (!(m->dir = strdup(dir))) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if ((st = api_model_json_load(jp, m, err)) || (st = load_engine(m, op, err))) return st;
    return api_model_bind(m, jp, op, err);
}

xai_status api_model_load(const char *dir, struct api_model **out, struct xai_err *err)
{
    *out = NULL;
    struct api_model *m = calloc(1, sizeof *m);
    if (!m) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    xai_status st = load_model(dir, m, err);
    if (st) {
        api_model_free(m);
        return st;
    }
    *out = m;
    return XAI_OK;
}

/* ---- repositories ---- */

struct names {
    char **v;
    int n, cap;
};

static void names_free(struct names *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

static bool names_add(struct names *s, const char *name)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return false;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(name))) return false;
    s->n++;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when dir/name is a folder holding model.onnx or model.json. */
static bool looks_like_model(const char *dir, const char *name)
{
    char sub[PATH_LEN], f[PATH_LEN];
    if (name[0] == '.' || snprintf(sub, sizeof sub, "%s/%s", dir, name) >= PATH_LEN) return false;
    if (!is_dir(sub)) return false;
    if (snprintf(f, sizeof f, "%s/model.json", sub) < PATH_LEN && is_file(f)) return true;
    return snprintf(f, sizeof f, "%s/model.onnx", sub) < PATH_LEN && is_file(f);
}

/* The names of dir's model folders, sorted. */
static xai_status list_models(const char *dir, struct names *out, struct xai_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return xai_fail(err, errno == ENOENT ? XAI_NOT_FOUND : XAI_IO,
                        "%s: cannot open the model repository: %s", dir, strerror(errno));
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d)))
        if (looks_like_model(dir, e->d_name)) ok = names_add(out, e->d_name);
    closedir(d);
    if (!ok) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_names);
    return XAI_OK;
}

static xai_status check_listing(const char *dir, const struct names *names, struct xai_err *err)
{
    char f[PATH_LEN];
    if (snprintf(f, sizeof f, "%s/model.json", dir) < PATH_LEN && is_file(f))
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "%s is a model folder; the repository is the "
                        "folder that holds it",
                        dir);
    if (names->n == 0)
        return xai_fail(err, XAI_NOT_FOUND,
                        "%s: no models (a repository holds one folder per "
                        "model, each with model.onnx and model.json)",
                        dir);
    if (names->n > API_REPO_MAX_MODELS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "%s: %d models, more than the limit of %d", dir,
                        names->n, API_REPO_MAX_MODELS);
    return XAI_OK;
}

/* Loads model i of the listing into r->models[i], refusing a name already taken. */
static xai_status load_nth(struct api_repo *r, const struct names *names, int i,
                           struct xai_err *err)
{
    char sub[PATH_LEN];
    xai_status st = join_path(sub, r->dir, names->v[i], err);
    if (st || (st = api_model_load(sub, &r->models[i], err))) return st;
    r->n_models = i + 1;
    for (int k = 0; k < i; k++)
        if (!strcmp(r->models[k]->name, r->models[i]->name))
            return xai_fail(err, XAI_BAD_MODEL,
                            "%s/model.json: field 'name': '%s' is already "
                            "the name of the model in %s",
                            sub, r->models[i]->name, r->models[k]->dir);
    return XAI_OK;
}

static xai_status load_repo(struct api_repo *r, struct xai_err *err)
{
    struct names names = {0};
    xai_status st = list_models(r->dir, &names, err);
    if (!st) st = check_listing(r->dir, &names, err);
    if (!st && !(r->models = calloc((size_t)names.n, sizeof *r->models)))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (int i = 0; !st && i < names.n; i++) st = load_nth(r, &names, i, err);
    names_free(&names);
    return st;
}

xai_status api_repo_load(const char *dir, struct api_repo **out, struct xai_err *err)
{
    *out = NULL;
    struct api_repo *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    }
    xai_status st = load_repo(r, err);
    if (st) {
        api_repo_free(r);
        return st;
    }
    *out = r;
    return XAI_OK;
}

const struct api_model *api_repo_find(const struct api_repo *r, const char *name)
{
    for (int i = 0; r && name && i < r->n_models; i++)
        if (!strcmp(r->models[i]->name, name)) return r->models[i];
    return NULL;
}

void api_repo_free(struct api_repo *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_models; i++) api_model_free(r->models[i]);
    free(r->models);
    free(r->dir);
    free(r);
}
