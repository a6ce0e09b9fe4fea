/*
 * session.c - the executor. Owns all mutable state of runs over one shared model; see
 * session.h for the hooks it offers to attribution methods.
 *
 * MEMORY PLAN (see the end of this comment for figures)
 *
 * Steps: forward runs node k at step k, backward runs it at step 2K-1-k (K nodes); END = 2K.
 * Every buffer is a request [t0, t1] in one arena (mem_plan.c places them greedy by size; two
 * buffers live at the same step never overlap). The arena is an anonymous mapping grown with
 * mremap, so growing keeps its contents without a copy and pages the plan never uses are
 * never resident. Scratch is one separate buffer sized by the largest need.
 *
 * Activations (planned at forward when the batch size or the keep requests change, reused
 * otherwise): value v lives from its producer's step to its last forward use, or to END when
 * it SURVIVES the forward pass: the graph input, model outputs, kept values (xai_session_keep,
 * _keep_op) and what some backward reads - the inputs and outputs each op declares in
 * bwd_in / bwd_out (op.h). Most activations are read by nothing in backward (Conv reads only
 * its weights, BatchNorm, Add, Concat, pools but MaxPool, reshapes read nothing), so most
 * die during the forward pass and their memory is reused. Survivors live to END rather than
 * to their backward use so that any number of backward passes can follow one forward pass.
 * xai_session_value answers only for the input, outputs and kept values (V_KEEP).
 *
 * Gradients (planned per backward call, reused while the flow, stops, seeds, keep requests
 * and activation plan are the same): v's gradient lives from the backward step of its first
 * accumulation (the latest consumer that runs; K for seeds), zeroed there, until its
 * producer's backward step - or to END for the input, seeds, stop values, kept values and
 * values whose producer runs no backward: those gradients stay readable. Gradients are placed
 * around the surviving activations, in the memory the dead ones left.
 *
 * Backward overrides see NULL data for activations that did not survive; built-in rules read
 * only what they declare (tests/ops checks the declarations with poisoned data, and debug
 * builds fill every buffer with NaN when it dies).
 *
 * RELU FUSION. A Relu whose input has no other reader and need not survive is run by its
 * producer (ops declaring fuse_relu: Conv, BatchNormalization, Add) as an epilogue
 * (xai_op_run.relu): the producer writes the Relu's output directly, the Relu's forward
 * step is skipped and its input is never stored (no memory). Relu's backward reads its
 * output, so nothing it needs is lost. In backward, unless a rule override replaces Relu's
 * or either gradient must stay readable, the input's gradient shares the output's memory
 * and the Relu's step masks it in place (g = y > 0 ? g : 0), one buffer less; or, when the
 * producer declares relu_grad and runs its own rule, the producer masks the gradient as it
 * reads it (xai_op_run.relu in backward) and the Relu's step does nothing: one pass less too.
 *
 * CONCAT FUSION. A Concat along the channel axis whose output has one reader, an op declaring
 * fuse_concat (BatchNormalization: DenseNet's Concat -> BatchNormalization), and need not
 * survive is never stored: the reader gets the Concat's inputs (xai_op_run.cat) and reads
 * them as one tensor; the inputs live until it runs. In backward, unless an override of
 * Concat's or the reader's rule runs or the output's gradient must stay readable, the reader
 * adds straight into the inputs' gradients and the Concat's step does nothing.
 *
 * The arena's address space is reserved at forward for the worst gradient plan too (the
 * activations plus every gradient unshared; MAP_NORESERVE, never touched unless used), so a
 * backward pass never moves the arena under the tensors a caller read after forward.
 *
 * RESULT (peak RSS of bench_engine: load, then forward + gradient of one logit w.r.t. the
 * input; PyTorch 1.13 measured the same way by bench/torch_bench.py, same machine):
 *                         before   after   PyTorch   after/PyTorch
 *   ResNet-18     b1       139      94      369        0.25
 *   ResNet-18     b16      793     372      876        0.42
 *   DenseNet-121  b1       396     126      488        0.26
 *   DenseNet-121  b16     5543    1211     2780        0.44
 * (MB). What remains is mostly what backward must read: ResNet-18 at b16 keeps every Relu
 * input and the stem's MaxPool input (~200 MB) and needs ~100 MB of gradients at the stem;
 * DenseNet-121 keeps each dense layer's BatchNorm output, the Relu input, which grows with
 * the concatenation (~1 GB at b16). At b1 the peak is the load (weights, once plus the parsed
 * file). CPU time is unchanged or slightly lower (fewer page faults).
 */
#define _GNU_SOURCE /* mremap */
#include "session.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mem_plan.h"
#include "par.h"

enum { ALIGN = 16 };                /* floats: buffers start on 64-byte boundaries */
enum { V_KEEP = 1, V_SURVIVE = 2 }; /* vflag bits */
enum run_mode { RUN_FWD, RUN_BWD, RUN_OVERRIDE };

struct buf {
    float *p;
    size_t cap; /* floats */
};

