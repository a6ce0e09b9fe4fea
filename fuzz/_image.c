/* _image.c - one image upload through the server's decode path; see _common.h. */
#include "_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#define ROUND_TRIP_MAX_PIXELS (1 << 18)

static void check_samples(const struct xai_image *im)
{
    FUZZ_CHECK(im->width > 0 && im->height > 0 && im->data);
    FUZZ_CHECK(im->channels == 1 || im->channels == 3);
    FUZZ_CHECK(im->bit_depth == 8 || im->bit_depth == 16);
    FUZZ_CHECK(im->max_value == (im->bit_depth == 8 ? 255.0f : 65535.0f));
    FUZZ_CHECK(im->format == XAI_IMAGE_PNG || im->format == XAI_IMAGE_JPEG);
    size_t n = (size_t)im->width * (size_t)im->height * (size_t)im->channels;
    for (size_t i = 0; i < n; i++) {
        float v = im->data[i];
        FUZZ_CHECK(v >= 0 && v <= im->max_value && v == floorf(v));
    }
}

static void check_input(const struct api_model *m, const struct api_input *in)
{
    const struct xai_preprocess *p = &m->pre;
    const struct xai_shape *s = &in->tensor.shape;
    FUZZ_CHECK(in->tensor.data == in->data && s->ndim == 4 && s->d[0] == 1);
    FUZZ_CHECK(s->d[1] == p->channels && s->d[2] == p->height && s->d[3] == p->width);
    for (int64_t i = 0; i < xai_shape_numel(s); i++) FUZZ_CHECK(isfinite(in->data[i]));
}

/* 8-bit pixels to PNG and back: the same pixels, channels and depth. */
static void round_trip(const struct xai_image *im)
{
    size_t n = (size_t)im->width * (size_t)im->height * (size_t)im->channels;
    uint8_t *px = malloc(n);
    FUZZ_CHECK(px != NULL);
    for (size_t i = 0; i < n; i++) px[i] = (uint8_t)im->data[i];
    struct xai_blob png = {0};
    struct xai_err err = {{0}};
    FUZZ_CHECK(xai_png_encode(px, im->width, im->height, im->channels, &png, &err) == XAI_OK);
    struct xai_image back;
    FUZZ_CHECK(xai_image_decode(png.data, png.len, NULL, &back, &err) == XAI_OK);
    FUZZ_CHECK(back.width == im->width && back.height == im->height);
    FUZZ_CHECK(back.channels == im->channels && back.bit_depth == 8 && !back.has_alpha);
    FUZZ_CHECK(memcmp(back.data, im->data, n * sizeof(float)) == 0);
    xai_image_reset(&back);
    xai_blob_reset(&png);
    free(px);
}

static const xai_status decode_errors[] = {XAI_BAD_IMAGE, XAI_TOO_LARGE, XAI_UNSUPPORTED_MEDIA,
                                           XAI_NO_MEMORY};

void fuzz_decode(const uint8_t *data, size_t size)
{
    const struct api_model *m = fuzz_model();
    struct xai_image_limits lim = {.max_pixels = (int64_t)4 << 20};
    struct api_input in;
    struct xai_err err = {{0}};
    xai_status st = api_prepare(m, data, size, &lim, &in, &err);
    if (st) {
        fuzz_check_failure(st, &err, decode_errors, 4);
        FUZZ_CHECK(!in.data && !in.image.data);
        return;
    }
    check_samples(&in.image);
    check_input(m, &in);
    if (in.image.bit_depth == 8 &&
        (int64_t)in.image.width * in.image.height <= ROUND_TRIP_MAX_PIXELS)
        round_trip(&in.image);
    api_input_reset(&in);
}
