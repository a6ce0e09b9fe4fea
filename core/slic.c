/* slic.c - SLIC superpixels as scikit-image computes them; see slic.h. Used by the LIME method
 * (core/methods/lime.c) on the original image. */
#include "slic.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void xai_slic_default(struct xai_slic_opts *o)
{
    o->n_segments = 100;
    o->compactness = 10.0;
    o->max_iter = 10;
    o->enforce_connectivity = true;
    o->min_size_factor = 0.5;
    o->max_size_factor = 3.0;
}

/* skimage.util.regular_grid for the shape (1, h, w): seed offsets and steps per axis. */
struct grid {
    int y0, x0, sy, sx;
};

static struct grid regular_grid(int h, int w, int n)
{
    struct grid g = {0, 0, 1, 1};
    double space = (double)h * w;
    if (space <= n) return g;
    int a = h < w ? h : w, b = h < w ? w : h; /* sorted sides (depth 1 first) */
    double st[3] = {1.0, pow(space / n, 0.5), pow(space / n, 0.5)};
    if (a < st[1]) { /* the shorter side cannot fit a step: one seed row along it */
        st[1] = a;
        st[2] = (double)b / n;
    }
    double sa = st[1], sb = st[2];
    double sh = h < w ? sa : sb, sw = h < w ? sb : sa;
    if (h == w) sh = sw = sa;
    g.y0 = (int)floor(sh / 2), g.x0 = (int)floor(sw / 2);
    g.sy = (int)rint(sh), g.sx = (int)rint(sw);
    if (g.sy < 1) g.sy = 1;
    if (g.sx < 1) g.sx = 1;
    return g;
}

static double srgb_linear(double c)
{
    return c > 0.04045 ? pow((c + 0.055) / 1.055, 2.4) : c / 12.92;
}

static double lab_f(double t)
{
    return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0;
}

