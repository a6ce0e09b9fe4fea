/*
 * inspect_maximize.c - class model visualisation (Simonyan, Vedaldi and Zisserman 2014): the
 * input I that maximises S_c(I) - lambda ||I||^2, S_c the class's logit, found by gradient
 * ascent in the model's input space from seeded Gaussian noise. Each step moves by
 * lr * d / RMS(d) with d = dS_c/dI - 2 lambda I (a normalised step: lr is in input units,
 * whatever the scale of the logits), then clamps I to the range of real inputs; when the class
 * score would fall, the step is halved (up to 8 times, else the image stays), so without the
 * blur, which is applied after the step and may lower it, and without jitter (whose gradients
 * are those of shifted images: its steps are taken as they come), the score never decreases.
 * Optional
 * regularisers from Yosinski et al. 2015: a random shift (jitter) of the image before each
 * gradient, and a Gaussian blur every few steps. The trace records S_c and the objective at
 * every iterate. Called by api/inspect.c (`maximize` route, `xaid maximize`).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "methods/_common.h"
#include "methods/_perturb.h"

void xai_maximize_opts_default(struct xai_maximize_opts *o)
{
    *o = (struct xai_maximize_opts){100, 0.01, 0.01, 0, 4, 0, 0.01, 0};
}

void xai_maximize_result_reset(struct xai_maximize_result *r)
{
    free(r->image);
    free(r->score);
    free(r->objective);
    memset(r, 0, sizeof *r);
}

/* Shifts each c x h x w plane by (dx, dy) with wrap-around (torch.roll). */
static void roll(const float *in, int c, int h, int w, int dx, int dy, float *out)
{
    for (int k = 0; k < c; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int ty = ((y + dy) % h + h) % h, tx = ((x + dx) % w + w) % w;
                out[((int64_t)k * h + ty) * w + tx] = in[((int64_t)k * h + y) * w + x];
            }
}

