/*
 * archive.c - the images of a zip or tar file, for `embed`; see api/views.h.
 *
 * zip: the end-of-central-directory record is searched in the last 64 KiB + 22 bytes, the
 * central directory is walked entry by entry, and each member is read at its local header:
 * stored (method 0) members point into the buffer, deflated ones (method 8) are inflated with
 * zlib into a buffer of exactly their declared size (a member that inflates to more or less is
 * refused). Encrypted members, zip64 and other methods are refused. tar: ustar/GNU headers of
 * 512 bytes; regular files are taken, pax and GNU long-name records skipped.
 * Every size is checked against the buffer before use: a malformed archive is BAD_IMAGE, never
 * a read out of bounds.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "views.h"

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

/* A zip starts with a local file header (PK 3 4) or, empty, with the end record (PK 5 6). */
static bool zip_magic(const unsigned char *b, size_t len)
{
    return len >= 4 && b[0] == 'P' && b[1] == 'K' && (b[2] == 3 || b[2] == 5) &&
           (b[3] == 4 || b[3] == 6);
}

static bool tar_magic(const unsigned char *b, size_t len)
{
    return len >= 512 && !memcmp(b + 257, "ustar", 5);
}

bool api_archive_detect(const void *buf, size_t len)
{
    return zip_magic(buf, len) || tar_magic(buf, len);
}

void api_archive_reset(struct api_archive *a)
{
    for (int i = 0; i < a->n_owned; i++) free(a->owned[i]);
    free(a->owned);
    free(a->items);
    memset(a, 0, sizeof *a);
}

/* Hidden members: a path part starting with '.', or macOS resource forks. */
static bool hidden(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (name[i] == '.' && (i == 0 || name[i - 1] == '/')) return true;
    return len >= 9 && !memcmp(name, "__MACOSX/", 9);
}

static xai_status add(struct api_archive *a, int max_items, const unsigned char *data, size_t len,
                      unsigned char *owned, struct xai_err *err)
{
    if (a->n >= max_items) {
        free(owned);
        return xai_fail(err, XAI_TOO_LARGE, "the archive holds more than %d images", max_items);
    }
    if (!(a->n % 64)) {
        struct api_image_ref *p = realloc(a->items, sizeof *p * (size_t)(a->n + 64));
        unsigned char **q = realloc(a->owned, sizeof *q * (size_t)(a->n + 64));
        if (p) a->items = p;
        if (q) a->owned = q;
        if (!p || !q) {
            free(owned);
            return xai_fail(err, XAI_NO_MEMORY, "out of memory reading the archive");
        }
    }
    if (owned) a->owned[a->n_owned++] = owned;
    a->items[a->n++] = (struct api_image_ref){data, len};
    return XAI_OK;
}

static xai_status bad(struct xai_err *err, const char *what)
{
    return xai_fail(err, XAI_BAD_IMAGE, "malformed archive: %s", what);
}

/* ---- zip ---- */

static xai_status inflate_member(const unsigned char *src, size_t clen, size_t ulen,
                                 unsigned char **out, struct xai_err *err)
{
    *out = malloc(ulen ? ulen : 1);
    if (!*out) return xai_fail(err, XAI_NO_MEMORY, "out of memory inflating the archive");
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return xai_fail(err, XAI_INTERNAL, "zlib failed");
    z.next_in = (unsigned char *)src;
    z.avail_in = (uInt)clen;
    z.next_out = *out;
    z.avail_out = (uInt)ulen;
    int rc = inflate(&z, Z_FINISH);
    size_t got = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || got != ulen) {
        free(*out);
        *out = NULL;
        return bad(err, "a member does not inflate to its declared size");
    }
    return XAI_OK;
}

struct zip_entry {
    uint32_t method, flags, clen, ulen, offset;
    const char *name;
    size_t name_len;
};

