/*
 * predict.c - the predict pipeline (contract in predict.h): decode, preprocess, forward,
 * softmax or sigmoid, ranking; and target classes by index or label.
 *
 * Called by the CLI and the server for every request, and by the attribution methods (which
 * start from api_prepare's input and api_predict's scores). Probabilities are computed in
 * double from the float logits, so a ranking never depends on float rounding of exp().
 */
#include "predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_input_reset(struct api_input *in)
{
    xai_image_reset(&in->image);
    free(in->data);
    *in = (struct api_input){0};
}

xai_status api_prepare(const struct api_model *m, const void *bytes, size_t len,
                       const struct xai_image_limits *lim, struct api_input *out,
                       struct xai_err *err)
{
    *out = (struct api_input){0};
    xai_status st = xai_image_decode(bytes, len, lim, &out->image, err);
    if (st) return st;
    const struct xai_preprocess *p = &m->pre;
    out->data = malloc(xai_preprocess_numel(p) * sizeof *out->data);
    st = out->data ? xai_preprocess_run(p, &out->image, out->data, &out->geo, err)
                   : xai_fail(err, XAI_NO_MEMORY, "out of memory for the model input");
    if (st) {
        api_input_reset(out);
        return st;
    }
    int64_t shape[4] = {1, p->channels, p->height, p->width};
    out->tensor = (struct xai_tensor){xai_shape_make(4, shape), out->data};
    return XAI_OK;
}

void api_probabilities(enum api_task task, const float *logits, int n, float *probs)
{
    if (task == API_TASK_MULTILABEL) {
        for (int i = 0; i < n; i++) {
            double l = logits[i];
            probs[i] = (float)(l >= 0 ? 1.0 / (1.0 + exp(-l)) : exp(l) / (1.0 + exp(l)));
        }
        return;
    }
    double max = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) max = fmax(max, logits[i]);
    for (int i = 0; i < n; i++) sum += exp((double)logits[i] - max);
    for (int i = 0; i < n; i++) probs[i] = (float)(exp((double)logits[i] - max) / sum);
}

static int by_probability(const void *a, const void *b)
{
    const struct api_score *x = a, *y = b;
    if (x->probability != y->probability) return x->probability > y->probability ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

xai_status api_scores_compute(const struct api_model *m, const float *logits,
                              struct api_scores *out, struct xai_err *err)
{
    *out = (struct api_scores){0};
    int n = m->n_labels;
    for (int i = 0; i < n; i++)
        if (!isfinite(logits[i]))
            return xai_fail(err, XAI_BAD_MODEL, "model '%s' produced a non-finite score", m->name);
    struct api_score *s = malloc((size_t)n * sizeof *s);
    float *probs = malloc((size_t)n * sizeof *probs);
    if (!s || !probs) {
        free(s);
        free(probs);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the scores");
    }
    api_probabilities(m->task, logits, n, probs);
    for (int i = 0; i < n; i++) s[i] = (struct api_score){i, m->labels[i], probs[i], logits[i]};
    free(probs);
    qsort(s, (size_t)n, sizeof *s, by_probability);
    *out = (struct api_scores){n, s, s[0]};
    return XAI_OK;
}

void api_scores_reset(struct api_scores *s)
{
    free(s->scores);
    *s = (struct api_scores){0};
}

const struct api_score *api_scores_find(const struct api_scores *s, int index)
{
    for (int i = 0; i < s->n; i++)
        if (s->scores[i].index == index) return &s->scores[i];
    return NULL;
}

xai_status api_predict(const struct api_model *m, xai_session *s, const struct api_input *in,
                       struct api_scores *out, struct xai_err *err)
{
    *out = (struct api_scores){0};
    if (xai_session_model(s) != m->engine)
        return xai_fail(err, XAI_INTERNAL, "api_predict: the session runs another model");
    xai_status st = xai_session_forward(s, &in->tensor, err);
    if (st) return st;
    const struct xai_tensor *t = xai_session_value(s, m->output);
    if (!t || xai_shape_numel(&t->shape) != m->n_labels)
        return xai_fail(err, XAI_INTERNAL,
                        "model '%s': the output does not hold one score per "
                        "label",
                        m->name);
    return api_scores_compute(m, t->data, out, err);
}

/* ---- targets ---- */

/* "'a', 'b', 'c'" into buf, cut with ", ..." when it does not fit. */
static void label_list(const struct api_model *m, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < m->n_labels; i++) {
        const char *sep = i ? ", " : "";
        size_t need = strlen(sep) + strlen(m->labels[i]) + 2;
        if (used + need + 6 >= size) {
            snprintf(buf + used, size - used, "%s...", sep);
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s'%s'", sep, m->labels[i]);
    }
}

xai_status api_target_parse(const struct api_model *m, const char *text, int *index,
                            struct xai_err *err)
{
    size_t len = text ? strlen(text) : 0;
    if (len > 0 && len <= 9 && strspn(text, "0123456789") == len) {
        long v = strtol(text, NULL, 10);
        if (v < m->n_labels) {
            *index = (int)v;
            return XAI_OK;
        }
    }
    for (int i = 0; text && i < m->n_labels; i++) {
        if (strcmp(text, m->labels[i])) continue;
        *index = i;
        return XAI_OK;
    }
    char list[320];
    label_list(m, list, sizeof list);
    return xai_fail(err, XAI_INVALID_ARGUMENT,
                    "target must be a class index from 0 to %d or a "
                    "label of model '%s' (%d labels: %s)",
                    m->n_labels - 1, m->name, m->n_labels, list);
}
