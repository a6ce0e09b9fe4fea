/*
 * session.h - the executor: one session per worker thread runs a shared, immutable model.
 *
 * A session owns every mutable byte of a run: activations, gradients and scratch, in one
 * arena planned by lifetime (session.c). The plan is made again when the batch size or the
 * keep requests change and reused otherwise, so after the first run at a batch size nothing
 * is allocated on the hot path.
 *
 * The four hooks attribution methods use, and nothing more:
 *   1. read any intermediate tensor by its ONNX name      xai_session_tensor / _grad
 *      (ask for it BEFORE the forward pass with xai_session_keep)
 *   2. seed the backward pass at any tensor                struct xai_grad_seed
 *   3. replace the backward rule of an op kind for a run   struct xai_backward_opts.overrides
 *      (a rule reading more than the built-in one asks for it with xai_session_keep_op)
 *   4. stop the backward pass at chosen tensors            struct xai_backward_opts.stop
 *
 * What stays readable. After a forward pass: the graph input, the model outputs and the
 * values kept with xai_session_keep / _keep_op; xai_session_value returns NULL for any other
 * activation, whose memory was reused. After a backward pass: the gradients of the input, of
 * the seeds, of the stop values, of kept values and of values whose producer ran no backward;
 * xai_session_grad returns NULL for the others. Any number of backward passes may follow one
 * forward pass. Tensors returned after a forward pass stay valid until the next forward pass;
 * gradients until the next backward or forward pass.
 */
#ifndef XAI_SESSION_H
#define XAI_SESSION_H

#include <stdio.h>

#include "model.h"

typedef struct xai_session xai_session;

/* A replacement backward rule for every node of one op kind (e.g. "Relu"). The rule has the
 * op's backward contract (accumulate into r->gin); user is passed through. It sees the data
 * of an input or output only where the session kept it: what the built-in rule reads (op.h:
 * bwd_in, bwd_out), and everything of the kinds named with xai_session_keep_op; elsewhere
 * r->in[i]->data / r->out[j]->data are NULL (shapes are always there). */
struct xai_grad_override {
    const char *op_type;
    void (*backward)(const struct xai_op_run *r, void *user);
    void *user;
};

struct xai_backward_opts {
    const struct xai_grad_override *overrides;
    int n_overrides;
    const int *stop; /* value indices: they receive their gradient, nothing below them runs */
    int n_stop;
};

/* The gradient that enters the backward pass at one value (same shape as the value). */
struct xai_grad_seed {
    int value;
    const struct xai_tensor *grad;
};

xai_status xai_session_new(const xai_model *m, xai_session **out, struct xai_err *err);
void xai_session_free(xai_session *s);
const xai_model *xai_session_model(const xai_session *s);

/* Threads the session's runs may use (default 1; at most XAI_MAX_THREADS). With more than one,
 * the session starts its own worker threads and the ops split their work between them: the
 * results are bit-identical whatever the count. The caller should then keep OpenBLAS at one
 * thread (openblas_set_num_threads(1)), as a server's workers, each with its own session,
 * always should. */
#define XAI_MAX_THREADS 64
xai_status xai_session_set_threads(xai_session *s, int threads, struct xai_err *err);
int xai_session_threads(const xai_session *s);
/* The session's worker threads (NULL: one thread), for code that runs ops outside the
 * session's own passes on its behalf (incremental.h). */
struct xai_par;
struct xai_par *xai_session_par(const xai_session *s);

/* Runs the forward pass on input (shape [N, ...] matching the model input but for N). */
xai_status xai_session_forward(xai_session *s, const struct xai_tensor *input, struct xai_err *err);
/* Runs the backward pass from the seeds after a forward pass. opts may be NULL. */
xai_status xai_session_backward(xai_session *s, const struct xai_grad_seed *seeds, int n_seeds,
                                const struct xai_backward_opts *opts, struct xai_err *err);

/* Keep requests, for the forward passes that follow (they last until cleared).
 * xai_session_keep: the value stays readable after forward, and its gradient after backward.
 * xai_session_keep_op: the inputs and outputs of every node of that op kind stay readable
 *   (and visible to backward overrides); op_type NULL keeps every activation and gradient,
 *   as LRP-style rules need. Fails for an unknown value or op kind. */
xai_status xai_session_keep(xai_session *s, int value, struct xai_err *err);
xai_status xai_session_keep_op(xai_session *s, const char *op_type, struct xai_err *err);
void xai_session_keep_clear(xai_session *s);

/* Value of the last forward pass, by index or ONNX name (NULL when unknown or not kept). */
const struct xai_tensor *xai_session_value(const xai_session *s, int value);
const struct xai_tensor *xai_session_tensor(const xai_session *s, const char *name);
/* Gradient of the last backward pass (NULL when none reached that value). */
const struct xai_tensor *xai_session_grad(const xai_session *s, int value);
/* First model output of the last forward pass. */
const struct xai_tensor *xai_session_output(const xai_session *s, int i);
/* Cancellation: forward and backward passes check between nodes and fail with
 * DEADLINE_EXCEEDED (session state as after any failed run) once xai_monotonic_s() passes
 * deadline; 0 means none. A server sets it per request, so a job past its deadline stops
 * within one node's time; multi-pass methods stop at their next pass. Another thread may set it
 * while a run is in progress (e.g. to a past time, to stop a run whose client has gone): it is
 * read atomically at each check. */
void xai_session_set_deadline(xai_session *s, double deadline);
/* The deadline set (0: none), for work outside the engine (t-SNE) to check it too. */
double xai_session_deadline(const xai_session *s);
/* Seconds of CLOCK_MONOTONIC, the clock of deadlines. */
double xai_monotonic_s(void);
/* Per-node timing, for benchmarks and tuning: when on, forward and backward add each node's
 * wall time; xai_session_profile_report prints the totals by op type, largest first. */
void xai_session_profile(xai_session *s, bool on);
void xai_session_profile_report(const xai_session *s, FILE *f);
/* The same totals node by node, in graph order (op, name, forward ms, backward ms). */
void xai_session_profile_nodes(const xai_session *s, FILE *f);

/* Bytes of memory the session has used: the largest plan so far, and scratch. */
size_t xai_session_bytes(const xai_session *s);
/* Bytes of the arena the current plans use: activations of the last forward pass and
 * gradients of the last backward pass. */
size_t xai_session_plan_bytes(const xai_session *s);
/* For tests: true when no two buffers of the current plans that are live at the same time
 * share memory. */
bool xai_session_plan_check(const xai_session *s);
/* For tests and benchmarks: how many Relu nodes the last forward pass ran as part of their
 * producer (session.c). */
int xai_session_fused_relus(const xai_session *s);
/* For tests and benchmarks: how many Concat nodes the last forward pass fused into their
 * reader (session.c). */
int xai_session_fused_concats(const xai_session *s);

#endif
