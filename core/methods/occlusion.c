/*
 * occlusion.c - occlusion sensitivity (Zeiler & Fergus 2014), with Captum's Occlusion
 * semantics: a patch x patch window spanning all channels slides over the input with the given
 * stride, at offsets 0, stride, 2 stride, ... while the window fits (Python's
 * range(0, side - patch + 1, stride) on each axis, as Captum). For each position the window is
 * replaced by the fill (see _perturb.h: zero, the input's channel mean, or a blurred copy) and
 * the target logit is scored; every pixel of the window receives S(x) - S(x occluded), and each
 * pixel's sum is divided by the number of windows covering it. Where no window covers a pixel
 * (the last rows or columns when side - patch is not a multiple of stride), the map is 0;
 * Captum would give 0/0.
 *
 * Answers: how much does the target score drop when the neighbourhood of this pixel is hidden?
 * Positive: the region supports the class; negative: hiding it raises the score.
 *
 * Defaults (patch = stride = 0): a 13 x 13 grid of windows overlapping by half that tiles the
 * shorter side exactly: stride = max(1, side / 14), patch = side - 12 stride; 224 px gives the
 * usual 32 px patches at stride 16 (169 windows), 128 px gives 20 px at stride 9.
 *
 * Cost: one forward pass per window plus one for the original, in batches of req->max_batch;
 * no backward pass. At most XAI_OCC_MAX_WINDOWS windows. With incremental = true (the default)
 * the windows run through incremental inference (core/incremental.h): each layer is recomputed
 * only inside the part a window can change, up to the first layer where that part covers most
 * of the map; the scores equal the plain passes' up to float rounding. field_threshold < 1
 * trims those parts further (Nakandala et al. 2019's projective field thresholding): faster,
 * approximate (see docs/methods.md for its measured error).
 *
 * Caveat: the fill is itself an input the model never saw; a blurred or mean patch can create
 * edges and textures that change the score for reasons unrelated to the hidden content, and the
 * map's resolution is that of the patch, not of the pixels (review, section 3.1.1).
 */
#include <stdlib.h>
#include <string.h>

#include "_perturb.h"
#include "incremental.h"

#define XAI_OCC_MAX_WINDOWS 1024

static const char *const fills[] = {"zero", "mean", "blur", NULL};

static const struct xai_param_def params[] = {
    {"patch", XAI_PARAM_INT, 0, 0, 4096, NULL,
     "side of the square occluding window in model-input pixels; 0 = auto: with stride 0 too, "
     "13 x 13 windows overlapping by half across the shorter side (32 px on 224), else 2 x stride"},
    {"stride", XAI_PARAM_INT, 0, 0, 4096, NULL,
     "step between windows in model-input pixels, at most patch; 0 = auto: patch / 2"},
    {"fill", XAI_PARAM_ENUM, 0, 0, 0, fills,
     "what replaces the window: zero (model-input 0), mean (the input's channel mean) or blur"},
    {"sigma", XAI_PARAM_FLOAT, 0, 0, XAI_BLUR_MAX_SIGMA, NULL,
     "blur fill: Gaussian sigma in model-input pixels; 0 = patch / 4"},
    {"incremental", XAI_PARAM_BOOL, 1, 0, 1, NULL,
     "recompute each layer only where a window can change it (same scores up to rounding, "
     "faster); false runs every occluded image through the whole network"},
    {"field_threshold", XAI_PARAM_FLOAT, 1, 0.05, 1, NULL,
     "incremental only: largest side of the recomputed part of a layer, as a fraction of the "
     "layer's side; below 1 changes beyond it are ignored (approximate, faster)"},
};

struct occ_plan {
    int c, h, w;
    int patch, stride, ny, nx;
    double macs_fraction; /* incremental: multiply-adds run / those of the plain passes */
};

