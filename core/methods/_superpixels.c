/* _superpixels.c - LIME's superpixels on the model grid; see _superpixels.h. */
#include "_superpixels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slic.h"

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

xai_status xai_m_compact_labels(int32_t *labels, int64_t n, int *k, struct xai_err *err)
{
    int32_t *u = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!u) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the segment labels");
    int64_t m = 0, nu = 0;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] >= 0) u[m++] = labels[i];
    qsort(u, (size_t)m, sizeof(int32_t), cmp_i32);
    for (int64_t i = 0; i < m; i++)
        if (i == 0 || u[i] != u[nu - 1]) u[nu++] = u[i];
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0) {
            labels[i] = -1;
            continue;
        }
        const int32_t *p = bsearch(&labels[i], u, (size_t)nu, sizeof(int32_t), cmp_i32);
        labels[i] = (int32_t)(p - u);
    }
    free(u);
    *k = (int)(nu < XAI_SP_MAX_SEGMENTS + 1 ? nu : XAI_SP_MAX_SEGMENTS + 1);
    if (nu == 0) return xai_fail(err, XAI_INVALID_ARGUMENT, "lime: no superpixels");
    if (nu > XAI_SP_MAX_SEGMENTS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "lime: %lld superpixels; at most %d",
                        (long long)nu, XAI_SP_MAX_SEGMENTS);
    return XAI_OK;
}

/* The image SLIC runs on: the original, box-averaged by f x f when it is too large. */
struct sp_image {
    float *data; /* owned when f > 1 */
    const float *view;
    int w, h, c, f;
};

static xai_status shrink(const struct xai_image *im, struct sp_image *s, struct xai_err *err)
{
    int64_t px = (int64_t)im->width * im->height;
    s->c = im->channels, s->f = 1;
    while (px / ((int64_t)s->f * s->f) > XAI_SP_MAX_PIXELS) s->f++;
    s->w = (im->width + s->f - 1) / s->f, s->h = (im->height + s->f - 1) / s->f;
    s->view = im->data;
    if (s->f == 1) return XAI_OK;
    s->data = calloc((size_t)s->w * (size_t)s->h * (size_t)s->c, sizeof(float));
    if (!s->data) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the superpixels");
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            int y1 = (y + 1) * s->f < im->height ? (y + 1) * s->f : im->height;
            int x1 = (x + 1) * s->f < im->width ? (x + 1) * s->f : im->width;
            float *o = s->data + ((int64_t)y * s->w + x) * s->c;
            for (int yy = y * s->f; yy < y1; yy++)
                for (int xx = x * s->f; xx < x1; xx++)
                    for (int ch = 0; ch < s->c; ch++)
                        o[ch] += im->data[((int64_t)yy * im->width + xx) * s->c + ch];
            for (int ch = 0; ch < s->c; ch++) o[ch] /= (float)((y1 - y * s->f) * (x1 - x * s->f));
        }
    s->view = s->data;
    return XAI_OK;
}

/* Model pixel -> label of the original pixel under its centre (-1 outside the valid region). */
static void map_labels(const struct xai_geometry *g, const struct sp_image *s, const int32_t *src,
                       int32_t *seg)
{
    for (int v = 0; v < g->height; v++)
        for (int u = 0; u < g->width; u++) {
            int32_t *o = seg + (int64_t)v * g->width + u;
            *o = -1;
            if (u < g->valid_x0 || u >= g->valid_x1 || v < g->valid_y0 || v >= g->valid_y1)
                continue;
            double x, y;
            xai_geometry_to_source(g, u + 0.5, v + 0.5, &x, &y);
            int sx = (int)floor(x / s->f), sy = (int)floor(y / s->f);
            sx = sx < 0 ? 0 : sx >= s->w ? s->w - 1 : sx;
            sy = sy < 0 ? 0 : sy >= s->h ? s->h - 1 : sy;
            *o = src[(int64_t)sy * s->w + sx];
        }
}

static void slic_opts(int n_segments, double compactness, int channels, struct xai_slic_opts *o)
{
    xai_slic_default(o);
    o->n_segments = n_segments;
    o->compactness = compactness > 0 ? compactness : channels == 3 ? 10.0 : 0.1;
}

static xai_status from_original(const struct xai_method_req *req, int n_segments,
                                double compactness, int32_t *seg, struct xai_err *err)
{
    struct sp_image s = {0};
    struct xai_slic_opts o;
    int n_labels = 0;
    const struct xai_geometry *g = req->geo;
    if (g->width != req->input->shape.d[3] || g->height != req->input->shape.d[2] ||
        g->src_width != req->image->width || g->src_height != req->image->height)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "lime: the geometry does not match the image and the input");
    xai_status st = shrink(req->image, &s, err);
    int32_t *lab = st ? NULL : malloc(sizeof(int32_t) * (size_t)s.w * (size_t)s.h);
    if (!st && !lab) st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the superpixels");
    slic_opts(n_segments, compactness, s.c, &o);
    if (!st) st = xai_slic(s.view, s.w, s.h, s.c, &o, lab, &n_labels, err);
    if (!st) map_labels(req->geo, &s, lab, seg);
    free(lab);
    free(s.data);
    return st;
}

/* No original: SLIC on the model input (planar C x H x W, made interleaved). */
static xai_status from_input(const struct xai_method_req *req, int n_segments, double compactness,
                             int32_t *seg, struct xai_err *err)
{
    const struct xai_shape *sh = &req->input->shape;
    int c = (int)sh->d[1], h = (int)sh->d[2], w = (int)sh->d[3];
    int64_t hw = (int64_t)h * w;
    if (c != 1 && c != 3)
        return xai_fail(err, XAI_UNSUPPORTED, "lime: superpixels need a 1- or 3-channel input");
    float *im = malloc(sizeof(float) * (size_t)(hw * c));
    if (!im) return xai_fail(err, XAI_NO_MEMORY, "out of memory for the superpixels");
    for (int ch = 0; ch < c; ch++)
        for (int64_t i = 0; i < hw; i++) im[i * c + ch] = req->input->data[ch * hw + i];
    struct xai_slic_opts o;
    int n_labels;
    slic_opts(n_segments, compactness, c, &o);
    xai_status st = xai_slic(im, w, h, c, &o, seg, &n_labels, err);
    free(im);
    return st;
}

xai_status xai_m_superpixels(const struct xai_method_req *req, int n_segments, double compactness,
                             int32_t *seg, int *k, struct xai_err *err)
{
    int64_t hw = req->input->shape.d[2] * req->input->shape.d[3];
    xai_status st = XAI_OK;
    if (req->segments)
        memcpy(seg, req->segments, sizeof(int32_t) * (size_t)hw);
    else if (req->image && req->geo && req->image->data)
        st = from_original(req, n_segments, compactness, seg, err);
    else
        st = from_input(req, n_segments, compactness, seg, err);
    if (st) return st;
    return xai_m_compact_labels(seg, hw, k, err);
}
