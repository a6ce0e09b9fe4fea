/*
 * fuzz_archive.c - zip and tar bodies of the embed route (api_archive_read: zip central
 * directory and local headers, stored and deflated members, ustar headers, hidden-file and
 * folder filtering, the member-count, member-size and total-size caps), with the server's caps
 * (XAI_EMBED_MAX_IMAGES members, each at most the image byte limit). Each member must lie
 * inside the archive or in a buffer of its own, within the caps.
 *
 * Seeds (fuzz/corpus/archive/): zips (stored, deflated, with folders, hidden files, data
 * descriptors) and tars made by Python's zipfile and tarfile; fuzz/archive.dict holds the
 * signatures and ustar magic.
 */
#include "_common.h"

#include "inspect.h"
#include "views.h"

static const xai_status archive_errors[] = {XAI_BAD_IMAGE, XAI_TOO_LARGE, XAI_UNSUPPORTED_MEDIA,
                                            XAI_NO_MEMORY};

static bool owned(const struct api_archive *a, const unsigned char *p)
{
    for (int i = 0; i < a->n_owned; i++)
        if (a->owned[i] == p) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_item = xai_image_limits_default().max_bytes;
    struct api_archive a = {0};
    struct xai_err err = {{0}};
    bool detected = api_archive_detect(data, size);
    xai_status st = api_archive_read(data, size, XAI_EMBED_MAX_IMAGES, max_item, &a, &err);
    if (st) {
        fuzz_check_failure(st, &err, archive_errors, 4);
        FUZZ_CHECK(a.n == 0 && a.n_owned == 0);
        api_archive_reset(&a);
        return 0;
    }
    FUZZ_CHECK(detected);
    FUZZ_CHECK(a.n >= 0 && a.n <= XAI_EMBED_MAX_IMAGES && a.n_owned <= a.n);
    for (int i = 0; i < a.n; i++) {
        const struct api_image_ref *r = &a.items[i];
        FUZZ_CHECK(r->len <= max_item);
        bool in_archive =
            r->data >= data && r->len <= size && r->data - data <= (long)(size - r->len);
        FUZZ_CHECK(in_archive || owned(&a, r->data));
    }
    api_archive_reset(&a);
    return 0;
}
