/*
 * model_graph.c - model.json checked against the ONNX graph it describes.
 *
 * Resolves the names of model.json (input, output, CAM layer, classifier) to value indices of
 * the loaded xai_model and checks that the description fits the network: input [N, C, H, W]
 * with the declared channels and size and a batch that can be 1, one logit per label (not
 * probabilities: a graph ending in Softmax or Sigmoid is refused), a CAM layer that is a 4-D
 * activation, a classifier whose weight is [classes, channels of the CAM layer] (nn.Linear's
 * layout). It also lists every 4-D activation: the layers CAM methods may be asked for.
 * Called once per model at load by model_repo.c; the result is immutable.
 */
#include "model_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xai_status no_memory(struct xai_err *err)
{
    return xai_fail(err, XAI_NO_MEMORY, "out of memory while loading a model");
}

static xai_status bind_input(struct api_model *m, const char *jp, const char *op,
                             struct xai_err *err)
{
    const xai_model *e = m->engine;
    const struct xai_value *v = &e->values[e->input];
    char sh[128];
    xai_shape_str(&v->shape, sh, sizeof sh);
    if (e->fixed_batch > 1)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: the input's batch size is fixed to %lld; export it with a dynamic "
                        "batch dimension (docs/models.md)",
                        op, (long long)e->fixed_batch);
    if (v->shape.ndim != 4)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: the input '%s' has shape %s; xaid needs an "
                        "image input [N, C, H, W]",
                        op, v->name, sh);
    if (m->input_name && strcmp(m->input_name, v->name))
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'input.name' is '%s' but the input of "
                        "model.onnx is '%s'",
                        jp, m->input_name, v->name);
    const struct xai_preprocess *p = &m->pre;
    if (v->shape.d[1] != p->channels || v->shape.d[2] != p->height || v->shape.d[3] != p->width)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: fields 'input.channels', 'input.height' and "
                        "'input.width' say [%d,%d,%d] but the input '%s' of model.onnx is %s",
                        jp, p->channels, p->height, p->width, v->name, sh);
    m->input = e->input;
    if (!m->input_name && !(m->input_name = strdup(v->name))) return no_memory(err);
    return XAI_OK;
}

/* The graph output named in model.json, or the first one. */
static int find_output(const xai_model *e, const char *name)
{
    for (int i = 0; i < e->n_outputs; i++)
        if (!name || !strcmp(e->values[e->outputs[i]].name, name)) return e->outputs[i];
    return -1;
}

static xai_status bind_output(struct api_model *m, const char *jp, const char *op_path,
                              struct xai_err *err)
{
    const xai_model *e = m->engine;
    int out = find_output(e, m->output_name);
    if (out < 0)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'output.name': model.onnx has no output "
                        "named '%s'",
                        jp, m->output_name);
    const struct xai_value *v = &e->values[out];
    char sh[128];
    int64_t per_image = xai_shape_numel(&v->shape) / (v->shape.ndim ? v->shape.d[0] : 1);
    if (v->shape.ndim < 2 || v->shape.d[0] != 1 || per_image != m->n_labels)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'labels' has %d entries but the output "
                        "'%s' of model.onnx is %s; it must be [N, %d]",
                        jp, m->n_labels, v->name, xai_shape_str(&v->shape, sh, sizeof sh),
                        m->n_labels);
    const char *op = v->producer >= 0 ? e->nodes[v->producer].op->name : "";
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax") || !strcmp(op, "Sigmoid"))
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: the output '%s' is computed by %s; export the logits before it "
                        "(xaid applies softmax or sigmoid itself, and gradients need logits)",
                        op_path, v->name, op);
    m->output = out;
    if (!m->output_name && !(m->output_name = strdup(v->name))) return no_memory(err);
    return XAI_OK;
}

