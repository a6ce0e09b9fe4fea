/*
 * model_json.c - model.json to struct api_model: strict validation of every field.
 *
 * The format is documented in docs/models.md. Rules: required fields must be present; every
 * value has its type and range checked; enum values outside the documented list are refused;
 * inside the known objects (input, output, resize, intensity, normalize, classifier) unknown
 * keys are refused, since a misspelt key would otherwise silently fall back to a default; at
 * the top level unknown keys are allowed (provenance, training notes). JSON null counts as
 * absent. Duplicate keys are refused. Every message starts with the file's path and names the
 * field: "models/x/model.json: field 'normalize.std' must be ...".
 *
 * This file knows nothing of the ONNX graph; model_graph.c checks the result against it.
 */
#include "model_internal.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_mem.h"

#define NAME_MAX_LEN 64
#define VERSION_MAX_LEN 64
#define DESCRIPTION_MAX_LEN 4096
#define LABEL_MAX_LEN 128
#define TENSOR_NAME_MAX_LEN 1024
#define LABELS_MAX 100000

struct jctx {
    const char *path;
    struct xai_err *err;
};

static xai_status bad(const struct jctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "PATH: field 'FIELD' MESSAGE", as BAD_MODEL. */
static xai_status bad(const struct jctx *c, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xai_fail(c->err, XAI_BAD_MODEL, "%s: field '%s' %s", c->path, field, msg);
}

static xai_status no_memory(const struct jctx *c)
{
    return xai_fail(c->err, XAI_NO_MEMORY, "%s: out of memory", c->path);
}

/* "a, b, c" into buf. */
static void join(const char *const *names, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

static const char *key_of(const char *field)
{
    const char *dot = strrchr(field, '.');
    return dot ? dot + 1 : field;
}

/* The member of obj named by the last part of field; NULL when absent or null. */
static xai_status member(const struct jctx *c, json_t *obj, const char *field, const char *what,
                         bool required, json_t **out)
{
    *out = obj ? json_object_get(obj, key_of(field)) : NULL;
    if (*out && json_is_null(*out)) *out = NULL;
    if (!*out && required) return bad(c, field, "is required (%s)", what);
    return XAI_OK;
}

static bool clean_text(const char *s, bool newlines)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (newlines && (ch == '\n' || ch == '\t')) continue;
        if (ch < 0x20 || ch == 0x7f) return false;
    }
    return true;
}

static xai_status dup_text(const struct jctx *c, const char *s, char **out)
{
    if (!(*out = strdup(s))) return no_memory(c);
    return XAI_OK;
}

/* A string of 1..max bytes without control characters (newlines allowed when asked). */
static xai_status text(const struct jctx *c, json_t *obj, const char *field, bool required,
                       size_t max, bool newlines, char **out)
{
    json_t *j;
    xai_status st = member(c, obj, field, "a string", required, &j);
    if (st || !j) return st;
    const char *s = json_string_value(j);
    if (!s || !*s || strlen(s) > max)
        return bad(c, field, "must be a string of 1 to %zu bytes", max);
    if (!clean_text(s, newlines)) return bad(c, field, "must not contain control characters");
    return dup_text(c, s, out);
}

/* A required integer in [lo, hi]; what describes the allowed values. */
static xai_status integer(const struct jctx *c, json_t *obj, const char *field, const char *what,
                          int lo, int hi, int *out)
{
    json_t *j;
    xai_status st = member(c, obj, field, what, true, &j);
    if (st) return st;
    json_int_t v = json_is_integer(j) ? json_integer_value(j) : (json_int_t)lo - 1;
    if (v < lo || v > hi) return bad(c, field, "must be %s", what);
    *out = (int)v;
    return XAI_OK;
}

/* A finite JSON number that fits a float. */
static bool number(const json_t *j, double *v)
{
    if (!json_is_number(j)) return false;
    *v = json_number_value(j);
    return isfinite(*v) && fabs(*v) <= FLT_MAX;
}

