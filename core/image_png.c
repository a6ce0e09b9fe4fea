/*
 * image_png.c - PNG decoding with libpng from a memory buffer, hardened for hostile input.
 *
 * Called by image_decode.c once the bytes start with the PNG signature. Every colour type
 * and bit depth is accepted: gray 1/2/4-bit is expanded to 8 bits (v * 255 / (2^b - 1)),
 * palettes become RGB, 16-bit samples keep their full precision (max_value 65535), alpha is
 * dropped (has_alpha records it, and a tRNS chunk counts as alpha). No gamma or other colour
 * transformation is applied: samples are the stored values. Palette indexes are mapped here
 * rather than by libpng, so that an index beyond the palette is an error, not black.
 *
 * Interlaced (Adam7) files are read without libpng's deinterlacing: each pass arrives as a
 * reduced image whose pixels are scattered straight into the float output, so the only
 * buffers are the output and one row.
 *
 * Errors: libpng calls on_error, which longjmps back to png_run(); the libpng objects and
 * our buffers live in struct png_job, owned by png_run's caller, which frees them on every
 * path. CRC errors in any chunk, an Adler-32 mismatch, truncation anywhere before the end of
 * IEND and libpng's "benign" errors (e.g. extra image data) are all BAD_IMAGE. Ancillary chunks
 * other than tRNS are skipped unparsed (their CRC is still checked), so text and ICC chunks cannot
 * be used to make libpng allocate or inflate.
 *
 * Limits: the IHDR's declared size is checked before libpng is even created; libpng's own
 * user limits are set to the same caps as a second line, and chunk allocations are capped.
 */
#include "image_codec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#define PNG_CHUNK_MALLOC_MAX ((png_alloc_size_t)1 << 20)
#define PNG_CHUNK_CACHE_MAX 64
#define PNG_DIM_MAX 0x7fffffffu

struct png_job {
    png_structp png;
    png_infop info;
    jmp_buf jump;
    const uint8_t *buf;
    size_t len, pos;
    bool truncated;
    const struct xai_image_limits *lim;
    struct xai_err *err;
    xai_status status; /* set before every longjmp */
    struct xai_image img;
    png_bytep row;
    int in_channels, in_depth; /* of the rows libpng hands us: 1..4 channels, 8 or 16 bits */
    png_colorp palette;        /* palette images: rows hold one index byte per pixel */
    int palette_len;
    bool interlaced;
};

static const char *const known_chunks[] = {
    "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "cHRM", "gAMA", "iCCP", "sBIT", "sRGB",
    "cICP", "tEXt", "zTXt", "iTXt", "bKGD", "hIST", "pHYs", "sPLT", "eXIf", "tIME",
};

/* "in chunk IDAT" for a registered chunk name; a name from the file is never echoed. */
static void chunk_context(png_structp png, char *buf, size_t n)
{
    png_uint_32 t = png_get_io_chunk_type(png);
    char name[5] = {(char)(t >> 24), (char)(t >> 16), (char)(t >> 8), (char)t, 0};
    buf[0] = '\0';
    if (t == 0) return;
    for (size_t i = 0; i < sizeof known_chunks / sizeof *known_chunks; i++)
        if (strcmp(name, known_chunks[i]) == 0) {
            snprintf(buf, n, " in chunk %s", name);
            return;
        }
    snprintf(buf, n, " in an unrecognised chunk");
}

/* libpng prefixes chunk errors with the chunk's name ("abcd: CRC error"); drop it. */
static const char *strip_chunk_prefix(const char *msg)
{
    const char *colon = strstr(msg, ": ");
    if (!colon || colon - msg > 12 || memchr(msg, ' ', (size_t)(colon - msg))) return msg;
    return colon + 2;
}

static _Noreturn void jump_out(struct png_job *job, xai_status st)
{
    job->status = st;
    longjmp(job->jump, 1);
}

