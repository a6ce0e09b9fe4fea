/*
 * session.c - the executor. Owns all mutable state of runs over one shared model; see
 * session.h for the hooks it offers to attribution methods.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
    float *p;
    size_t cap; /* floats */
};

struct xai_session {
    const xai_model *m;
    int64_t batch;
    bool forward_done;
    struct xai_shape *shapes;
    struct xai_tensor *vals, *grads;
    struct buf *act, *gbuf, scratch;
    uint8_t *flow, *stop;
    int max_io;
    const struct xai_tensor **pin, **pout, **pgout, **pgin;
    double *prof_fwd, *prof_bwd; /* seconds per node, when profiling */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool buf_reserve(struct buf *b, size_t n)
{
    if (n <= b->cap) return true;
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) return false;
    free(b->p);
    b->p = p;
    b->cap = n;
    return true;
}

xai_status xai_session_new(const xai_model *m, xai_session **out, struct xai_err *err)
{
    xai_session *s = calloc(1, sizeof *s);
    if (!s) return xai_fail(err, XAI_NO_MEMORY, "out of memory creating a session");
    s->m = m;
    size_t nv = (size_t)m->n_values;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].n_in > s->max_io) s->max_io = m->nodes[i].n_in;
        if (m->nodes[i].n_out > s->max_io) s->max_io = m->nodes[i].n_out;
    }
    size_t nio = (size_t)(s->max_io ? s->max_io : 1);
    s->shapes = calloc(nv, sizeof *s->shapes);
    s->vals = calloc(nv, sizeof *s->vals);
    s->grads = calloc(nv, sizeof *s->grads);
    s->act = calloc(nv, sizeof *s->act);
    s->gbuf = calloc(nv, sizeof *s->gbuf);
    s->flow = calloc(nv, 1);
    s->stop = calloc(nv, 1);
    s->pin = calloc(nio, sizeof *s->pin);
    s->pout = calloc(nio, sizeof *s->pout);
    s->pgout = calloc(nio, sizeof *s->pgout);
    s->pgin = calloc(nio, sizeof *s->pgin);
    if (!s->shapes || !s->vals || !s->grads || !s->act || !s->gbuf || !s->flow || !s->stop ||
        !s->pin || !s->pout || !s->pgout || !s->pgin) {
        xai_session_free(s);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory creating a session");
    }
    *out = s;
    return XAI_OK;
}

void xai_session_free(xai_session *s)
{
    if (!s) return;
    for (int i = 0; s->act && s->gbuf && i < s->m->n_values; i++) {
        free(s->act[i].p);
        free(s->gbuf[i].p);
    }
    free(s->scratch.p);
    free(s->shapes);
    free(s->vals);
    free(s->grads);
    free(s->act);
    free(s->gbuf);
    free(s->flow);
    free(s->stop);
    free(s->pin);
    free(s->pout);
    free(s->pgout);
    free(s->pgin);
    free(s->prof_fwd);
    free(s->prof_bwd);
    free(s);
}

const xai_model *xai_session_model(const xai_session *s)
{
    return s->m;
}

static xai_status check_input(const xai_model *m, const struct xai_tensor *in, struct xai_err *err)
{
    const struct xai_shape *want = &m->values[m->input].shape;
    bool ok = in->shape.ndim == want->ndim && in->shape.d[0] >= 1 && in->data;
    for (int i = 1; ok && i < want->ndim; i++) ok = in->shape.d[i] == want->d[i];
    if (ok && m->fixed_batch && in->shape.d[0] != m->fixed_batch)
        return xai_fail(err, XAI_SHAPE_MISMATCH,
                        "the model was exported with a fixed batch size of %lld; got %lld",
                        (long long)m->fixed_batch, (long long)in->shape.d[0]);
    if (!ok) {
        char a[96], b[96];
        return xai_fail(err, XAI_SHAPE_MISMATCH,
                        "input has shape %s, the model expects %s (any batch)",
                        xai_shape_str(&in->shape, a, sizeof a), xai_shape_str(want, b, sizeof b));
    }
    return XAI_OK;
}

static void bind_run(xai_session *s, const struct xai_node *n, struct xai_op_run *r, bool grads)
{
    for (int i = 0; i < n->n_in; i++) {
        int v = n->in[i];
        bool present = v >= 0 && s->vals[v].data;
        s->pin[i] = present ? &s->vals[v] : NULL;
        s->pgin[i] =
            grads && present && s->flow[v] && (n->op->grad_mask >> i & 1u) ? &s->grads[v] : NULL;
    }
    for (int i = 0; i < n->n_out; i++) {
        s->pout[i] = &s->vals[n->out[i]];
        s->pgout[i] = grads && s->flow[n->out[i]] ? &s->grads[n->out[i]] : NULL;
    }
    memset(r, 0, sizeof *r);
    r->p = n->params;
    r->n_in = n->n_in;
    r->in = s->pin;
    r->n_out = n->n_out;
    r->out = s->pout;
    r->gout = s->pgout;
    r->gin = s->pgin;
    r->scratch = s->scratch.p;
    r->batch = s->batch;
}