/* One of names (its index into *out); def when absent, required when def < 0. */
static xai_status choice(const struct jctx *c, json_t *obj, const char *field,
                         const char *const *names, int n, int def, int *out)
{
    char list[256];
    join(names, n, list, sizeof list);
    json_t *j;
    xai_status st = member(c, obj, field, list, def < 0, &j);
    if (st) return st;
    *out = def;
    if (!j) return XAI_OK;
    const char *s = json_string_value(j);
    for (int i = 0; s && i < n; i++) {
        if (strcmp(s, names[i])) continue;
        *out = i;
        return XAI_OK;
    }
    if (s) return bad(c, field, "is '%.40s'; allowed: %s", s, list);
    return bad(c, field, "must be one of: %s", list);
}

/* An object whose keys are all in keys (NULL-terminated). */
static xai_status section(const struct jctx *c, json_t *root, const char *field,
                          const char *const *keys, bool required, json_t **out)
{
    xai_status st = member(c, root, field, "an object", required, out);
    if (st || !*out) return st;
    if (!json_is_object(*out)) return bad(c, field, "must be an object");
    int n = 0;
    while (keys[n]) n++;
    const char *k;
    json_t *v;
    json_object_foreach(*out, k, v)
    {
        int i = 0;
        while (i < n && strcmp(k, keys[i])) i++;
        if (i == n) {
            char list[256];
            join(keys, n, list, sizeof list);
            return xai_fail(c->err, XAI_BAD_MODEL, "%s: unknown field '%s.%.40s' (allowed: %s)",
                            c->path, field, k, list);
        }
    }
    return XAI_OK;
}

/* ---- identity: name, version, description ---- */

static bool name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
           strlen(s);
}

static xai_status parse_identity(const struct jctx *c, json_t *root, struct api_model *m)
{
    xai_status st = text(c, root, "name", true, NAME_MAX_LEN, false, &m->name);
    if (st) return st;
    if (!name_ok(m->name))
        return bad(c, "name",
                   "must start with a letter or digit and contain only letters, digits, '.', "
                   "'_' and '-' (it appears in URLs)");
    if ((st = text(c, root, "version", true, VERSION_MAX_LEN, false, &m->version))) return st;
    const char *d = json_string_value(json_object_get(root, "description"));
    if (d && !*d) return dup_text(c, "", &m->description); /* "" is the default, allowed */
    if ((st = text(c, root, "description", false, DESCRIPTION_MAX_LEN, true, &m->description)))
        return st;
    return m->description ? XAI_OK : dup_text(c, "", &m->description);
}

/* ---- labels ---- */

/* True when s is a plain decimal number (a possible class index). */
static bool is_index_text(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

static xai_status parse_label(const struct jctx *c, json_t *arr, size_t i, struct api_model *m)
{
    char field[32];
    snprintf(field, sizeof field, "labels[%zu]", i);
    const char *s = json_string_value(json_array_get(arr, i));
    if (!s || !*s || strlen(s) > LABEL_MAX_LEN || !clean_text(s, false))
        return bad(c, field,
                   "must be a class name: a string of 1 to %d bytes without control "
                   "characters",
                   LABEL_MAX_LEN);
    if (is_index_text(s) && (strlen(s) > 9 || (size_t)atol(s) != i))
        return bad(c, field,
                   "is the number '%.12s' but its class index is %zu: a target '%.12s' would be "
                   "ambiguous; use a name such as 'grade %.12s'",
                   s, i, s, s);
    for (size_t k = 0; k < i; k++)
        if (!strcmp(s, m->labels[k])) return bad(c, field, "repeats labels[%zu]", k);
    return dup_text(c, s, &m->labels[i]);
}

static xai_status parse_labels(const struct jctx *c, json_t *root, struct api_model *m)
{
    json_t *arr;
    xai_status st = member(c, root, "labels", "a list of class names", true, &arr);
    if (st) return st;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n < 1 || n > LABELS_MAX)
        return bad(c, "labels", "must be a list of 1 to %d class names", LABELS_MAX);
    if (!(m->labels = calloc(n, sizeof *m->labels))) return no_memory(c);
    m->n_labels = (int)n;
    for (size_t i = 0; i < n; i++)
        if ((st = parse_label(c, arr, i, m))) return st;
    return XAI_OK;
}

