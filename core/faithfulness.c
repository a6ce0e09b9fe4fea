/* faithfulness.c - deletion/insertion curves; see faithfulness.h. */
#include "faithfulness.h"

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

/* Separable Gaussian blur of each channel of a C x H x W image, edges clamped. */
static void blur(const float *src, int c, int h, int w, float sigma, float *dst, float *tmp)
{
    int rad = (int)ceilf(3.f * sigma);
    float k[257];
    if (rad > 128) rad = 128;
    float sum = 0.f;
    for (int i = -rad; i <= rad; i++)
        sum += k[i + rad] = expf(-0.5f * (float)(i * i) / (sigma * sigma));
    for (int i = 0; i <= 2 * rad; i++) k[i] /= sum;
    for (int ch = 0; ch < c; ch++) {
        const float *s = src + (size_t)ch * h * w;
        float *d = dst + (size_t)ch * h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float acc = 0.f;
                for (int i = -rad; i <= rad; i++) {
                    int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                    acc += k[i + rad] * s[y * w + xx];
                }
                tmp[y * w + x] = acc;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float acc = 0.f;
                for (int i = -rad; i <= rad; i++) {
                    int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
                    acc += k[i + rad] * tmp[yy * w + x];
                }
                d[y * w + x] = acc;
            }
    }
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
    float *tmp = malloc(sizeof(float) * (size_t)hw);
    float *imgs = malloc(sizeof(float) * item * (size_t)(steps + 1));
    struct ranked *r = rank_pixels(map, hw);
    xai_status st = XAI_OK;
    if (!blurred || !tmp || !imgs || !r) st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (!st) {
        blur(req->input->data, c, h, w, (float)w / 8.f, blurred, tmp);
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
    free(tmp);
    free(imgs);
    free(r);
    return st;
}
