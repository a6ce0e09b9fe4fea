/*
 * image_jpeg.c - JPEG decoding with libjpeg-turbo's libjpeg API, hardened for hostile input.
 *
 * Called by image_decode.c once the bytes start with SOI. The output is 8-bit gray or RGB:
 * YCbCr/RGB files decode to RGB, CMYK/YCCK files are decoded to CMYK by libjpeg and then
 * converted here (inverted, Photoshop-style values when libjpeg reports an Adobe APP14
 * marker, plain ones otherwise); progressive files are allowed. The decoder is set to the
 * accurate integer IDCT and fancy upsampling, which is also what PIL uses, so the test
 * corpus compares exactly.
 *
 * Errors: libjpeg reports fatal errors through error_exit and corrupt data (including
 * "premature end of JPEG file", i.e. truncation) only as warnings. Both longjmp back to
 * jpeg_run() and become BAD_IMAGE, so a damaged file is refused rather than decoded as gray
 * junk. Everything a longjmp might leave behind lives in struct jpeg_job, which belongs to
 * the caller of the function that calls setjmp; that caller destroys the libjpeg object and
 * frees the buffers whatever the outcome (no volatile locals are needed).
 *
 * Limits: the declared size (after the EXIF orientation, i.e. as displayed) is checked
 * before jpeg_start_decompress allocates anything large; libjpeg's max_memory_to_use caps
 * its full-image coefficient buffer (progressive files) to what the pixel cap implies, and
 * a progress monitor refuses files with an absurd number of scans (a known CPU sink).
 */
#include "image_codec.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define JPEG_MAX_SCANS 500
/* libjpeg's own memory besides the coefficient buffer: strip buffers, tables, APP markers. */
#define JPEG_MEM_SLACK ((int64_t)64 << 20)
/* Worst-case coefficient bytes per pixel: 4 components at full resolution, 2 bytes each. */
#define JPEG_COEF_BYTES_PER_PIXEL 8

struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    const uint8_t *buf;
    size_t len;
    const struct xai_image_limits *lim;
    struct xai_err *err;
    xai_status status; /* set before every longjmp */
    struct xai_image img;
    JSAMPLE *row;
    int orientation;
};

static _Noreturn void jump_out(struct jpeg_job *job, xai_status st)
{
    job->status = st;
    longjmp(job->jump, 1);
}

static void lib_message(j_common_ptr cinfo, char *clean, size_t n)
{
    char raw[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, raw);
    xai_image_lib_msg(clean, n, raw);
}

static void on_error(j_common_ptr cinfo)
{
    struct jpeg_job *job = cinfo->client_data;
    char msg[JMSG_LENGTH_MAX];
    lib_message(cinfo, msg, sizeof msg);
    switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY:
        xai_fail(job->err, XAI_NO_MEMORY, "out of memory decoding the JPEG image");
        jump_out(job, XAI_NO_MEMORY);
    case JERR_NO_BACKING_STORE:
        xai_fail(job->err, XAI_TOO_LARGE,
                 "JPEG image needs more decoder memory than the image limits allow");
        jump_out(job, XAI_TOO_LARGE);
    default:
        xai_fail(job->err, XAI_BAD_IMAGE, "JPEG data is corrupt or unsupported: %s", msg);
        jump_out(job, XAI_BAD_IMAGE);
    }
}

/* Warnings (level < 0) are corrupt data, except an unknown JFIF version; traces are ignored. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0 || cinfo->err->msg_code == JWRN_JFIF_MAJOR) return;
    struct jpeg_job *job = cinfo->client_data;
    char msg[JMSG_LENGTH_MAX];
    lib_message(cinfo, msg, sizeof msg);
    xai_fail(job->err, XAI_BAD_IMAGE, "JPEG data is corrupt or truncated: %s", msg);
    jump_out(job, XAI_BAD_IMAGE);
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number <= JPEG_MAX_SCANS) return;
    struct jpeg_job *job = cinfo->client_data;
    xai_fail(job->err, XAI_BAD_IMAGE, "JPEG has more than %d scans; that is not a real image",
             JPEG_MAX_SCANS);
    jump_out(job, XAI_BAD_IMAGE);
}

static long memory_cap(const struct xai_image_limits *lim)
{
    int64_t px = lim->max_pixels;
    if (px > (LONG_MAX - JPEG_MEM_SLACK) / JPEG_COEF_BYTES_PER_PIXEL) return LONG_MAX;
    return (long)(px * JPEG_COEF_BYTES_PER_PIXEL + JPEG_MEM_SLACK);
}

static void setup(struct jpeg_job *job)
{
    struct jpeg_decompress_struct *ci = &job->cinfo;
    ci->err = jpeg_std_error(&job->jerr);
    job->jerr.error_exit = on_error;
    job->jerr.emit_message = on_message;
    ci->client_data = job; /* kept by jpeg_create_decompress */
    jpeg_create_decompress(ci);
    ci->mem->max_memory_to_use = memory_cap(job->lim);
    job->progress.progress_monitor = on_progress;
    ci->progress = &job->progress;
    jpeg_mem_src(ci, job->buf, (unsigned long)job->len);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
}

