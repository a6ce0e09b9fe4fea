/* faithfulness.c - deletion/insertion curves; see faithfulness.h. */
#include "faithfulness.h"
#include "methods/_perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ranked {
    float v;
    int i;
};

static int by_value_desc(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

static struct ranked *rank_pixels(const float *map, int n)
{
    struct ranked *r = malloc(sizeof *r * (size_t)n);
    for (int i = 0; r && i < n; i++)
        r[i] = (struct ranked){isfinite(map[i]) ? map[i] : -INFINITY, i};
    if (r) qsort(r, (size_t)n, sizeof *r, by_value_desc);
    return r;
}

/* Builds the steps+1 images of one curve: from `base`, pixels taken in rank order from `fill`. */
static void build_curve(const float *base, const float *fill, const struct ranked *r, int c, int hw,
                        int steps, float *out)
{
    for (int k = 0; k <= steps; k++) {
        float *img = out + (size_t)k * c * hw;
        memcpy(img, base, sizeof(float) * (size_t)c * hw);
        int upto = (int)lround((double)k / steps * hw);
        for (int j = 0; j < upto; j++)
            for (int ch = 0; ch < c; ch++)
                img[(size_t)ch * hw + r[j].i] = fill[(size_t)ch * hw + r[j].i];
    }
}

static float probability(const struct xai_method_req *req, const float *logits, int classes)
{
    float z = logits[req->target];
    if (req->mm->multilabel) return 1.f / (1.f + expf(-z));
    double mx = logits[0], s = 0;
    for (int i = 1; i < classes; i++) mx = logits[i] > mx ? logits[i] : mx;
    for (int i = 0; i < classes; i++) s += exp((double)logits[i] - mx);
    return (float)(exp((double)z - mx) / s);
}

/* Target probabilities of n images, in batches. */
static xai_status probabilities(const struct xai_method_req *req, const float *x, int n, float *p,
                                struct xai_err *err)
{
    int64_t item = xai_shape_numel(&req->input->shape);
    int step = req->max_batch > 0 ? req->max_batch : 1;
    for (int i = 0; i < n; i += step) {
        int b = n - i < step ? n - i : step;
        struct xai_tensor in = {req->input->shape, (float *)x + (int64_t)i * item};
        in.shape.d[0] = b;
        xai_status st = xai_session_forward(req->s, &in, err);
        if (st) return st;
        const struct xai_tensor *y = xai_session_value(req->s, req->mm->output);
        if (!y) return xai_fail(err, XAI_INTERNAL, "the model output is not available");
        int classes = (int)y->shape.d[1];
        for (int j = 0; j < b; j++)
            p[i + j] = probability(req, y->data + (int64_t)j * classes, classes);
    }
    return XAI_OK;
}

static double auc(const float *v, int steps)
{
    double a = 0;
    for (int k = 0; k < steps; k++) a += 0.5 * ((double)v[k] + v[k + 1]) / steps;
    return a;
}

xai_status xai_faithfulness(const struct xai_method_req *req, const float *map, int steps,
                            struct xai_faith *out, struct xai_err *err)
{
    if (steps < 2 || steps > XAI_FAITH_MAX_STEPS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "evaluation steps must be from 2 to %d",
                        XAI_FAITH_MAX_STEPS);
    const struct xai_shape *s = &req->input->shape;
    int c = (int)s->d[1], h = (int)s->d[2], w = (int)s->d[3], hw = h * w;
    size_t item = (size_t)c * hw;
    float *blurred = malloc(sizeof(float) * item);
    float *imgs = malloc(sizeof(float) * item * (size_t)(steps + 1));
    struct ranked *r = rank_pixels(map, hw);
    xai_status st = XAI_OK;
    if (!blurred || !imgs || !r) st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (!st) {
        double sigma = (double)w / 8.0;
        st = xai_m_gaussian_blur(req->input->data, c, h, w,
                                 sigma < XAI_BLUR_MAX_SIGMA ? sigma : XAI_BLUR_MAX_SIGMA, blurred,
                                 err);
    }
    if (!st) {
        memset(out, 0, sizeof *out);
        out->steps = steps;
        for (int k = 0; k <= steps; k++) out->fraction[k] = (float)k / (float)steps;
        build_curve(req->input->data, blurred, r, c, hw, steps, imgs);
        st = probabilities(req, imgs, steps + 1, out->deletion, err);
    }
    if (!st) {
        build_curve(blurred, req->input->data, r, c, hw, steps, imgs);
        st = probabilities(req, imgs, steps + 1, out->insertion, err);
    }
    if (!st) {
        out->deletion_auc = auc(out->deletion, steps);
        out->insertion_auc = auc(out->insertion, steps);
    }
    free(blurred);
    free(imgs);
    free(r);
    return st;
}