struct xai_session {
    const xai_model *m;
    int64_t batch;
    bool forward_done, backward_done;
    struct xai_shape *shapes;
    struct xai_tensor *vals, *grads, *dead; /* dead: data-less views for overrides */
    float *arena;
    size_t arena_bytes, arena_used; /* reserved; the most any plan used (floats) */
    struct buf scratch;
    size_t scratch_stride; /* floats of scratch per thread */
    xai_par *par;          /* NULL: one thread */
    /* keep requests; the plans are made again only when they change */
    uint8_t *keep, *keep_node;
    bool keep_all;
    /* the activation plan, and the batch size and keep requests it was made for */
    bool act_planned;
    int64_t act_batch;
    unsigned act_id;
    uint8_t *akeep, *akeep_node;
    bool akeep_all;
    uint8_t *vflag;
    int *act_t0, *act_t1;
    size_t *act_off, act_top, act_bound; /* bound: act_top + every gradient, unshared */
    /* the gradient plan, and the backward pass it was made for */
    uint8_t *flow, *stop, *seed, *runs;
    uint8_t *pflow, *pstop, *pseed;
    uint8_t *gkeep;
    bool grad_planned, gkeep_all;
    unsigned grad_act_id;
    int *g_t0, *g_t1;
    size_t *g_off, grad_top;
    /* Relu fusion (see the top): per node, the Relu it runs (-1: none), whether it is a Relu
     * its producer runs, and whether this backward pass masks its gradient in place */
    int *fuse_into;
    uint8_t *fused, *galias, *uses; /* uses: readers of each value, saturated at 2 */
    uint8_t *gmask; /* aliased Relus whose producer masks the gradient itself (relu_grad) */
    bool grelu_ov, pgrelu_ov; /* this pass / the gradient plan have a Relu override */
    /* Concat fusion (see the top): per node, the Concat it reads (-1: none), whether it is a
     * Concat its reader runs, whether this backward pass writes the inputs' gradients
     * directly; the views the reader gets */
    int *cat_into, *cat_by; /* cat_by: per Concat node, its reader (-1: not fused) */
    uint8_t *gcat;
    bool gcat_ov, pgcat_ov; /* this pass / the gradient plan override Concat or a reader */
    struct xai_cat cat;
    const struct xai_tensor **cat_in, **cat_gin;
    /* planner workspace */
    struct xai_mreq *req;
    int *req_val, *work;
    int max_io;
    const struct xai_tensor **pin, **pout, **pgout, **pgin;
    double *prof_fwd, *prof_bwd; /* seconds per node, when profiling */
    _Atomic double deadline;     /* CLOCK_MONOTONIC seconds; 0: none (set from any thread) */
    void *block;                 /* the arrays above but prof_*, in one allocation */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Never leaves b->p NULL, even for n = 0: ops offset their scratch pointer per thread, and
 * arithmetic on a null pointer is undefined (UBSan's pointer-overflow check). */
static bool buf_reserve(struct buf *b, size_t n)
{
    if (n <= b->cap && b->p) return true;
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) return false;
    free(b->p);
    b->p = p;
    b->cap = n;
    return true;
}

/* Grows the arena to hold n floats; keep: preserve its contents (mremap moves pages). */
static bool arena_reserve(xai_session *s, size_t n, bool keep)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = ((n ? n : 1) * sizeof(float) + page - 1) / page * page;
    if (bytes <= s->arena_bytes) return true;
    void *p;
    if (s->arena && keep) {
        p = mremap(s->arena, s->arena_bytes, bytes, MREMAP_MAYMOVE);
    } else {
        if (s->arena) munmap(s->arena, s->arena_bytes);
        s->arena = NULL;
        s->arena_bytes = 0;
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    }
    if (p == MAP_FAILED) return false;
    s->arena = p;
    s->arena_bytes = bytes;
    return true;
}

/* Cancellation: runs check the deadline between nodes (a clock read costs ~20 ns). */
static xai_status check_deadline(const xai_session *s, struct xai_err *err)
{
    double d = xai_session_deadline(s);
    if (d <= 0 || now_s() <= d) return XAI_OK;
    return xai_fail(err, XAI_DEADLINE_EXCEEDED, "the run passed its deadline and was abandoned");
}

void xai_session_set_deadline(xai_session *s, double deadline)
{
    atomic_store_explicit(&s->deadline, deadline, memory_order_relaxed);
}

double xai_session_deadline(const xai_session *s)
{
    return atomic_load_explicit(&((xai_session *)s)->deadline, memory_order_relaxed);
}

double xai_monotonic_s(void)
{
    return now_s();
}

/* ---- creation ---- */

struct carver {
    char *base;
    size_t used;
};

static void *carve(struct carver *c, size_t n, size_t size)
{
    size_t off = (c->used + 63) / 64 * 64;
    c->used = off + (n ? n : 1) * size;
    return c->base ? c->base + off : NULL;
}

/* Points every array of the session into c (measures them when c->base is NULL). */
static void layout(xai_session *s, struct carver *c)
{
    size_t nv = (size_t)s->m->n_values, nn = (size_t)s->m->n_nodes, nio = (size_t)s->max_io;
    s->shapes = carve(c, nv, sizeof *s->shapes);
    s->vals = carve(c, nv, sizeof *s->vals);
    s->grads = carve(c, nv, sizeof *s->grads);
    s->dead = carve(c, 2 * nio, sizeof *s->dead);
    s->keep = carve(c, nv, 1);
    s->keep_node = carve(c, nn, 1);
    s->akeep = carve(c, nv, 1);
    s->akeep_node = carve(c, nn, 1);
    s->gkeep = carve(c, nv, 1);
    s->vflag = carve(c, nv, 1);
    s->act_t0 = carve(c, nv, sizeof(int));
    s->act_t1 = carve(c, nv, sizeof(int));
    s->act_off = carve(c, nv, sizeof(size_t));
    s->flow = carve(c, nv, 1);
    s->stop = carve(c, nv, 1);
    s->seed = carve(c, nv, 1);
    s->runs = carve(c, nn, 1);
    s->pflow = carve(c, nv, 1);
    s->pstop = carve(c, nv, 1);
    s->pseed = carve(c, nv, 1);
    s->g_t0 = carve(c, nv, sizeof(int));
    s->g_t1 = carve(c, nv, sizeof(int));
    s->g_off = carve(c, nv, sizeof(size_t));
    s->req = carve(c, 2 * nv, sizeof *s->req);
    s->req_val = carve(c, 2 * nv, sizeof(int));
    s->work = carve(c, 4 * nv, sizeof(int));
    s->pin = carve(c, nio, sizeof *s->pin);
    s->pout = carve(c, nio, sizeof *s->pout);
    s->pgout = carve(c, nio, sizeof *s->pgout);
    s->pgin = carve(c, nio, sizeof *s->pgin);
    s->fuse_into = carve(c, nn, sizeof(int));
    s->fused = carve(c, nn, 1);
    s->galias = carve(c, nn, 1);
    s->gmask = carve(c, nn, 1);
    s->cat_into = carve(c, nn, sizeof(int));
    s->cat_by = carve(c, nn, sizeof(int));
    s->gcat = carve(c, nn, 1);
    s->cat_in = carve(c, nio, sizeof *s->cat_in);
    s->cat_gin = carve(c, nio, sizeof *s->cat_gin);
    s->uses = carve(c, nv, 1);
}