/* The first APP1 that is EXIF decides; no EXIF or no valid tag means 1 (as stored). */
static int find_orientation(const struct jpeg_decompress_struct *ci)
{
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 6) continue;
        if (memcmp(m->data, "Exif\0\0", 6) != 0) continue;
        int o = xai_exif_orientation(m->data, m->data_length);
        return o ? o : 1;
    }
    return 1;
}

static xai_status choose_output(struct jpeg_job *job)
{
    struct jpeg_decompress_struct *ci = &job->cinfo;
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        ci->out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK;
        break;
    default:
        return xai_fail(job->err, XAI_BAD_IMAGE,
                        "JPEG with %d colour components in an unknown colour space is not "
                        "supported; supported are grayscale, YCbCr, RGB, CMYK and YCCK",
                        ci->num_components);
    }
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    return XAI_OK;
}

static xai_status read_header(struct jpeg_job *job)
{
    struct jpeg_decompress_struct *ci = &job->cinfo;
    if (jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK)
        return xai_fail(job->err, XAI_BAD_IMAGE, "JPEG header is incomplete");
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0); /* APP1s after the first scan are not needed */
    job->orientation = find_orientation(ci);
    int64_t w = ci->image_width, h = ci->image_height;
    bool swap = xai_exif_swaps_axes(job->orientation);
    xai_status st = xai_image_check_dims(swap ? h : w, swap ? w : h, job->lim, job->err);
    if (st != XAI_OK) return st;
    return choose_output(job);
}

static xai_status start(struct jpeg_job *job)
{
    struct jpeg_decompress_struct *ci = &job->cinfo;
    jpeg_start_decompress(ci);
    int ch = ci->out_color_space == JCS_GRAYSCALE ? 1 : 3;
    int want = ci->out_color_space == JCS_CMYK ? 4 : ch;
    if (ci->output_width != ci->image_width || ci->output_height != ci->image_height ||
        ci->output_components != want)
        return xai_fail(job->err, XAI_INTERNAL, "JPEG decoder output geometry is unexpected");
    xai_status st =
        xai_image_alloc(&job->img, (int)ci->output_width, (int)ci->output_height, ch, job->err);
    if (st != XAI_OK) return st;
    job->row = malloc((size_t)ci->output_width * (size_t)want);
    if (!job->row) return xai_fail(job->err, XAI_NO_MEMORY, "out of memory decoding a JPEG");
    return XAI_OK;
}

/* a * b / 255 rounded; a * b / 255 is never exactly halfway, so this is exact. */
static inline int mul255(int a, int b)
{
    return (a * b + 127) / 255;
}

static void cmyk_to_rgb(const JSAMPLE *src, float *dst, size_t n, bool inverted)
{
    for (size_t i = 0; i < n; i++, src += 4, dst += 3) {
        int c = src[0], m = src[1], y = src[2], k = src[3];
        if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        dst[0] = (float)mul255(c, k);
        dst[1] = (float)mul255(m, k);
        dst[2] = (float)mul255(y, k);
    }
}

static void convert_row(const struct jpeg_job *job, float *dst)
{
    const struct jpeg_decompress_struct *ci = &job->cinfo;
    size_t w = ci->output_width;
    if (ci->out_color_space == JCS_CMYK) {
        cmyk_to_rgb(job->row, dst, w, ci->saw_Adobe_marker);
        return;
    }
    size_t n = w * (size_t)ci->output_components;
    for (size_t i = 0; i < n; i++) dst[i] = (float)job->row[i];
}

static xai_status read_rows(struct jpeg_job *job)
{
    struct jpeg_decompress_struct *ci = &job->cinfo;
    size_t stride = (size_t)job->img.width * (size_t)job->img.channels;
    while (ci->output_scanline < ci->output_height) {
        float *dst = job->img.data + (size_t)ci->output_scanline * stride;
        JSAMPROW rows[1] = {job->row};
        if (jpeg_read_scanlines(ci, rows, 1) != 1)
            return xai_fail(job->err, XAI_BAD_IMAGE, "JPEG decoder stopped before the last row");
        convert_row(job, dst);
    }
    jpeg_finish_decompress(ci); /* reads up to EOI: a missing tail is a warning, so an error */
    return XAI_OK;
}

/* The only function with setjmp: its caller owns job, so nothing here needs volatile. */
static xai_status jpeg_run(struct jpeg_job *job)
{
    if (setjmp(job->jump)) return job->status;
    setup(job);
    xai_status st = read_header(job);
    if (st == XAI_OK) st = start(job);
    if (st == XAI_OK) st = read_rows(job);
    return st;
}

xai_status xai_jpeg_decode(const uint8_t *buf, size_t len, const struct xai_image_limits *lim,
                           struct xai_image *out, struct xai_err *err)
{
    struct jpeg_job job;
    memset(&job, 0, sizeof job);
    job.buf = buf;
    job.len = len;
    job.lim = lim;
    job.err = err;
    xai_status st = jpeg_run(&job);
    jpeg_destroy_decompress(&job.cinfo); /* safe on a zeroed or half-created object */
    free(job.row);
    if (st == XAI_OK) st = xai_image_orient(&job.img, job.orientation, err);
    if (st != XAI_OK) {
        xai_image_reset(&job.img);
        return st;
    }
    job.img.bit_depth = 8;
    job.img.max_value = 255.0f;
    job.img.has_alpha = false;
    job.img.format = XAI_IMAGE_JPEG;
    *out = job.img;
    return XAI_OK;
}
