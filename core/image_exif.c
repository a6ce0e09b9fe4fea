/*
 * image_exif.c - EXIF orientation: find it in a JPEG's APP1 payload and apply it.
 *
 * Called by image_jpeg.c with each saved APP1 marker. The payload is "Exif\0\0" followed by
 * a TIFF structure: byte order ("II" little-endian or "MM" big-endian), the number 42, the
 * offset of IFD0; IFD0 is a 16-bit entry count followed by 12-byte entries (tag, type,
 * count, value). Tag 0x0112 (Orientation, one SHORT) gives 1..8. All offsets come from the
 * file, so every read is checked against the payload length; anything malformed means "no
 * orientation", as viewers treat it.
 *
 * Applying an orientation writes a new buffer by walking the source with a start offset and
 * two strides (per output column, per output row), which covers the identity, the three
 * flips/rotations that keep the axes and the four that transpose them.
 */
#include "image_codec.h"

#include <stdlib.h>
#include <string.h>

#define EXIF_ORIENTATION_TAG 0x0112
#define TIFF_TYPE_SHORT 3

struct tiff {
    const uint8_t *p;
    size_t len;
    bool le;
};

static bool rd16(const struct tiff *t, uint64_t off, unsigned *v)
{
    if (off > t->len || t->len - off < 2) return false;
    const uint8_t *b = t->p + off;
    *v = t->le ? (unsigned)(b[0] | b[1] << 8) : (unsigned)(b[0] << 8 | b[1]);
    return true;
}

static bool rd32(const struct tiff *t, uint64_t off, uint32_t *v)
{
    unsigned lo, hi;
    if (!rd16(t, off, t->le ? &lo : &hi) || !rd16(t, off + 2, t->le ? &hi : &lo)) return false;
    *v = (uint32_t)hi << 16 | lo;
    return true;
}

/* The orientation in one IFD entry at off, or 0 if the entry is malformed. */
static int read_orientation(const struct tiff *t, uint64_t off)
{
    unsigned type, value;
    uint32_t count;
    if (!rd16(t, off + 2, &type) || !rd32(t, off + 4, &count) || !rd16(t, off + 8, &value))
        return 0;
    if (type != TIFF_TYPE_SHORT || count != 1 || value < 1 || value > 8) return 0;
    return (int)value;
}

int xai_exif_orientation(const uint8_t *app1, size_t len)
{
    if (!app1 || len < 6 || memcmp(app1, "Exif\0\0", 6) != 0) return 0;
    struct tiff t = {app1 + 6, len - 6, false};
    if (t.len < 8) return 0;
    if (t.p[0] == 'I' && t.p[1] == 'I')
        t.le = true;
    else if (!(t.p[0] == 'M' && t.p[1] == 'M'))
        return 0;
    unsigned magic, n;
    uint32_t ifd0;
    if (!rd16(&t, 2, &magic) || magic != 42 || !rd32(&t, 4, &ifd0) || !rd16(&t, ifd0, &n)) return 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t entry = (uint64_t)ifd0 + 2 + 12 * (uint64_t)i;
        unsigned tag;
        if (entry + 12 > t.len || !rd16(&t, entry, &tag)) return 0; /* whole entry in bounds */
        if (tag == EXIF_ORIENTATION_TAG) return read_orientation(&t, entry);
    }
    return 0;
}

/* Where output pixel (x, y) comes from: source index start + x * dx + y * dy (in pixels). */
struct walk {
    int64_t start, dx, dy;
};

static struct walk orientation_walk(int orientation, int64_t w, int64_t h)
{
    int64_t last_row = (h - 1) * w, last_col = w - 1;
    switch (orientation) {
    case 2:
        return (struct walk){last_col, -1, w}; /* mirror horizontal */
    case 3:
        return (struct walk){last_row + last_col, -1, -w}; /* rotate 180 */
    case 4:
        return (struct walk){last_row, 1, -w}; /* mirror vertical */
    case 5:
        return (struct walk){0, w, 1}; /* transpose */
    case 6:
        return (struct walk){last_row, -w, 1}; /* rotate 90 clockwise */
    case 7:
        return (struct walk){last_row + last_col, -w, -1}; /* transverse */
    case 8:
        return (struct walk){last_col, w, -1}; /* rotate 90 counter-cw */
    default:
        return (struct walk){0, 1, w};
    }
}

xai_status xai_image_orient(struct xai_image *img, int orientation, struct xai_err *err)
{
    if (orientation < 2 || orientation > 8) return XAI_OK;
    int64_t w = img->width, h = img->height, c = img->channels;
    bool swap = xai_exif_swaps_axes(orientation);
    struct xai_image dst = {0};
    xai_status st = xai_image_alloc(&dst, swap ? img->height : img->width,
                                    swap ? img->width : img->height, img->channels, err);
    if (st != XAI_OK) return st;
    struct walk wk = orientation_walk(orientation, w, h);
    float *o = dst.data;
    for (int64_t y = 0; y < dst.height; y++) {
        int64_t src = wk.start + y * wk.dy;
        for (int64_t x = 0; x < dst.width; x++, src += wk.dx, o += c)
            memcpy(o, img->data + src * c, (size_t)c * sizeof(float));
    }
    free(img->data);
    img->data = dst.data;
    img->width = dst.width;
    img->height = dst.height;
    return XAI_OK;
}