static void count_uses(xai_session *s)
{
    const xai_model *m = s->m;
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++) {
            int v = m->nodes[k].in[i];
            if (v >= 0 && s->uses[v] < 2) s->uses[v]++;
        }
}

xai_status xai_session_new(const xai_model *m, xai_session **out, struct xai_err *err)
{
    xai_session *s = calloc(1, sizeof *s);
    if (!s) return xai_fail(err, XAI_NO_MEMORY, "out of memory creating a session");
    s->m = m;
    s->max_io = 1;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].n_in > s->max_io) s->max_io = m->nodes[i].n_in;
        if (m->nodes[i].n_out > s->max_io) s->max_io = m->nodes[i].n_out;
    }
    struct carver c = {NULL, 0};
    layout(s, &c);
    s->block = c.base = calloc(1, c.used);
    if (!s->block) {
        free(s);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory creating a session");
    }
    c.used = 0;
    layout(s, &c);
    count_uses(s);
    *out = s;
    return XAI_OK;
}

void xai_session_free(xai_session *s)
{
    if (!s) return;
    if (s->arena) munmap(s->arena, s->arena_bytes);
    xai_par_free(s->par);
    free(s->scratch.p);
    free(s->prof_fwd);
    free(s->prof_bwd);
    free(s->block);
    free(s);
}

const xai_model *xai_session_model(const xai_session *s)
{
    return s->m;
}

xai_status xai_session_set_threads(xai_session *s, int threads, struct xai_err *err)
{
    if (threads < 1 || threads > XAI_MAX_THREADS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "thread count %d is not in 1..%d", threads,
                        XAI_MAX_THREADS);
    if (threads == xai_par_threads(s->par)) return XAI_OK;
    xai_par_free(s->par);
    s->par = NULL;
    if (threads > 1 && !(s->par = xai_par_new(threads)))
        return xai_fail(err, XAI_NO_MEMORY, "cannot start %d threads", threads);
    if (!buf_reserve(&s->scratch, s->scratch_stride * (size_t)threads))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for scratch");
    return XAI_OK;
}

xai_par *xai_session_par(const xai_session *s)
{
    return s->par;
}

int xai_session_threads(const xai_session *s)
{
    return xai_par_threads(s->par);
}

/* ---- keep requests ---- */

xai_status xai_session_keep(xai_session *s, int value, struct xai_err *err)
{
    if (value < 0 || value >= s->m->n_values)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "no tensor %d to keep", value);
    s->keep[value] = 1;
    return XAI_OK;
}

xai_status xai_session_keep_op(xai_session *s, const char *op_type, struct xai_err *err)
{
    const xai_model *m = s->m;
    if (op_type && !xai_op_find(op_type, (int)m->opset))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "no op kind '%s' to keep", op_type);
    if (!op_type) s->keep_all = true;
    for (int k = 0; op_type && k < m->n_nodes; k++)
        if (strcmp(m->nodes[k].op->name, op_type) == 0) s->keep_node[k] = 1;
    return XAI_OK;
}

void xai_session_keep_clear(xai_session *s)
{
    memset(s->keep, 0, (size_t)s->m->n_values);
    memset(s->keep_node, 0, (size_t)(s->m->n_nodes ? s->m->n_nodes : 1));
    s->keep_all = false;
}

/* ---- the activation plan ---- */

static size_t padded(const struct xai_shape *sh)
{
    return ((size_t)xai_shape_numel(sh) + ALIGN - 1) / ALIGN * ALIGN;
}

/* V_KEEP / V_SURVIVE of every value, from the keep requests and what backward reads. */
static void mark_survivors(xai_session *s)
{
    const xai_model *m = s->m;
    memset(s->vflag, s->keep_all ? V_KEEP | V_SURVIVE : 0, (size_t)m->n_values);
    for (int v = 0; v < m->n_values; v++)
        if (s->keep[v]) s->vflag[v] = V_KEEP | V_SURVIVE;
    s->vflag[m->input] = V_KEEP | V_SURVIVE;
    for (int i = 0; i < m->n_outputs; i++) s->vflag[m->outputs[i]] = V_KEEP | V_SURVIVE;
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        uint8_t all = s->keep_node[k] ? V_KEEP | V_SURVIVE : 0;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0)
                s->vflag[n->in[i]] |= all | (i < 32 && (n->op->bwd_in >> i & 1u) ? V_SURVIVE : 0);
        for (int j = 0; j < n->n_out; j++)
            s->vflag[n->out[j]] |= all | (n->op->bwd_out ? V_SURVIVE : 0);
    }
}

