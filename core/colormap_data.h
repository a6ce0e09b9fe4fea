/*
 * colormap_data.h - the generated colormap tables (core/colormap_data.c, written by
 * tools/gen_colormaps.py). Internal to colormap.c; everyone else uses render.h.
 */
#ifndef XAI_COLORMAP_DATA_H
#define XAI_COLORMAP_DATA_H

#include <stdint.h>

extern const uint8_t xai_cmap_jet[256][3];
extern const uint8_t xai_cmap_turbo[256][3];
extern const uint8_t xai_cmap_viridis[256][3];
extern const uint8_t xai_cmap_inferno[256][3];
extern const uint8_t xai_cmap_gray[256][3];
extern const uint8_t xai_cmap_bwr[256][3];

#endif