/* Every 4-D activation that depends on the input, in execution order. */
static xai_status list_layers(struct api_model *m, struct xai_err *err)
{
    const xai_model *e = m->engine;
    m->layers = calloc((size_t)e->n_values, sizeof *m->layers);
    if (!m->layers) return no_memory(err);
    for (int k = 0; k < e->n_nodes; k++)
        for (int j = 0; j < e->nodes[k].n_out; j++) {
            int idx = e->nodes[k].out[j];
            const struct xai_value *v = idx >= 0 ? &e->values[idx] : NULL;
            if (!v || v->shape.ndim != 4 || !v->grad) continue;
            m->layers[m->n_layers++] = (struct api_layer){idx, v->name, v->shape};
        }
    return XAI_OK;
}

int api_model_layer(const struct api_model *m, int value)
{
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].value == value) return i;
    return -1;
}

/* No cam_layer in model.json: the last 4-D activation with more than one pixel. */
static xai_status guess_cam(struct api_model *m, struct xai_err *err)
{
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const struct xai_shape *s = &m->layers[i].shape;
        if (s->d[2] * s->d[3] <= 1) continue;
        m->cam_value = m->layers[i].value;
        m->cam_layer_guessed = true;
        if (!(m->cam_layer = strdup(m->layers[i].name))) return no_memory(err);
        return XAI_OK;
    }
    return XAI_OK;
}

static xai_status bind_cam(struct api_model *m, const char *jp, struct xai_err *err)
{
    m->cam_value = -1;
    if (!m->cam_layer) return guess_cam(m, err);
    int idx = xai_model_find(m->engine, m->cam_layer);
    if (idx < 0)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'cam_layer': model.onnx has no tensor "
                        "'%s' (`xaid info` lists the layers)",
                        jp, m->cam_layer);
    if (api_model_layer(m, idx) < 0) {
        char sh[128];
        xai_shape_str(&m->engine->values[idx].shape, sh, sizeof sh);
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'cam_layer': '%s' is %s; it must be a "
                        "layer's 4-D output [N, C, H, W] computed from the input",
                        jp, m->cam_layer, m->engine->values[idx].cst ? "a constant" : sh);
    }
    m->cam_value = idx;
    return XAI_OK;
}

/* A float constant of the given shape; want1 < 0 for a 1-D shape [want0]. */
static bool const_shape(const struct xai_value *v, int64_t want0, int64_t want1)
{
    const struct xai_shape *s = &v->shape;
    if (!v->cst || v->cst->dtype != XAI_F32) return false;
    if (want1 < 0) return s->ndim == 1 && s->d[0] == want0;
    return s->ndim == 2 && s->d[0] == want0 && s->d[1] == want1;
}

/* The Gemm node whose weight (input B) is value idx, or NULL. */
static const struct xai_node *gemm_of(const xai_model *e, int idx)
{
    for (int k = 0; k < e->n_nodes; k++)
        if (!strcmp(e->nodes[k].op->name, "Gemm") && e->nodes[k].n_in > 1 &&
            e->nodes[k].in[1] == idx)
            return &e->nodes[k];
    return NULL;
}

static xai_status bind_weight(struct api_model *m, const char *jp, int64_t channels,
                              struct xai_err *err)
{
    struct api_classifier *k = &m->classifier;
    const xai_model *e = m->engine;
    k->weight = xai_model_find(e, k->weight_name);
    if (k->weight < 0 || !const_shape(&e->values[k->weight], m->n_labels, channels))
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'classifier.weight': '%s' must be a "
                        "constant of shape [%d,%lld] (classes x channels of the CAM layer)",
                        jp, k->weight_name, m->n_labels, (long long)channels);
    if (!gemm_of(e, k->weight))
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'classifier.weight': '%s' is not the "
                        "weight (input B) of a Gemm node",
                        jp, k->weight_name);
    return XAI_OK;
}