/* The producer of Relu node k's input when it can run the Relu (see the top), else -1. */
static int fusable(const xai_session *s, int k)
{
    const xai_model *m = s->m;
    const struct xai_node *n = &m->nodes[k];
    if (strcmp(n->op->name, "Relu") != 0 || n->n_in != 1 || n->n_out != 1) return -1;
    int v = n->in[0];
    if (v < 0 || m->values[v].cst || s->uses[v] != 1 || (s->vflag[v] & (V_KEEP | V_SURVIVE)))
        return -1;
    int p = m->values[v].producer;
    if (p < 0) return -1;
    const struct xai_node *pn = &m->nodes[p];
    if (!pn->op->fuse_relu || pn->op->bwd_out || pn->n_out != 1 || s->fuse_into[p] >= 0) return -1;
    return xai_shape_eq(&s->shapes[v], &s->shapes[n->out[0]]) ? p : -1;
}

/* Which Relus their producers run; the Relu's output then lives from the producer's step and
 * its input takes no memory (act_t1 < act_t0). */
static void plan_fusion(xai_session *s)
{
    const xai_model *m = s->m;
    for (int k = 0; k < m->n_nodes; k++) {
        s->fuse_into[k] = -1;
        s->fused[k] = 0;
    }
    for (int k = 0; k < m->n_nodes; k++) {
        int p = fusable(s, k);
        if (p < 0) continue;
        s->fuse_into[p] = k;
        s->fused[k] = 1;
        int in = m->nodes[k].in[0], out = m->nodes[k].out[0];
        s->act_t0[out] = p;
        s->act_t0[in] = 1;
        s->act_t1[in] = 0;
    }
}

/* The node reading Concat node k's output when it can read the inputs instead (see the top),
 * else -1: one reader, input 0 of an op with fuse_concat, the output not surviving, and the
 * shapes those of a concatenation along axis 1. */
static int cat_reader(const xai_session *s, int k)
{
    const xai_model *m = s->m;
    const struct xai_node *n = &m->nodes[k];
    if (strcmp(n->op->name, "Concat") != 0 || n->n_out != 1) return -1;
    int v = n->out[0], sum = 0, r = -1;
    if (s->uses[v] != 1 || (s->vflag[v] & (V_KEEP | V_SURVIVE))) return -1;
    const struct xai_shape *o = &s->shapes[v];
    for (int i = 0; i < n->n_in; i++) {
        int u = n->in[i];
        const struct xai_const *c = u >= 0 ? m->values[u].cst : NULL;
        const struct xai_shape *x = u >= 0 ? &s->shapes[u] : NULL;
        if (!x || x->ndim != o->ndim || o->ndim < 2 || (c && c->dtype != XAI_F32)) return -1;
        for (int d = 0; d < o->ndim; d++)
            if (d != 1 && x->d[d] != o->d[d]) return -1;
        sum += (int)x->d[1];
    }
    if (sum != o->d[1]) return -1;
    for (int j = k + 1; j < m->n_nodes && r < 0; j++)
        if (m->nodes[j].n_in > 0 && m->nodes[j].in[0] == v) r = j;
    return r >= 0 && m->nodes[r].op->fuse_concat && s->cat_into[r] < 0 ? r : -1;
}

/* Which Concats their readers read through: the output takes no memory, the inputs live
 * until the reader's step. */
static void plan_cat_fusion(xai_session *s)
{
    const xai_model *m = s->m;
    for (int k = 0; k < m->n_nodes; k++) {
        s->cat_into[k] = -1;
        s->cat_by[k] = -1;
    }
    for (int k = 0; k < m->n_nodes; k++) {
        int r = cat_reader(s, k);
        if (r < 0) continue;
        const struct xai_node *n = &m->nodes[k];
        s->cat_into[r] = k;
        s->cat_by[k] = r;
        s->act_t0[n->out[0]] = 1;
        s->act_t1[n->out[0]] = 0;
        for (int i = 0; i < n->n_in; i++)
            if (!m->values[n->in[i]].cst && s->act_t1[n->in[i]] < r) s->act_t1[n->in[i]] = r;
    }
}

/* Lifetimes of the activations (constants: t0 > t1, no memory). */
static void act_lifetimes(xai_session *s)
{
    const xai_model *m = s->m;
    for (int v = 0; v < m->n_values; v++) {
        s->act_t0[v] = m->values[v].cst             ? 1
                       : m->values[v].producer >= 0 ? m->values[v].producer
                                                    : 0;
        s->act_t1[v] = m->values[v].cst ? 0 : s->act_t0[v];
    }
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++) {
            int v = m->nodes[k].in[i];
            if (v >= 0 && !m->values[v].cst && s->act_t1[v] < k) s->act_t1[v] = k;
        }
    mark_survivors(s);
    for (int v = 0; v < m->n_values; v++)
        if (!m->values[v].cst && (s->vflag[v] & V_SURVIVE)) s->act_t1[v] = 2 * m->n_nodes;
    plan_fusion(s);
    plan_cat_fusion(s);
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

