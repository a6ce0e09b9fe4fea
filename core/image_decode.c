/*
 * image_decode.c - the entry point of image decoding: limits, format sniffing, dispatch.
 *
 * Callers (the API layer, the CLI, tests) hand in untrusted bytes. This file checks the byte
 * size against the limits first, identifies the format by its magic bytes only (PNG
 * signature, JPEG SOI followed by a marker) and hands over to image_png.c or image_jpeg.c.
 * Each codec reads its header, calls xai_image_check_dims on the declared size before it
 * allocates pixel memory (a tiny file declaring 60000x60000 pixels is refused at once) and
 * allocates the output through xai_image_alloc, so the memory of a decode is bounded by
 * the capped pixel count. Messages name what was wrong and what is allowed and never
 * contain bytes from the file.
 */
#include "image_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB ((size_t)1 << 20)

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff};

#define SUPPORTED "supported formats are PNG and JPEG"

struct xai_image_limits xai_image_limits_default(void)
{
    struct xai_image_limits lim = {
        .max_bytes = 50 * MIB,
        .max_width = 16384,
        .max_height = 16384,
        .max_pixels = (int64_t)64 << 20,
    };
    return lim;
}

struct xai_image_limits xai_image_limits_resolve(const struct xai_image_limits *lim)
{
    struct xai_image_limits d = xai_image_limits_default();
    if (!lim) return d;
    struct xai_image_limits r = *lim;
    if (r.max_bytes == 0) r.max_bytes = d.max_bytes;
    if (r.max_width <= 0) r.max_width = d.max_width;
    if (r.max_height <= 0) r.max_height = d.max_height;
    if (r.max_pixels <= 0) r.max_pixels = d.max_pixels;
    return r;
}

/* "64 Mpx" when the cap is a whole number of 2^20 pixels, else "1000 pixels". */
static void pixels_str(char *buf, size_t n, int64_t px)
{
    if (px % ((int64_t)1 << 20) == 0)
        snprintf(buf, n, "%lld Mpx", (long long)(px >> 20));
    else
        snprintf(buf, n, "%lld pixels", (long long)px);
}

xai_status xai_image_check_dims(int64_t width, int64_t height, const struct xai_image_limits *lim,
                                struct xai_err *err)
{
    if (width <= 0 || height <= 0)
        return xai_fail(err, XAI_BAD_IMAGE,
                        "image header declares %lldx%lld pixels; both sides must be at least 1",
                        (long long)width, (long long)height);
    bool over =
        width > lim->max_width || height > lim->max_height || width > lim->max_pixels / height;
    if (!over) return XAI_OK;
    char px[48];
    pixels_str(px, sizeof px, lim->max_pixels);
    return xai_fail(err, XAI_TOO_LARGE, "image is %lldx%lld pixels; the limit is %lldx%lld and %s",
                    (long long)width, (long long)height, (long long)lim->max_width,
                    (long long)lim->max_height, px);
}

xai_status xai_image_alloc(struct xai_image *img, int width, int height, int channels,
                           struct xai_err *err)
{
    size_t w = (size_t)width, h = (size_t)height, c = (size_t)channels;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3) ||
        w > SIZE_MAX / sizeof(float) / c / h)
        return xai_fail(err, XAI_INTERNAL, "invalid image geometry %dx%dx%d", width, height,
                        channels);
    float *data = malloc(w * h * c * sizeof(float));
    if (!data)
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for a %dx%d image", width, height);
    free(img->data);
    img->data = data;
    img->width = width;
    img->height = height;
    img->channels = channels;
    return XAI_OK;
}

void xai_image_lib_msg(char *dst, size_t n, const char *src)
{
    static const char extra[] = " .,:;'()/-_#+=";
    size_t j = 0;
    if (n == 0) return;
    for (size_t i = 0; src && src[i] && j + 1 < n; i++) {
        char ch = src[i];
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr(extra, ch);
        if (plain) dst[j++] = ch;
    }
    dst[j] = '\0';
}

void xai_image_reset(struct xai_image *img)
{
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

static bool has_magic(const uint8_t *buf, size_t len, const uint8_t *magic, size_t n)
{
    return len >= n && memcmp(buf, magic, n) == 0;
}

/* A file shorter than a magic but equal to its start is a truncated PNG or JPEG. */
static bool is_magic_prefix(const uint8_t *buf, size_t len, const uint8_t *magic, size_t n)
{
    return len < n && memcmp(buf, magic, len) == 0;
}

/* Names a few formats we are often sent, for the message only. */
static const char *guess_other(const uint8_t *b, size_t len)
{
    if (len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) return "GIF";
    if (len >= 132 && !memcmp(b + 128, "DICM", 4)) return "DICOM";
    if (len >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) return "TIFF";
    if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "WebP";
    if (len >= 14 && b[0] == 'B' && b[1] == 'M') return "BMP";
    return NULL;
}

static xai_status unsupported(const uint8_t *buf, size_t len, struct xai_err *err)
{
    if (len == 0) return xai_fail(err, XAI_UNSUPPORTED_MEDIA, "the image is empty; " SUPPORTED);
    const char *other = guess_other(buf, len);
    if (other)
        return xai_fail(err, XAI_UNSUPPORTED_MEDIA, "%s images are not supported; " SUPPORTED,
                        other);
    return xai_fail(err, XAI_UNSUPPORTED_MEDIA,
                    "unrecognised image format (by its first bytes); " SUPPORTED);
}

static xai_status check_bytes(size_t len, const struct xai_image_limits *lim, struct xai_err *err)
{
    if (len <= lim->max_bytes) return XAI_OK;
    if (lim->max_bytes % MIB == 0)
        return xai_fail(err, XAI_TOO_LARGE, "image is %zu bytes; the limit is %zu MiB", len,
                        lim->max_bytes / MIB);
    return xai_fail(err, XAI_TOO_LARGE, "image is %zu bytes; the limit is %zu bytes", len,
                    lim->max_bytes);
}

static xai_status dispatch(const uint8_t *buf, size_t len, const struct xai_image_limits *lim,
                           struct xai_image *out, struct xai_err *err)
{
    if (has_magic(buf, len, png_magic, sizeof png_magic))
        return xai_png_decode(buf, len, lim, out, err);
    if (has_magic(buf, len, jpeg_magic, sizeof jpeg_magic))
        return xai_jpeg_decode(buf, len, lim, out, err);
    if (len > 0 && is_magic_prefix(buf, len, png_magic, sizeof png_magic))
        return xai_fail(err, XAI_BAD_IMAGE, "PNG data is truncated inside its signature");
    if (len > 0 && is_magic_prefix(buf, len, jpeg_magic, sizeof jpeg_magic))
        return xai_fail(err, XAI_BAD_IMAGE, "JPEG data is truncated after its first bytes");
    return unsupported(buf, len, err);
}

xai_status xai_image_decode(const void *buf, size_t len, const struct xai_image_limits *lim,
                            struct xai_image *out, struct xai_err *err)
{
    if (!out) return xai_fail(err, XAI_INVALID_ARGUMENT, "no output image given");
    memset(out, 0, sizeof *out);
    if (!buf && len > 0) return xai_fail(err, XAI_INVALID_ARGUMENT, "no image bytes given");
    struct xai_image_limits r = xai_image_limits_resolve(lim);
    xai_status st = check_bytes(len, &r, err);
    if (st == XAI_OK) st = dispatch(buf, len, &r, out, err);
    if (st != XAI_OK) xai_image_reset(out);
    return st;
}