/* ---- task ---- */

static xai_status parse_task(const struct jctx *c, json_t *root, struct api_model *m)
{
    static const char *const tasks[] = {"multiclass", "multilabel"};
    static const char *const acts[] = {"softmax", "sigmoid"};
    int task, act;
    xai_status st = choice(c, root, "task", tasks, 2, -1, &task);
    if (st || (st = choice(c, root, "output_activation", acts, 2, task, &act))) return st;
    if (act != task)
        return bad(c, "output_activation", "is '%s' but task '%s' needs '%s'", acts[act],
                   tasks[task], acts[task]);
    if (task == API_TASK_MULTICLASS && m->n_labels < 2)
        return bad(c, "labels",
                   "has 1 entry; a multiclass model needs at least 2 (a single finding is "
                   "task 'multilabel')");
    m->task = (enum api_task)task;
    return XAI_OK;
}

/* ---- input and output ---- */

static xai_status parse_input(const struct jctx *c, json_t *root, struct api_model *m)
{
    static const char *const keys[] = {"name", "channels", "height", "width", "gray", NULL};
    static const char *const grays[] = {"luma", "mean"};
    json_t *in;
    char size_what[64];
    snprintf(size_what, sizeof size_what, "an integer from 1 to %d", XAI_PREPROCESS_MAX_SIZE);
    xai_status st = section(c, root, "input", keys, true, &in);
    if (st || (st = text(c, in, "input.name", false, TENSOR_NAME_MAX_LEN, false, &m->input_name)))
        return st;
    const char *ch_what = "1 (gray) or 3 (RGB)";
    if ((st = integer(c, in, "input.channels", ch_what, 1, 3, &m->pre.channels))) return st;
    if (m->pre.channels == 2) return bad(c, "input.channels", "must be %s", ch_what);
    int max = XAI_PREPROCESS_MAX_SIZE, gray;
    if ((st = integer(c, in, "input.height", size_what, 1, max, &m->pre.height)) ||
        (st = integer(c, in, "input.width", size_what, 1, max, &m->pre.width)) ||
        (st = choice(c, in, "input.gray", grays, 2, 0, &gray)))
        return st;
    m->pre.gray = gray ? XAI_GRAY_MEAN : XAI_GRAY_LUMA601;
    return XAI_OK;
}

static xai_status parse_output(const struct jctx *c, json_t *root, struct api_model *m)
{
    static const char *const keys[] = {"name", NULL};
    json_t *out;
    xai_status st = section(c, root, "output", keys, false, &out);
    if (st || !out) return st;
    return text(c, out, "output.name", false, TENSOR_NAME_MAX_LEN, false, &m->output_name);
}

/* ---- preprocessing: resize, intensity, normalize ---- */

static xai_status parse_resize(const struct jctx *c, json_t *root, struct xai_preprocess *p)
{
    static const char *const keys[] = {"mode", "fill", NULL};
    static const char *const modes[] = {"stretch", "letterbox", "center_crop"};
    static const enum xai_resize_mode values[] = {XAI_RESIZE_STRETCH, XAI_RESIZE_LETTERBOX,
                                                  XAI_RESIZE_CENTER_CROP};
    json_t *rs, *fill;
    int mode;
    xai_status st = section(c, root, "resize", keys, false, &rs);
    if (st || (st = choice(c, rs, "resize.mode", modes, 3, 0, &mode)) ||
        (st = member(c, rs, "resize.fill", "", false, &fill)))
        return st;
    p->resize = values[mode];
    if (!fill) return XAI_OK;
    if (p->resize != XAI_RESIZE_LETTERBOX)
        return bad(c, "resize.fill", "applies to mode 'letterbox' only");
    double v;
    if (!number(fill, &v) || v < 0 || v > 1)
        return bad(c, "resize.fill",
                   "must be a number from 0 (black) to 1 (white): the bars' value as a fraction "
                   "of full scale");
    p->pad_fill = (float)v;
    return XAI_OK;
}