static xai_status plan_activations(xai_session *s, struct xai_err *err)
{
    const xai_model *m = s->m;
    act_lifetimes(s);
    for (int v = 0; v < m->n_values; v++) {
        bool none = m->values[v].cst || s->act_t1[v] < s->act_t0[v];
        s->req[v] =
            (struct xai_mreq){s->act_t0[v], s->act_t1[v], none ? 0 : padded(&s->shapes[v]), 0};
    }
    s->act_top = s->act_bound = xai_plan_place(s->req, m->n_values, 0, s->work);
    for (int v = 0; v < m->n_values; v++) {
        s->act_off[v] = s->req[v].off;
        if (!m->values[v].cst) s->act_bound += padded(&s->shapes[v]);
    }
    for (int k = 0; k < m->n_nodes; k++) /* a fused Relu's input: its output's memory */
        if (s->fused[k]) s->act_off[m->nodes[k].in[0]] = s->act_off[m->nodes[k].out[0]];
    size_t scratch = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        size_t need = node_scratch(s, &m->nodes[k]);
        if (need > scratch) scratch = need;
    }
    s->scratch_stride = (scratch + ALIGN - 1) / ALIGN * ALIGN;
    if (!buf_reserve(&s->scratch, s->scratch_stride * (size_t)xai_par_threads(s->par)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for scratch");
    s->act_planned = true;
    s->act_batch = s->batch;
    memcpy(s->akeep, s->keep, (size_t)m->n_values);
    memcpy(s->akeep_node, s->keep_node, (size_t)m->n_nodes);
    s->akeep_all = s->keep_all;
    s->act_id++;
    s->grad_planned = false;
    return XAI_OK;
}

/* Points every value's view at its memory (after planning or moving the arena). */
static void bind_values(xai_session *s)
{
    const xai_model *m = s->m;
    for (int v = 0; v < m->n_values; v++) {
        const struct xai_const *c = m->values[v].cst;
        s->vals[v].shape = s->shapes[v];
        if (c)
            s->vals[v].data = c->dtype == XAI_F32 ? c->f : NULL;
        else
            s->vals[v].data = s->arena + s->act_off[v];
    }
}

/* ---- running nodes ---- */

static bool wants_gin(const xai_session *s, const struct xai_node *n, int i)
{
    int v = n->in[i];
    return v >= 0 && s->vals[v].data && s->flow[v] && (n->op->grad_mask >> i & 1u);
}

/* The view of v an op sees: overrides see no data where the activation did not survive. */
static const struct xai_tensor *view(xai_session *s, int v, int slot, enum run_mode mode)
{
    if (mode != RUN_OVERRIDE || s->m->values[v].cst || (s->vflag[v] & V_SURVIVE))
        return &s->vals[v];
    s->dead[slot] = (struct xai_tensor){s->shapes[v], NULL};
    return &s->dead[slot];
}

static void bind_run(xai_session *s, const struct xai_node *n, struct xai_op_run *r,
                     enum run_mode mode)
{
    bool grads = mode != RUN_FWD;
    for (int i = 0; i < n->n_in; i++) {
        int v = n->in[i];
        bool present = v >= 0 && s->vals[v].data;
        s->pin[i] = present ? view(s, v, i, mode) : NULL;
        s->pgin[i] = grads && wants_gin(s, n, i) ? &s->grads[v] : NULL;
    }
    for (int i = 0; i < n->n_out; i++) {
        s->pout[i] = view(s, n->out[i], s->max_io + i, mode);
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
    r->scratch_stride = s->scratch_stride;
    r->par = s->par;
    r->batch = s->batch;
}

#ifndef NDEBUG
/* Debug builds fill a buffer with NaN when it dies, so a read after death shows. */
static void poison(float *p, const struct xai_shape *sh)
{
    int64_t n = xai_shape_numel(sh);
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
}
#endif

static void forward_died(xai_session *s, const struct xai_node *n, int k)
{
#ifndef NDEBUG
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int v = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        if (v >= 0 && !s->m->values[v].cst && s->act_t1[v] == k && s->act_t0[v] <= k)
            poison(s->vals[v].data, &s->shapes[v]);
    }
#endif
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

static bool act_plan_fresh(const xai_session *s)
{
    const xai_model *m = s->m;
    return s->act_planned && s->act_batch == s->batch && s->akeep_all == s->keep_all &&
           !memcmp(s->akeep, s->keep, (size_t)m->n_values) &&
           !memcmp(s->akeep_node, s->keep_node, (size_t)m->n_nodes);
}

static xai_status prepare_forward(xai_session *s, const struct xai_tensor *input,
                                  struct xai_err *err)
{
    const xai_model *m = s->m;
    xai_status st = check_input(m, input, err);
    if (st) return st;
    s->batch = input->shape.d[0];
    if ((st = xai_model_infer(m, s->batch, s->shapes, err))) return st;
    if (!act_plan_fresh(s) && (st = plan_activations(s, err))) return st;
    /* Address space for the worst gradient plan too (pages never used are never resident),
     * so that backward does not move the arena under pointers the caller holds. */
    if (!arena_reserve(s, s->act_bound, false) && !arena_reserve(s, s->act_top, false))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for activations");
    if (s->act_top > s->arena_used) s->arena_used = s->act_top;
    bind_values(s);
    memcpy(s->vals[m->input].data, input->data,
           sizeof(float) * (size_t)xai_shape_numel(&input->shape));
    return XAI_OK;
}

/* The inputs of fused Concat node c for its reader (and their gradients in backward). */
static const struct xai_cat *bind_cat(xai_session *s, int c, bool grads)
{
    const struct xai_node *n = &s->m->nodes[c];
    for (int i = 0; i < n->n_in; i++) {
        s->cat_in[i] = &s->vals[n->in[i]];
        s->cat_gin[i] = grads && wants_gin(s, n, i) ? &s->grads[n->in[i]] : NULL;
    }
    s->cat = (struct xai_cat){n->n_in, s->cat_in, s->cat_gin};
    return &s->cat;
}

xai_status xai_session_forward(xai_session *s, const struct xai_tensor *input, struct xai_err *err)
{
    const xai_model *m = s->m;
    s->forward_done = s->backward_done = false;
    xai_status st = prepare_forward(s, input, err);
    if (st) return st;
    memset(s->flow, 0, (size_t)m->n_values);
    for (int i = 0; i < m->n_nodes; i++) {
        if ((st = check_deadline(s, err))) return st;
        if (s->fused[i] || s->cat_by[i] >= 0) continue; /* the node next to it runs it */
        struct xai_op_run r;
        bind_run(s, &m->nodes[i], &r, RUN_FWD);
        if (s->fuse_into[i] >= 0) {
            r.relu = true;
            s->pout[0] = &s->vals[m->nodes[s->fuse_into[i]].out[0]];
        }
        if (s->cat_into[i] >= 0) r.cat = bind_cat(s, s->cat_into[i], false);
        double t0 = s->prof_fwd ? now_s() : 0;
        m->nodes[i].op->forward(&r);
        if (s->prof_fwd) s->prof_fwd[i] += now_s() - t0;
        forward_died(s, &m->nodes[i], i);
    }
    s->forward_done = true;
    return XAI_OK;
}

/* ---- backward ---- */

static bool node_active(const xai_session *s, const struct xai_node *n)
{
    bool active = false;
    for (int j = 0; j < n->n_out; j++) active |= s->flow[n->out[j]] && !s->stop[n->out[j]];
    return active;
}

/* Marks which values receive a gradient and which nodes run backward. */
static void mark_flow(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                      const struct xai_backward_opts *o)
{
    const xai_model *m = s->m;
    memset(s->flow, 0, (size_t)m->n_values);
    memset(s->stop, 0, (size_t)m->n_values);
    memset(s->seed, 0, (size_t)m->n_values);
    for (int i = 0; o && i < o->n_stop; i++)
        if (o->stop[i] >= 0 && o->stop[i] < m->n_values) s->stop[o->stop[i]] = 1;
    for (int i = 0; i < n_seeds; i++) s->flow[seeds[i].value] = s->seed[seeds[i].value] = 1;
    for (int k = m->n_nodes - 1; k >= 0; k--) {
        const struct xai_node *n = &m->nodes[k];
        if (!node_active(s, n)) continue;
        for (int i = 0; i < n->n_in; i++) {
            int v = n->in[i];
            if (v >= 0 && m->values[v].grad && (n->op->grad_mask >> i & 1u)) s->flow[v] = 1;
        }
    }
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        bool any = false;
        for (int i = 0; i < n->n_in; i++) any |= wants_gin(s, n, i);
        s->runs[k] = node_active(s, n) && any;
    }
}

/* Whether v's gradient stays readable after the backward pass. */
static bool grad_survives(const xai_session *s, int v)
{
    int p = s->m->values[v].producer;
    return v == s->m->input || s->seed[v] || s->stop[v] || s->keep[v] || s->keep_all || p < 0 ||
           !s->runs[p];
}

/* Lifetimes of the gradients: from the first accumulation to the producer's backward. */
static void grad_lifetimes(xai_session *s)
{
    const xai_model *m = s->m;
    int K = m->n_nodes, end = 2 * K;
    for (int v = 0; v < m->n_values; v++) s->g_t0[v] = end + 1;
    for (int k = K - 1; k >= 0; k--) {
        const struct xai_node *n = &m->nodes[k];
        /* a fused Concat's inputs are written by its reader, at the reader's step */
        int by = s->cat_by[k] >= 0 && s->gcat[s->cat_by[k]] ? s->cat_by[k] : k;
        for (int i = 0; s->runs[k] && i < n->n_in; i++)
            if (wants_gin(s, n, i) && 2 * K - 1 - by < s->g_t0[n->in[i]])
                s->g_t0[n->in[i]] = 2 * K - 1 - by;
    }
    for (int v = 0; v < m->n_values; v++) {
        if (!s->flow[v]) {
            s->g_t0[v] = 1;
            s->g_t1[v] = 0;
            continue;
        }
        if (s->seed[v] || s->g_t0[v] > end) s->g_t0[v] = K;
        s->g_t1[v] = grad_survives(s, v) ? end : 2 * K - 1 - m->values[v].producer;
    }
    for (int k = 0; k < K; k++)
        if (s->gcat[k]) { /* the Concat's output gradient is never stored */
            int v = m->nodes[s->cat_into[k]].out[0];
            s->g_t0[v] = 1;
            s->g_t1[v] = 0;
        }
}

/* Fused Concats whose reader writes the inputs' gradients in this pass (see the top). */
static void plan_cat_grads(xai_session *s)
{
    const xai_model *m = s->m;
    for (int k = 0; k < m->n_nodes; k++) {
        int c = s->cat_into[k];
        s->gcat[k] = 0;
        if (c < 0 || s->gcat_ov || !s->runs[k] || !s->runs[c]) continue;
        int v = m->nodes[c].out[0];
        s->gcat[k] = s->flow[v] && !grad_survives(s, v);
    }
}

/* Fused Relus whose input gradient shares their output gradient's memory in this pass (see
 * the top): the output's gradient then lives until the input's dies, and the input's takes
 * no request of its own (g_t1 < g_t0 marks it; g_alias keeps its real lifetime). */
static void plan_alias(xai_session *s)
{
    const xai_model *m = s->m;
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        s->galias[k] = 0;
        if (!s->fused[k] || s->grelu_ov || !s->runs[k] || !wants_gin(s, n, 0)) continue;
        int in = n->in[0], out = n->out[0];
        if (grad_survives(s, in) || grad_survives(s, out) || !s->flow[out]) continue;
        s->galias[k] = 1;
        s->g_t1[out] = s->g_t1[in];
        s->g_t0[in] = 1;
        s->g_t1[in] = 0;
    }
}

