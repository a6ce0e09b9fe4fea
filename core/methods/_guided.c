/* _guided.c - guided backpropagation's and deconvnet's Relu backward rules; see _guided.h. */
#include "_guided.h"

#include <stdlib.h>
#include <string.h>

/* Guided: the ordinary Relu gradient, then only its positive part (Captum: relu(grad_input)).
 * x > 0 where y = relu(x) > 0: the rule reads the output, which the session keeps for Relu's
 * own backward (its input it may not keep). */
static void guided_backward(const struct xai_op_run *r, void *user)
{
    (void)user;
    if (!r->gout[0] || !r->gin[0]) return;
    const float *y = r->out[0]->data, *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->out[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += y[i] > 0.f && gy[i] > 0.f ? gy[i] : 0.f;
}

/* Deconvnet: the positive part of the output gradient, ignoring the input
 * (Captum: relu(grad_output)). */
static void deconv_backward(const struct xai_op_run *r, void *user)
{
    (void)user;
    if (!r->gout[0] || !r->gin[0]) return;
    const float *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->gout[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += gy[i] > 0.f ? gy[i] : 0.f;
}

void xai_relu_rule_opts(enum xai_relu_rule rule, struct xai_grad_override *ov,
                        struct xai_backward_opts *opts)
{
    ov->op_type = "Relu";
    ov->backward = rule == XAI_RELU_GUIDED ? guided_backward : deconv_backward;
    ov->user = NULL;
    *opts = (struct xai_backward_opts){ov, 1, NULL, 0};
}

int xai_relu_count(const xai_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++) n += strcmp(m->nodes[i].op->name, "Relu") == 0;
    return n;
}

xai_status xai_relu_rule_check(const struct xai_method_req *req, const char *method,
                               struct xai_err *err)
{
    if (xai_relu_count(req->mm->model) > 0) return XAI_OK;
    return xai_fail(err, XAI_UNSUPPORTED,
                    "%s changes the backward pass of Relu nodes and this model has none (its "
                    "activations are other ops, e.g. Clip for ReLU6), so the map would be the "
                    "plain gradient; use saliency",
                    method);
}

xai_status xai_relu_rule_map(const struct xai_method_req *req, const char *method,
                             enum xai_relu_rule rule, bool use_abs, float *map, struct xai_err *err)
{
    xai_status st = xai_relu_rule_check(req, method, err);
    if (st) return st;
    const struct xai_shape *s = &req->input->shape;
    struct xai_grad_override ov;
    struct xai_backward_opts opts;
    xai_relu_rule_opts(rule, &ov, &opts);
    float *g = malloc(sizeof(float) * (size_t)xai_m_item_numel(req));
    if (!g) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    st = xai_m_input_grad(req, req->input->data, 1, &opts, g, NULL, err);
    if (!st)
        xai_m_reduce_channels(g, (int)s->d[1], (int)s->d[2], (int)s->d[3],
                              use_abs ? XAI_REDUCE_MAX_ABS : XAI_REDUCE_SUM, map);
    free(g);
    return st;
}
