/*
 * preprocess.c - a decoded image to the model's CHW input tensor (contract in preprocess.h).
 *
 * Order: RGB -> gray first when the model wants one channel (less to resample); resample the
 * part of the image the model sees into its valid region with the geometry's own affine map
 * (geometry.c), so forward and inverse maps cannot drift apart; then scale, normalise, pad and
 * replicate gray -> RGB while writing CHW. Called by the api layer once per request.
 */
#include "preprocess.h"
#include "resample.h"

#include <math.h>
#include <stdlib.h>

void xai_preprocess_default(struct xai_preprocess *p)
{
    *p = (struct xai_preprocess){0};
    p->channels = 3;
    p->gray = XAI_GRAY_LUMA601;
    p->width = p->height = 224;
    p->resize = XAI_RESIZE_STRETCH;
    p->pad_fill = 0.0f;
    p->scale = 1.0f;
    for (int c = 0; c < 3; c++) p->std[c] = 1.0f;
}

size_t xai_preprocess_numel(const struct xai_preprocess *p)
{
    return (size_t)p->channels * (size_t)p->height * (size_t)p->width;
}

static xai_status check_norm(const struct xai_preprocess *p, struct xai_err *err)
{
    if (!(isfinite(p->scale) && p->scale > 0.0f))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: scale must be finite and > 0");
    for (int c = 0; c < p->channels; c++) {
        if (!isfinite(p->mean[c]))
            return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: mean[%d] is not finite", c);
        if (!(isfinite(p->std[c]) && p->std[c] != 0.0f))
            return xai_fail(err, XAI_INVALID_ARGUMENT,
                            "preprocess: std[%d] must be finite and non-zero", c);
    }
    return XAI_OK;
}

xai_status xai_preprocess_check(const struct xai_preprocess *p, struct xai_err *err)
{
    if (p->channels != 1 && p->channels != 3)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: channels %d (1 or 3 allowed)",
                        p->channels);
    if (p->width < 1 || p->height < 1 || p->width > XAI_PREPROCESS_MAX_SIZE ||
        p->height > XAI_PREPROCESS_MAX_SIZE)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: input size %dx%d (1 to %d)",
                        p->width, p->height, XAI_PREPROCESS_MAX_SIZE);
    if (p->resize != XAI_RESIZE_STRETCH && p->resize != XAI_RESIZE_LETTERBOX &&
        p->resize != XAI_RESIZE_CENTER_CROP)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: unknown resize mode %d",
                        (int)p->resize);
    if (p->gray != XAI_GRAY_LUMA601 && p->gray != XAI_GRAY_MEAN)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: unknown gray mode %d",
                        (int)p->gray);
    if (!(p->pad_fill >= 0.0f && p->pad_fill <= 1.0f))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: pad_fill must be in [0,1]");
    return check_norm(p, err);
}

static xai_status check_image(const struct xai_image *img, struct xai_err *err)
{
    if (img->width < 1 || img->height < 1 || !img->data)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: empty image %dx%d", img->width,
                        img->height);
    if (img->channels != 1 && img->channels != 3)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: image has %d channels",
                        img->channels);
    if (!(isfinite(img->max_value) && img->max_value > 0.0f))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "preprocess: image max_value must be > 0");
    return XAI_OK;
}

/* RGB -> one channel, into a new buffer the caller frees. */
static float *to_gray(const struct xai_image *img, enum xai_gray_mode mode)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    float *g = malloc(n * sizeof *g);
    if (!g) return NULL;
    const float *s = img->data;
    for (size_t i = 0; i < n; i++, s += 3)
        g[i] = mode == XAI_GRAY_MEAN ? (s[0] + s[1] + s[2]) / 3.0f
                                     : 0.299f * s[0] + 0.587f * s[1] + 0.114f * s[2];
    return g;
}

/* The valid region of the model grid, resampled from src (sc channels, HWC). */
static xai_status resample_valid(const struct xai_geometry *g, const float *src, int sc, float *dst,
                                 struct xai_err *err)
{
    struct xai_resample_axis ax = {0}, ay = {0};
    ax.scale = g->scale_x;
    ax.offset = g->offset_x + g->valid_x0 * g->scale_x;
    ax.hi = g->src_width;
    ay.scale = g->scale_y;
    ay.offset = g->offset_y + g->valid_y0 * g->scale_y;
    ay.hi = g->src_height;
    return xai_resample(src, g->src_width, g->src_height, sc, &ax, &ay, dst,
                        g->valid_x1 - g->valid_x0, g->valid_y1 - g->valid_y0, err);
}

/* Scales, normalises and pads the resampled valid region (sc channels) into out (CHW). */
static void write_chw(const struct xai_preprocess *p, const struct xai_geometry *g, float max_value,
                      const float *valid, int sc, float *out)
{
    int vw = g->valid_x1 - g->valid_x0;
    for (int c = 0; c < p->channels; c++) {
        float k = p->scale / max_value / p->std[c], b = p->mean[c] / p->std[c];
        float pad = p->pad_fill * p->scale / p->std[c] - b;
        int sch = sc == 1 ? 0 : c;
        for (int v = 0; v < p->height; v++) {
            float *row = out + ((size_t)c * p->height + v) * (size_t)p->width;
            bool in_row = v >= g->valid_y0 && v < g->valid_y1;
            for (int u = 0; u < p->width; u++) {
                if (!in_row || u < g->valid_x0 || u >= g->valid_x1) {
                    row[u] = pad;
                    continue;
                }
                size_t i = ((size_t)(v - g->valid_y0) * vw + (size_t)(u - g->valid_x0));
                row[u] = valid[i * sc + sch] * k - b;
            }
        }
    }
}

static xai_status run_checked(const struct xai_preprocess *p, const struct xai_image *img,
                              float *out, const struct xai_geometry *g, struct xai_err *err)
{
    float *gray = NULL;
    const float *src = img->data;
    int sc = img->channels;
    if (sc == 3 && p->channels == 1) {
        if (!(gray = to_gray(img, p->gray)))
            return xai_fail(err, XAI_NO_MEMORY, "preprocess: out of memory for a gray copy");
        src = gray;
        sc = 1;
    }
    size_t n = (size_t)(g->valid_x1 - g->valid_x0) * (size_t)(g->valid_y1 - g->valid_y0);
    float *valid = malloc(n * (size_t)sc * sizeof *valid);
    xai_status st = valid ? resample_valid(g, src, sc, valid, err)
                          : xai_fail(err, XAI_NO_MEMORY, "preprocess: out of memory");
    if (st == XAI_OK) write_chw(p, g, img->max_value, valid, sc, out);
    free(valid);
    free(gray);
    return st;
}

xai_status xai_preprocess_run(const struct xai_preprocess *p, const struct xai_image *img,
                              float *out, struct xai_geometry *geo, struct xai_err *err)
{
    xai_status st = xai_preprocess_check(p, err);
    if (st == XAI_OK) st = check_image(img, err);
    if (st != XAI_OK) return st;
    struct xai_geometry g = xai_geometry_make(p, img->width, img->height);
    st = run_checked(p, img, out, &g, err);
    if (st == XAI_OK && geo) *geo = g;
    return st;
}
