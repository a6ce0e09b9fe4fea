/*
 * fuzz_decode_jpeg.c - image uploads as the workers decode them (api_prepare: xai_image_decode,
 * then preprocessing for the demo model), seeded with JPEG files (fuzz/corpus/decode_jpeg/):
 * baseline, progressive, gray, CMYK with and without Adobe APP14, EXIF orientations in both
 * byte orders, crafted APP1 segments, truncations.
 *
 * The decoder picks the codec from the magic bytes, so this target and fuzz_decode_png.c run
 * the same function; they differ by corpus and dictionary (fuzz/decode_jpeg.dict: markers),
 * which keep each one's mutations inside one format.
 */
#include "_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size);
    return 0;
}