static xai_status make_plan(const struct xai_method_req *req, struct occ_plan *p,
                            struct xai_err *err)
{
    const struct xai_shape *s = &req->input->shape;
    p->c = (int)s->d[1], p->h = (int)s->d[2], p->w = (int)s->d[3];
    int side = p->h < p->w ? p->h : p->w;
    p->patch = (int)req->params->v[0];
    p->stride = (int)req->params->v[1];
    if (p->patch == 0 && p->stride == 0) {
        p->stride = side / 14 > 1 ? side / 14 : 1;
        p->patch = side - 12 * p->stride > 1 ? side - 12 * p->stride : 1;
    }
    if (p->patch == 0) p->patch = 2 * p->stride < side ? 2 * p->stride : side;
    if (p->stride == 0) p->stride = p->patch / 2 > 1 ? p->patch / 2 : 1;
    if (p->patch > side)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "occlusion: patch %d is larger than the %dx%d input", p->patch, p->w, p->h);
    if (p->stride > p->patch)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "occlusion: stride %d exceeds patch %d (pixels between windows would "
                        "never be occluded)",
                        p->stride, p->patch);
    p->ny = (p->h - p->patch) / p->stride + 1;
    p->nx = (p->w - p->patch) / p->stride + 1;
    if ((int64_t)p->ny * p->nx > XAI_OCC_MAX_WINDOWS)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "occlusion: patch %d at stride %d gives %d windows on %dx%d; at most %d "
                        "(use a larger stride or patch)",
                        p->patch, p->stride, p->ny * p->nx, p->w, p->h, XAI_OCC_MAX_WINDOWS);
    return XAI_OK;
}

/* Item `win` of the run: the input with window win occluded (win < 0: the original). */
static void make_item(const float *x, const float *fill, const struct occ_plan *p, int win,
                      float *dst)
{
    int64_t hw = (int64_t)p->h * p->w;
    memcpy(dst, x, sizeof(float) * (size_t)(p->c * hw));
    if (win < 0) return;
    int y0 = (win / p->nx) * p->stride, x0 = (win % p->nx) * p->stride;
    for (int ch = 0; ch < p->c; ch++)
        for (int y = y0; y < y0 + p->patch; y++) {
            int64_t o = ch * hw + (int64_t)y * p->w + x0;
            memcpy(dst + o, fill + o, sizeof(float) * (size_t)p->patch);
        }
}

/* scores[0] = S(x), scores[1 + k] = S(x with window k occluded). */
static xai_status score_all(const struct xai_method_req *req, const struct occ_plan *p,
                            const float *fill, float *scores, struct xai_err *err)
{
    int n = p->ny * p->nx + 1, step = req->max_batch > 0 ? req->max_batch : 1;
    int64_t item = xai_m_item_numel(req);
    int cap = n < step ? n : step;
    float *buf = malloc(sizeof(float) * (size_t)(cap * item));
    if (!buf) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the occluded inputs");
    xai_status st = XAI_OK;
    for (int i = 0; i < n && !st; i += cap) {
        int b = n - i < cap ? n - i : cap;
        for (int j = 0; j < b; j++) make_item(req->input->data, fill, p, i + j - 1, buf + j * item);
        st = xai_m_scores(req, buf, b, scores + i, err);
    }
    free(buf);
    return st;
}

/* The fill inside the window at (y0, x0), as [C, patch, patch]. */
static void window_patch(const float *fill, const struct occ_plan *p, int y0, int x0, float *dst)
{
    int64_t hw = (int64_t)p->h * p->w;
    for (int ch = 0; ch < p->c; ch++)
        for (int r = 0; r < p->patch; r++)
            memcpy(dst + ((int64_t)ch * p->patch + r) * p->patch,
                   fill + ch * hw + (int64_t)(y0 + r) * p->w + x0,
                   sizeof(float) * (size_t)p->patch);
}

