/*
 * preprocess.h - from a decoded image to the model's input tensor, and back.
 *
 * xai_preprocess_run turns a struct xai_image into a float CHW tensor (colour handling, resize,
 * intensity scaling, per-channel mean/std) and records a struct xai_geometry: the exact affine
 * map between model-input and original pixel coordinates. xai_geometry_map_back uses it to put a
 * heatmap computed on the model's grid onto the original pixels, so that what a clinician sees
 * highlighted is where the model looked.
 *
 * Coordinates: continuous, pixel i covers [i, i+1) and its centre is i + 0.5, on both grids.
 * Per axis, original = model * scale + offset.
 *
 * Resize modes (W x H original, w x h model input):
 *   STRETCH      both axes scaled independently to w x h.
 *   LETTERBOX    keep the aspect ratio: r = min(w/W, h/H); the limiting axis becomes exactly
 *                its target, the other round(size * r) (at least 1); the image is centred with
 *                floor((target - size) / 2) fill pixels before it. The bars are not image: the
 *                geometry's valid region excludes them and map-back never reads them.
 *   CENTER_CROP  torchvision Resize(s) + CenterCrop(s) generalised to w x h: r = max(w/W, h/H);
 *                the axis with the larger ratio becomes exactly its target, the other
 *                int(target * size / other size) (truncated, as torchvision does, at least its
 *                target); the crop offset is round((resized - target) / 2) with Python's
 *                round-half-to-even. Original pixels outside the crop are outside the model's
 *                view: map-back gives them 0 and mask 0.
 *
 * Colour: gray -> RGB replicates; RGB -> gray is ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B (as
 * PIL's convert('L'), without its rounding to 8 bits) or the plain mean. Values stay float
 * throughout: a 16-bit source keeps its precision.
 *
 * Intensity: out[c] = (v / max_value * scale - mean[c]) / std[c]. scale 1 gives [0,1] inputs
 * (torchvision ToTensor), 255 gives [0,255].
 *
 * Letterbox fill: pad_fill is a fraction of full scale in [0,1] (0 black, 1 white, 114/255 the
 * YOLO gray). A bar pixel is what an original pixel of value pad_fill * max_value becomes, so
 * the same setting means the same thing for 8- and 16-bit sources and for any mean/std.
 */
#ifndef XAI_PREPROCESS_H
#define XAI_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "status.h"

#define XAI_PREPROCESS_MAX_SIZE 8192 /* largest model input side accepted */

enum xai_resize_mode { XAI_RESIZE_STRETCH, XAI_RESIZE_LETTERBOX, XAI_RESIZE_CENTER_CROP };
enum xai_gray_mode { XAI_GRAY_LUMA601, XAI_GRAY_MEAN };

struct xai_preprocess {
    int channels;            /* of the model input: 1 or 3 */
    enum xai_gray_mode gray; /* how RGB sources become 1-channel inputs */
    int width, height;       /* model input size */
    enum xai_resize_mode resize;
    float pad_fill; /* LETTERBOX only: fraction of full scale, [0,1] */
    float scale;    /* value / max_value * scale */
    float mean[3], std[3];
};

/* Affine map between the grids: original = model * scale + offset, per axis, in continuous
 * pixel coordinates (see above). The valid region is the part of the model grid that shows the
 * image: columns [valid_x0, valid_x1), rows [valid_y0, valid_y1). */
struct xai_geometry {
    int src_width, src_height; /* original image */
    int width, height;         /* model input */
    double scale_x, scale_y, offset_x, offset_y;
    int valid_x0, valid_y0, valid_x1, valid_y1;
};

/* 3 channels, 224 x 224, STRETCH, luma, scale 1, mean 0, std 1, pad_fill 0. */
void xai_preprocess_default(struct xai_preprocess *p);
/* INVALID_ARGUMENT (with a message naming the field) when the settings cannot be used. */
xai_status xai_preprocess_check(const struct xai_preprocess *p, struct xai_err *err);
/* Number of floats of the output tensor: channels * height * width. */
size_t xai_preprocess_numel(const struct xai_preprocess *p);

/* The geometry p gives an image of src_width x src_height (both > 0, p checked). */
struct xai_geometry xai_geometry_make(const struct xai_preprocess *p, int src_width,
                                      int src_height);

/* Writes the model input into out (xai_preprocess_numel floats, CHW) and, when geo is not NULL,
 * the geometry. INVALID_ARGUMENT for bad settings or an image that breaks the xai_image contract;
 * NO_MEMORY when scratch memory cannot be had. */
xai_status xai_preprocess_run(const struct xai_preprocess *p, const struct xai_image *img,
                              float *out, struct xai_geometry *geo, struct xai_err *err);

/* Point maps between the grids, continuous coordinates (a pixel's centre is index + 0.5). */
void xai_geometry_to_source(const struct xai_geometry *g, double u, double v, double *x, double *y);
void xai_geometry_to_model(const struct xai_geometry *g, double x, double y, double *u, double *v);

/* Maps a map on the model grid (height x width floats, row-major) onto the original image:
 * out gets src_height x src_width floats. Each original pixel takes the model map around the
 * model-grid point its centre maps to, bilinearly when the model grid is coarser, with the
 * antialiasing triangle filter when it is finer (see resample.h); only the valid region is read,
 * so letterbox bars never contribute. Original pixels whose centre falls outside the valid
 * region (center_crop's cut-away margins) get 0 and, when mask is not NULL (src_height x
 * src_width bytes), mask 0; the others mask 1. NO_MEMORY when scratch memory cannot be had. */
xai_status xai_geometry_map_back(const struct xai_geometry *g, const float *map, float *out,
                                 uint8_t *mask, struct xai_err *err);

#endif
