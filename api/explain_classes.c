/*
 * explain_classes.c - explanations whose method labels every pixel with a class
 * (dominant_class): the class map on the original pixels (nearest model-grid pixel), the
 * colour-coded renderings (class colour, opacity scaled by the normalised strength) with a
 * legend strip under the overlay, and the JSON of the map and the legend. Called by explain.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain_internal.h"
#include "json_mem.h"
#include "inspect.h"
#include "plot.h"

xai_status api_classes_map_back(const struct api_input *in, const struct xai_method_result *r,
                                const uint8_t *mask, int32_t **out, struct xai_err *err)
{
    const struct xai_geometry *g = &in->geo;
    size_t n = (size_t)g->src_width * (size_t)g->src_height;
    if (!(*out = malloc(sizeof(int32_t) * n)))
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for the class map");
    for (int y = 0; y < g->src_height; y++)
        for (int x = 0; x < g->src_width; x++) {
            double u, v;
            xai_geometry_to_model(g, x + 0.5, y + 0.5, &u, &v);
            int iu = (int)floor(u), iv = (int)floor(v);
            iu = iu < 0 ? 0 : iu >= r->width ? r->width - 1 : iu;
            iv = iv < 0 ? 0 : iv >= r->height ? r->height - 1 : iv;
            size_t i = (size_t)y * (size_t)g->src_width + (size_t)x;
            (*out)[i] = mask[i] ? r->classes[(size_t)iv * (size_t)r->width + (size_t)iu] : -1;
        }
    return XAI_OK;
}

/* Classes present in the map, in index order (the legend's rows). */
static int present(const int32_t *cls, size_t n, int n_labels, int *out)
{
    int k = 0;
    for (int c = 0; c < n_labels; c++) {
        size_t i = 0;
        while (i < n && cls[i] != c) i++;
        if (i < n) out[k++] = c;
    }
    return k;
}

static xai_status overlay(const struct api_model *m, const struct api_input *in, const float *t,
                          const int32_t *cls, float opacity, struct xai_blob *png,
                          struct xai_err *err)
{
    const struct xai_image *img = &in->image;
    int w = img->width, h = img->height, rows[256];
    size_t n = (size_t)w * (size_t)h;
    int nr = present(cls, n, m->n_labels < 256 ? m->n_labels : 256, rows);
    const char *names[256];
    for (int i = 0; i < nr; i++) names[i] = m->labels[rows[i]];
    uint8_t *leg = NULL;
    int lw = 0, lh = 0;
    xai_status st = nr ? xai_legend_rgb(names, rows, nr, 2, &leg, &lw, &lh, err) : XAI_OK;
    int tw = w > lw ? w : lw;
    uint8_t *rgb = st ? NULL : malloc((size_t)tw * (size_t)(h + lh) * 3);
    if (!st && !rgb) st = xai_fail(err, XAI_NO_MEMORY, "out of memory for rendering");
    if (!st) {
        memset(rgb, 255, (size_t)tw * (size_t)(h + lh) * 3);
        for (size_t i = 0; i < n; i++) {
            size_t y = i / (size_t)w, x = i % (size_t)w;
            uint8_t *px = rgb + (y * (size_t)tw + x) * 3, c[3];
            xai_class_color(cls[i], c);
            float a = cls[i] < 0 ? 0.f : opacity * t[i];
            for (int k = 0; k < 3; k++) {
                float base = img->data[i * (size_t)img->channels + (img->channels == 3 ? k : 0)];
                float b = xai_render_display_byte(base, img->max_value);
                px[k] = (uint8_t)lrintf((1 - a) * b + a * c[k]);
            }
        }
        for (int y = 0; y < lh; y++)
            memcpy(rgb + ((size_t)(h + y) * (size_t)tw) * 3, leg + (size_t)y * (size_t)lw * 3,
                   (size_t)lw * 3);
        st = xai_png_encode(rgb, tw, h + lh, 3, png, err);
    }
    free(rgb);
    free(leg);
    return st;
}

static xai_status heatmap(const struct api_input *in, const float *t, const int32_t *cls,
                          struct xai_blob *png, struct xai_err *err)
{
    int w = in->image.width, h = in->image.height;
    size_t n = (size_t)w * (size_t)h;
    uint8_t *rgba = malloc(n * 4);
    if (!rgba) return xai_fail(err, XAI_NO_MEMORY, "out of memory for rendering");
    for (size_t i = 0; i < n; i++) {
        xai_class_color(cls[i], rgba + 4 * i);
        rgba[4 * i + 3] = cls[i] < 0 ? 0 : (uint8_t)lrintf(255.f * t[i]);
    }
    xai_status st = xai_png_encode(rgba, w, h, 4, png, err);
    free(rgba);
    return st;
}

xai_status api_classes_render(const struct api_model *m, const struct api_input *in, const float *t,
                              const int32_t *cls, float opacity, unsigned outputs,
                              struct xai_blob *overlay_png, struct xai_blob *heatmap_png,
                              struct xai_err *err)
{
    xai_status st = XAI_OK;
    if (outputs & API_OUT_OVERLAY) st = overlay(m, in, t, cls, opacity, overlay_png, err);
    if (!st && (outputs & API_OUT_HEATMAP)) st = heatmap(in, t, cls, heatmap_png, err);
    return st;
}

json_t *api_classes_json(const struct api_model *m, const int32_t *cls, int width, int height)
{
    size_t n = (size_t)width * (size_t)height;
    size_t len = xai_base64_encoded_len(n * 4);
    char *b64 = malloc(len + 1);
    if (!b64) {
        api_json_note_failure(); /* the answer is refused (api_json_checked) */
        return NULL;
    }
    xai_base64_encode(cls, n * 4, b64);
    json_t *legend = json_array();
    for (int c = 0; c < m->n_labels; c++) {
        uint8_t rgb[3];
        char hex[8];
        xai_class_color(c, rgb);
        snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
        json_array_append_new(
            legend, json_pack("{s:i, s:s, s:s}", "index", c, "label", m->labels[c], "color", hex));
    }
    json_t *j = json_pack("{s:{s:s, s:s, s:[i,i], s:s, s:s%}, s:o}", "class_map", "dtype", "int32",
                          "byte_order", "little", "shape", height, width, "none", "-1", "data", b64,
                          strlen(b64), "legend", legend);
    free(b64);
    return j;
}