/* The same scores by incremental inference: only what each window changes is recomputed. */
static xai_status score_incremental(const struct xai_method_req *req, struct occ_plan *p,
                                    const float *fill, float *scores, struct xai_err *err)
{
    int nw = p->ny * p->nx, cap = req->max_batch > 0 ? req->max_batch : 1;
    if (req->mm->model->fixed_batch) cap = (int)req->mm->model->fixed_batch;
    cap = cap < nw ? cap : nw;
    int64_t box = (int64_t)p->c * p->patch * p->patch;
    int *pos = malloc(sizeof(int) * (size_t)(p->ny + p->nx + 2 * cap));
    float *patches = malloc(sizeof(float) * (size_t)(cap * box));
    if (!pos || !patches) {
        free(pos);
        free(patches);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the occluded inputs");
    }
    int *ys = pos, *xs = pos + p->ny, *iy = xs + p->nx, *ix = iy + cap;
    for (int j = 0; j < p->ny; j++) ys[j] = j * p->stride;
    for (int j = 0; j < p->nx; j++) xs[j] = j * p->stride;
    struct xai_incr_grid g = {p->patch, p->patch, p->ny, p->nx, ys, xs};
    struct xai_incr_opts o = {0, req->params->v[5]};
    xai_incr *inc = NULL;
    xai_status st = xai_incr_new(req->s, req->input, req->mm->output, &g, &o, cap, &inc, err);
    const struct xai_tensor *y = st ? NULL : xai_incr_clean(inc);
    if (!st && (!y || y->shape.ndim != 2))
        st = xai_fail(err, XAI_INTERNAL, "the model output is not [N, classes]");
    if (!st) scores[0] = y->data[req->target];
    for (int i = 0; i < nw && !st; i += cap) {
        int b = nw - i < cap ? nw - i : cap;
        for (int j = 0; j < b; j++) {
            iy[j] = (i + j) / p->nx, ix[j] = (i + j) % p->nx;
            window_patch(fill, p, ys[iy[j]], xs[ix[j]], patches + j * box);
        }
        st = xai_incr_run(inc, b, iy, ix, patches, &y, err);
        for (int j = 0; !st && j < b; j++)
            scores[1 + i + j] = y->data[j * y->shape.d[1] + req->target];
    }
    double done = 0, whole = 0;
    if (inc) xai_incr_macs(inc, &done, &whole);
    p->macs_fraction = whole > 0 ? done / whole : 1.0;
    xai_incr_free(inc);
    free(pos);
    free(patches);
    return st;
}

/* map = (sum of S(x) - S(occluded) over the windows covering each pixel) / their number. */
static void accumulate(const struct occ_plan *p, const float *scores, float *map, int *count)
{
    for (int k = 0; k < p->ny * p->nx; k++) {
        float d = scores[0] - scores[1 + k];
        int y0 = (k / p->nx) * p->stride, x0 = (k % p->nx) * p->stride;
        for (int y = y0; y < y0 + p->patch; y++)
            for (int x = x0; x < x0 + p->patch; x++) {
                map[y * p->w + x] += d;
                count[y * p->w + x]++;
            }
    }
    for (int i = 0; i < p->h * p->w; i++) map[i] = count[i] ? map[i] / (float)count[i] : 0.f;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    struct occ_plan p = {0};
    xai_status st = make_plan(req, &p, err);
    if (st) return st;
    enum xai_fill fill = (enum xai_fill)req->params->v[2];
    double sigma = req->params->v[3] > 0 ? req->params->v[3] : p.patch / 4.0;
    int64_t item = xai_m_item_numel(req);
    int nw = p.ny * p.nx;
    float *fimg = malloc(sizeof(float) * (size_t)item);
    float *scores = malloc(sizeof(float) * (size_t)(nw + 1));
    int *count = calloc((size_t)p.h * (size_t)p.w, sizeof(int));
    if (!fimg || !scores || !count) st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (!st) st = xai_m_fill(req->input->data, p.c, p.h, p.w, fill, sigma, NULL, 0, fimg, err);
    if (!st && req->params->v[4])
        st = score_incremental(req, &p, fimg, scores, err);
    else if (!st)
        st = score_all(req, &p, fimg, scores, err);
    if (!st) st = xai_m_result_init(req, true, out, err);
    if (!st) {
        accumulate(&p, scores, out->map, count);
        xai_method_metric(out, "windows", nw);
        xai_method_metric(out, "patch", p.patch);
        xai_method_metric(out, "stride", p.stride);
        xai_method_metric(out, "target_logit", scores[0]);
        if (req->params->v[4]) xai_method_metric(out, "macs_fraction", p.macs_fraction);
    }
    free(fimg);
    free(scores);
    free(count);
    return st;
}

const struct xai_method_def xai_method_occlusion = {
    .name = "occlusion",
    .summary = "How much the target score drops when a patch around each pixel is hidden.",
    .caveat = "The fill is itself an input the model never saw, and the map is only as sharp as "
              "the patch.",
    .params = params,
    .n_params = 6,
    .signed_map = true,
    .run = run,
};