static void plan_gradients(xai_session *s)
{
    const xai_model *m = s->m;
    int n = 0, end = 2 * m->n_nodes;
    for (int v = 0; v < m->n_values; v++)
        if (!m->values[v].cst && (s->vflag[v] & V_SURVIVE))
            s->req[n++] = (struct xai_mreq){0, end, padded(&s->shapes[v]), s->act_off[v]};
    int fixed = n;
    plan_cat_grads(s);
    grad_lifetimes(s);
    plan_alias(s);
    for (int v = 0; v < m->n_values; v++) {
        if (!s->flow[v] || s->g_t1[v] < s->g_t0[v]) continue;
        s->req_val[n] = v;
        s->req[n++] = (struct xai_mreq){s->g_t0[v], s->g_t1[v], padded(&s->shapes[v]), 0};
    }
    s->grad_top = xai_plan_place(s->req, n, fixed, s->work);
    for (int i = fixed; i < n; i++) s->g_off[s->req_val[i]] = s->req[i].off;
    for (int k = 0; k < m->n_nodes; k++)
        if (s->galias[k]) s->g_off[m->nodes[k].in[0]] = s->g_off[m->nodes[k].out[0]];
    memcpy(s->pflow, s->flow, (size_t)m->n_values);
    memcpy(s->pstop, s->stop, (size_t)m->n_values);
    memcpy(s->pseed, s->seed, (size_t)m->n_values);
    memcpy(s->gkeep, s->keep, (size_t)m->n_values);
    s->gkeep_all = s->keep_all;
    s->pgrelu_ov = s->grelu_ov;
    s->pgcat_ov = s->gcat_ov;
    s->grad_planned = true;
    s->grad_act_id = s->act_id;
}