static double sumsq(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

#define MAX_HALVINGS 8

struct ascent {
    const struct xai_method_req *req;
    const struct xai_maximize_opts *o;
    int c, h, w;
    int64_t n;
    float *x, *g, *tmp, *d, *prev, *gprev;
    uint64_t rng;
};

/* dS/dI at a (jittered) x into a->g; the score of the unjittered x into *score. */
static xai_status grad_at(struct ascent *a, float *score, struct xai_err *err)
{
    int j = a->o->jitter;
    if (!j) return xai_m_input_grad(a->req, a->x, 1, NULL, a->g, score, err);
    int dx = (int)(xai_rng_next(&a->rng) % (uint64_t)(2 * j + 1)) - j;
    int dy = (int)(xai_rng_next(&a->rng) % (uint64_t)(2 * j + 1)) - j;
    roll(a->x, a->c, a->h, a->w, dx, dy, a->tmp);
    xai_status st = xai_m_input_grad(a->req, a->tmp, 1, NULL, a->g, NULL, err);
    if (st) return st;
    roll(a->g, a->c, a->h, a->w, -dx, -dy, a->tmp);
    memcpy(a->g, a->tmp, sizeof(float) * (size_t)a->n);
    return xai_m_scores(a->req, a->x, 1, score, err);
}

/* d = dS/dI - 2 lambda I at a->x (gradient in a->g) into a->d; returns lr / RMS(d). */
static double direction(struct ascent *a)
{
    double l2 = a->o->l2, rms = 0;
    for (int64_t i = 0; i < a->n; i++) {
        a->d[i] = (float)(a->g[i] - 2.0 * l2 * a->x[i]);
        rms += (double)a->d[i] * a->d[i];
    }
    rms = sqrt(rms / (double)a->n);
    return rms > 0 ? 1.0 / rms : 0;
}

static void move(struct ascent *a, double f)
{
    float lo = a->req->mm->input_lo, hi = a->req->mm->input_hi;
    for (int64_t i = 0; i < a->n; i++) {
        float v = (float)(a->prev[i] + f * a->d[i]);
        a->x[i] = v < lo ? lo : v > hi ? hi : v;
    }
}

/* One ascent step from a->x (score *s, gradient a->g) with backtracking: the step is halved
 * (at most MAX_HALVINGS times) until the class score does not decrease; when no step keeps it,
 * the image stays. On return a->x, a->g and *s belong to the new iterate. */
static xai_status ascent_step(struct ascent *a, float *s, struct xai_err *err)
{
    double f = a->o->lr * direction(a);
    memcpy(a->prev, a->x, sizeof(float) * (size_t)a->n);
    memcpy(a->gprev, a->g, sizeof(float) * (size_t)a->n);
    for (int k = 0; k <= MAX_HALVINGS && f > 0; k++, f /= 2) {
        float s_new;
        move(a, f);
        xai_status st = grad_at(a, &s_new, err);
        if (st) return st;
        if (s_new >= *s || a->o->jitter) { /* a jittered gradient is not the image's own */
            *s = s_new;
            return XAI_OK;
        }
    }
    memcpy(a->x, a->prev, sizeof(float) * (size_t)a->n);
    memcpy(a->g, a->gprev, sizeof(float) * (size_t)a->n);
    return XAI_OK;
}

static xai_status blur(struct ascent *a, float *s, struct xai_err *err)
{
    xai_status st = xai_m_gaussian_blur(a->x, a->c, a->h, a->w, a->o->blur_sigma, a->tmp, err);
    if (st) return st;
    memcpy(a->x, a->tmp, sizeof(float) * (size_t)a->n);
    return grad_at(a, s, err);
}

static xai_status ascend(struct ascent *a, struct xai_maximize_result *out, struct xai_err *err)
{
    const struct xai_maximize_opts *o = a->o;
    float s;
    xai_status st = grad_at(a, &s, err);
    for (int t = 0; !st; t++) {
        out->score[t] = s;
        out->objective[t] = (float)(s - o->l2 * sumsq(a->x, a->n));
        if (t == o->steps) break;
        st = ascent_step(a, &s, err);
        if (!st && o->blur_sigma > 0 && (t + 1) % o->blur_every == 0) st = blur(a, &s, err);
    }
    return st;
}

static xai_status check(const struct xai_maximize_opts *o, struct xai_err *err)
{
    if (o->steps < 1 || o->steps > XAI_MAXIMIZE_MAX_STEPS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "steps must be from 1 to %d",
                        XAI_MAXIMIZE_MAX_STEPS);
    if (!(o->lr > 0 && o->lr <= 10) || !(o->l2 >= 0 && o->l2 <= 100) || !(o->init_std >= 0) ||
        o->jitter < 0 || o->blur_every < 1 || !(o->blur_sigma >= 0))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "bad class maximisation settings");
    return XAI_OK;
}

xai_status xai_maximize_run(const struct xai_method_req *req, const struct xai_maximize_opts *o,
                            struct xai_maximize_result *out, struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    xai_status st = check(o, err);
    if (st) return st;
    const struct xai_shape *s = &req->input->shape;
    struct ascent a = {.req = req,
                       .o = o,
                       .c = (int)s->d[1],
                       .h = (int)s->d[2],
                       .w = (int)s->d[3],
                       .n = xai_m_item_numel(req),
                       .rng = req->seed};
    a.x = malloc(sizeof(float) * (size_t)a.n);
    a.g = malloc(sizeof(float) * (size_t)a.n);
    a.tmp = malloc(sizeof(float) * (size_t)a.n);
    a.d = malloc(sizeof(float) * (size_t)a.n);
    a.prev = malloc(sizeof(float) * (size_t)a.n);
    a.gprev = malloc(sizeof(float) * (size_t)a.n);
    out->score = malloc(sizeof(float) * (size_t)(o->steps + 1));
    out->objective = malloc(sizeof(float) * (size_t)(o->steps + 1));
    out->steps = o->steps;
    if (!a.x || !a.g || !a.tmp || !a.d || !a.prev || !a.gprev || !out->score || !out->objective)
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for class maximisation");
    float lo = req->mm->input_lo, hi = req->mm->input_hi;
    for (int64_t i = 0; !st && i < a.n; i++) {
        float v = (float)(o->init_std * xai_rng_normal(&a.rng));
        a.x[i] = v < lo ? lo : v > hi ? hi : v;
    }
    if (!st) st = ascend(&a, out, err);
    free(a.g);
    free(a.tmp);
    free(a.d);
    free(a.prev);
    free(a.gprev);
    out->image = a.x;
    if (st) xai_maximize_result_reset(out);
    return st;
}
