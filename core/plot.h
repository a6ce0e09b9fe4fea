/*
 * plot.h - pictures with text: categorical colours, a 5x7 bitmap font (font.c; letters are
 * drawn as capitals, characters outside it as '?'), legends, and the scatter plot of a 2-D
 * embedding. Pixels are 8-bit RGB, rows packed.
 */
#ifndef XAI_PLOT_H
#define XAI_PLOT_H

#include <stdint.h>

#include "render.h"

#define XAI_FONT_W 5
#define XAI_FONT_H 7

/* Colour of category k (a fixed palette of 12 colours, repeated; k < 0: light gray). */
void xai_class_color(int k, uint8_t rgb[3]);

/* Draws text at (x, y) (top left), each glyph scale x scale pixels per font pixel, clipped. */
void xai_draw_text(uint8_t *rgb, int width, int height, int x, int y, const char *text, int scale,
                   const uint8_t color[3]);
/* Width in pixels of text drawn at scale (glyphs and 1-pixel spacing). */
int xai_text_width(const char *text, int scale);

/* A legend: one row per name, a colour square and the name. rows x (square + text) on white,
 * into a new picture of width x height (chosen here). */
xai_status xai_legend_rgb(const char *const *names, const int *colors, int n, int scale,
                          uint8_t **rgb, int *width, int *height, struct xai_err *err);

/* Scatter plot of n points (xy: n x 2) as an RGB PNG of size x size: each point a disc in the
 * colour of its class (cls[i] in [0, n_classes), -1 gray), axes scaled to the points' range
 * with a margin, and a legend of the class names in the top-left corner. */
xai_status xai_scatter_png(const float *xy, int n, const int *cls, const char *const *names,
                           int n_classes, int size, struct xai_blob *png, struct xai_err *err);

#endif