static xai_status bind_classifier(struct api_model *m, const char *jp, struct xai_err *err)
{
    struct api_classifier *k = &m->classifier;
    k->weight = k->bias = -1;
    if (!k->present) return XAI_OK;
    if (m->cam_value < 0)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'classifier' needs a CAM layer, and the "
                        "graph has no 4-D layer",
                        jp);
    int64_t channels = m->engine->values[m->cam_value].shape.d[1];
    xai_status st = bind_weight(m, jp, channels, err);
    if (st || !k->bias_name) return st;
    const struct xai_node *gemm = gemm_of(m->engine, k->weight);
    k->bias = xai_model_find(m->engine, k->bias_name);
    if (k->bias < 0 || !const_shape(&m->engine->values[k->bias], m->n_labels, -1) ||
        gemm->n_in < 3 || gemm->in[2] != k->bias)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'classifier.bias': '%s' must be a "
                        "constant of shape [%d], the bias (input C) of the classifier's Gemm",
                        jp, k->bias_name, m->n_labels);
    return XAI_OK;
}

/* Index of the graph output named name, or -1. */
static int graph_output(const xai_model *e, const char *name)
{
    for (int i = 0; i < e->n_outputs; i++)
        if (!strcmp(e->values[e->outputs[i]].name, name)) return e->outputs[i];
    return -1;
}

static xai_status bind_reconstruction(struct api_model *m, const char *jp, struct xai_err *err)
{
    m->recon_value = -1;
    if (!m->recon_name) return XAI_OK;
    const xai_model *e = m->engine;
    int v = graph_output(e, m->recon_name);
    char sh[128], in[128];
    xai_shape_str(&e->values[e->input].shape, in, sizeof in);
    if (v < 0)
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'reconstruction.output': model.onnx has no output named '%s'",
                        jp, m->recon_name);
    if (v == m->output || !xai_shape_eq(&e->values[v].shape, &e->values[e->input].shape))
        return xai_fail(err, XAI_BAD_MODEL,
                        "%s: field 'reconstruction.output': '%s' is %s; it must be an output "
                        "other than the scores with the input's shape %s",
                        jp, m->recon_name, xai_shape_str(&e->values[v].shape, sh, sizeof sh), in);
    m->recon_value = v;
    return XAI_OK;
}

static xai_status bind_attention(struct api_model *m, const char *jp, struct xai_err *err)
{
    if (!m->n_attention) return XAI_OK;
    const xai_model *e = m->engine;
    if (!(m->attention_values = calloc((size_t)m->n_attention, sizeof(int)))) return no_memory(err);
    for (int i = 0; i < m->n_attention; i++) {
        int v = graph_output(e, m->attention_names[i]);
        const struct xai_shape *s = v >= 0 ? &e->values[v].shape : NULL;
        char sh[128];
        if (v < 0)
            return xai_fail(err, XAI_BAD_MODEL,
                            "%s: field 'attention.outputs': model.onnx has no output named '%s'",
                            jp, m->attention_names[i]);
        if (v == m->output || (s->ndim != 3 && s->ndim != 4) || s->d[0] != 1 || !e->values[v].grad)
            return xai_fail(err, XAI_BAD_MODEL,
                            "%s: field 'attention.outputs': '%s' is %s; an attention map must be "
                            "an output [N, K, h, w] or [N, h, w] computed from the input",
                            jp, m->attention_names[i], xai_shape_str(s, sh, sizeof sh));
        m->attention_values[i] = v;
    }
    return XAI_OK;
}

xai_status api_model_bind(struct api_model *m, const char *json_path, const char *onnx_path,
                          struct xai_err *err)
{
    xai_status st;
    if ((st = bind_input(m, json_path, onnx_path, err)) ||
        (st = bind_output(m, json_path, onnx_path, err)) || (st = list_layers(m, err)) ||
        (st = bind_cam(m, json_path, err)))
        return st;
    memcpy(m->sha256, m->engine->sha256, sizeof m->sha256);
    if ((st = bind_reconstruction(m, json_path, err)) || (st = bind_attention(m, json_path, err)))
        return st;
    return bind_classifier(m, json_path, err);
}