static void rgb_to_lab(const float *rgb, float *lab)
{
    double r = srgb_linear(rgb[0]), g = srgb_linear(rgb[1]), b = srgb_linear(rgb[2]);
    double fx = lab_f((0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.95047);
    double fy = lab_f(0.212671 * r + 0.715160 * g + 0.072169 * b);
    double fz = lab_f((0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883);
    lab[0] = (float)(116.0 * fy - 16.0);
    lab[1] = (float)(500.0 * (fx - fy));
    lab[2] = (float)(200.0 * (fy - fz));
}

/* The features SLIC clusters: the image rescaled to [0, 1], CIELAB for 3 channels, divided by
 * the compactness. */
static void features(const float *img, int64_t n, int c, double compactness, float *out)
{
    float lo = img[0], hi = img[0];
    for (int64_t i = 1; i < n * c; i++) {
        lo = img[i] < lo ? img[i] : lo;
        hi = img[i] > hi ? img[i] : hi;
    }
    float scale = hi > lo ? 1.f / (hi - lo) : 1.f;
    for (int64_t i = 0; i < n * c; i++) out[i] = (img[i] - lo) * scale;
    for (int64_t i = 0; c == 3 && i < n; i++) rgb_to_lab(out + 3 * i, out + 3 * i);
    for (int64_t i = 0; i < n * c; i++) out[i] = (float)(out[i] / compactness);
}

struct slic_run {
    const float *feat;
    int w, h, c, k;
    double *centre; /* k x (2 + c): y, x, colour */
    double spatial_weight;
    struct grid win; /* the search window: 2 steps per axis */
    int32_t *label;
    double *dist;
};

static void assign_one(struct slic_run *r, int k, bool *changed)
{
    const double *ce = r->centre + (int64_t)k * (2 + r->c);
    double cy = ce[0], cx = ce[1];
    int y_lo = (int)fmax(cy - 2 * r->win.sy, 0), y_hi = (int)fmin(cy + 2 * r->win.sy + 1, r->h);
    int x_lo = (int)fmax(cx - 2 * r->win.sx, 0), x_hi = (int)fmin(cx + 2 * r->win.sx + 1, r->w);
    for (int y = y_lo; y < y_hi; y++)
        for (int x = x_lo; x < x_hi; x++) {
            int64_t i = (int64_t)y * r->w + x;
            double d = ((cy - y) * (cy - y) + (cx - x) * (cx - x)) * r->spatial_weight;
            for (int ch = 0; ch < r->c; ch++) {
                double t = r->feat[i * r->c + ch] - ce[2 + ch];
                d += t * t;
            }
            if (r->dist[i] > d) {
                r->label[i] = k;
                r->dist[i] = d;
                *changed = true;
            }
        }
}

/* Moves each centre to the mean position and colour of its pixels (an empty one stays). */
static void update_centres(struct slic_run *r, int64_t *count)
{
    int f = 2 + r->c;
    double *sum = r->centre + (int64_t)r->k * f; /* scratch after the centres */
    memset(sum, 0, sizeof(double) * (size_t)(r->k * f));
    memset(count, 0, sizeof(int64_t) * (size_t)r->k);
    for (int y = 0; y < r->h; y++)
        for (int x = 0; x < r->w; x++) {
            int64_t i = (int64_t)y * r->w + x;
            int k = r->label[i];
            if (k < 0) continue;
            double *s = sum + (int64_t)k * f;
            count[k]++;
            s[0] += y, s[1] += x;
            for (int ch = 0; ch < r->c; ch++) s[2 + ch] += r->feat[i * r->c + ch];
        }
    for (int k = 0; k < r->k; k++)
        for (int j = 0; count[k] && j < f; j++)
            r->centre[(int64_t)k * f + j] = sum[(int64_t)k * f + j] / (double)count[k];
}

static void iterate(struct slic_run *r, int max_iter, int64_t *count)
{
    int64_t n = (int64_t)r->w * r->h;
    for (int it = 0; it < max_iter; it++) {
        bool changed = false;
        for (int64_t i = 0; i < n; i++) r->dist[i] = DBL_MAX;
        for (int k = 0; k < r->k; k++) assign_one(r, k, &changed);
        if (!changed) break;
        update_centres(r, count);
    }
}

/* Places the seeds on the regular grid; returns their number. */
static int seed(struct slic_run *r, struct grid g)
{
    int k = 0, f = 2 + r->c;
    for (int y = g.y0; y < r->h; y += g.sy)
        for (int x = g.x0; x < r->w; x += g.sx) {
            double *ce = r->centre + (int64_t)k * f;
            memset(ce, 0, sizeof(double) * (size_t)f);
            ce[0] = y, ce[1] = x;
            k++;
        }
    return k;
}

/* Breadth-first growth of the component of (start) with original label `lab` into `out`,
 * stopping at max_size pixels; returns its size and sets *adjacent to the last neighbouring
 * labelled component met. */
static int64_t grow(const int32_t *in, int32_t *out, int w, int h, int64_t start, int32_t lab,
                    int32_t cur, int64_t *queue, int64_t max_size, int32_t *adjacent)
{
    static const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
    int64_t size = 1, seen = 0;
    queue[0] = start;
    out[start] = cur;
    while (seen < size && size < max_size) {
        int y = (int)(queue[seen] / w), x = (int)(queue[seen] % w);
        for (int d = 0; d < 4; d++) {
            int yy = y + dy[d], xx = x + dx[d];
            if (xx < 0 || xx >= w || yy < 0 || yy >= h) continue;
            int64_t j = (int64_t)yy * w + xx;
            if (in[j] == lab && out[j] < 0) {
                out[j] = cur;
                queue[size++] = j;
                if (size >= max_size) break;
            } else if (out[j] >= 0 && out[j] != cur) {
                *adjacent = out[j];
            }
        }
        seen++;
    }
    return size;
}

static int enforce_connectivity(const int32_t *in, int32_t *out, int w, int h, int64_t min_size,
                                int64_t max_size, int64_t *queue)
{
    int64_t n = (int64_t)w * h;
    int32_t cur = 0, top = -1;
    for (int64_t i = 0; i < n; i++) out[i] = -1;
    for (int64_t i = 0; i < n; i++) {
        if (in[i] < 0 || out[i] >= 0) continue;
        int32_t adjacent = cur;
        int64_t size = grow(in, out, w, h, i, in[i], cur, queue, max_size, &adjacent);
        if (size < min_size)
            for (int64_t j = 0; j < size; j++) out[queue[j]] = adjacent;
        else
            cur++;
    }
    for (int64_t i = 0; i < n; i++) top = out[i] > top ? out[i] : top;
    return top + 1;
}

static xai_status check(int w, int h, int c, const struct xai_slic_opts *o, struct xai_err *err)
{
    if (w < 1 || h < 1 || (int64_t)w * h > XAI_SLIC_MAX_PIXELS)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "slic: image of %dx%d pixels (at most %d)", w, h,
                        XAI_SLIC_MAX_PIXELS);
    if (c != 1 && c != 3)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "slic: %d channels (1 or 3)", c);
    if (o->n_segments < 1 || !(o->compactness > 0) || o->max_iter < 1 ||
        !(o->max_size_factor > 0) || !(o->min_size_factor >= 0))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "slic: bad options");
    return XAI_OK;
}