static xai_status zip_member(const unsigned char *b, size_t len, const struct zip_entry *e,
                             int max_items, size_t max_item, struct api_archive *a,
                             struct xai_err *err)
{
    if (e->name_len && e->name[e->name_len - 1] == '/') return XAI_OK; /* a folder */
    if (hidden(e->name, e->name_len)) return XAI_OK;
    if (e->flags & 1)
        return xai_fail(err, XAI_UNSUPPORTED_MEDIA, "encrypted zip members are not supported");
    if (e->method != 0 && e->method != 8)
        return xai_fail(err, XAI_UNSUPPORTED_MEDIA, "zip members must be stored or deflated");
    if (e->ulen > max_item)
        return xai_fail(err, XAI_TOO_LARGE, "an archive member is larger than %zu bytes", max_item);
    if ((size_t)e->offset + 30 > len || le32(b + e->offset) != 0x04034b50)
        return bad(err, "a local header is missing");
    size_t data = (size_t)e->offset + 30 + le16(b + e->offset + 26) + le16(b + e->offset + 28);
    if (data > len || e->clen > len - data) return bad(err, "a member runs past the end");
    if (e->method == 0) {
        if (e->clen != e->ulen) return bad(err, "a stored member's sizes differ");
        return add(a, max_items, b + data, e->clen, NULL, err);
    }
    unsigned char *buf;
    xai_status st = inflate_member(b + data, e->clen, e->ulen, &buf, err);
    return st ? st : add(a, max_items, buf, e->ulen, buf, err);
}

static xai_status read_zip(const unsigned char *b, size_t len, int max_items, size_t max_item,
                           struct api_archive *a, struct xai_err *err)
{
    size_t lo = len > 65557 ? len - 65557 : 0, eocd = len;
    for (size_t i = len >= 22 ? len - 22 + 1 : 0; i-- > lo;)
        if (le32(b + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == len) return bad(err, "no end of central directory");
    uint32_t count = le16(b + eocd + 10), cd = le32(b + eocd + 16);
    if (count == 0xffff || cd == 0xffffffffu)
        return xai_fail(err, XAI_UNSUPPORTED_MEDIA, "zip64 archives are not supported");
    size_t p = cd, total = 0;
    for (uint32_t k = 0; k < count; k++) {
        if (p + 46 > eocd || le32(b + p) != 0x02014b50) return bad(err, "central directory");
        struct zip_entry e = {le16(b + p + 10), le16(b + p + 8),  le32(b + p + 20),
                              le32(b + p + 24), le32(b + p + 42), (const char *)b + p + 46,
                              le16(b + p + 28)};
        size_t next = p + 46 + e.name_len + le16(b + p + 30) + le16(b + p + 32);
        if (next > eocd) return bad(err, "central directory");
        if ((total += e.ulen) > API_ARCHIVE_MAX_TOTAL)
            return xai_fail(err, XAI_TOO_LARGE, "the archive expands to more than %zu bytes",
                            API_ARCHIVE_MAX_TOTAL);
        xai_status st = zip_member(b, len, &e, max_items, max_item, a, err);
        if (st) return st;
        p = next;
    }
    return XAI_OK;
}

/* ---- tar ---- */

static bool octal(const unsigned char *f, int n, size_t *out)
{
    size_t v = 0;
    int i = 0;
    while (i < n && f[i] == ' ') i++;
    int digits = 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v > ((size_t)1 << 40)) return false;
        v = v * 8 + (size_t)(f[i] - '0');
    }
    *out = v;
    return digits > 0;
}

static xai_status read_tar(const unsigned char *b, size_t len, int max_items, size_t max_item,
                           struct api_archive *a, struct xai_err *err)
{
    for (size_t p = 0; p + 512 <= len;) {
        const unsigned char *h = b + p;
        bool zero = true;
        for (int i = 0; i < 512 && zero; i++) zero = h[i] == 0;
        if (zero) return XAI_OK;
        size_t size;
        if (!octal(h + 124, 12, &size)) return bad(err, "a tar header has no size");
        size_t data = p + 512;
        if (size > len - data) return bad(err, "a member runs past the end");
        char type = (char)h[156];
        size_t name_len = strnlen((const char *)h, 100);
        if ((type == '0' || type == 0) && !hidden((const char *)h, name_len)) {
            if (size > max_item)
                return xai_fail(err, XAI_TOO_LARGE, "an archive member is larger than %zu bytes",
                                max_item);
            xai_status st = add(a, max_items, b + data, size, NULL, err);
            if (st) return st;
        }
        p = data + (size + 511) / 512 * 512;
    }
    return XAI_OK;
}

xai_status api_archive_read(const void *buf, size_t len, int max_items, size_t max_item,
                            struct api_archive *out, struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *b = buf;
    xai_status st;
    if (zip_magic(b, len)) /* the same test as api_archive_detect (it took any "PK" before) */
        st = read_zip(b, len, max_items, max_item, out, err);
    else if (tar_magic(b, len))
        st = read_tar(b, len, max_items, max_item, out, err);
    else
        st = xai_fail(err, XAI_UNSUPPORTED_MEDIA, "not a zip or tar archive");
    if (st) api_archive_reset(out);
    return st;
}
