/*
 * _im2col.h - sliding-window helpers shared by Conv and ConvTranspose.
 *
 * A window is an image of c channels, h x w pixels, swept by a kh x kw kernel with strides
 * (sh, sw), dilations (dh, dw) and begin pads (ph, pw), giving oh x ow positions. Pixels
 * outside the image read as zero. The "column" matrix has one row per (channel, kernel tap)
 * and one column per window position:
 *   col[(ci*kh + i)*kw + j][y*ow + x] = img[ci][y*sh - ph + i*dh][x*sw - pw + j*dw]
 * Its rows are ld floats apart (ld >= oh*ow), so that the columns of several images can sit
 * side by side in one matrix.
 */
#ifndef XAI_OPS_IM2COL_H
#define XAI_OPS_IM2COL_H

#include <stdint.h>

struct xai_win {
    int64_t c, h, w; /* image */
    int64_t kh, kw;  /* kernel */
    int64_t sh, sw;  /* strides */
    int64_t dh, dw;  /* dilations */
    int64_t ph, pw;  /* begin pads (top, left) */
    int64_t oh, ow;  /* window positions */
};

/* The positions p in [*lo, *hi) of 0..n-1 whose pixel p*stride + off lies inside 0..size-1. */
void xai_win_span(int64_t off, int64_t stride, int64_t size, int64_t n, int64_t *lo, int64_t *hi);
/* Writes the column matrix ([c*kh*kw, oh*ow], row stride ld) of img ([c, h, w]). */
void xai_im2col(const struct xai_win *g, const float *img, float *col, int64_t ld);
/* The adjoint of xai_im2col: ADDS each column element to the pixel it was read from. */
void xai_col2im_add(const struct xai_win *g, const float *col, int64_t ld, float *img);

#endif