static xai_status parse_intensity(const struct jctx *c, json_t *root, struct xai_preprocess *p)
{
    static const char *const keys[] = {"scale", NULL};
    json_t *in, *j;
    xai_status st = section(c, root, "intensity", keys, false, &in);
    if (st || (st = member(c, in, "intensity.scale", "", false, &j)) || !j) return st;
    double v;
    if (!number(j, &v) || v <= 0)
        return bad(c, "intensity.scale",
                   "must be a positive number (1: inputs in [0,1], 255: inputs in [0,255])");
    p->scale = (float)v;
    return XAI_OK;
}

/* mean (any finite numbers) or std (positive ones): 1 or 3 values, as many as channels. */
static xai_status parse_stats(const struct jctx *c, json_t *norm, const char *field, bool positive,
                              int channels, float *out)
{
    const char *what = positive ? "a list of 1 or 3 positive numbers" : "a list of 1 or 3 numbers";
    json_t *arr;
    xai_status st = member(c, norm, field, what, true, &arr);
    if (st) return st;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || (n != 1 && n != 3)) return bad(c, field, "must be %s", what);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (!number(json_array_get(arr, i), &v) || (positive && !((float)v > 0)))
            return bad(c, field, "must be %s", what);
        out[i] = (float)v;
    }
    if ((int)n != channels)
        return bad(c, field, "has %zu value%s but input.channels is %d", n, n == 1 ? "" : "s",
                   channels);
    return XAI_OK;
}

static xai_status parse_normalize(const struct jctx *c, json_t *root, struct xai_preprocess *p)
{
    static const char *const keys[] = {"mean", "std", NULL};
    json_t *norm;
    xai_status st = section(c, root, "normalize", keys, true, &norm);
    if (st || (st = parse_stats(c, norm, "normalize.mean", false, p->channels, p->mean))) return st;
    return parse_stats(c, norm, "normalize.std", true, p->channels, p->std);
}

/* ---- CAM layer and classifier (names only; model_graph.c resolves them) ---- */

static xai_status parse_cam(const struct jctx *c, json_t *root, struct api_model *m)
{
    static const char *const keys[] = {"weight", "bias", NULL};
    xai_status st = text(c, root, "cam_layer", false, TENSOR_NAME_MAX_LEN, false, &m->cam_layer);
    json_t *cls;
    if (st || (st = section(c, root, "classifier", keys, false, &cls)) || !cls) return st;
    struct api_classifier *k = &m->classifier;
    if ((st = text(c, cls, "classifier.weight", true, TENSOR_NAME_MAX_LEN, false,
                   &k->weight_name)) ||
        (st = text(c, cls, "classifier.bias", false, TENSOR_NAME_MAX_LEN, false, &k->bias_name)))
        return st;
    k->present = true;
    return XAI_OK;
}

/* ---- autoencoder and attention outputs (names only; model_graph.c resolves them) ---- */

static xai_status parse_reconstruction(const struct jctx *c, json_t *root, struct api_model *m)
{
    static const char *const keys[] = {"output", NULL};
    json_t *r;
    xai_status st = section(c, root, "reconstruction", keys, false, &r);
    if (st || !r) return st;
    return text(c, r, "reconstruction.output", true, TENSOR_NAME_MAX_LEN, false, &m->recon_name);
}

static xai_status parse_attention_name(const struct jctx *c, json_t *arr, size_t i,
                                       struct api_model *m)
{
    const char *s = json_string_value(json_array_get(arr, i));
    if (!s || !*s || strlen(s) > TENSOR_NAME_MAX_LEN || !clean_text(s, false))
        return bad(c, "attention.outputs",
                   "must be a list of ONNX output names (strings of 1 to %d bytes)",
                   TENSOR_NAME_MAX_LEN);
    for (size_t k = 0; k < i; k++)
        if (!strcmp(s, m->attention_names[k]))
            return bad(c, "attention.outputs", "names output %zu twice", k);
    if (!(m->attention_names[i] = strdup(s))) return no_memory(c);
    m->n_attention = (int)i + 1;
    return XAI_OK;
}