static bool grad_plan_fresh(const xai_session *s)
{
    size_t nv = (size_t)s->m->n_values;
    return s->grad_planned && s->grad_act_id == s->act_id && s->gkeep_all == s->keep_all &&
           s->pgrelu_ov == s->grelu_ov && s->pgcat_ov == s->gcat_ov &&
           !memcmp(s->flow, s->pflow, nv) && !memcmp(s->stop, s->pstop, nv) &&
           !memcmp(s->seed, s->pseed, nv) && !memcmp(s->keep, s->gkeep, nv);
}

/* Plans (when needed) and binds the gradients; zeroes those first written at step K and
 * adds the seeds. */
static xai_status prepare_grads(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                                struct xai_err *err)
{
    const xai_model *m = s->m;
    if (!grad_plan_fresh(s)) plan_gradients(s);
    float *old = s->arena;
    if (!arena_reserve(s, s->grad_top, true))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for gradients");
    if (s->arena != old) bind_values(s);
    if (s->grad_top > s->arena_used) s->arena_used = s->grad_top;
    for (int v = 0; v < m->n_values; v++) {
        if (!s->flow[v]) continue;
        s->grads[v] = (struct xai_tensor){s->shapes[v], s->arena + s->g_off[v]};
        if (s->g_t0[v] == m->n_nodes)
            memset(s->grads[v].data, 0, sizeof(float) * (size_t)xai_shape_numel(&s->shapes[v]));
    }
    for (int i = 0; i < n_seeds; i++) {
        int v = seeds[i].value;
        int64_t n = xai_shape_numel(&s->shapes[v]);
        const float *g = seeds[i].grad->data;
        for (int64_t k = 0; k < n; k++) s->grads[v].data[k] += g[k];
    }
    return XAI_OK;
}

/* Zeroes the gradients node k's backward (at step t) writes first. */
static void zero_new_grads(xai_session *s, const struct xai_node *n, int t)
{
    for (int i = 0; t > s->m->n_nodes && i < n->n_in; i++) {
        int v = n->in[i];
        if (wants_gin(s, n, i) && s->g_t0[v] == t)
            memset(s->grads[v].data, 0, sizeof(float) * (size_t)xai_shape_numel(&s->shapes[v]));
    }
}

/* The reader of a fused Concat writes the Concat's inputs' gradients: zeroes those it starts. */
static void zero_cat_grads(xai_session *s, int k, int t)
{
    if (!s->gcat[k]) return;
    zero_new_grads(s, &s->m->nodes[s->cat_into[k]], t);
}

static void backward_died(xai_session *s, const struct xai_node *n, int t)
{
#ifndef NDEBUG
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        if (s->flow[v] && s->g_t1[v] == t) poison(s->grads[v].data, &s->shapes[v]);
    }
#endif
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

/* A fused Relu's backward with the input gradient in the output's memory: g = y > 0 ? g : 0,
 * by pieces on the session's threads. */
#define MASK_PIECE 16384

struct mask_ctx {
    const float *y;
    float *g;
    int64_t n;
};

static void mask_piece(void *ctx, int64_t i, int tid)
{
    const struct mask_ctx *c = ctx;
    int64_t lo = i * MASK_PIECE, hi = lo + MASK_PIECE < c->n ? lo + MASK_PIECE : c->n;
    for (int64_t k = lo; k < hi; k++) { /* g read unconditionally, so that it vectorises */
        float g = c->g[k];
        c->g[k] = c->y[k] > 0.f ? g : 0.f;
    }
}

static void relu_mask(xai_session *s, const struct xai_node *n)
{
    int out = n->out[0];
    struct mask_ctx c = {s->vals[out].data, s->grads[out].data, xai_shape_numel(&s->shapes[out])};
    xai_par_for(s->par, (c.n + MASK_PIECE - 1) / MASK_PIECE, mask_piece, &c);
}

/* Whether an override replaces Concat's rule or a fused Concat reader's. */
static bool cat_overridden(const xai_session *s, const struct xai_backward_opts *opts)
{
    if (find_override(opts, "Concat")) return true;
    for (int k = 0; k < s->m->n_nodes; k++)
        if (s->cat_into[k] >= 0 && find_override(opts, s->m->nodes[k].op->name)) return true;
    return false;
}

/* Aliased Relus whose producer's built-in backward masks the gradient as it reads it. */
static void mask_owners(xai_session *s, const struct xai_backward_opts *opts)
{
    const xai_model *m = s->m;
    for (int k = 0; k < m->n_nodes; k++) {
        s->gmask[k] = 0;
        if (!s->galias[k]) continue;
        const struct xai_op_def *op = m->nodes[m->values[m->nodes[k].in[0]].producer].op;
        s->gmask[k] = op->relu_grad && !find_override(opts, op->name);
    }
}