static size_t node_scratch(const xai_session *s, const struct xai_node *n)
{
    if (!n->op->scratch) return 0;
    struct xai_shape in[XAI_MAX_NODE_INPUTS], out[XAI_MAX_NODE_OUTPUTS];
    int ni = n->n_in < XAI_MAX_NODE_INPUTS ? n->n_in : XAI_MAX_NODE_INPUTS;
    int no = n->n_out < XAI_MAX_NODE_OUTPUTS ? n->n_out : XAI_MAX_NODE_OUTPUTS;
    for (int i = 0; i < ni; i++)
        if (n->in[i] >= 0)
            in[i] = s->shapes[n->in[i]];
        else
            memset(&in[i], 0, sizeof in[i]);
    for (int i = 0; i < no; i++) out[i] = s->shapes[n->out[i]];
    return n->op->scratch(n->params, in, ni, out);
}

static xai_status bind_values(xai_session *s, const struct xai_tensor *input, struct xai_err *err)
{
    const xai_model *m = s->m;
    size_t scratch = 0;
    for (int v = 0; v < m->n_values; v++) {
        const struct xai_value *val = &m->values[v];
        s->vals[v].shape = s->shapes[v];
        if (val->cst) {
            s->vals[v].data = val->cst->dtype == XAI_F32 ? val->cst->f : NULL;
            continue;
        }
        if (!buf_reserve(&s->act[v], (size_t)xai_shape_numel(&s->shapes[v])))
            return xai_fail(err, XAI_NO_MEMORY, "out of memory for activations");
        s->vals[v].data = s->act[v].p;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        size_t need = node_scratch(s, &m->nodes[i]);
        if (need > scratch) scratch = need;
    }
    if (!buf_reserve(&s->scratch, scratch))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for scratch");
    memcpy(s->vals[m->input].data, input->data,
           sizeof(float) * (size_t)xai_shape_numel(&input->shape));
    return XAI_OK;
}

xai_status xai_session_forward(xai_session *s, const struct xai_tensor *input, struct xai_err *err)
{
    const xai_model *m = s->m;
    s->forward_done = false;
    xai_status st = check_input(m, input, err);
    if (st) return st;
    s->batch = input->shape.d[0];
    if ((st = xai_model_infer(m, s->batch, s->shapes, err))) return st;
    if ((st = bind_values(s, input, err))) return st;
    memset(s->flow, 0, (size_t)m->n_values);
    for (int i = 0; i < m->n_nodes; i++) {
        struct xai_op_run r;
        bind_run(s, &m->nodes[i], &r, false);
        double t0 = s->prof_fwd ? now_s() : 0;
        m->nodes[i].op->forward(&r);
        if (s->prof_fwd) s->prof_fwd[i] += now_s() - t0;
    }
    s->forward_done = true;
    return XAI_OK;
}

/* Marks which values receive a gradient and which nodes run backward. */
static void mark_flow(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                      const struct xai_backward_opts *o)
{
    const xai_model *m = s->m;
    memset(s->flow, 0, (size_t)m->n_values);
    memset(s->stop, 0, (size_t)m->n_values);
    for (int i = 0; o && i < o->n_stop; i++)
        if (o->stop[i] >= 0 && o->stop[i] < m->n_values) s->stop[o->stop[i]] = 1;
    for (int i = 0; i < n_seeds; i++) s->flow[seeds[i].value] = 1;
    for (int k = m->n_nodes - 1; k >= 0; k--) {
        const struct xai_node *n = &m->nodes[k];
        bool active = false;
        for (int j = 0; j < n->n_out; j++) active |= s->flow[n->out[j]] && !s->stop[n->out[j]];
        if (!active) continue;
        for (int i = 0; i < n->n_in; i++) {
            int v = n->in[i];
            if (v >= 0 && m->values[v].grad && (n->op->grad_mask >> i & 1u)) s->flow[v] = 1;
        }
    }
}

static xai_status seed_grads(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                             struct xai_err *err)
{
    const xai_model *m = s->m;
    for (int v = 0; v < m->n_values; v++) {
        if (!s->flow[v]) continue;
        size_t n = (size_t)xai_shape_numel(&s->shapes[v]);
        if (!buf_reserve(&s->gbuf[v], n))
            return xai_fail(err, XAI_NO_MEMORY, "out of memory for gradients");
        memset(s->gbuf[v].p, 0, n * sizeof(float));
        s->grads[v].shape = s->shapes[v];
        s->grads[v].data = s->gbuf[v].p;
    }
    for (int i = 0; i < n_seeds; i++) {
        int v = seeds[i].value;
        int64_t n = xai_shape_numel(&s->shapes[v]);
        const float *g = seeds[i].grad->data;
        for (int64_t k = 0; k < n; k++) s->grads[v].data[k] += g[k];
    }
    return XAI_OK;
}

static const struct xai_grad_override *find_override(const struct xai_backward_opts *o,
                                                     const char *op)
{
    for (int i = 0; o && i < o->n_overrides; i++)
        if (strcmp(o->overrides[i].op_type, op) == 0) return &o->overrides[i];
    return NULL;
}