static xai_status parse_attention(const struct jctx *c, json_t *root, struct api_model *m)
{
    static const char *const keys[] = {"outputs", NULL};
    json_t *a, *arr;
    xai_status st = section(c, root, "attention", keys, false, &a);
    if (st || !a) return st;
    if ((st = member(c, a, "attention.outputs", "a list of output names", true, &arr))) return st;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n < 1 || n > API_MAX_ATTENTION)
        return bad(c, "attention.outputs", "must be a list of 1 to %d output names",
                   API_MAX_ATTENTION);
    if (!(m->attention_names = calloc(n, sizeof *m->attention_names))) return no_memory(c);
    for (size_t i = 0; i < n; i++)
        if ((st = parse_attention_name(c, arr, i, m))) return st;
    return XAI_OK;
}

/* ---- the file ---- */

static xai_status parse_root(const struct jctx *c, json_t *root, struct api_model *m)
{
    if (!json_is_object(root))
        return xai_fail(c->err, XAI_BAD_MODEL, "%s: must hold a JSON object", c->path);
    xai_preprocess_default(&m->pre);
    xai_status st;
    if ((st = parse_identity(c, root, m)) || (st = parse_labels(c, root, m)) ||
        (st = parse_task(c, root, m)) || (st = parse_input(c, root, m)) ||
        (st = parse_output(c, root, m)) || (st = parse_resize(c, root, &m->pre)) ||
        (st = parse_intensity(c, root, &m->pre)) || (st = parse_normalize(c, root, &m->pre)) ||
        (st = parse_cam(c, root, m)) || (st = parse_reconstruction(c, root, m)) ||
        (st = parse_attention(c, root, m)))
        return st;
    struct xai_err perr;
    if (xai_preprocess_check(&m->pre, &perr))
        return xai_fail(c->err, XAI_BAD_MODEL, "%s: %s", c->path, perr.msg);
    return XAI_OK;
}

/* The whole file into a NUL-terminated buffer, refusing files over the size cap. */
static xai_status read_file(const struct jctx *c, char **buf, size_t *len)
{
    FILE *f = fopen(c->path, "rb");
    if (!f) return xai_fail(c->err, XAI_IO, "%s: cannot open", c->path);
    *buf = malloc(API_MODEL_JSON_MAX_BYTES + 1);
    *len = *buf ? fread(*buf, 1, API_MODEL_JSON_MAX_BYTES + 1, f) : 0;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!*buf) return no_memory(c);
    if (failed) return xai_fail(c->err, XAI_IO, "%s: read error", c->path);
    if (*len > API_MODEL_JSON_MAX_BYTES)
        return xai_fail(c->err, XAI_BAD_MODEL, "%s: larger than the limit of %d bytes", c->path,
                        API_MODEL_JSON_MAX_BYTES);
    (*buf)[*len] = 0;
    return XAI_OK;
}

xai_status api_model_json_load(const char *path, struct api_model *m, struct xai_err *err)
{
    struct jctx c = {path, err};
    char *buf = NULL;
    size_t len = 0;
    xai_status st = read_file(&c, &buf, &len);
    if (st) {
        free(buf);
        return st;
    }
    json_error_t jerr;
    bool oom = false;
    json_t *root = api_json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr, &oom);
    free(buf);
    if (oom) return xai_fail(err, XAI_NO_MEMORY, "%s: out of memory", path);
    if (!root)
        return xai_fail(err, XAI_BAD_MODEL, "%s: not valid JSON (line %d, column %d): %s", path,
                        jerr.line, jerr.column, jerr.text);
    st = parse_root(&c, root, m);
    json_decref(root);
    return st;
}
