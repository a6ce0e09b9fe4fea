/*
 * fuzz_onnx.c - the ONNX loader on arbitrary bytes (xai_model_load_buffer: protobuf parse,
 * topological sort, constant folding, BatchNorm folding, op init with attribute checks, shape
 * inference at batch 1 and 2), then, for a model that loads and is small, one forward pass
 * and one backward pass from its first output, as every request runs them.
 *
 * Seeds (fuzz/corpus/onnx/): the importer test models (tests/data/onnx/) and tiny PyTorch
 * exports using most supported ops (tools/make_fuzz_seeds.py). fuzz/onnx.dict holds op type
 * names, attribute names and the protobuf tags of the fields the importer reads.
 *
 * Models are operator configuration rather than client data, but a server that loads a
 * corrupt model file must refuse it with a message, never crash.
 */
#include "_common.h"

#include <stdlib.h>

#include "model.h"
#include "session.h"

/* Models run only under these sizes (elements of every value at batch 1; multiply-adds). */
#define RUN_MAX_ELEMS (1 << 20)
#define RUN_MAX_MACS 20000000

static void check_graph(const xai_model *m)
{
    FUZZ_CHECK(m->n_values > 0 && m->input >= 0 && m->input < m->n_values);
    FUZZ_CHECK(m->values[m->input].cst == NULL && m->values[m->input].producer == -1);
    FUZZ_CHECK(m->n_outputs >= 1);
    for (int i = 0; i < m->n_outputs; i++)
        FUZZ_CHECK(m->outputs[i] >= 0 && m->outputs[i] < m->n_values);
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        FUZZ_CHECK(n->op != NULL && n->n_in <= XAI_MAX_NODE_INPUTS);
        for (int i = 0; i < n->n_in; i++) {
            FUZZ_CHECK(n->in[i] >= -1 && n->in[i] < m->n_values);
            if (n->in[i] >= 0) FUZZ_CHECK(m->values[n->in[i]].producer < k); /* topological */
        }
        for (int j = 0; j < n->n_out; j++) {
            FUZZ_CHECK(n->out[j] >= 0 && n->out[j] < m->n_values);
            FUZZ_CHECK(m->values[n->out[j]].producer == k);
        }
    }
}

static bool small(const xai_model *m)
{
    int64_t total = 0;
    for (int i = 0; i < m->n_values; i++) {
        int64_t n = xai_shape_numel(&m->values[i].shape);
        if (n < 0 || n > RUN_MAX_ELEMS || (total += n) > RUN_MAX_ELEMS) return false;
    }
    return xai_model_macs(m) <= RUN_MAX_MACS;
}

static float *filled(const struct xai_shape *s, float v)
{
    int64_t n = xai_shape_numel(s);
    float *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    FUZZ_CHECK(d != NULL);
    for (int64_t i = 0; i < n; i++) d[i] = v;
    return d;
}

/* One forward and one backward pass; any failure must come with a message. */
static void run(const xai_model *m)
{
    xai_session *s = NULL;
    struct xai_err err = {{0}};
    xai_status st = xai_session_new(m, &s, &err);
    struct xai_tensor in = {m->values[m->input].shape, NULL};
    in.data = filled(&in.shape, 0.5f);
    if (!st) st = xai_session_forward(s, &in, &err);
    const struct xai_tensor *out = st ? NULL : xai_session_value(s, m->outputs[0]);
    if (!st) FUZZ_CHECK(out != NULL);
    float *seed = out ? filled(&out->shape, 1.0f) : NULL;
    struct xai_tensor g = {out ? out->shape : in.shape, seed};
    struct xai_grad_seed gs = {m->outputs[0], &g};
    if (!st && m->values[m->outputs[0]].grad) st = xai_session_backward(s, &gs, 1, NULL, &err);
    if (st) FUZZ_CHECK(err.msg[0] != '\0');
    free(seed);
    free(in.data);
    xai_session_free(s);
}

static const xai_status load_errors[] = {XAI_BAD_MODEL, XAI_UNSUPPORTED, XAI_SHAPE_MISMATCH,
                                         XAI_TOO_LARGE, XAI_NO_MEMORY};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xai_model *m = NULL;
    struct xai_err err = {{0}};
    xai_status st = xai_model_load_buffer(data, size, &m, &err);
    if (st) {
        FUZZ_CHECK(m == NULL && err.msg[0] != '\0');
        bool known = false;
        for (size_t i = 0; i < sizeof load_errors / sizeof load_errors[0]; i++)
            known |= st == load_errors[i];
        FUZZ_CHECK(known);
        return 0;
    }
    check_graph(m);
    if (small(m)) run(m);
    xai_model_free(m);
    return 0;
}