static void finish(struct slic_run *r, const struct xai_slic_opts *o, int32_t *labels,
                   int *n_labels, int64_t *queue)
{
    int64_t n = (int64_t)r->w * r->h;
    if (!o->enforce_connectivity) {
        memcpy(labels, r->label, sizeof(int32_t) * (size_t)n);
        *n_labels = r->k;
        return;
    }
    double size = (double)n / r->k;
    int64_t max_size = (int64_t)(o->max_size_factor * size);
    *n_labels =
        enforce_connectivity(r->label, labels, r->w, r->h, (int64_t)(o->min_size_factor * size),
                             max_size > 1 ? max_size : 1, queue);
}

xai_status xai_slic(const float *img, int w, int h, int channels, const struct xai_slic_opts *o,
                    int32_t *labels, int *n_labels, struct xai_err *err)
{
    xai_status st = check(w, h, channels, o, err);
    if (st) return st;
    int64_t n = (int64_t)w * h;
    struct grid g = regular_grid(h, w, o->n_segments);
    int64_t kmax = (int64_t)((h - g.y0 + g.sy - 1) / g.sy) * ((w - g.x0 + g.sx - 1) / g.sx);
    struct slic_run r = {NULL, w, h, channels, 0, NULL, 0, {0}, NULL, NULL};
    float *feat = malloc(sizeof(float) * (size_t)(n * channels));
    r.centre = malloc(sizeof(double) * (size_t)(2 * kmax * (2 + channels)));
    r.label = malloc(sizeof(int32_t) * (size_t)n);
    r.dist = malloc(sizeof(double) * (size_t)n);
    int64_t *scratch = malloc(sizeof(int64_t) * (size_t)(n > kmax ? n : kmax));
    if (!feat || !r.centre || !r.label || !r.dist || !scratch) {
        st = xai_fail(err, XAI_NO_MEMORY, "slic: out of memory for %dx%d", w, h);
        goto done;
    }
    features(img, n, channels, o->compactness, feat);
    r.feat = feat;
    r.k = seed(&r, g);
    double step = g.sy > g.sx ? g.sy : g.sx;
    r.spatial_weight = 1.0 / (step * step);
    r.win = regular_grid(h, w, r.k);
    for (int64_t i = 0; i < n; i++) r.label[i] = -1;
    iterate(&r, o->max_iter, scratch);
    finish(&r, o, labels, n_labels, scratch);
done:
    free(feat);
    free(r.centre);
    free(r.label);
    free(r.dist);
    free(scratch);
    return st;
}