static xai_status check_seeds(const xai_session *s, const struct xai_grad_seed *seeds, int n,
                              struct xai_err *err)
{
    if (!s->forward_done)
        return xai_fail(err, XAI_INTERNAL, "backward pass requested before a forward pass");
    for (int i = 0; i < n; i++) {
        int v = seeds[i].value;
        if (v < 0 || v >= s->m->n_values || !seeds[i].grad)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "backward seed %d names no tensor", i);
        if (!xai_shape_eq(&seeds[i].grad->shape, &s->shapes[v])) {
            char a[96], b[96];
            return xai_fail(err, XAI_SHAPE_MISMATCH,
                            "seed for '%s' has shape %s, the tensor has %s", s->m->values[v].name,
                            xai_shape_str(&seeds[i].grad->shape, a, sizeof a),
                            xai_shape_str(&s->shapes[v], b, sizeof b));
        }
    }
    return XAI_OK;
}

xai_status xai_session_backward(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                                const struct xai_backward_opts *opts, struct xai_err *err)
{
    const xai_model *m = s->m;
    xai_status st = check_seeds(s, seeds, n_seeds, err);
    if (st) return st;
    mark_flow(s, seeds, n_seeds, opts);
    if ((st = seed_grads(s, seeds, n_seeds, err))) return st;
    for (int k = m->n_nodes - 1; k >= 0; k--) {
        const struct xai_node *n = &m->nodes[k];
        bool active = false;
        for (int j = 0; j < n->n_out; j++) active |= s->flow[n->out[j]] && !s->stop[n->out[j]];
        if (!active) continue;
        struct xai_op_run r;
        bind_run(s, n, &r, true);
        bool any_in = false;
        for (int i = 0; i < n->n_in; i++) any_in |= r.gin[i] != NULL;
        if (!any_in) continue;
        const struct xai_grad_override *ov = find_override(opts, n->op->name);
        double t0 = s->prof_bwd ? now_s() : 0;
        if (ov)
            ov->backward(&r, ov->user);
        else
            n->op->backward(&r);
        if (s->prof_bwd) s->prof_bwd[k] += now_s() - t0;
    }
    return XAI_OK;
}

const struct xai_tensor *xai_session_value(const xai_session *s, int v)
{
    if (!s->forward_done || v < 0 || v >= s->m->n_values || !s->vals[v].data) return NULL;
    return &s->vals[v];
}

const struct xai_tensor *xai_session_tensor(const xai_session *s, const char *name)
{
    return xai_session_value(s, xai_model_find(s->m, name));
}

const struct xai_tensor *xai_session_grad(const xai_session *s, int v)
{
    if (v < 0 || v >= s->m->n_values || !s->flow[v]) return NULL;
    return &s->grads[v];
}

const struct xai_tensor *xai_session_output(const xai_session *s, int i)
{
    if (i < 0 || i >= s->m->n_outputs) return NULL;
    return xai_session_value(s, s->m->outputs[i]);
}

size_t xai_session_bytes(const xai_session *s)
{
    size_t b = s->scratch.cap;
    for (int v = 0; v < s->m->n_values; v++) b += s->act[v].cap + s->gbuf[v].cap;
    return b * sizeof(float);
}

void xai_session_profile(xai_session *s, bool on)
{
    free(s->prof_fwd);
    free(s->prof_bwd);
    s->prof_fwd = s->prof_bwd = NULL;
    if (!on) return;
    s->prof_fwd = calloc((size_t)s->m->n_nodes + 1, sizeof(double));
    s->prof_bwd = calloc((size_t)s->m->n_nodes + 1, sizeof(double));
    if (!s->prof_fwd || !s->prof_bwd) xai_session_profile(s, false);
}

struct prof_row {
    const char *op;
    double fwd, bwd;
    int count;
};

static int prof_cmp(const void *a, const void *b)
{
    const struct prof_row *x = a, *y = b;
    double tx = x->fwd + x->bwd, ty = y->fwd + y->bwd;
    return (tx < ty) - (tx > ty);
}

void xai_session_profile_report(const xai_session *s, FILE *f)
{
    if (!s->prof_fwd) return;
    int n = 0;
    struct prof_row *rows = calloc((size_t)s->m->n_nodes + 1, sizeof *rows);
    if (!rows) return;
    for (int k = 0; k < s->m->n_nodes; k++) {
        const char *op = s->m->nodes[k].op->name;
        int i = 0;
        while (i < n && strcmp(rows[i].op, op)) i++;
        if (i == n) rows[n++].op = op;
        rows[i].fwd += s->prof_fwd[k];
        rows[i].bwd += s->prof_bwd[k];
        rows[i].count++;
    }
    qsort(rows, (size_t)n, sizeof *rows, prof_cmp);
    fprintf(f, "%-22s %6s %12s %12s\n", "op", "nodes", "forward ms", "backward ms");
    for (int i = 0; i < n; i++)
        fprintf(f, "%-22s %6d %12.2f %12.2f\n", rows[i].op, rows[i].count, rows[i].fwd * 1e3,
                rows[i].bwd * 1e3);
    free(rows);
}
