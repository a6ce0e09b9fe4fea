/*
 * png_encode.c - 8-bit pixels to a PNG in memory with libpng (render.h: xai_png_encode).
 *
 * libpng reports errors by longjmp. The setjmp lives in encode_rows, whose own locals are never
 * changed after it; everything that callbacks change (the output buffer, the status) sits in a
 * struct owned by the caller, so its values are well defined after a longjmp. Every path frees
 * the libpng structs, and a failed encode leaves the output empty.
 */
#include "render.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

struct png_ctx {
    struct xai_blob *out;
    struct xai_err *err;
    xai_status status;
};

void xai_blob_reset(struct xai_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static bool blob_reserve(struct xai_blob *b, size_t extra)
{
    if (extra <= b->cap - b->len) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    unsigned char *p = realloc(b->data, cap);
    if (!p) return false;
    b->data = p;
    b->cap = cap;
    return true;
}

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *ctx = png_get_error_ptr(png);
    if (ctx->status == XAI_OK) ctx->status = xai_fail(ctx->err, XAI_INTERNAL, "png: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void on_write(png_structp png, png_bytep data, size_t len)
{
    struct png_ctx *ctx = png_get_io_ptr(png);
    if (!blob_reserve(ctx->out, len)) {
        ctx->status = xai_fail(ctx->err, XAI_NO_MEMORY, "png: out of memory for the output");
        png_error(png, "out of memory");
    }
    memcpy(ctx->out->data + ctx->out->len, data, len);
    ctx->out->len += len;
}

static void on_flush(png_structp png)
{
    (void)png;
}

static int color_type(int channels)
{
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    return types[channels - 1];
}

/* Runs libpng; ctx->status says how it went. */
static void encode_rows(struct png_ctx *ctx, const uint8_t *pixels, int width, int height,
                        int channels)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        ctx->status = xai_fail(ctx->err, XAI_NO_MEMORY, "png: out of memory for libpng");
        return;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return;
    }
    png_set_write_fn(png, ctx, on_write, on_flush);
    png_set_compression_level(png, 3); /* speed over the last few percent of size */
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type(channels),
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
}

xai_status xai_png_encode(const uint8_t *pixels, int width, int height, int channels,
                          struct xai_blob *out, struct xai_err *err)
{
    out->len = 0;
    if (width < 1 || height < 1 || channels < 1 || channels > 4 || !pixels)
        return xai_fail(err, XAI_INVALID_ARGUMENT, "png: cannot encode %dx%d with %d channels",
                        width, height, channels);
    struct png_ctx ctx = {out, err, XAI_OK};
    encode_rows(&ctx, pixels, width, height, channels);
    if (ctx.status != XAI_OK) xai_blob_reset(out);
    return ctx.status;
}