static void backward_node(xai_session *s, int k, const struct xai_backward_opts *opts)
{
    const struct xai_node *n = &s->m->nodes[k];
    int t = 2 * s->m->n_nodes - 1 - k;
    if (s->galias[k]) {
        double t0 = s->prof_bwd ? now_s() : 0;
        if (!s->gmask[k]) relu_mask(s, n);
        if (s->prof_bwd) s->prof_bwd[k] += now_s() - t0;
        return;
    }
    if (s->cat_by[k] >= 0 && s->gcat[s->cat_by[k]]) return; /* its reader did it */
    zero_new_grads(s, n, t);
    zero_cat_grads(s, k, t);
    const struct xai_grad_override *ov = find_override(opts, n->op->name);
    struct xai_op_run r;
    bind_run(s, n, &r, ov ? RUN_OVERRIDE : RUN_BWD);
    int relu = s->fuse_into[k];
    if (!ov && relu >= 0 && s->gmask[relu]) { /* the op masks the Relu's gradient itself */
        r.relu = true;
        s->pout[0] = &s->vals[s->m->nodes[relu].out[0]];
    }
    if (s->gcat[k]) { /* it adds into the Concat's inputs' gradients */
        r.cat = bind_cat(s, s->cat_into[k], true);
        s->pgin[0] = NULL;
    }
    double t0 = s->prof_bwd ? now_s() : 0;
    if (ov)
        ov->backward(&r, ov->user);
    else
        n->op->backward(&r);
    if (s->prof_bwd) s->prof_bwd[k] += now_s() - t0;
    backward_died(s, n, t);
}

xai_status xai_session_backward(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                                const struct xai_backward_opts *opts, struct xai_err *err)
{
    s->backward_done = false;
    xai_status st = check_seeds(s, seeds, n_seeds, err);
    if (st) return st;
    mark_flow(s, seeds, n_seeds, opts);
    s->grelu_ov = find_override(opts, "Relu") != NULL;
    s->gcat_ov = cat_overridden(s, opts);
    if ((st = prepare_grads(s, seeds, n_seeds, err))) {
        memset(s->flow, 0, (size_t)s->m->n_values);
        return st;
    }
    mask_owners(s, opts);
    for (int k = s->m->n_nodes - 1; k >= 0; k--) {
        if (!s->runs[k]) continue;
        if ((st = check_deadline(s, err))) return st;
        backward_node(s, k, opts);
    }
    s->backward_done = true;
    return XAI_OK;
}

/* ---- reading results ---- */

const struct xai_tensor *xai_session_value(const xai_session *s, int v)
{
    if (!s->forward_done || v < 0 || v >= s->m->n_values || !s->vals[v].data) return NULL;
    if (!s->m->values[v].cst && !(s->vflag[v] & V_KEEP)) return NULL;
    return &s->vals[v];
}

const struct xai_tensor *xai_session_tensor(const xai_session *s, const char *name)
{
    return xai_session_value(s, xai_model_find(s->m, name));
}

const struct xai_tensor *xai_session_grad(const xai_session *s, int v)
{
    if (!s->backward_done || v < 0 || v >= s->m->n_values || !s->flow[v]) return NULL;
    return s->g_t1[v] == 2 * s->m->n_nodes ? &s->grads[v] : NULL;
}

const struct xai_tensor *xai_session_output(const xai_session *s, int i)
{
    if (i < 0 || i >= s->m->n_outputs) return NULL;
    return xai_session_value(s, s->m->outputs[i]);
}

size_t xai_session_bytes(const xai_session *s)
{
    return (s->arena_used + s->scratch.cap) * sizeof(float);
}

size_t xai_session_plan_bytes(const xai_session *s)
{
    size_t top = s->act_top;
    if (s->backward_done && s->grad_top > top) top = s->grad_top;
    return top * sizeof(float);
}

bool xai_session_plan_check(const xai_session *s)
{
    const xai_model *m = s->m;
    struct xai_mreq *r = calloc(2 * (size_t)m->n_values + 1, sizeof *r);
    if (!r) return false;
    int n = 0;
    for (int v = 0; v < m->n_values; v++)
        if (!m->values[v].cst)
            r[n++] =
                (struct xai_mreq){s->act_t0[v], s->act_t1[v], padded(&s->shapes[v]), s->act_off[v]};
    for (int v = 0; s->backward_done && v < m->n_values; v++)
        if (s->flow[v])
            r[n++] = (struct xai_mreq){s->g_t0[v], s->g_t1[v], padded(&s->shapes[v]), s->g_off[v]};
    bool ok = xai_plan_check(r, n);
    free(r);
    return ok;
}

int xai_session_fused_relus(const xai_session *s)
{
    int n = 0;
    for (int k = 0; s->act_planned && k < s->m->n_nodes; k++) n += s->fused[k];
    return n;
}

int xai_session_fused_concats(const xai_session *s)
{
    int n = 0;
    for (int k = 0; s->act_planned && k < s->m->n_nodes; k++) n += s->cat_by[k] >= 0;
    return n;
}

/* ---- profiling ---- */

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

void xai_session_profile_nodes(const xai_session *s, FILE *f)
{
    if (!s->prof_fwd) return;
    fprintf(f, "%-22s %-44s %10s %10s\n", "op", "node", "fwd ms", "bwd ms");
    for (int k = 0; k < s->m->n_nodes; k++)
        if (s->prof_fwd[k] > 0 || s->prof_bwd[k] > 0)
            fprintf(f, "%-22s %-44s %10.3f %10.3f\n", s->m->nodes[k].op->name, s->m->nodes[k].name,
                    s->prof_fwd[k] * 1e3, s->prof_bwd[k] * 1e3);
}
