/*
 * image_codec.h - internals shared by the image decoders (not part of the image.h contract).
 *
 * image_decode.c sniffs the format, resolves the limits and dispatches to one codec file
 * (image_png.c, image_jpeg.c). A codec checks the header's declared size with
 * xai_image_check_dims before it allocates any pixel memory, and fills the output through
 * xai_image_alloc. image_exif.c reads the EXIF orientation of a JPEG and applies it.
 */
#ifndef XAI_IMAGE_CODEC_H
#define XAI_IMAGE_CODEC_H

#include "image.h"

/* Resolved limits: every field is set (zero fields of the caller's limits take defaults). */
struct xai_image_limits xai_image_limits_resolve(const struct xai_image_limits *lim);

/* BAD_IMAGE for a zero side, TOO_LARGE (naming size and limits) for one over a cap. */
xai_status xai_image_check_dims(int64_t width, int64_t height, const struct xai_image_limits *lim,
                                struct xai_err *err);

/* Sets the geometry of img and allocates its samples (contents undefined); NO_MEMORY. */
xai_status xai_image_alloc(struct xai_image *img, int width, int height, int channels,
                           struct xai_err *err);

/* Copies a decoder library's message into dst keeping only plain printable characters. */
void xai_image_lib_msg(char *dst, size_t n, const char *src);

xai_status xai_png_decode(const uint8_t *buf, size_t len, const struct xai_image_limits *lim,
                          struct xai_image *out, struct xai_err *err);
xai_status xai_jpeg_decode(const uint8_t *buf, size_t len, const struct xai_image_limits *lim,
                           struct xai_image *out, struct xai_err *err);

/* The orientation (1..8) in an APP1 payload starting "Exif\0\0"; 0 if the payload is not
 * EXIF or has no valid orientation tag in IFD0. Every offset is bounds-checked. */
int xai_exif_orientation(const uint8_t *app1, size_t len);

/* True if EXIF orientation 5..8 swaps width and height. */
static inline bool xai_exif_swaps_axes(int orientation)
{
    return orientation >= 5 && orientation <= 8;
}

/* Rearranges img so that it looks as a viewer shows it for EXIF orientation 1..8. */
xai_status xai_image_orient(struct xai_image *img, int orientation, struct xai_err *err);

#endif