static void on_error(png_structp png, png_const_charp raw)
{
    struct png_job *job = png_get_error_ptr(png);
    if (job->truncated) {
        xai_fail(job->err, XAI_BAD_IMAGE, "PNG data is truncated (it ends before IEND)");
        jump_out(job, XAI_BAD_IMAGE);
    }
    if (strcmp(raw, "Out of memory") == 0) {
        xai_fail(job->err, XAI_NO_MEMORY, "out of memory decoding the PNG image");
        jump_out(job, XAI_NO_MEMORY);
    }
    char msg[160], where[48];
    xai_image_lib_msg(msg, sizeof msg, strip_chunk_prefix(raw));
    chunk_context(png, where, sizeof where);
    xai_fail(job->err, XAI_BAD_IMAGE, "PNG data is corrupt%s: %s", where, msg);
    jump_out(job, XAI_BAD_IMAGE);
}

/* Benign errors are errors here; what is left as warnings concerns chunks we skip. */
static void on_warning(png_structp png, png_const_charp msg) {}

static void read_bytes(png_structp png, png_bytep dst, size_t n)
{
    struct png_job *job = png_get_io_ptr(png);
    if (n > job->len - job->pos) {
        job->truncated = true;
        png_error(png, "truncated");
    }
    memcpy(dst, job->buf + job->pos, n);
    job->pos += n;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The declared size, checked from the raw IHDR before libpng allocates anything. */
static xai_status peek_dims(const struct png_job *job)
{
    if (job->len < 24 || memcmp(job->buf + 12, "IHDR", 4) != 0) return XAI_OK; /* libpng */
    return xai_image_check_dims(be32(job->buf + 16), be32(job->buf + 20), job->lim, job->err);
}

static png_uint_32 dim_cap(int64_t v)
{
    return v > (int64_t)PNG_DIM_MAX ? PNG_DIM_MAX : (png_uint_32)v;
}

static xai_status setup(struct png_job *job)
{
    job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
    if (!job->png) return xai_fail(job->err, XAI_NO_MEMORY, "out of memory starting libpng");
    job->info = png_create_info_struct(job->png);
    if (!job->info) return xai_fail(job->err, XAI_NO_MEMORY, "out of memory starting libpng");
    png_structp png = job->png;
    png_set_read_fn(png, job, read_bytes);
    png_set_user_limits(png, dim_cap(job->lim->max_width), dim_cap(job->lim->max_height));
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_benign_errors(png, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1); /* keeps tRNS, PLTE */
    return XAI_OK;
}

static xai_status read_header(struct png_job *job)
{
    png_structp png = job->png;
    png_read_info(png, job->info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, job->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    xai_status st = xai_image_check_dims(w, h, job->lim, job->err);
    if (st != XAI_OK) return st;
    job->img.has_alpha =
        (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, job->info, PNG_INFO_tRNS);
    job->interlaced = interlace == PNG_INTERLACE_ADAM7;
    if (color == PNG_COLOR_TYPE_PALETTE) {
        if (!png_get_PLTE(png, job->info, &job->palette, &job->palette_len))
            return xai_fail(job->err, XAI_BAD_IMAGE, "PNG palette image has no palette");
        png_set_packing(png); /* 1/2/4-bit indexes to one byte each, values unchanged */
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_read_update_info(png, job->info);
    job->in_channels = png_get_channels(png, job->info);
    job->in_depth = png_get_bit_depth(png, job->info);
    if (job->in_channels < 1 || job->in_channels > 4 || (job->in_depth != 8 && job->in_depth != 16))
        return xai_fail(job->err, XAI_INTERNAL, "libpng produced unexpected rows (%d x %d-bit)",
                        job->in_channels, job->in_depth);
    return XAI_OK;
}

static xai_status start(struct png_job *job)
{
    png_uint_32 w = png_get_image_width(job->png, job->info);
    png_uint_32 h = png_get_image_height(job->png, job->info);
    int ch = job->palette || job->in_channels >= 3 ? 3 : 1;
    xai_status st = xai_image_alloc(&job->img, (int)w, (int)h, ch, job->err);
    if (st != XAI_OK) return st;
    job->row = malloc(png_get_rowbytes(job->png, job->info));
    if (!job->row) return xai_fail(job->err, XAI_NO_MEMORY, "out of memory decoding a PNG");
    return XAI_OK;
}

/* Where the pixels of one pass go: x = x0 + (col << xs), y = y0 + (row << ys). */
struct pass {
    png_uint_32 x0, y0, xs, ys, cols, rows;
};

static struct pass pass_geometry(const struct png_job *job, int p)
{
    png_uint_32 w = (png_uint_32)job->img.width, h = (png_uint_32)job->img.height;
    if (!job->interlaced) return (struct pass){0, 0, 0, 0, w, h};
    return (struct pass){PNG_PASS_START_COL(p), PNG_PASS_START_ROW(p), PNG_PASS_COL_SHIFT(p),
                         PNG_PASS_ROW_SHIFT(p), PNG_PASS_COLS(w, p),   PNG_PASS_ROWS(h, p)};
}

static float *pixel_at(struct png_job *job, const struct pass *ps, png_uint_32 y, png_uint_32 col)
{
    size_t x = ps->x0 + (col << ps->xs);
    return job->img.data + ((size_t)y * (size_t)job->img.width + x) * (size_t)job->img.channels;
}

static void scatter_samples(struct png_job *job, const struct pass *ps, png_uint_32 y)
{
    size_t step = (size_t)job->in_channels * (size_t)(job->in_depth / 8);
    for (png_uint_32 c = 0; c < ps->cols; c++) {
        float *dst = pixel_at(job, ps, y, c);
        const png_byte *src = job->row + c * step;
        for (int k = 0; k < job->img.channels; k++)
            dst[k] =
                job->in_depth == 16 ? (float)(src[2 * k] << 8 | src[2 * k + 1]) : (float)src[k];
    }
}

static xai_status scatter_palette(struct png_job *job, const struct pass *ps, png_uint_32 y)
{
    for (png_uint_32 c = 0; c < ps->cols; c++) {
        int i = job->row[c];
        if (i >= job->palette_len)
            return xai_fail(job->err, XAI_BAD_IMAGE,
                            "PNG pixel refers to a colour beyond its %d-entry palette",
                            job->palette_len);
        float *dst = pixel_at(job, ps, y, c);
        dst[0] = job->palette[i].red;
        dst[1] = job->palette[i].green;
        dst[2] = job->palette[i].blue;
    }
    return XAI_OK;
}

static xai_status read_rows(struct png_job *job)
{
    int passes = job->interlaced ? PNG_INTERLACE_ADAM7_PASSES : 1;
    for (int p = 0; p < passes; p++) {
        struct pass ps = pass_geometry(job, p);
        if (ps.cols == 0 || ps.rows == 0) continue; /* libpng skips empty passes too */
        for (png_uint_32 r = 0; r < ps.rows; r++) {
            png_read_row(job->png, job->row, NULL);
            png_uint_32 y = ps.y0 + (r << ps.ys);
            if (!job->palette)
                scatter_samples(job, &ps, y);
            else if (scatter_palette(job, &ps, y) != XAI_OK)
                return XAI_BAD_IMAGE;
        }
    }
    png_read_end(job->png, NULL); /* the rest of the file, CRCs and IEND included */
    return XAI_OK;
}

/* The only function with setjmp: its caller owns job, so nothing here needs volatile. */
static xai_status png_run(struct png_job *job)
{
    if (setjmp(job->jump)) return job->status;
    xai_status st = setup(job);
    if (st == XAI_OK) st = read_header(job);
    if (st == XAI_OK) st = start(job);
    if (st == XAI_OK) st = read_rows(job);
    return st;
}

xai_status xai_png_decode(const uint8_t *buf, size_t len, const struct xai_image_limits *lim,
                          struct xai_image *out, struct xai_err *err)
{
    struct png_job job;
    memset(&job, 0, sizeof job);
    job.buf = buf;
    job.len = len;
    job.lim = lim;
    job.err = err;
    xai_status st = peek_dims(&job);
    if (st == XAI_OK) st = png_run(&job);
    png_destroy_read_struct(&job.png, job.info ? &job.info : NULL, NULL);
    free(job.row);
    if (st != XAI_OK) {
        xai_image_reset(&job.img);
        return st;
    }
    job.img.bit_depth = job.in_depth;
    job.img.max_value = job.in_depth == 16 ? 65535.0f : 255.0f;
    job.img.format = XAI_IMAGE_PNG;
    *out = job.img;
    return XAI_OK;
}
